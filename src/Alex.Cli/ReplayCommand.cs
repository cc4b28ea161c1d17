using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Alex.Client.Recording;
using Alex.Protocol.Mcap;

namespace Alex.Cli;

/// <summary>`alex replay`: a recording (docs/recording.md) played back to the console, at its own pace or faster.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "replay",
            "Play a recording (alex record, alex serve --record) back to the console.\n\n" +
            "Examples:\n" +
            "  alex replay run.mcap                 at the pace it was recorded\n" +
            "  alex replay run.mcap --speed 10      ten times faster\n" +
            "  alex replay cut.mcap --salvage       a file cut off by a crash: what was written before the cut\n\n" +
            "Each line: seconds since the first message, the topic, what it says. The file is checked whole first (its " +
            "CRCs, its summary and footer); a bad file gets one line saying what is wrong and where. Exit codes: 0 played, " +
            "2 a missing or bad file or bad usage, 130 interrupted.");
        var file = new Argument<string>("FILE") { Description = "an .mcap file" };
        var speed = new Option<double>("--speed") { Description = "how many times faster than recorded", DefaultValueFactory = _ => 1 };
        var salvage = new Option<bool>("--salvage") { Description = "play what can be read of a cut-off or damaged file" };
        cmd.Arguments.Add(file);
        cmd.Options.Add(speed);
        cmd.Options.Add(salvage);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var factor = pr.GetValue(speed);
            if (!double.IsFinite(factor) || factor <= 0 || factor > 1e6)
            {
                throw new CliException($"--speed {factor.ToString(CultureInfo.InvariantCulture)}: not a speed-up", "e.g. --speed 10 (ten times faster)");
            }

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

            await PlayAsync(contents, factor, ct).ConfigureAwait(false);
            if (error is not null)
            {
                Console.Error.WriteLine($"alex: {path} at offset {error.Offset}: {error.Text}; played the {contents.Messages.Count} messages before it");
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
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
