// The interactive drive console: one loop owns the model; the connection (DriveLink), a key reader
// thread and a 250 ms tick feed it through one channel, and the screen is redrawn after each batch.
//
// The terminal is always given back as it was found: alternate screen left, cursor shown, Ctrl-C
// handling restored, in a finally that runs on quit, on Ctrl-C (which arrives as a key while we own
// the terminal), on SIGTERM/SIGHUP (the command's cancellation token) and on any exception.
using System.Threading.Channels;
using Alex.Client;
using Spectre.Console;

namespace Alex.Cli.Drive;

/// <summary>A key press from the reader thread.</summary>
internal sealed record KeyPressedEvent(ConsoleKeyInfo Key) : DriveEvent;

/// <summary>Redraw (clocks on screen move on).</summary>
internal sealed record TickEvent : DriveEvent;

internal static class DriveConsole
{
    private const string EnterAlternateScreen = "\u001b[?1049h\u001b[H";
    private const string LeaveAlternateScreen = "\u001b[?1049l";
    private const string HideCursor = "\u001b[?25l";
    private const string ShowCursor = "\u001b[?25h";

    /// <summary>True when both ends are a terminal a person types at and watches.</summary>
    public static bool CanRunInteractive =>
        !Console.IsInputRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Capabilities.Ansi;

    /// <summary>Runs until q, Ctrl-C, cancellation, or a connection that cannot be made. Returns the exit code.</summary>
    public static async Task<int> RunAsync(DriveModel model, AlexClientOptions options, string settingsPath, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var events = Channel.CreateUnbounded<DriveEvent>(new UnboundedChannelOptions { SingleReader = true });
        await using var link = new DriveLink(options, model.Extensions, events.Writer);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var requests = new List<Task>();
        var treatControlC = Console.TreatControlCAsInput;
        var entered = false;
        Task linkTask = Task.CompletedTask;
        try
        {
            Console.Out.Write(EnterAlternateScreen + HideCursor);
            Console.Out.Flush();
            entered = true;
            Console.TreatControlCAsInput = true;
            StartKeyReader(events.Writer, stopping.Token);
            using var ticker = time.CreateTimer(_ => events.Writer.TryWrite(new TickEvent()), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
            linkTask = link.RunAsync(stopping.Token);

            await AnsiConsole.Live(Draw(model, time))
                .AutoClear(false)
                .Overflow(VerticalOverflow.Crop)
                .Cropping(VerticalOverflowCropping.Bottom)
                .StartAsync(async ctx =>
                {
                    var reader = events.Reader;
                    while (await reader.WaitToReadAsync(stopping.Token).ConfigureAwait(false))
                    {
                        var quit = false;
                        while (reader.TryRead(out var e))
                        {
                            var now = time.GetUtcNow();
                            if (e is KeyPressedEvent key)
                            {
                                var intent = model.Decide(DriveKeys.Map(key.Key), now);
                                quit |= Act(intent, model, link, settingsPath, requests, now, stopping.Token);
                            }
                            else
                            {
                                model.Apply(e, now);
                            }
                        }

                        requests.RemoveAll(t => t.IsCompleted);
                        ctx.UpdateTarget(Draw(model, time));
                        ctx.Refresh();
                        if (quit || model.Phase == ConnectionPhase.Failed)
                        {
                            return;
                        }
                    }
                })
                .ConfigureAwait(false);

            if (model.IsDriver && link.IsConnected)
            {
                // Leaving while driving: stop Alex now rather than leave it to the server's dead-man.
                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await link.SendAsync(Alex.Protocol.DriveCommand.Stop, bound.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The server stops Alex by itself when its driver leaves.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // SIGTERM / SIGHUP: restore the terminal below and report as interrupted.
        }
        finally
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            Console.TreatControlCAsInput = treatControlC;
            if (entered)
            {
                try
                {
                    Console.Out.Write(ShowCursor + LeaveAlternateScreen);
                    Console.Out.Flush();
                }
                catch (IOException)
                {
                    // The terminal itself is gone (window closed): nothing to restore, carry on cleaning up.
                }
            }

            await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(3), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await linkTask.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        // The alternate screen is gone: leave a short record in the normal one (if the terminal is still there).
        try
        {
            foreach (var line in model.Log.Where(l => l.Kind != DriveLogKind.Sent).TakeLast(5))
            {
                Console.Out.WriteLine(line.Text);
            }

            if (model.Counters is { } counters)
            {
                Console.Out.WriteLine($"odometry: {DriveModel.DescribeOdometry(counters)}");
            }
        }
        catch (IOException)
        {
            // Closed window: nobody to tell.
        }

        if (model.Phase == ConnectionPhase.Failed)
        {
            return AlexCommandLine.ExitFailed;
        }

        return cancellationToken.IsCancellationRequested ? AlexCommandLine.ExitInterrupted : AlexCommandLine.ExitOk;
    }

    private static Spectre.Console.Rendering.IRenderable Draw(DriveModel model, TimeProvider time) =>
        DriveScreen.Render(model, time.GetUtcNow(), AnsiConsole.Profile.Width, AnsiConsole.Profile.Height);

    /// <summary>Carries out an intent; true to quit.</summary>
    private static bool Act(DriveIntent intent, DriveModel model, DriveLink link, string settingsPath, List<Task> requests, DateTimeOffset now, CancellationToken cancellationToken)
    {
        switch (intent.Kind)
        {
            case DriveIntentKind.Quit:
                return true;
            case DriveIntentKind.Send:
            case DriveIntentKind.Stop:
                // Not awaited: the screen stays live while the reply is on its way (STOP must never wait behind a move).
                requests.Add(link.SendAsync(intent.Command, cancellationToken));
                return false;
            case DriveIntentKind.TakeLease:
                requests.Add(link.TakeLeaseAsync(cancellationToken));
                return false;
            case DriveIntentKind.ReleaseLease:
                requests.Add(link.ReleaseLeaseAsync(cancellationToken));
                return false;
            case DriveIntentKind.ClearPath:
                link.ResetPath();
                return false;
            case DriveIntentKind.SettingsChanged:
                if (!DriveSettingsFile.TrySave(settingsPath, model.Settings, out var problem))
                {
                    model.Note(now, DriveLogKind.Problem, $"settings not saved: {problem}");
                }

                return false;
            default:
                return false;
        }
    }

    private static void StartKeyReader(ChannelWriter<DriveEvent> events, CancellationToken cancellationToken)
    {
        // Console.ReadKey blocks with no way to cancel it, so it gets its own background thread; the
        // thread ends with the process (it may still sit in ReadKey when the console closes).
        var thread = new Thread(() =>
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    var key = Console.ReadKey(intercept: true);
                    if (!cancellationToken.IsCancellationRequested)
                    {
                        events.TryWrite(new KeyPressedEvent(key));
                    }
                }
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                // Input is not a console after all, or the terminal was closed (SIGHUP cleans up).
            }
        })
        {
            IsBackground = true,
            Name = "alex drive keys",
        };
        thread.Start();
    }
}
