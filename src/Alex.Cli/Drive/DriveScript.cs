// A scripted drive ("f 50 75; l 90 60; g"), for `alex demo --script` and any non-interactive demo:
// each command is sent, its result printed, and after a move the script waits until Alex stands still
// (the firmware sends no "move finished", docs/course-protocol.md §3: two equal odometry readings in a row), so the
// next command starts from where the last one ended and the final odometry is the whole drive.
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.Serial;

namespace Alex.Cli.Drive;

internal static class DriveScript
{
    public const string DefaultScript = "f 50 75; l 90 60; g";

    /// <summary>Commands separated by ';' or new lines; one-line usage errors.</summary>
    public static IReadOnlyList<DriveCommand> Parse(string script)
    {
        ArgumentNullException.ThrowIfNull(script);
        var commands = new List<DriveCommand>();
        foreach (var part in script.Split([';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = part.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!DriveCommand.TryParse(words, out var command, out var error))
            {
                throw new CliException($"--script: '{part}': {error}", hint: "e.g. --script \"f 50 75; l 90 60; g\"");
            }

            commands.Add(command.Value);
        }

        if (commands.Count == 0)
        {
            throw new CliException("--script: no commands", hint: "e.g. --script \"f 50 75; l 90 60; g\"");
        }

        return commands;
    }

    /// <summary>Runs the commands; 0 when every one was acknowledged, 1 otherwise.</summary>
    public static async Task<int> RunAsync(AlexLinkClient client, IReadOnlyList<DriveCommand> commands, TextWriter output, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(commands);
        ArgumentNullException.ThrowIfNull(output);
        var path = new DeadReckoning();
        var failed = 0;
        await Track(path, client, cancellationToken).ConfigureAwait(false);
        foreach (var command in commands)
        {
            var reply = await client.SendAsync(command, cancellationToken).ConfigureAwait(false);
            if (!reply.Acknowledged)
            {
                failed++;
                await output.WriteLineAsync($"{command}: FAILED: {reply.Text}").ConfigureAwait(false);
                continue;
            }

            if (command.IsMove)
            {
                var started = time.GetTimestamp();
                var still = await StillWaiter.WaitUntilStillAsync(client, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60), time, cancellationToken).ConfigureAwait(false);
                var counters = await Track(path, client, cancellationToken).ConfigureAwait(false);
                var moved = counters is { } c ? $"; now {DriveModel.DescribeOdometry(c)}" : string.Empty;
                await output.WriteLineAsync($"{command}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms), {(still ? "moved for" : "still moving after")} {time.GetElapsedTime(started).TotalSeconds:0.0} s{moved}").ConfigureAwait(false);
            }
            else if (reply.Status is { } status)
            {
                path.Update(status);
                await output.WriteLineAsync($"{command}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms)").ConfigureAwait(false);
                await output.WriteLineAsync(DriveLineMode.DescribeCounters(status)).ConfigureAwait(false);
            }
            else
            {
                await output.WriteLineAsync($"{command}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms)").ConfigureAwait(false);
            }
        }

        var final = await Track(path, client, cancellationToken).ConfigureAwait(false);
        if (final is { } f)
        {
            var pose = path.Current;
            await output.WriteLineAsync($"final odometry: {DriveModel.DescribeOdometry(f)}").ConfigureAwait(false);
            await output.WriteLineAsync($"final pose: x {pose.X:0.0} cm, y {pose.Y:0.0} cm, heading {pose.HeadingDeg:0} degrees (from where it started, left turns positive)").ConfigureAwait(false);
        }
        else
        {
            failed++;
            await output.WriteLineAsync("final odometry: not available (GET_STATS failed)").ConfigureAwait(false);
        }

        return failed == 0 ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
    }

    private static async Task<StatusCounters?> Track(DeadReckoning path, AlexLinkClient client, CancellationToken cancellationToken)
    {
        var reply = await client.SendAsync(DriveCommand.GetStats, cancellationToken).ConfigureAwait(false);
        if (reply is { Acknowledged: true, Status: { } counters })
        {
            path.Update(counters);
            return counters;
        }

        return null;
    }
}
