using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Alex.Pki;
using Alex.Robot.Server;
using Alex.Robot.Service;

namespace Alex.Cli;

/// <summary>
/// `alex serve install` / `alex serve uninstall`: `alex serve` as a hardened systemd service that starts on
/// boot (docs/service.md). Parses and checks the options; the files and the unit are Alex.Robot.Service's.
/// </summary>
internal static class ServeInstallCommand
{
    public static Command Install()
    {
        var cmd = new Command(
            "install",
            "Install alex serve as a systemd service that starts on boot and restarts on failure (run with sudo).\n" +
            "Copies only the robot's files (alex.crt, alex.key, signing.pem, crl.pem, the allow-list) into /etc/alexlink,\n" +
            "never the CA's signing.key; runs as its own user (in dialout), with a read-only system, logging to the journal\n" +
            "and to /var/lib/alexlink/audit.jsonl.\n\n" +
            "Examples:\n" +
            "  sudo alex serve install --pki pki --allow laptop=drive --allow tutor=admin --serial /dev/ttyACM0\n" +
            "  alex serve install --pki pki --allow laptop --serial /dev/ttyACM0 --print     show the unit, change nothing\n" +
            "  sudo alex serve install --pki pki --allow laptop --serial /dev/ttyACM0 --extensions alex-extensions.json\n" +
            "Then: journalctl -u alexlink -f, or from a laptop: alex status HOST --pki admin");
        var pki = new Option<string>("--pki") { Description = "Directory with alex.crt, alex.key, signing.pem and crl.pem" };
        var cert = new Option<string>("--cert") { Description = "The robot's certificate (alex.crt)" };
        var key = new Option<string>("--key") { Description = "The robot's private key (alex.key); never the CA's signing.key" };
        var ca = new Option<string>("--ca") { Description = "The CA certificate clients must chain to (signing.pem)" };
        var crl = new Option<string>("--crl") { Description = "The CA's revocation list (crl.pem)" };
        var allow = new Option<string[]>("--allow") { Description = "A client allowed in: NAME, NAME=drive, NAME=watch or NAME=admin (written to /etc/alexlink/allowed.txt)" };
        var allowFile = new Option<string>("--allow-file") { Description = "A file of allow-list entries to copy into /etc/alexlink/allowed.txt" };
        var allowAny = new Option<bool>("--allow-any") { Description = "Let in any client certificate from the CA, as a driver" };
        var serial = new Option<string>("--serial") { Description = "The Arduino's serial port, e.g. /dev/ttyACM0" };
        var baud = new Option<int>("--baud") { Description = "Serial speed", DefaultValueFactory = _ => 9600 };
        var simulate = new Option<bool>("--simulate") { Description = "Serve the simulated Alex (a trial run without the Arduino)" };
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on (default 0.0.0.0:5000)" };
        var leaseMs = new Option<int?>("--lease-ms") { Description = "Dead-man window in ms (default 1500)" };
        var maxSpeed = new Option<int?>("--max-speed") { Description = "Highest speed a move may ask for, percent" };
        var maxDistance = new Option<int?>("--max-distance") { Description = "Longest move in cm" };
        var maxAngle = new Option<int?>("--max-angle") { Description = "Widest turn in degrees" };
        var noCrl = new Option<bool>("--no-crl") { Description = "Serve without a CRL: no certificate can be revoked (said at every start)" };
        var legacy = new Option<bool>("--legacy-certs") { Description = "Accept the course's X.509 v1 client certificates" };
        var extensions = new Option<string>("--extensions") { Description = "The team's declaration file (docs/extensions.md), checked now and copied to /etc/alexlink/alex-extensions.json" };
        var print = new Option<bool>("--print") { Description = "Print the unit file and change nothing (no sudo needed)" };
        foreach (var o in new Option[] { pki, cert, key, ca, crl, allow, allowFile, allowAny, serial, baud, simulate, listen, leaseMs, maxSpeed, maxDistance, maxAngle, noCrl, legacy, extensions, print })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(pr =>
        {
            var allowed = pr.GetValue(allow) ?? [];
            RobotHostOptions host;
            RobotLinkSpec link;
            try
            {
                (host, link) = new ServeOptions
                {
                    PkiDir = pr.GetValue(pki),
                    CertificatePath = pr.GetValue(cert),
                    KeyPath = pr.GetValue(key),
                    CaPath = pr.GetValue(ca),
                    CrlPath = pr.GetValue(crl),
                    NoCrl = pr.GetValue(noCrl),
                    Allow = allowed,
                    AllowFile = pr.GetValue(allowFile),
                    AllowAny = pr.GetValue(allowAny),
                    SerialPath = pr.GetValue(serial),
                    Baud = pr.GetValue(baud),
                    Simulate = pr.GetValue(simulate),
                    Listen = pr.GetValue(listen),
                    LeaseMs = pr.GetValue(leaseMs) ?? 1500,
                    MaxSpeed = pr.GetValue(maxSpeed) ?? 100,
                    MaxDistance = pr.GetValue(maxDistance),
                    MaxAngle = pr.GetValue(maxAngle),
                    Legacy = pr.GetValue(legacy),
                    ExtensionsPath = pr.GetValue(extensions),
                    PassphraseFromEnvironment = Environment.GetEnvironmentVariable(Alex.Pki.KeyPassphrase.EnvironmentVariable),
                }.Resolve();
            }
            catch (ServeOptionsException e)
            {
                throw new CliException(e.Message, e.Hint);
            }

            var passed = new List<string>();
            if (pr.GetValue(listen) is { } l)
            {
                passed.AddRange(["--listen", l]);
            }

            foreach (var (flag, value) in new[] { ("--lease-ms", pr.GetValue(leaseMs)), ("--max-speed", pr.GetValue(maxSpeed)), ("--max-distance", pr.GetValue(maxDistance)), ("--max-angle", pr.GetValue(maxAngle)) })
            {
                if (value is { } v)
                {
                    passed.AddRange([flag, v.ToString(CultureInfo.InvariantCulture)]);
                }
            }

            var service = new ServiceDefinition
            {
                Program = ThisProgram(),
                SerialPath = link.Simulate ? null : link.SerialPath,
                Baud = link.Baud,
                HasCrl = host.Policy.CrlPath is not null,
                AllowAny = host.Policy.AllowAny,
                Legacy = host.Policy.Legacy,
                HasExtensions = pr.GetValue(extensions) is not null,
                ServeOptions = passed,
                Port = host.Listen.Port,
            };
            var files = new ServiceFiles(host.CertificatePath, host.KeyPath, host.Policy.CaPath, host.Policy.CrlPath, allowed, host.Policy.AllowFilePath) { ExtensionsPath = pr.GetValue(extensions) };
            try
            {
                if (pr.GetValue(print))
                {
                    ServiceInstaller.Check(service, files, programMustBeVisible: false);
                    Console.Out.Write(ServiceUnit.Render(service with { Announce = !Directory.Exists(AvahiService.Directory) }));
                    return AlexCommandLine.ExitOk;
                }

                MustBeRoot("install");
                if (!OperatingSystem.IsLinux())
                {
                    throw new CliException("serve install writes a systemd service: Linux only", hint: "add --print to see the unit");
                }

                new ServiceInstaller("/", RunCommand, Console.Error.WriteLine).Install(service, files);
            }
            catch (ServiceException e)
            {
                throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
            }
            catch (PkiException e)
            {
                throw new CliException(e.Message, e.Hint);
            }

            Console.Error.WriteLine($"alex serve install: {ServiceLayout.Name} is enabled and running; see it with `journalctl -u {ServiceLayout.Name} -f`");
            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    public static Command Uninstall()
    {
        var cmd = new Command(
            "uninstall",
            "Stop and remove the alex serve service (run with sudo): the unit and /etc/alexlink go; the audit log in\n" +
            "/var/lib/alexlink and the user alexlink stay.\n\n" +
            "Example:\n" +
            "  sudo alex serve uninstall");
        cmd.SetAction(_ =>
        {
            MustBeRoot("uninstall");
            if (!OperatingSystem.IsLinux())
            {
                throw new CliException("serve uninstall removes a systemd service: Linux only");
            }

            try
            {
                new ServiceInstaller("/", RunCommand, Console.Error.WriteLine).Uninstall();
            }
            catch (ServiceException e)
            {
                throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    // The program that runs now: a published `alex`, or `dotnet alex.dll` from a build.
    private static string[] ThisProgram()
    {
        var process = Environment.ProcessPath ?? throw new CliException("cannot tell where this alex is");
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? [process, Path.Combine(AppContext.BaseDirectory, "alex.dll")]
            : [process];
    }

    private static void MustBeRoot(string what)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new CliException($"serve {what} changes the system: it must run as root", hint: $"sudo alex serve {what} ... (or add --print to see the unit without installing)");
        }
    }

    private static (int, string) RunCommand(string program, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(start)!;
            var output = p.StandardOutput.ReadToEndAsync();
            var error = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                p.Kill(entireProcessTree: true);
                return (124, "did not finish within 120 s");
            }

            return (p.ExitCode, output.Result + error.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, e.Message);
        }
    }
}
