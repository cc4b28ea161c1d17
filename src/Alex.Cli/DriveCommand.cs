using System.CommandLine;
using Alex.Cli.Drive;
using Alex.Client;
using Alex.Protocol.Extensions;

namespace Alex.Cli;

/// <summary>
/// `alex drive HOST[:PORT]`: the interactive console on a terminal, line mode when
/// input or output is not one (or with --line). The class is not called DriveCommand so it never
/// hides Alex.Protocol.DriveCommand from the rest of the CLI.
/// </summary>
internal static class DriveConsoleCommand
{
    public static Command Create()
    {
        var target = ConnectionOptions.HostArgument();
        var line = new Option<bool>("--line") { Description = "Line mode even on a terminal: read commands like the course client" };
        var extensions = ExtensionsOption.Create();

        var cmd = new Command(
            "drive",
            "Drive Alex from a terminal, live: keys move it, the screen shows the connection, lease, odometry and path.\n\n" +
            "Examples:\n" +
            "  alex drive 192.168.1.42                       drive Alex from this laptop (credentials from ./pki)\n" +
            "  alex drive alex.local:5000 --cert laptop.crt --key laptop.key --ca signing.pem --name alex.epp.com\n" +
            "  printf 'f 50 75\\ng\\nq\\n' | alex drive 127.0.0.1 --pki pki   scripted (line mode)\n" +
            "  alex drive alex.local --pki pki --extensions alex-extensions.json   the team's commands on their keys\n\n" +
            "Keys: f b l r (or arrows / WASD) move by the distance or angle you set, " +
            "a team's declared commands (--extensions) are on their declared keys (their params from the distance, angle and speed you set), " +
            "SPACE or Esc is STOP, g reads the odometry, c clears it, t takes the driver lease, q quits. +/- and 1-9,0 set the speed, " +
            "[ ] the distance, , . the angle; they are remembered in ~/.config/alexlink/drive.json. " +
            "The screen shows the connection, who holds the driver lease, latency, the counters, the path " +
            "driven and what the Arduino says, and reconnects by itself if the network drops.\n\n" +
            "When input or output is not a terminal it reads one command per line like the course client " +
            "('f' then '50 75', or 'f 50 75'; s g c; t / u take or release the lease; q quits) and exits 1 if one failed.");
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd);
        cmd.Options.Add(line);
        cmd.Options.Add(extensions);

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(target)!);
            var declared = ExtensionsOption.Load(pr.GetValue(extensions));
            _ = connection.TimeoutValue(pr);
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, endpoint, credentials) with { Extensions = declared };
            using var signals = TerminationSignals.Watch(ct);
            return await RunAsync(options, pr.GetValue(line), Console.In, Console.Out, signals.Token, extensions: declared).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>Runs the console (or line mode) against a server; shared with `alex demo`.</summary>
    /// <param name="pinned">A line the console always shows (and line mode prints first), e.g. the web page's URL.</param>
    /// <param name="extensions">The team's declared commands (docs/extensions.md); none when null.</param>
    public static async Task<int> RunAsync(AlexClientOptions options, bool forceLine, TextReader input, TextWriter output, CancellationToken cancellationToken, string? pinned = null, TeamExtensions? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var time = TimeProvider.System;
        var settingsPath = DriveSettingsFile.DefaultPath;
        var model = new DriveModel(new HostPort(options.Host, options.Port).ToString(), DriveSettingsFile.Load(settingsPath)) { Pinned = pinned, Extensions = extensions ?? TeamExtensions.None };
        if (pinned is not null)
        {
            model.Note(time.GetUtcNow(), DriveLogKind.Info, pinned);
        }

        int code;
        if (!forceLine && DriveConsole.CanRunInteractive)
        {
            code = await DriveConsole.RunAsync(model, options, settingsPath, time, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            code = await DriveLineMode.RunAsync(model, options, input, output, time, options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }

        if (model.Phase == ConnectionPhase.Failed)
        {
            throw new CliException(model.PhaseDetail, model.FailureHint, AlexCommandLine.ExitFailed);
        }

        return code;
    }
}
