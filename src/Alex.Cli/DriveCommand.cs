using System.CommandLine;
using Alex.Cli.Drive;
using Alex.Client;
using Alex.Pki;

namespace Alex.Cli;

/// <summary>
/// `alex drive HOST[:PORT]` (issue 5 item 1): the interactive console on a terminal, line mode when
/// input or output is not one (or with --line). The class is not called DriveCommand so it never
/// hides Alex.Protocol.DriveCommand from the rest of the CLI.
/// </summary>
internal static class DriveConsoleCommand
{
    public static Command Create()
    {
        var target = new Argument<string>("HOST[:PORT]") { Description = $"The robot server (port {AlexClientOptions.DefaultPort} when not given; [::1]:PORT for IPv6)" };
        var pki = new Option<string?>("--pki") { Description = "Folder with laptop.crt, laptop.key and signing.pem (default: ./pki)" };
        var cert = new Option<string?>("--cert") { Description = "This laptop's certificate (instead of --pki)" };
        var key = new Option<string?>("--key") { Description = "Its private key" };
        var ca = new Option<string?>("--ca") { Description = "The CA certificate the robot's certificate must chain to (signing.pem)" };
        var name = new Option<string?>("--name") { Description = "The name in the robot's certificate, when it is not the host you connect to (e.g. alex.epp.com)" };
        var classic = new Option<bool>("--classic") { Description = "Speak the course's classic protocol (for the course's own C server)" };
        var legacy = new Option<bool>("--legacy") { Description = "Accept a course-style v1 robot certificate (no key usage, RSA 1024): weaker" };
        var line = new Option<bool>("--line") { Description = "Line mode even on a terminal: read commands like the course client" };

        var cmd = new Command(
            "drive",
            "Examples:\n" +
            "  alex drive 192.168.1.42 --pki pki             drive Alex from this laptop\n" +
            "  alex drive alex.local:5000 --cert laptop.crt --key laptop.key --ca signing.pem --name alex.epp.com\n" +
            "  printf 'f 50 75\\ng\\nq\\n' | alex drive 127.0.0.1 --pki pki   scripted (line mode)\n\n" +
            "Drive Alex from a terminal: f b l r (or arrows / WASD) move by the distance or angle you set, " +
            "SPACE or Esc is STOP, g reads the odometry, c clears it, q quits. +/- and 1-9,0 set the speed, " +
            "[ ] the distance, , . the angle; they are remembered in ~/.config/alexlink/drive.json. " +
            "The screen shows the connection, who holds the driver lease, latency, the counters, the path " +
            "driven and what the Arduino says, and reconnects by itself if the network drops.\n\n" +
            "When input or output is not a terminal it reads one command per line like the course client " +
            "('f' then '50 75', or 'f 50 75'; s g c; t / u take or release the lease; q quits) and exits 1 if one failed.");
        cmd.Arguments.Add(target);
        foreach (var o in new Option[] { pki, cert, key, ca, name, classic, legacy, line })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var (host, port) = ParseTarget(pr.GetValue(target)!);
            using var credentials = LoadCredentials(pr.GetValue(pki), pr.GetValue(cert), pr.GetValue(key), pr.GetValue(ca));
            var options = new AlexClientOptions
            {
                Host = host,
                Port = port,
                ServerName = pr.GetValue(name),
                Credentials = credentials,
                Protocol = pr.GetValue(classic) ? AlexProtocol.Classic : AlexProtocol.Auto,
                AcceptLegacyCertificates = pr.GetValue(legacy),
            };
            using var signals = TerminationSignals.Watch(ct);
            return await RunAsync(options, pr.GetValue(line), Console.In, Console.Out, signals.Token).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>Runs the console (or line mode) against a server; shared with `alex demo`.</summary>
    public static async Task<int> RunAsync(AlexClientOptions options, bool forceLine, TextReader input, TextWriter output, CancellationToken cancellationToken, IReadOnlyList<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var time = TimeProvider.System;
        var settingsPath = DriveSettingsFile.DefaultPath;
        var model = new DriveModel(new HostPort(options.Host, options.Port).ToString(), DriveSettingsFile.Load(settingsPath));
        foreach (var note in notes ?? [])
        {
            model.Note(time.GetUtcNow(), DriveLogKind.Info, note);
        }

        Task<AlexLinkClient> Connect(CancellationToken ct) => AlexLinkClient.ConnectAsync(options, ct);

        int code;
        if (!forceLine && DriveConsole.CanRunInteractive)
        {
            code = await DriveConsole.RunAsync(model, Connect, settingsPath, time, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            code = await DriveLineMode.RunAsync(model, Connect, input, output, time, options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }

        if (model.Phase == ConnectionPhase.Failed)
        {
            throw new CliException(model.PhaseDetail, model.FailureHint, AlexCommandLine.ExitFailed);
        }

        return code;
    }

    /// <summary>"host", "host:port", "[v6]" or "[v6]:port".</summary>
    public static (string Host, int Port) ParseTarget(string target)
    {
        if (!HostPort.TryParse(target, AlexClientOptions.DefaultPort, out var hostPort, out var error))
        {
            throw new CliException(error, hint: "e.g. alex drive 127.0.0.1:5000 (or [::1]:5000)");
        }

        return (hostPort.Value.Host, hostPort.Value.Port);
    }

    /// <summary>The three files from --pki DIR (default ./pki) or from --cert/--key/--ca; one-line errors.</summary>
    public static AlexCredentials LoadCredentials(string? pkiDir, string? cert, string? key, string? ca)
    {
        try
        {
            if (cert is not null || key is not null || ca is not null)
            {
                if (pkiDir is not null)
                {
                    throw new CliException("give either --pki or --cert/--key/--ca, not both");
                }

                if (cert is null || key is null || ca is null)
                {
                    throw new CliException("--cert, --key and --ca go together", hint: "or give --pki DIR with laptop.crt, laptop.key and signing.pem");
                }

                return AlexCredentials.FromFiles(cert, key, ca);
            }

            return AlexCredentials.FromPkiDirectory(pkiDir ?? "pki");
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint ?? "make the laptop's files with `alex pki issue client laptop`");
        }
    }
}
