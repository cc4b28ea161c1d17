// The lidar's benchmarks, through the real executable (`alex serve --simulate --lidar simulated` in its own
// process) and this process as the laptops:
//   lidar            end-to-end scan latency (revolution completed at the server → whole at a client), p50/p99
//                    with 1 and 20 watchers, bytes/s per client; the driver's round trip with 20 watchers
//                    streaming the lidar vs a server without one, in the same run; the decoder's throughput
//                    against the device's data rate.
using System.Diagnostics;
using System.Globalization;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Lidar;
using static Alex.Bench.Server.BenchReport;

namespace Alex.Bench.Serving;

internal static class LidarBenchmark
{
    private const int Watchers = 20;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 10;

        var decoder = DecoderThroughput();
        Console.WriteLine($"decoder: {decoder.MBps:0.0} MB/s, {decoder.Ratio:0} x the A1's data rate");

        using var pki = new ServingPki();
        var lidarPort = BenchStats.FreePort();
        var plainPort = BenchStats.FreePort();
        var withLidar = AlexProcess.Start("serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--simulate", "--baud", "2000000", "--lidar", "simulated", "--listen", $"127.0.0.1:{lidarPort}", "--quiet");
        var without = AlexProcess.Start("serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--simulate", "--baud", "2000000", "--listen", $"127.0.0.1:{plainPort}", "--quiet");
        var latency1 = new List<double>();
        var latency20 = new List<double>();
        var bytesPerSecond = new List<double>();
        var skipped = new List<double>();
        var rttLidar = new List<double>();
        var rttPlain = new List<double>();
        var p99Lidar = new List<double>();
        var p99Plain = new List<double>();
        await using (withLidar.ConfigureAwait(false))
        await using (without.ConfigureAwait(false))
        {
            await withLidar.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
            await without.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
            using var driverCredentials = AlexCredentials.FromPkiDirectory(pki.Dir);
            using var watcherCredentials = AlexCredentials.FromPkiDirectory(pki.WatcherDir);
            for (var round = 0; round < rounds; round++)
            {
                // (a) one watcher alone, then twenty, each taking every revolution it can for `seconds`.
                var one = await WatchAsync(pki.WatcherDir, lidarPort, watcherCredentials, 1, seconds).ConfigureAwait(false);
                latency1.AddRange(one.Latencies);

                // (b) twenty watchers, and the driver's round trip against the server without a lidar, interleaved.
                using var stop = new CancellationTokenSource();
                var many = WatchAsync(pki.WatcherDir, lidarPort, watcherCredentials, Watchers, seconds + 30, stop.Token);
                await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                var lidarDriver = await AlexLinkClient.ConnectAsync(Client(lidarPort, driverCredentials), CancellationToken.None).ConfigureAwait(false);
                var plainDriver = await AlexLinkClient.ConnectAsync(Client(plainPort, driverCredentials), CancellationToken.None).ConfigureAwait(false);
                await using (lidarDriver.ConfigureAwait(false))
                await using (plainDriver.ConfigureAwait(false))
                {
                    await DriveAsync(plainDriver, 50).ConfigureAwait(false); // warm-up
                    await DriveAsync(lidarDriver, 50).ConfigureAwait(false);
                    var a = new List<double>();
                    var b = new List<double>();
                    for (var i = 0; i < 6; i++)
                    {
                        a.AddRange(await DriveAsync(lidarDriver, 50).ConfigureAwait(false));
                        b.AddRange(await DriveAsync(plainDriver, 50).ConfigureAwait(false));
                    }

                    rttLidar.Add(BenchStats.Median(a));
                    rttPlain.Add(BenchStats.Median(b));
                    p99Lidar.Add(BenchStats.Quantile(a, 0.99));
                    p99Plain.Add(BenchStats.Quantile(b, 0.99));
                }

                await stop.CancelAsync().ConfigureAwait(false);
                var result = await many.ConfigureAwait(false);
                latency20.AddRange(result.Latencies);
                bytesPerSecond.Add(result.BytesPerSecondPerClient);
                skipped.Add(result.SkippedFraction);
                Console.WriteLine(
                    $"round {round + 1}: latency p50 1 watcher {BenchStats.Median(one.Latencies):0.0} ms, {Watchers} watchers {BenchStats.Median(result.Latencies):0.0} ms; " +
                    $"{result.BytesPerSecondPerClient / 1000:0.0} kB/s per client; driver p50 {rttLidar[^1]:0.00} ms with lidar vs {rttPlain[^1]:0.00} ms without ({rttLidar[^1] / rttPlain[^1]:0.00}x)");
            }
        }

        var ratios = rttLidar.Zip(rttPlain, (l, p) => l / p).ToList();
        WriteSection("lidar", $"""
            ## lidar: scan latency, cost to commands, decoder throughput

            {Machine()}

            Two `alex serve --simulate --baud 2000000` processes in the same run, one with `--lidar simulated` (the simulated
            RPLidar A1, 5.5 rev/s × 360 samples, through the real driver over an in-memory line), one without; this process
            is every laptop. Latency: from the revolution's completion time (the server's clock, in the Scan frame) to the
            whole revolution decoded at the client, same machine clock, ms resolution. {rounds} rounds of {seconds:0} s.

            | figure | median | p99 | range of round medians |
            |---|---:|---:|---|
            | scan latency, 1 watcher | {BenchStats.Ms(BenchStats.Median(latency1))} ms | {BenchStats.Ms(BenchStats.Quantile(latency1, 0.99))} ms | — |
            | scan latency, {Watchers} watchers | {BenchStats.Ms(BenchStats.Median(latency20))} ms | {BenchStats.Ms(BenchStats.Quantile(latency20, 0.99))} ms | — |
            | bytes/s per client ({Watchers} watchers) | {BenchStats.Median(bytesPerSecond) / 1000:0.0} kB/s | — | {bytesPerSecond.Min() / 1000:0.0}–{bytesPerSecond.Max() / 1000:0.0} kB/s |
            | revolutions a watcher missed ({Watchers} watchers) | {BenchStats.Median(skipped) * 100:0.0} % | — | {skipped.Min() * 100:0.0}–{skipped.Max() * 100:0.0} % |
            | driver round trip (STOP / GET_STATS), lidar streaming to {Watchers} | {BenchStats.Ms(BenchStats.Median(rttLidar))} ms | {BenchStats.Ms(BenchStats.Median(p99Lidar))} ms | {BenchStats.Ms(rttLidar.Min())}–{BenchStats.Ms(rttLidar.Max())} ms |
            | driver round trip, no lidar (baseline) | {BenchStats.Ms(BenchStats.Median(rttPlain))} ms | {BenchStats.Ms(BenchStats.Median(p99Plain))} ms | {BenchStats.Ms(rttPlain.Min())}–{BenchStats.Ms(rttPlain.Max())} ms |
            | ratio with / without (goal ≤ 1.1×) | {BenchStats.Median(ratios):0.00}× | — | {ratios.Min():0.00}–{ratios.Max():0.00}× |
            | decoder throughput (`LidarStreamDecoder`, 5 MB of nodes, 64-byte reads) | {decoder.MBps:0.0} MB/s | — | {decoder.Ratio:0}× the A1's 9.9 kB/s (1,980 nodes/s); {decoder.Ratio * 9900 / 46080:0}× a 460800-baud C1's line |

            Run: `dotnet run -c Release --project bench/Alex.Bench -- lidar [rounds] [seconds]`.
            """);
        return 0;
    }

    private static AlexClientOptions Client(int port, AlexCredentials credentials) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ServerName = "alex.epp.com",
        Credentials = credentials,
        Protocol = AlexProtocol.AlexLink1,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ReplyTimeout = TimeSpan.FromSeconds(10),
    };

    private sealed record Watched(List<double> Latencies, double BytesPerSecondPerClient, double SkippedFraction);

    private static async Task<Watched> WatchAsync(string dir, int port, AlexCredentials credentials, int count, double seconds, CancellationToken stop = default)
    {
        var clients = new List<AlexLinkClient>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var c = await AlexLinkClient.ConnectAsync(Client(port, credentials), CancellationToken.None).ConfigureAwait(false);
                clients.Add(c);
                await c.SubscribeAsync(AlexLinkTopics.Lidar, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            }

            using var window = CancellationTokenSource.CreateLinkedTokenSource(stop);
            window.CancelAfter(TimeSpan.FromSeconds(seconds));
            var started = Stopwatch.GetTimestamp();
            var results = await Task.WhenAll(clients.Select(c => ReadScansAsync(c, window.Token))).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var latencies = results.SelectMany(r => r.Latencies).ToList();
            var bytes = results.Average(r => r.Bytes) / elapsed;
            var skipped = results.Average(r => r.Span == 0 ? 0 : 1 - ((double)r.Latencies.Count / r.Span));
            return new Watched(latencies, bytes, skipped);
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<(List<double> Latencies, long Bytes, long Span)> ReadScansAsync(AlexLinkClient client, CancellationToken window)
    {
        var latencies = new List<double>();
        var assembler = new AlexLinkScanAssembler();
        long bytes = 0;
        uint first = 0, last = 0;
        try
        {
            await foreach (var message in client.Telemetry.ReadAllAsync(window).ConfigureAwait(false))
            {
                if (message is not AlexLinkScan scan)
                {
                    continue;
                }

                bytes += AlexLinkFrame.HeaderSize + AlexLinkScan.HeaderSize + (AlexLinkScan.PointSize * scan.Points.Count);
                if (assembler.Offer(scan) is { } revolution)
                {
                    latencies.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - revolution.CompletedUnixMs);
                    first = first == 0 ? revolution.Sequence : first;
                    last = revolution.Sequence;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the window closed
        }

        return (latencies, bytes, first == 0 ? 0 : last - first + 1);
    }

    private static async Task<List<double>> DriveAsync(AlexLinkClient driver, int count)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var reply = await driver.SendAsync(i % 2 == 0 ? Alex.Protocol.DriveCommand.Stop : Alex.Protocol.DriveCommand.GetStats, CancellationToken.None).ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!reply.Acknowledged)
            {
                throw new InvalidOperationException($"the driver's command failed: {reply.Text}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20)).ConfigureAwait(false);
        }

        return times;
    }

    private static (double MBps, double Ratio) DecoderThroughput()
    {
        const int Nodes = 1_000_000;
        var bytes = new byte[LidarDescriptor.Size + (Nodes * LidarScanNode.Size)];
        LidarDescriptor.ForScan.Write(bytes);
        var random = new Random(5);
        for (var i = 0; i < Nodes; i++)
        {
            new LidarScanNode(i % 360 == 0, (byte)random.Next(64), (ushort)((i % 360) * 64), (ushort)random.Next(1, 40000)).Write(bytes.AsSpan(LidarDescriptor.Size + (i * LidarScanNode.Size)));
        }

        var best = double.MaxValue;
        for (var run = 0; run < 5; run++)
        {
            var decoder = new LidarStreamDecoder();
            var assembler = new LidarRevolutionAssembler();
            var started = Stopwatch.GetTimestamp();
            var decoded = 0;
            for (var at = 0; at < bytes.Length; at += 64)
            {
                decoder.Append(bytes.AsSpan(at, Math.Min(64, bytes.Length - at)));
                while (decoder.TryRead(out var r))
                {
                    if (r.Kind == LidarReadKind.Node)
                    {
                        decoded++;
                        assembler.Add(r.Node);
                    }
                }
            }

            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (decoded != Nodes)
            {
                throw new InvalidOperationException($"decoded {decoded} of {Nodes} nodes");
            }
        }

        var mbps = bytes.Length / best / 1e6;
        return (mbps, bytes.Length / best / 9900);
    }
}
