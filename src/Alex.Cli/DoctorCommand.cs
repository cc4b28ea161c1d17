using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Alex.Client;
using Alex.Client.Diagnostics;
using Alex.Pki;
using Alex.Pki.Diagnostics;
using Alex.Robot.Diagnostics;
using Spectre.Console;

[assembly: InternalsVisibleTo("Alex.EndToEnd.Tests")]

namespace Alex.Cli;

/// <summary>What `alex doctor` was asked to check.</summary>
internal sealed record DoctorRequest
{
    /// <summary>The certificate sets to check (laptop and/or robot).</summary>
    public IReadOnlyList<CertificateSet> Sets { get; init; } = [];

    /// <summary>HOST[:PORT] to connect to, or null.</summary>
    public HostPort? Target { get; init; }

    /// <summary>The name the robot's certificate must carry (default: the host).</summary>
    public string? ServerName { get; init; }

    public string? SerialPath { get; init; }

    public SerialCheckupOptions Serial { get; init; } = new();

    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(ConnectionOptions.DefaultTimeoutSeconds);

    /// <summary>Accept a course-style v1 robot certificate when connecting (`--legacy`), as drive and send do.</summary>
    public bool Legacy { get; init; }

    /// <summary>Where the laptop key's passphrase comes from when it is encrypted.</summary>
    public KeyPassphrase Passphrase { get; init; } = KeyPassphrase.None;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>One section of the report: a heading and its findings.</summary>
internal sealed record DoctorSection(string Title, IReadOnlyList<Finding> Findings);

/// <summary>
/// `alex doctor`: finds what would make a connection fail before the user does.
/// The checks are in the libraries (CertificateCheckup, ConnectionCheckup, SerialCheckup); this file
/// decides which to run, and renders a line per check with its fix, then a summary.
/// Exit codes: 0 nothing wrong (warnings allowed), 1 a problem was found, 2 bad usage.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "doctor",
            "Find what would make a connection fail (certificates, keys, clocks, names, the robot's port, the serial line), each with its fix.\n\n" +
            "Examples:\n" +
            "  alex doctor                                        check the certificate files in ./pki (laptop's, robot's, or both)\n" +
            "  alex doctor --pki pki alex.local:5000              ... and connect to the robot the way alex drive would\n" +
            "  alex doctor --pki pki 192.168.1.50 --name alex.epp.com\n" +
            "  alex doctor --role robot --pki /etc/alex --serial /dev/ttyACM0    on the Pi: its files and the Arduino's port\n" +
            "  alex doctor --cert laptop.crt --key laptop.key --ca signing.pem --json\n" +
            "  alex doctor 192.168.1.50 --legacy                  a course setup (X.509 v1 certificates) and the course's server\n\n" +
            "What it finds, each with the fix in one line: " +
            "certificates expired or not yet valid (a Pi has no clock battery: the clock is shown), expiring soon, a key that " +
            "does not match its certificate or that others can read, a server certificate used as a client's (or the other way), " +
            "a certificate not signed by the signing.pem beside it (laptop and robot from different CAs), revoked or a stale CRL, " +
            "the robot's name not matching the host, the port refused or unreachable, a TLS alert or the robot's refusal and what " +
            "it means, the serial port missing or not permitted (dialout group), a baud mismatch.\n" +
            "Exit codes: 0 all good (warnings allowed), 1 something is wrong, 2 bad usage.");
        var target = new Argument<string?>("HOST[:PORT]") { Description = $"The robot server to try (port {AlexClientOptions.DefaultPort} when not given)", Arity = ArgumentArity.ZeroOrOne };
        var crl = new Option<string?>("--crl") { Description = "the CA's revocation list (default: crl.pem beside the CA file)" };
        var role = new Option<string?>("--role") { Description = "whose files these are: laptop (client certificate) or robot (server certificate); default: by the files found" };
        role.AcceptOnlyFromAmong("laptop", "robot");
        var serial = new Option<string?>("--serial") { Description = "the Arduino's serial port to check, e.g. /dev/ttyACM0 (on the Pi; stop alex serve first for the baud check)" };
        var baud = new Option<int>("--baud") { Description = "the serial speed the server uses", DefaultValueFactory = _ => 9600 };
        var noProbe = new Option<bool>("--no-probe") { Description = "do not send GET_STATS on the serial port (only check it exists and may be opened)" };
        var json = new Option<bool>("--json") { Description = "print the findings as JSON" };
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        cmd.Options.Add(connection.Legacy);
        foreach (var o in new Option[] { crl, role, serial, baud, noProbe, json })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            HostPort? endpoint = pr.GetValue(target) is { } text ? ConnectionOptions.ParseHost(text) : null;
            var stepTimeout = connection.TimeoutValue(pr);

            var baudRate = pr.GetValue(baud);
            if (baudRate is < 300 or > 4_000_000)
            {
                throw new CliException($"--baud {baudRate}: not a serial speed", hint: "common: 9600 (the course), 57600, 115200");
            }

            var roleValue = pr.GetValue(role) switch
            {
                "laptop" => DeviceRole.Laptop,
                "robot" => DeviceRole.Robot,
                _ => (DeviceRole?)null,
            };
            var source = connection.Source(pr);
            var sets = ChooseSets(source.PkiDirectory ?? DefaultPki(source), source.CertificatePath, source.KeyPath, source.CaPath, pr.GetValue(crl), roleValue, endpoint is not null || pr.GetValue(serial) is not null);
            var request = new DoctorRequest
            {
                Sets = sets,
                Target = endpoint,
                ServerName = pr.GetValue(connection.Name),
                Passphrase = source.Passphrase,
                Legacy = pr.GetValue(connection.Legacy),
                SerialPath = pr.GetValue(serial),
                Serial = new SerialCheckupOptions { BaudRate = baudRate, ProbeBaud = !pr.GetValue(noProbe) },
                StepTimeout = stepTimeout,
            };
            var sections = await CheckAsync(request, ct).ConfigureAwait(false);
            var color = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Ansi;
            return Render(sections, Console.Out, pr.GetValue(json), color);
        });
        return cmd;
    }

    /// <summary>./pki when it exists and no files were named, as for every command that connects.</summary>
    private static string? DefaultPki(CredentialSource source) =>
        source.IsDefault && Directory.Exists(CredentialSource.DefaultPkiDirectory) ? CredentialSource.DefaultPkiDirectory : null;

    /// <summary>Which certificate sets the options name; a usage error when they name none and there is nothing else to check.</summary>
    internal static IReadOnlyList<CertificateSet> ChooseSets(string? pki, string? cert, string? key, string? ca, string? crl, DeviceRole? role, bool somethingElse)
    {
        var explicitFiles = cert is not null || key is not null || ca is not null;
        if (pki is not null && explicitFiles)
        {
            throw new CliException("give either --pki DIR or --cert, --key and --ca, not both");
        }

        if (explicitFiles)
        {
            if (cert is null || key is null || ca is null)
            {
                var missing = string.Join(", ", new[] { ("--cert", cert), ("--key", key), ("--ca", ca) }.Where(p => p.Item2 is null).Select(p => p.Item1));
                throw new CliException($"missing {missing}", hint: "give all three of --cert, --key and --ca, or --pki DIR");
            }

            // The course's robot files are alex.*; anything else is taken for the laptop's unless --role says.
            var inferred = role ?? (Path.GetFileName(cert).StartsWith("alex", StringComparison.OrdinalIgnoreCase) ? DeviceRole.Robot : DeviceRole.Laptop);
            var crlPath = crl ?? Path.Combine(Path.GetDirectoryName(ca) is { Length: > 0 } d ? d : ".", CertificateAuthority.CrlFileName);
            return [new CertificateSet(inferred, cert, key, ca, crlPath)];
        }

        if (pki is null)
        {
            if (somethingElse)
            {
                return [];
            }

            throw new CliException("nothing to check", hint: "give --pki DIR (or --cert, --key and --ca), and optionally HOST[:PORT] and --serial PATH");
        }

        if (!Directory.Exists(pki))
        {
            throw new CliException($"{pki}: no such directory", hint: "give the folder with the certificate files (laptop.crt, laptop.key, signing.pem on a laptop; alex.crt, alex.key, signing.pem on the robot)");
        }

        var roles = role is { } r ? [r] : CertificateSet.RolesIn(pki);
        if (roles.Count == 0)
        {
            // Nothing recognisable: check the laptop's names, which reports exactly which files are missing.
            roles = [DeviceRole.Laptop];
        }

        return roles.Select(x => CertificateSet.InDirectory(pki, x) with { CrlPath = crl ?? CertificateSet.InDirectory(pki, x).CrlPath }).ToList();
    }

    /// <summary>Runs every check the request asks for, in the order a user fixes things.</summary>
    internal static async Task<IReadOnlyList<DoctorSection>> CheckAsync(DoctorRequest request, CancellationToken ct)
    {
        var sections = new List<DoctorSection>();
        var hostName = request.ServerName ?? request.Target?.Host;
        foreach (var set in request.Sets)
        {
            var findings = CertificateCheckup.Check(set, new CertificateCheckupOptions { HostName = hostName, Time = request.Time });
            var who = set.Role == DeviceRole.Laptop ? "laptop" : "robot";
            sections.Add(new DoctorSection($"{who} certificate ({set.CertificatePath})", findings));
        }

        if (request.Target is { } target)
        {
            var laptop = request.Sets.FirstOrDefault(s => s.Role == DeviceRole.Laptop);
            var (credentials, unusable) = TryLoad(laptop, request.Passphrase);
            using var owned = credentials;
            var findings = await ConnectionCheckup.CheckAsync(
                new ConnectionCheckupOptions
                {
                    Host = target.Host,
                    Port = target.Port,
                    ServerName = request.ServerName,
                    Credentials = credentials,
                    AcceptLegacyCertificates = request.Legacy,
                    StepTimeout = request.StepTimeout,
                    Time = request.Time,
                    WithoutCredentials = laptop is null
                        ? ("no laptop certificate given", "give --pki DIR with laptop.crt, laptop.key and signing.pem (or --cert/--key/--ca) to check the whole connection")
                        : ($"this laptop's certificate files could not be used ({unusable})", "fix the certificate problems above, then run alex doctor again"),
                },
                ct).ConfigureAwait(false);
            sections.Add(new DoctorSection($"connection to {target.Host}:{target.Port}", findings));
        }

        if (request.SerialPath is { } serialPath)
        {
            var findings = await SerialCheckup.CheckAsync(serialPath, request.Serial, open: null, ct).ConfigureAwait(false);
            sections.Add(new DoctorSection($"serial port {serialPath}", findings));
        }

        return sections;
    }

    /// <summary>Prints the report and returns the exit code (1 when any problem was found).</summary>
    internal static int Render(IReadOnlyList<DoctorSection> sections, TextWriter output, bool json, bool color)
    {
        var all = sections.SelectMany(s => s.Findings).ToList();
        var problems = all.Count(f => f.Level == FindingLevel.Problem);
        var warnings = all.Count(f => f.Level == FindingLevel.Warning);
        var exit = Finding.ExitCode(all);
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new DoctorReport(exit == 0, problems, warnings, sections), DoctorJson.Default.DoctorReport));
            return exit;
        }

        if (color)
        {
            foreach (var section in sections)
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(section.Title)}[/]");
                foreach (var f in section.Findings)
                {
                    var (mark, style) = f.Level switch
                    {
                        FindingLevel.Ok => ("✔", "green"),
                        FindingLevel.Warning => ("!", "yellow"),
                        _ => ("✖", "red"),
                    };
                    AnsiConsole.MarkupLine($"  [{style}]{mark}[/] {Markup.Escape(f.Message)}");
                    if (f.Fix is not null && f.Level != FindingLevel.Ok)
                    {
                        AnsiConsole.MarkupLine($"      [dim]fix:[/] {Markup.Escape(f.Fix)}");
                    }
                }
            }

            AnsiConsole.MarkupLine(Summary(problems, warnings, all.Count) is var s && problems > 0 ? $"[red bold]{Markup.Escape(s)}[/]" : warnings > 0 ? $"[yellow]{Markup.Escape(s)}[/]" : $"[green]{Markup.Escape(s)}[/]");
            return exit;
        }

        foreach (var section in sections)
        {
            output.WriteLine(section.Title);
            foreach (var f in section.Findings)
            {
                var mark = f.Level switch
                {
                    FindingLevel.Ok => "ok  ",
                    FindingLevel.Warning => "warn",
                    _ => "FAIL",
                };
                output.WriteLine($"  {mark} {f.Message}");
                if (f.Fix is not null && f.Level != FindingLevel.Ok)
                {
                    output.WriteLine($"       fix: {f.Fix}");
                }
            }
        }

        output.WriteLine(Summary(problems, warnings, all.Count));
        return exit;
    }

    private static string Summary(int problems, int warnings, int checks)
    {
        if (problems > 0)
        {
            return $"{Count(problems, "problem")}{(warnings > 0 ? $", {Count(warnings, "warning")}" : string.Empty)}: a connection will fail (or is unsafe) until the problems are fixed";
        }

        return warnings > 0
            ? $"no problems, {Count(warnings, "warning")} ({checks} checks)"
            : $"all good ({checks} checks)";
    }

    private static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    private static (AlexCredentials? Credentials, string? Problem) TryLoad(CertificateSet? set, KeyPassphrase passphrase)
    {
        if (set is null)
        {
            return (null, null);
        }

        try
        {
            return (AlexCredentials.FromFiles(set.CertificatePath, set.KeyPath, set.CaPath, passphrase), null);
        }
        catch (PkiException e)
        {
            return (null, e.Message); // the certificate section explains it too
        }
        catch (ArgumentException e)
        {
            return (null, e.Message);
        }
    }
}
