using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Alex.Client.Recording;
using Alex.Protocol.Extensions;
using Alex.Protocol.Mcap;
using Alex.Web;

namespace Alex.Cli;

/// <summary>`alex replay`: a recording (docs/recording.md) played back to the console or the web page, at its own pace or faster.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "replay",
            "Play a recording (alex record, alex serve --record) back to the console or the web page.\n\n" +
            "Examples:\n" +
            "  alex replay run.mcap                 at the pace it was recorded\n" +
            "  alex replay run.mcap --speed 10      ten times faster\n" +
            "  alex replay cut.mcap --salvage       a file cut off by a crash: what was written before the cut\n" +
            "  alex replay run.mcap --web           on the web page (path, lidar, map, log), read-only; prints a URL with a token\n" +
            "  alex replay run.mcap --web --listen 127.0.0.1:9000 --speed 4\n\n" +
            "Each line: seconds since the first message, the topic, what it says. With --web the page alex web serves shows " +
            "the recording instead of a robot, labelled as a replay with its file and clock; it plays once from when the " +
            "page opens, and Ctrl+C stops the page. The file is checked whole first (its CRCs, its summary and footer); a " +
            "bad file gets one line saying what is wrong and where. Exit codes: 0 played (or the page stopped), 1 the page " +
            "could not be served, 2 a missing or bad file or bad usage, 130 interrupted.");
        var file = new Argument<string>("FILE") { Description = "an .mcap file" };
        var speed = new Option<double>("--speed") { Description = "how many times faster than recorded", DefaultValueFactory = _ => 1 };
        var salvage = new Option<bool>("--salvage") { Description = "play what can be read of a cut-off or damaged file" };
        var web = new Option<bool>("--web") { Description = "play it on the web page instead (prints the URL to open)" };
        var listen = new Option<string>("--listen") { Description = $"with --web: where the page is served (default 127.0.0.1:{WebCommand.DefaultListenPort}; port 0 picks a free one)" };
        cmd.Arguments.Add(file);
        cmd.Options.Add(speed);
        cmd.Options.Add(salvage);
        cmd.Options.Add(web);
        cmd.Options.Add(listen);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var factor = pr.GetValue(speed);
            if (!double.IsFinite(factor) || factor <= 0 || factor > 1e6)
            {
                throw new CliException($"--speed {factor.ToString(CultureInfo.InvariantCulture)}: not a speed-up", "e.g. --speed 10 (ten times faster)");
            }

            if (pr.GetValue(listen) is not null && !pr.GetValue(web))
            {
                throw new CliException("--listen is for --web", "e.g. alex replay run.mcap --web --listen 127.0.0.1:9000");
            }

            var options = pr.GetValue(web) ? WebCommand.GatewayOptions(pr.GetValue(listen), false, null, null, Alex.Pki.KeyPassphrase.None, TeamExtensions.None) : null;
            var path = pr.GetValue(file)!;
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"{path}: {e.Message}", "give the .mcap file alex record wrote");
            }

            var contents = McapReader.Read(bytes, out var error);
            if (error is not null && !pr.GetValue(salvage))
            {
                throw new CliException(
                    $"{path} at offset {error.Offset}: {error.Text}",
                    contents.Messages.Count > 0 ? $"--salvage plays the {contents.Messages.Count} messages before it" : "is it a recording from alex record?");
            }

            if (options is not null)
            {
                if (error is not null)
                {
                    Console.Error.WriteLine($"alex: {path} at offset {error.Offset}: {error.Text}; the page plays the {contents.Messages.Count} messages before it");
                }

                return await ServeAsync(options, contents, path, factor, ct).ConfigureAwait(false);
            }

            await PlayAsync(contents, factor, ct).ConfigureAwait(false);
            if (error is not null)
            {
                Console.Error.WriteLine($"alex: {path} at offset {error.Offset}: {error.Text}; played the {contents.Messages.Count} messages before it");
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    // The web page plays it (Alex.Web's replay hub) until Ctrl+C or `kill`, which stop the page, not the process.
    private static async Task<int> ServeAsync(WebGatewayOptions options, McapContents contents, string path, double speed, CancellationToken ct)
    {
        RunningWebGateway gateway;
        try
        {
            gateway = await WebGateway.StartReplayAsync(options, contents, Path.GetFileName(path), speed, ct).ConfigureAwait(false);
        }
        catch (WebGatewayListenException e)
        {
            throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
        }

        await using (gateway.ConfigureAwait(false))
        {
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void Stop(PosixSignalContext c)
            {
                c.Cancel = true;
                stop.TrySetResult();
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var cancel = ct.Register(() => stop.TrySetResult());
            var seconds = contents.Messages.Count == 0 ? 0 : (contents.Messages.Max(m => m.LogTime) - contents.Messages.Min(m => m.LogTime)) / 1e9;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alex replay: {path} on the web page ({contents.Messages.Count} messages, {seconds:0.0} s recorded; it plays when the page opens)"));
            Console.Out.WriteLine();
            Console.Out.WriteLine($"  open  {gateway.Url}");
            Console.Out.WriteLine();
            Console.Out.WriteLine("The URL carries a secret for this run. Ctrl+C stops the page.");
            await Task.WhenAny(stop.Task, gateway.Completion).ConfigureAwait(false);
        }

        return AlexCommandLine.ExitOk;
    }

    private static async Task PlayAsync(McapContents contents, double speed, CancellationToken ct)
    {
        var topics = contents.Channels.ToDictionary(c => c.Id, c => c.Topic);
        var messages = contents.Messages.OrderBy(m => m.LogTime).ToList();
        if (messages.Count == 0)
        {
            Console.Error.WriteLine("the recording holds no messages");
            return;
        }

        var first = messages[0].LogTime;
        var clock = Stopwatch.StartNew();
        foreach (var m in messages)
        {
            var offset = TimeSpan.FromTicks((long)((m.LogTime - first) / 100));
            var due = offset / speed - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                Console.Out.Flush();
                await Task.Delay(due, ct).ConfigureAwait(false);
            }

            var topic = topics.GetValueOrDefault(m.ChannelId, "?");
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{offset.TotalSeconds,8:0.000} {topic} {RecordedMessage.Describe(topic, m.Data)}"));
        }

        Console.Out.Flush();
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"played {messages.Count} messages ({(messages[^1].LogTime - first) / 1e9:0.0} s recorded)"));
    }
}
