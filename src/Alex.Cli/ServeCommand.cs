using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Alex.Pki;
using Alex.Robot.Server;

namespace Alex.Cli;

/// <summary>`alex serve`: the robot server over mutual TLS. Parsing and errors here; the work is Alex.Robot.Server.</summary>
internal static class ServeCommand
{
    public const int DefaultBaud = 9600;

    public static Command Create()
    {
        var cmd = new Command(
            "serve",
            "Run the robot server: mutual TLS, allow-list with roles, one driver at a time, dead-man stop.\n\n" +
            "Examples:\n" +
            "  alex serve --pki pki --allow laptop --simulate\n" +
            "  alex serve --pki pki --allow laptop=drive --allow tutor=watch --serial /dev/ttyACM0\n" +
            "  alex serve --cert alex.crt --key alex.key --ca signing.pem --crl crl.pem --allow-file allowed.txt --serial /dev/ttyUSB0 --baud 57600\n" +
            "  alex serve --pki pki --allow-any --simulate --listen 127.0.0.1:5001 --lease-ms 1000 --max-speed 60 --audit audit.jsonl\n\n" +
            "The CRL and the allow file are re-read when they change, and on SIGHUP; a connected client that is\n" +
            "no longer allowed is disconnected (and the robot stopped if it was driving).");

        var pki = new Option<string>("--pki") { Description = "Directory with alex.crt, alex.key, signing.pem and (if present) crl.pem" };
        var cert = new Option<string>("--cert") { Description = "The robot's certificate (alex.crt)" };
        var key = new Option<string>("--key") { Description = "The robot's private key (alex.key)" };
        var ca = new Option<string>("--ca") { Description = "The CA certificate clients must chain to (signing.pem)" };
        var crl = new Option<string>("--crl") { Description = "The CA's revocation list (crl.pem); checked for every client, fail closed" };
        var allow = new Option<string[]>("--allow") { Description = "A client name (SAN, or CN when there is none) allowed in, with its role: NAME, NAME=drive, NAME=watch or NAME=admin (status and logs, no driving)", AllowMultipleArgumentsPerToken = false };
        var allowFile = new Option<string>("--allow-file") { Description = "A file of allow-list entries, one per line (NAME[=drive|watch|admin], # comments), re-read when it changes" };
        var allowAny = new Option<bool>("--allow-any") { Description = "Let in any client certificate from the CA, as a driver (no allow-list)" };
        var serial = new Option<string>("--serial") { Description = "The Arduino's serial port, e.g. /dev/ttyACM0 (or a pty from `alex sim --pty`)" };
        var baud = new Option<int>("--baud") { Description = "Serial speed", DefaultValueFactory = _ => DefaultBaud };
        var simulate = new Option<bool>("--simulate") { Description = "Use the simulated Alex in this process instead of a serial port" };
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on (default 0.0.0.0:5000)" };
        var leaseMs = new Option<int>("--lease-ms") { Description = "Dead-man window: a driver silent this long while the robot may move is stopped", DefaultValueFactory = _ => 1500 };
        var maxSpeed = new Option<int>("--max-speed") { Description = "Highest speed a move may ask for, percent", DefaultValueFactory = _ => 100 };
        var maxDistance = new Option<int?>("--max-distance") { Description = "Longest move in cm (then 'until stopped' moves are refused)" };
        var audit = new Option<string>("--audit") { Description = "Append the audit log (JSON lines) to this file" };
        var legacy = new Option<bool>("--legacy-certs") { Description = "Accept the course's X.509 v1 client certificates (no extensions, RSA 1024)" };
        var handshakeMs = new Option<int>("--handshake-timeout-ms") { Description = "Absolute limit for a client's TLS handshake", DefaultValueFactory = _ => 5000 };
        var quiet = new Option<bool>("--quiet") { Description = "Do not echo audit records to standard output" };
        var auditMaxSize = new Option<string>("--audit-max-size") { Description = "Rotate the audit file before it grows past this size (bytes, or with K, M, G; 0: never)", DefaultValueFactory = _ => "16M" };
        var auditKeep = new Option<int>("--audit-keep") { Description = "Rotated audit files to keep (FILE.1 newest ... FILE.N)", DefaultValueFactory = _ => AuditFileOptions.DefaultKeep };
        var maxSessions = new Option<int>("--max-sessions") { Description = "Clients connected at once; the last few seats are kept for drivers (watchers are refused first)", DefaultValueFactory = _ => RobotServerOptions.DefaultMaxSessions };
        foreach (var o in new Option[] { pki, cert, key, ca, crl, allow, allowFile, allowAny, serial, baud, simulate, listen, leaseMs, maxSpeed, maxDistance, audit, legacy, handshakeMs, quiet, auditMaxSize, auditKeep, maxSessions })
        {
            cmd.Options.Add(o);
        }

        cmd.Subcommands.Add(ServeInstallCommand.Install());
        cmd.Subcommands.Add(ServeInstallCommand.Uninstall());

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var settings = Settings(
                pr.GetValue(pki), pr.GetValue(cert), pr.GetValue(key), pr.GetValue(ca), pr.GetValue(crl),
                pr.GetValue(allow) ?? [], pr.GetValue(allowFile), pr.GetValue(allowAny),
                pr.GetValue(serial), pr.GetValue(baud), pr.GetValue(simulate), pr.GetValue(listen),
                pr.GetValue(leaseMs), pr.GetValue(maxSpeed), pr.GetValue(maxDistance), pr.GetValue(audit),
                pr.GetValue(legacy), pr.GetValue(handshakeMs));
            settings.Host = WithCapacity(settings.Host, pr.GetValue(maxSessions), pr.GetValue(auditMaxSize)!, pr.GetValue(auditKeep));
            return await RunAsync(settings, pr.GetValue(quiet), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>Checks the options and turns them into host options (every problem a one-line CliException).</summary>
    internal static (RobotHostOptions Host, RobotLinkSpec Link) Settings(
        string? pkiDir, string? cert, string? key, string? ca, string? crl,
        string[] allow, string? allowFile, bool allowAny,
        string? serial, int baud, bool simulate, string? listen,
        int leaseMs, int maxSpeed, int? maxDistance, string? audit, bool legacy, int handshakeMs)
    {
        if (pkiDir is not null)
        {
            if (!Directory.Exists(pkiDir))
            {
                throw new CliException($"--pki {pkiDir}: no such directory", hint: "make one with `alex pki init --dir " + pkiDir + "`");
            }

            cert ??= Path.Combine(pkiDir, "alex.crt");
            key ??= Path.Combine(pkiDir, "alex.key");
            ca ??= Path.Combine(pkiDir, CertificateAuthority.CertificateFileName);
            var pkiCrl = Path.Combine(pkiDir, CertificateAuthority.CrlFileName);
            crl ??= File.Exists(pkiCrl) ? pkiCrl : null;
        }

        if (cert is null || key is null || ca is null)
        {
            throw new CliException("the robot's certificate, key and CA are needed", hint: "give --pki DIR, or --cert alex.crt --key alex.key --ca signing.pem");
        }

        foreach (var (path, what, flag) in new[] { (cert, "certificate", "--cert"), (key, "private key", "--key"), (ca, "CA certificate", "--ca") })
        {
            if (!File.Exists(path))
            {
                throw new CliException($"{path}: no such {what} file", hint: pkiDir is null ? $"check {flag}" : $"issue it with `alex pki issue` into {pkiDir}, or give {flag}");
            }
        }

        if (crl is not null && !File.Exists(crl))
        {
            throw new CliException($"{crl}: no such CRL file", hint: "make one with `alex pki crl`, or leave out --crl");
        }

        if (allowFile is not null && !File.Exists(allowFile))
        {
            throw new CliException($"{allowFile}: no such allow file", hint: "one NAME[=drive|watch|admin] per line");
        }

        if (!allowAny && allow.Length == 0 && allowFile is null)
        {
            throw new CliException("no allow-list: the server would let nobody in", hint: "name the clients with --allow NAME[=drive|watch|admin] (or --allow-file FILE), or pass --allow-any to let in every certificate from the CA");
        }

        if (allowAny && (allow.Length > 0 || allowFile is not null))
        {
            throw new CliException("--allow-any cannot be combined with --allow or --allow-file", hint: "use one or the other");
        }

        try
        {
            AllowList.Parse(allow);
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        if (simulate == (serial is not null))
        {
            throw new CliException(simulate ? "--simulate and --serial are exclusive" : "no robot: give --serial PATH or --simulate", hint: "e.g. --serial /dev/ttyACM0, or --simulate to use the simulated Alex");
        }

        if (baud is < 300 or > 2_000_000)
        {
            throw new CliException($"--baud {baud}: not a serial speed", hint: "the course uses 9600 (57600 in 2019)");
        }

        if (leaseMs is < 100 or > 60_000)
        {
            throw new CliException($"--lease-ms {leaseMs}: must be between 100 and 60000", hint: "1500 suits Wi-Fi; shorter stops sooner but trips on a slow network");
        }

        if (maxSpeed is < 0 or > 100)
        {
            throw new CliException($"--max-speed {maxSpeed}: must be a percentage from 0 to 100");
        }

        if (maxDistance is < 1)
        {
            throw new CliException($"--max-distance {maxDistance}: must be 1 cm or more");
        }

        if (handshakeMs is < 100 or > 60_000)
        {
            throw new CliException($"--handshake-timeout-ms {handshakeMs}: must be between 100 and 60000");
        }

        var endpoint = ParseListen(listen);
        var host = new RobotHostOptions
        {
            CertificatePath = cert,
            KeyPath = key,
            Policy = new PolicySources(ca, crl, allow, allowFile, allowAny, legacy),
            Listen = endpoint,
            Hub = new HubOptions
            {
                LeaseWindow = TimeSpan.FromMilliseconds(leaseMs),
                MaxSpeedPercent = (uint)maxSpeed,
                MaxDistanceCm = maxDistance is { } d ? (uint)d : null,
            },
            HandshakeTimeout = TimeSpan.FromMilliseconds(handshakeMs),
            AuditPath = audit,
        };
        return (host, new RobotLinkSpec(serial, baud, simulate));
    }

    /// <summary>Checks and applies the session limit and the audit file's size cap.</summary>
    internal static RobotHostOptions WithCapacity(RobotHostOptions host, int maxSessions, string auditMaxSize, int auditKeep)
    {
        if (maxSessions is < 1 or > 10_000)
        {
            throw new CliException($"--max-sessions {maxSessions}: must be between 1 and 10000", hint: $"the default is {RobotServerOptions.DefaultMaxSessions}");
        }

        if (auditKeep is < 0 or > 1000)
        {
            throw new CliException($"--audit-keep {auditKeep}: must be between 0 and 1000");
        }

        if (ParseSize(auditMaxSize) is not { } maxBytes)
        {
            throw new CliException($"--audit-max-size {auditMaxSize}: not a size", hint: "e.g. --audit-max-size 16M (K, M and G are powers of 1024; 0 never rotates)");
        }

        return host with
        {
            MaxSessions = maxSessions,
            AuditFile = new AuditFileOptions { MaxBytes = maxBytes, Keep = auditKeep },
        };
    }

    // "1048576", "512K", "16M", "1G" (powers of 1024); null when not a size.
    internal static long? ParseSize(string text)
    {
        var shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= (long.MaxValue >> 30)
            ? n << shift
            : null;
    }

    internal static IPEndPoint ParseListen(string? listen)
    {
        if (string.IsNullOrEmpty(listen))
        {
            return new IPEndPoint(IPAddress.Any, RobotServerOptions.DefaultPort);
        }

        // A bare number is a port ("5000" would otherwise parse as the IPv4 address 0.0.19.136).
        if (int.TryParse(listen, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            if (port is > 0 and < 65536)
            {
                return new IPEndPoint(IPAddress.Any, port);
            }
        }
        else if (IPEndPoint.TryParse(listen, out var endpoint))
        {
            if (endpoint.Port == 0 && !listen.EndsWith(":0", StringComparison.Ordinal))
            {
                endpoint.Port = RobotServerOptions.DefaultPort;
            }

            return endpoint;
        }

        throw new CliException($"--listen {listen}: not an address and port", hint: "e.g. --listen 0.0.0.0:5000, --listen 127.0.0.1:5001 or --listen [::]:5000");
    }

    private static async Task<int> RunAsync((RobotHostOptions Host, RobotLinkSpec Link) settings, bool quiet, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var link = await ArduinoRobotLink.OpenAsync(settings.Link, time, cancellationToken).ConfigureAwait(false);
        await using var linkScope = link.ConfigureAwait(false);
        if (link.Link is ArduinoRobotLink serial)
        {
            // A missing port, or one another program holds, is said loudly: the server keeps retrying, and clients are told.
            static void Say(bool up, string detail) => Console.Error.WriteLine(up
                ? $"alex serve: the Arduino is connected ({detail})"
                : $"alex serve: WARNING: the Arduino is not connected: {detail}; retrying, clients are told");
            serial.StateChanged += Say;
            if (serial.Problem is { } already)
            {
                Say(false, already);
            }
        }

        RobotHost host;
        try
        {
            host = RobotHost.Start(settings.Host, link.Link, time, quiet ? null : Console.Out.WriteLine, warn: w => Console.Error.WriteLine("alex serve: " + w));
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        await using (host.ConfigureAwait(false))
        {
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var hup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                host.Reload("SIGHUP");
            });
            // Ctrl+C and `kill` end the server the same way: connections closed, the robot stopped if it may be moving
            // (and that STOP written before the serial port closes), then the audit log's last record.
            void Stop(PosixSignalContext c)
            {
                c.Cancel = true;
                stop.TrySetResult();
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var cancel = cancellationToken.Register(() => stop.TrySetResult());
            Console.Error.WriteLine($"alex serve: listening on {host.LocalEndPoint} ({(settings.Link.Simulate ? "simulated Alex" : settings.Link.SerialPath)}); Ctrl+C stops");
            await stop.Task.ConfigureAwait(false);
        }

        return AlexCommandLine.ExitOk;
    }
}
