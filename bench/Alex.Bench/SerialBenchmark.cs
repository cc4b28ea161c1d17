// `serial`: a command's round trip through the whole Pi-side stack (ArduinoLink on TtyStream)
// to the simulated Alex on a real pseudo-terminal, paced like a real line, against the floor set
// by the wire: a command frame out and a reply frame back, 2 × 140 bytes × 10 bits / baud.
// Writes the "Serial link" section of docs/BENCHMARKS.md.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Alex.Protocol.Serial;
using Alex.Robot.Pty;
using Alex.Robot.Serial;
using Alex.Robot.Simulation;

namespace Alex.Bench;

internal static class SerialBenchmark
{
    private sealed record Case(string Name, int? Baud, SerialPacket Command, int Frames, int Iterations);

    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        Case[] cases =
        [
            new("STOP at 9600 (OK)", 9600, SerialPacket.ForCommand(CommandCode.Stop), 2, quick ? 10 : 80),
            new("GET_STATS at 9600 (OK + STATUS)", 9600, SerialPacket.ForCommand(CommandCode.GetStats), 3, quick ? 10 : 40),
            new("STOP at 115200 (OK)", 115200, SerialPacket.ForCommand(CommandCode.Stop), 2, quick ? 20 : 400),
            new("STOP unpaced (OK)", null, SerialPacket.ForCommand(CommandCode.Stop), 2, quick ? 50 : 1000),
        ];

        var rows = new List<string>();
        foreach (var c in cases)
        {
            var samples = await MeasureAsync(c).ConfigureAwait(false);
            samples.Sort();
            var wire = c.Baud is { } b ? TimeSpan.FromSeconds(c.Frames * 140.0 * 10 / b) : TimeSpan.Zero;
            var p50 = Percentile(samples, 0.50);
            var p99 = Percentile(samples, 0.99);
            var row = $"| {c.Name} | {c.Iterations} | {Ms(wire)} | {Ms(p50)} | {Ms(p99)} | {Ms(p50 - wire)} |";
            Console.WriteLine(row);
            rows.Add(row);
        }

        WriteSection(rows);
        return 0;
    }

    private static async Task<List<TimeSpan>> MeasureAsync(Case c)
    {
        var pacing = c.Baud is { } baud ? new SerialLinePacing(baud) : null;
        await using var sim = PtySimulator.Start(new SimulatorSettings(), pacing, null, TimeProvider.System, null);
        var options = new ArduinoLinkOptions { BaudRate = c.Baud ?? 115200, ResetDelay = TimeSpan.Zero, ReplyTimeout = TimeSpan.FromSeconds(5), ReadingMaxAge = TimeSpan.Zero };
        // ReadingMaxAge zero: every GET_STATS goes to the line (the server answers back-to-back ones from a fresh reading).
        await using var link = ArduinoLink.ForSerialPort(sim.DevicePath, options, TimeProvider.System).Start();
        await link.WaitForStateAsync(ArduinoLinkState.Ready, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);

        // Warm up (JIT, learning the GET_STATS order), then measure.
        for (var i = 0; i < 5; i++)
        {
            await link.SendAsync(c.Command, CancellationToken.None).ConfigureAwait(false);
        }

        var samples = new List<TimeSpan>(c.Iterations);
        for (var i = 0; i < c.Iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var reply = await link.SendAsync(c.Command, CancellationToken.None).ConfigureAwait(false);
            samples.Add(Stopwatch.GetElapsedTime(start));
            if (!reply.IsOk)
            {
                throw new InvalidOperationException($"{c.Name}: got {reply}");
            }
        }

        return samples;
    }

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture);

    private static void WriteSection(List<string> rows)
    {
        var section = new StringBuilder()
            .AppendLine("## Serial link")
            .AppendLine()
            .AppendLine(Server.BenchReport.Machine())
            .AppendLine()
            .AppendLine("One command through `ArduinoLink` (TtyStream: the port opened by hand, raw 8N1, read without a poll timer) to `alex sim`")
            .AppendLine("on a real pseudo-terminal, replies paced like a real line (10 bits a byte). Wire = the frames' time on the line alone")
            .AppendLine("(command + replies, 140 bytes each); overhead = p50 − wire: everything that is not the line (pty, the link, the simulator).")
            .AppendLine("The unpaced row is that overhead alone; System.IO.Ports, used until 2026-12-02, added about 2 ms there (its Unix I/O")
            .AppendLine("loop sleeps 1 ms between polls).")
            .AppendLine()
            .AppendLine("| case | n | wire ms | p50 ms | p99 ms | overhead ms |")
            .AppendLine("|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            section.AppendLine(r);
        }

        Console.WriteLine($"wrote {Server.BenchReport.WriteSection("serial", section.ToString())}");
    }
}
