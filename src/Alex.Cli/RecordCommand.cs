using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Alex.Client;
using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Recording;

namespace Alex.Cli;

/// <summary>
/// `alex record`: watches the robot and writes what it sees to an MCAP file Foxglove opens (docs/recording.md): lidar
/// scans, the odometry pose, the map built from them here, lease, safety and link events, the Arduino's text and, for an admin, every client's
/// commands and their replies (from the audit log).
/// </summary>
internal static class RecordCommand
{
    // How often the pose is sampled (the server never sends status faster than its Welcome minimum).
    private static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(200);

    public static Command Create()
    {
        var cmd = new Command(
            "record",
            "Record a run to an MCAP file (scans, pose, map, commands, events) for Foxglove.\n\n" +
            "Examples:\n" +
            "  alex record alex.local -o run.mcap                until Ctrl+C\n" +
            "  alex record 127.0.0.1:5000 --pki pki -o run.mcap --duration 60\n" +
            "  alex replay run.mcap                              play it back\n\n" +
            "Connects as a watcher (it never drives). With an admin certificate (alex serve --allow NAME=admin) every " +
            "client's commands and their replies are recorded too. Ctrl+C or --duration ends the file properly; a file cut " +
            "off by a crash keeps every chunk written before it (docs/recording.md). Exit codes: 0 recorded, 1 the " +
            "connection or the disk failed, 2 bad usage.");
        var target = ConnectionOptions.HostArgument();
        var output = new Option<string>("--output", "-o") { Description = "the file to write (must not exist)", Required = true };
        var duration = new Option<double?>("--duration") { Description = "seconds to record (default: until Ctrl+C)" };
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        cmd.Options.Add(output);
        cmd.Options.Add(duration);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            if (pr.GetValue(duration) is { } seconds && (!double.IsFinite(seconds) || seconds <= 0))
            {
                throw new CliException($"--duration {seconds.ToString(CultureInfo.InvariantCulture)}: not a number of seconds", "e.g. --duration 60");
            }

            var path = Path.GetFullPath(pr.GetValue(output)!);
            if (File.Exists(path) || Directory.Exists(path))
            {
                throw new CliException($"{path} exists", "choose a new file name; a recording never overwrites one");
            }

            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(target)!);
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, endpoint, credentials);
            var client = await ConnectionOptions.ConnectAlexLink1Async(options, "no telemetry to record", "record a server started with alex serve", ct).ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                return await RecordAsync(client, path, pr.GetValue(duration), ct).ConfigureAwait(false);
            }
        });
        return cmd;
    }

    private static async Task<int> RecordAsync(AlexLinkClient client, string path, double? seconds, CancellationToken ct)
    {
        RecordingFile file;
        try
        {
            file = RecordingFile.Start(() => path, TimeProvider.System);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{path}: {e.Message}", "is the folder there and writable?", AlexCommandLine.ExitFailed);
        }

        string? ended = null;
        await using (file.ConfigureAwait(false))
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (seconds is { } s)
            {
                stop.CancelAfter(TimeSpan.FromSeconds(s));
            }

            // Ctrl+C and `kill` end the recording, not the process: the file still gets its last chunk, summary and footer.
            void End(PosixSignalContext c)
            {
                c.Cancel = true;
                stop.Cancel();
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, End);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, End);

            try
            {
                var subscribed = await client.SubscribeAsync(AlexLinkTopics.All | AlexLinkTopics.Lidar, StatusInterval, stop.Token).ConfigureAwait(false);
                if (!subscribed.Acknowledged)
                {
                    throw new CliException($"{client.Endpoint} refused the subscription: {subscribed.Text}", "update alex on the robot", AlexCommandLine.ExitFailed);
                }

                var commands = client.Welcome?.Role == AlexLinkRole.Admin
                    && (await client.FollowAuditAsync(0, follow: true, stop.Token).ConfigureAwait(false)).Acknowledged;
                file.PostNote(commands
                    ? $"recording {client.Endpoint} as {client.Welcome?.ClientName}: every client's commands and replies included"
                    : $"recording {client.Endpoint} as {client.Welcome?.ClientName} (a {client.Welcome?.Role.ToString().ToLowerInvariant()}): other clients' commands are not recorded; an admin certificate records them");
                Console.Error.WriteLine($"recording to {path}; Ctrl+C ends the file");

                var audit = Task.Run(async () =>
                {
                    await foreach (var line in client.AuditLines.ReadAllAsync(stop.Token).ConfigureAwait(false))
                    {
                        file.Post(line);
                    }
                }, CancellationToken.None);
                await foreach (var message in client.Telemetry.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    file.Post(message);
                    if (file.Completion.IsFaulted)
                    {
                        break;
                    }
                }

                ended = (await client.Closed.ConfigureAwait(false)).Message;
                await audit.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C or --duration: the normal end.
            }
            catch (AlexConnectException e)
            {
                ended = e.Message;
            }

            if (ended is not null)
            {
                file.PostNote("connection ended: " + ended, FoxgloveLogLevel.Warning);
            }
        }

        if (file.Completion.Exception?.GetBaseException() is { } failure)
        {
            throw new CliException($"{path}: writing failed: {failure.Message}", "is the disk full? the file holds what was written before", AlexCommandLine.ExitFailed);
        }

        var dropped = file.Dropped > 0 ? $", {file.Dropped} dropped (the disk did not keep up)" : "";
        Console.Error.WriteLine($"recorded {file.Messages} messages to {path}{dropped}");
        if (ended is not null)
        {
            throw new CliException(ended, "the file is complete up to here; reconnect to record more", AlexCommandLine.ExitFailed);
        }

        return AlexCommandLine.ExitOk;
    }
}
