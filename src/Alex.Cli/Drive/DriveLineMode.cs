// `alex drive` when input or output is not a terminal (or with --line): commands one per line, as the
// course client reads them (docs/course-protocol.md §4: a letter, then "distance speed" on the next line), or the
// whole command on one line ("f 50 75"); a team's declared command by its name and params ("sweep 40",
// docs/extensions.md). s, g, c take no numbers; t / u take and release the lease;
// q (or the end of input) quits. Lines starting with # are comments. Every event the interactive
// console would show is printed as one line, in order, so a script can read the results.
//
// Exit code: 0 when every command succeeded, 1 when one failed or the connection could not be made.
using System.Threading.Channels;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Cli.Drive;

internal static class DriveLineMode
{
    public static async Task<int> RunAsync(
        DriveModel model,
        AlexClientOptions options,
        TextReader input,
        TextWriter output,
        TimeProvider time,
        TimeSpan connectWait,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var events = Channel.CreateUnbounded<DriveEvent>(new UnboundedChannelOptions { SingleReader = true });
        await using var link = new DriveLink(options, model.Extensions, events.Writer);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var linkTask = link.RunAsync(stopping.Token);
        var printer = PrintAsync(model, events.Reader, output, time);
        var failures = 0;
        try
        {
            var up = link.WaitConnectedAsync(connectWait, stopping.Token);
            if (await Task.WhenAny(up, linkTask).ConfigureAwait(false) != up || !await up.ConfigureAwait(false))
            {
                return AlexCommandLine.ExitFailed;
            }

            string? pendingMove = null;
            // WaitAsync: a read of a console's stdin does not notice cancellation by itself.
            while (await input.ReadLineAsync(stopping.Token).AsTask().WaitAsync(stopping.Token).ConfigureAwait(false) is { } raw)
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (pendingMove is not null)
                {
                    words = [pendingMove, .. words];
                    pendingMove = null;
                }
                else if (words is ["q" or "quit" or "exit"])
                {
                    break;
                }
                else if (words.Length == 1 && IsMove(words[0]))
                {
                    pendingMove = words[0]; // the course client asks for "distance speed" next
                    continue;
                }

                if (!await RunLineAsync(words, model.Extensions, link, events.Writer, connectWait, stopping.Token).ConfigureAwait(false))
                {
                    failures++;
                }
            }

            if (pendingMove is not null)
            {
                events.Writer.TryWrite(new NoteEvent(DriveLogKind.Problem, $"'{pendingMove}' was not sent: the distance and speed never came (e.g. '50 75' on the next line)"));
                failures++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            failures++;
        }
        finally
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            await linkTask.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            events.Writer.TryComplete();
            await printer.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return AlexCommandLine.ExitInterrupted;
        }

        return failures == 0 && model.Phase != ConnectionPhase.Failed ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
    }

    private static bool IsMove(string word) =>
        DriveCommand.TryParse([word, "0", "0"], out var command, out _) && command.Value.IsMove;

    /// <summary>Runs one command line; false when it failed.</summary>
    private static async Task<bool> RunLineAsync(string[] words, TeamExtensions extensions, DriveLink link, ChannelWriter<DriveEvent> events, TimeSpan connectWait, CancellationToken cancellationToken)
    {
        Func<CancellationToken, Task<CommandReply?>>? lease = words switch
        {
            ["t" or "take"] => link.TakeLeaseAsync,
            ["u" or "release"] => link.ReleaseLeaseAsync,
            _ => null,
        };
        DriveCommand? command = null;
        if (lease is null && !DriveCommand.TryParse(words, extensions, out command, out var error))
        {
            events.TryWrite(new NoteEvent(DriveLogKind.Problem, error));
            return false;
        }

        // During a reconnect, wait (bounded) for the connection rather than fail a script at once.
        await link.WaitConnectedAsync(connectWait, cancellationToken).ConfigureAwait(false);
        var reply = lease is not null
            ? await lease(cancellationToken).ConfigureAwait(false)
            : await link.SendAsync(command!.Value, cancellationToken).ConfigureAwait(false);
        if (reply is { Acknowledged: true, Status: { } counters })
        {
            events.TryWrite(new NoteEvent(DriveLogKind.Info, DescribeCounters(counters)));
        }

        return reply is { Acknowledged: true };
    }

    /// <summary>All ten counters, one per line, named as the course client names them.</summary>
    public static string DescribeCounters(in StatusCounters counters)
    {
        var values = counters.ToArray();
        return string.Join('\n', StatusCounters.Names.Select((name, i) => $"  {name}: {values[i]}"));
    }

    private static async Task PrintAsync(DriveModel model, ChannelReader<DriveEvent> events, TextWriter output, TimeProvider time)
    {
        var mark = model.NextSequence;
        await foreach (var e in events.ReadAllAsync().ConfigureAwait(false))
        {
            model.Apply(e, time.GetUtcNow());
            foreach (var line in model.Log)
            {
                if (line.Sequence < mark || line.Kind == DriveLogKind.Sent)
                {
                    continue;
                }

                await output.WriteLineAsync(line.Kind == DriveLogKind.Lease ? $"lease: {line.Text}" : line.Text).ConfigureAwait(false);
            }

            mark = model.NextSequence;
            await output.FlushAsync().ConfigureAwait(false);
        }
    }
}
