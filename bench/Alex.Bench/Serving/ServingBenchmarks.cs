// Serving benchmarks, through the real executables: `alex sim --pty` (the simulated Arduino in
// another process, on a pseudo-terminal, paced like a UART), `alex serve --serial PTY` (the real
// serial path: System.IO.Ports, ArduinoLink, the hub), and this process as the laptop.
//   serve-serial-latency  command round trip vs the wire time of two 140-byte frames (goal ≤ 1.1×)
//   serve-deadman         driver vanishes → STOP frame on the serial line (goal ≤ lease window + 50 ms)
//   serve-memory          the server's RSS idle and with 50 watchers at 10 Hz (goal idle < 25 MB)
//   cli-startup           `alex --version` wall time
//   serve-watchers        driver latency with 50 watchers at 10 Hz vs none, same run (goal ≤ 1.3×)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Alex.Client;
using Alex.Pki;
using Alex.Bench.Server;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Bench.Serving;

internal static class ServingBenchmarks
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A simulated Alex on a pty at <paramref name="baud"/> and `alex serve` on it; returns both and the port.</summary>
    private static async Task<(AlexProcess Sim, AlexProcess Serve, int Port)> StartRigAsync(ServingPki pki, int baud, int leaseMs = 1500, bool quietSim = true)
    {
        var link = Path.Combine(pki.Dir, $"tty-{baud}");
        var simArgs = new List<string> { "sim", "--pty", "--link", link, "--baud", baud.ToString(CultureInfo.InvariantCulture) };
        if (quietSim)
        {
            simArgs.Add("--quiet");
        }

        var sim = AlexProcess.Start([.. simArgs]);
        await sim.WaitForLineAsync("serving a simulated Alex", StartTimeout).ConfigureAwait(false);
        var port = BenchStats.FreePort();
        var serve = AlexProcess.Start(
            "serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--serial", link,
            "--baud", baud.ToString(CultureInfo.InvariantCulture), "--listen", $"127.0.0.1:{port}",
            "--lease-ms", leaseMs.ToString(CultureInfo.InvariantCulture), "--quiet");
        await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
        await WaitForSerialLinkAsync(pki, port).ConfigureAwait(false);
        return (sim, serve, port);
    }

    /// <summary>
    /// Returns once the serial link answers a GET_STATS. `alex serve --serial` listens at once but opens the
    /// port, waits 2 s for the Uno's reset and sends HELLO before the link is Ready; a command in that time
    /// waits in the link's queue, so a driver's lease window could run out before its FORWARD was on the wire
    /// (the dead-man's STOP then went ahead of the FORWARD). A watcher asks: it never holds the lease.
    /// </summary>
    private static async Task WaitForSerialLinkAsync(ServingPki pki, int port)
    {
        using var credentials = AlexCredentials.FromPkiDirectory(pki.WatcherDir);
        var client = await AlexLinkClient.ConnectAsync(Client(pki.WatcherDir, port, credentials), CancellationToken.None).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            var reply = await client.SendAsync(Alex.Protocol.DriveCommand.GetStats, CancellationToken.None).ConfigureAwait(false);
            if (!reply.Acknowledged)
            {
                throw new InvalidOperationException($"the serial link did not answer GET_STATS: {reply.Text}");
            }
        }
    }

    private static AlexClientOptions Client(string dir, int port, AlexCredentials credentials) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ServerName = "alex.epp.com",
        Credentials = credentials,
        Protocol = AlexProtocol.AlexLink1,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ReplyTimeout = TimeSpan.FromSeconds(10),
    };

    // ---- (a) command latency over the serial path ----

    public static async Task<int> SerialLatencyAsync(string[] args)
    {
        using var pki = new ServingPki();
        var rows = new StringBuilder();
        rows.AppendLine("| baud | commands | median | p99 | wire time, 2 frames | median / wire | goal ≤ 1.1× |");
        rows.AppendLine("|---:|---:|---:|---:|---:|---:|:--:|");
        foreach (var (baud, count) in new[] { (9600, 60), (115200, 300) })
        {
            var (sim, serve, port) = await StartRigAsync(pki, baud).ConfigureAwait(false);
            await using (sim.ConfigureAwait(false))
            await using (serve.ConfigureAwait(false))
            {
                using var credentials = AlexCredentials.FromPkiDirectory(pki.Dir);
                var client = await AlexLinkClient.ConnectAsync(Client(pki.Dir, port, credentials), CancellationToken.None).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                {
                    var lease = await client.TakeLeaseAsync(CancellationToken.None).ConfigureAwait(false);
                    if (!lease.Acknowledged)
                    {
                        throw new InvalidOperationException($"no lease: {lease.Text}");
                    }

                    // CLEAR_STATS: one frame to the Arduino, one OK back (PROTOCOL.md §3).
                    var times = new List<double>();
                    for (var i = 0; i < count + 5; i++)
                    {
                        var started = Stopwatch.GetTimestamp();
                        var reply = await client.SendAsync(Alex.Protocol.DriveCommand.ClearStats, CancellationToken.None).ConfigureAwait(false);
                        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        if (!reply.Acknowledged)
                        {
                            throw new InvalidOperationException($"c refused: {reply.Text}");
                        }

                        if (i >= 5)
                        {
                            times.Add(ms); // the first few warm up the JIT on both sides
                        }
                    }

                    var wire = 2 * SerialFrame.Size * 10 * 1000.0 / baud;
                    var median = BenchStats.Median(times);
                    var p99 = BenchStats.Quantile(times, 0.99);
                    var ratio = median / wire;
                    Console.WriteLine($"{baud} baud: median {median:0.00} ms, p99 {p99:0.00} ms, wire {wire:0.00} ms, ratio {ratio:0.000}");
                    rows.AppendLine(CultureInfo.InvariantCulture, $"| {baud} | {count} | {BenchStats.Ms(median)} ms | {BenchStats.Ms(p99)} ms | {BenchStats.Ms(wire)} ms | {ratio:0.000}× | {(ratio <= 1.1 ? "met" : "missed")} |");
                }
            }
        }

        WriteSection("serve-serial-latency", $"""
            ## Command latency over the serial path 

            {BenchReport.Machine()}

            The laptop (this benchmark, AlexLinkClient over TLS 1.3 on loopback) sends `c` (CLEAR_STATS) to
            `alex serve --serial PTY --baud B`, which writes one 140-byte frame to the pseudo-terminal of
            `alex sim --pty --baud B` in another process; the simulator takes each frame in at B baud (10 bits
            a byte) and answers one OK frame, also paced at B baud. Round trip = TLS request → server → serial
            frame out → simulated Arduino → OK frame back → TLS reply, timed in the client. The line's own wire
            time is two frames: 2 × 140 × 10 / B.

            {rows.ToString().TrimEnd()}
            """);
        return 0;
    }

    // ---- (b) dead-man: driver vanishes → STOP frame on the serial line ----

    public static async Task<int> DeadmanAsync(string[] args)
    {
        const int leaseMs = 1500;
        const int baud = 115200;
        using var pki = new ServingPki();
        var (sim, serve, port) = await StartRigAsync(pki, baud, leaseMs, quietSim: false).ConfigureAwait(false);
        var reset = new List<double>();
        var silent = new List<double>();
        await using (sim.ConfigureAwait(false))
        await using (serve.ConfigureAwait(false))
        {
            using var credentials = AlexCredentials.FromPkiDirectory(pki.Dir);
            for (var i = 0; i < 12; i++)
            {
                reset.Add(await VanishAsync(sim, port, credentials, abrupt: true).ConfigureAwait(false));
            }

            for (var i = 0; i < 5; i++)
            {
                silent.Add(await VanishAsync(sim, port, credentials, abrupt: false).ConfigureAwait(false));
            }
        }

        var frame = SerialFrame.Size * 10 * 1000.0 / baud;
        string Row(string what, List<double> t, double goal) =>
            $"| {what} | {t.Count} | {BenchStats.Ms(BenchStats.Median(t))} ms | {BenchStats.Ms(BenchStats.Quantile(t, 0.99))} ms | {BenchStats.Ms(t.Max())} ms | ≤ {goal:0} ms | {(t.Max() <= goal ? "met" : "missed")} |";
        var goal = leaseMs + 50;
        Console.WriteLine($"reset: median {BenchStats.Median(reset):0.0} ms max {reset.Max():0.0}; silent: median {BenchStats.Median(silent):0.0} ms max {silent.Max():0.0}");
        WriteSection("serve-deadman", $"""
            ## Dead-man: driver gone → STOP on the serial line 

            {BenchReport.Machine()}

            `alex serve --lease-ms {leaseMs} --serial PTY --baud {baud}` with `alex sim --pty` in another process.
            A driver (a raw AlexLink/1 connection over TLS, so the benchmark controls its socket) takes the
            lease and sends `f 0 50` (forward until stopped); once the FORWARD frame has reached the simulator
            the driver vanishes, and the time is taken until the simulator logs the STOP frame it received (the
            simulator logs a frame once it has come in at {baud} baud, {frame:0.0} ms per frame). Runs start
            once the serial link has answered a GET_STATS (the server first waits 2 s for the Uno's reset).
            *Abrupt*: the TCP connection is reset (SO_LINGER 0, as when the laptop's process is killed).
            *Silent*: the driver just stops sending (Wi-Fi gone, no FIN, no RST); timed from its last frame,
            so the lease window itself is in the number; the server arms a timer for the deadline the lease
            reports (`DeadManTimer`), so a silent driver is stopped at the window plus timer and scheduling
            delay plus one frame (before: a check every window / 10, up to {leaseMs / 10} ms late).

            | driver | runs | median | p99 | max | goal (lease + 50 ms) | |
            |---|---:|---:|---:|---:|---:|:--:|
            {Row("abrupt (RST)", reset, goal)}
            {Row("silent", silent, goal)}
            """);
        return 0;
    }

    private static async Task<double> VanishAsync(AlexProcess sim, int port, AlexCredentials credentials, bool abrupt)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
        var trust = new TrustPolicy(credentials.Authorities, new TrustPolicyOptions { AllowList = AllowList.None });
        var tls = TlsProfiles.Client(credentials.Certificate, credentials.Authorities[0], "alex.epp.com");
        tls.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
        {
            using var leaf = certificate is null ? null : new X509Certificate2(certificate);
            return trust.EvaluateServer(leaf, chain?.ChainPolicy.ExtraStore, "alex.epp.com").Accepted;
        };
        var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(tls).ConfigureAwait(false);
        var reading = DrainAsync(ssl);
        sim.Drain();
        await ssl.WriteAsync(AlexLinkWriter.Encode(new AlexLinkTakeLease { RequestId = 1 })).ConfigureAwait(false);
        await ssl.WriteAsync(AlexLinkWriter.Encode(new AlexLinkCommand(CommandCode.Forward, 0, 50) { RequestId = 2 })).ConfigureAwait(false);
        await ssl.FlushAsync().ConfigureAwait(false);
        var lastWrite = Stopwatch.GetTimestamp();
        // A STOP before this run's FORWARD would be the dead-man overtaking a queued FORWARD: the STOP
        // timed below would then never come, so say so instead of timing out.
        await sim.WaitForLineAsync("COMMAND Forward", TimeSpan.FromSeconds(10), failOn: "COMMAND Stop").ConfigureAwait(false);

        long gone;
        if (abrupt)
        {
            await Task.Delay(200).ConfigureAwait(false);
            tcp.Client.LingerState = new LingerOption(true, 0);
            gone = Stopwatch.GetTimestamp();
            tcp.Client.Close();
        }
        else
        {
            gone = lastWrite;
        }

        var stopped = await sim.WaitForLineAsync("COMMAND Stop", TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var ms = Stopwatch.GetElapsedTime(gone, stopped).TotalMilliseconds;
        if (ms < 0)
        {
            throw new InvalidOperationException($"the STOP came {-ms:0} ms before the driver vanished: not the STOP being timed");
        }

        ssl.Dispose();
        tcp.Dispose();
        await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // Let the server finish with this driver before the next one takes the lease.
        await Task.Delay(300).ConfigureAwait(false);
        return ms;
    }

    private static async Task DrainAsync(SslStream ssl)
    {
        var buffer = new byte[4096];
        while (await ssl.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
    }

    // ---- (c) the server's memory ----

    public static async Task<int> MemoryAsync(string[] args)
    {
        using var pki = new ServingPki();
        var port = BenchStats.FreePort();
        var serve = AlexProcess.Start("serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--simulate", "--baud", "115200", "--listen", $"127.0.0.1:{port}", "--quiet");
        double idle, statusPerSecond, busy;
        uint interval;
        await using (serve.ConfigureAwait(false))
        {
            await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            idle = await SampleAsync(serve, 5).ConfigureAwait(false);

            using var credentials = AlexCredentials.FromPkiDirectory(pki.WatcherDir);
            var watchers = new List<AlexLinkClient>();
            var received = 0L;
            try
            {
                for (var i = 0; i < 50; i++)
                {
                    var client = await AlexLinkClient.ConnectAsync(Client(pki.WatcherDir, port, credentials), CancellationToken.None).ConfigureAwait(false);
                    watchers.Add(client);
                    var ok = await client.SubscribeAsync(AlexLinkTopics.Status | AlexLinkTopics.Default, TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                    if (!ok.Acknowledged)
                    {
                        throw new InvalidOperationException($"subscribe refused: {ok.Text}");
                    }

                    _ = CountAsync(client);
                }

                interval = watchers[0].Welcome?.MinTelemetryIntervalMs ?? 0;
                await Task.Delay(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                Interlocked.Exchange(ref received, 0);
                busy = await SampleAsync(serve, 10).ConfigureAwait(false);
                var perSecond = Interlocked.Read(ref received) / 5.0;
                Console.WriteLine($"idle {idle:0.0} MB, 50 watchers {busy:0.0} MB, {perSecond:0} status/s");
                statusPerSecond = perSecond;
            }
            finally
            {
                foreach (var w in watchers)
                {
                    await w.DisposeAsync().ConfigureAwait(false);
                }
            }

            async Task CountAsync(AlexLinkClient client)
            {
                try
                {
                    await foreach (var message in client.Telemetry.ReadAllAsync().ConfigureAwait(false))
                    {
                        if (message is AlexLinkStatus)
                        {
                            Interlocked.Increment(ref received);
                        }
                    }
                }
                catch (AlexConnectException)
                {
                    // closed at the end
                }
            }
        }

        WriteSection("serve-memory", $"""
            ## Robot server memory

            {BenchReport.Machine()}

            {AlexProcess.Describe()} `serve --simulate --baud 115200` as its own process (workstation GC, as shipped); RSS is VmRSS from
            /proc/PID/status, the median of samples taken every 0.5 s. Idle: 3 s after it started listening,
            no client. Busy: 50 watchers connected over TLS 1.3, each subscribed to status every 100 ms (10 Hz;
            the server's minimum interval is {interval} ms), sampled after 5 s of that; the watchers together
            received {statusPerSecond:0} status messages per second while sampled (500 at a full 10 Hz). The
            simulated line runs at 115200 baud: at the course's 9600 one GET_STATS poll costs three 140-byte
            frames (≈ 440 ms), so the serial line itself caps status at about 2 Hz whatever the subscription.

            | state | RSS | goal |
            |---|---:|---|
            | idle | {idle:0.0} MB | < 25 MB: {(idle < 25 ? "met" : "missed")} |
            | 50 watchers at 10 Hz | {busy:0.0} MB | — |
            """);
        return 0;
    }

    private static void WriteSection(string name, string markdown) =>
        Console.WriteLine($"wrote the '{name}' section of {BenchReport.WriteSection(name, markdown)}");

    private static async Task<double> SampleAsync(AlexProcess process, int count)
    {
        var samples = new List<double>();
        for (var i = 0; i < count; i++)
        {
            samples.Add(process.RssMegabytes());
            await Task.Delay(500).ConfigureAwait(false);
        }

        return BenchStats.Median(samples);
    }

    // ---- (e) watchers off the driver's path ----

    public static async Task<int> WatchersAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        const int Commands = 300;
        const int Watchers = 50;
        using var pki = new ServingPki();
        var port = BenchStats.FreePort();
        var serve = AlexProcess.Start("serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--simulate", "--baud", "2000000", "--listen", $"127.0.0.1:{port}", "--quiet");
        var alone = new List<double>();
        var watched = new List<double>();
        var received = 0L;
        await using (serve.ConfigureAwait(false))
        {
            await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
            using var driverCredentials = AlexCredentials.FromPkiDirectory(pki.Dir);
            using var watcherCredentials = AlexCredentials.FromPkiDirectory(pki.WatcherDir);
            var driver = await AlexLinkClient.ConnectAsync(Client(pki.Dir, port, driverCredentials), CancellationToken.None).ConfigureAwait(false);
            await using (driver.ConfigureAwait(false))
            {
                // Warm-up: JIT, TLS session, the simulator.
                await DriveAsync(driver, Commands).ConfigureAwait(false);
                for (var round = 0; round < rounds; round++)
                {
                    alone.Add(BenchStats.Median(await DriveAsync(driver, Commands).ConfigureAwait(false)));
                    var watchers = new List<AlexLinkClient>();
                    try
                    {
                        for (var i = 0; i < Watchers; i++)
                        {
                            var w = await AlexLinkClient.ConnectAsync(Client(pki.WatcherDir, port, watcherCredentials), CancellationToken.None).ConfigureAwait(false);
                            watchers.Add(w);
                            await w.SubscribeAsync(AlexLinkTopics.Status | AlexLinkTopics.Default, TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                            _ = CountAsync(w);
                        }

                        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                        Interlocked.Exchange(ref received, 0);
                        watched.Add(BenchStats.Median(await DriveAsync(driver, Commands).ConfigureAwait(false)));
                    }
                    finally
                    {
                        foreach (var w in watchers)
                        {
                            await w.DisposeAsync().ConfigureAwait(false);
                        }
                    }

                    Console.WriteLine($"round {round + 1}: driver p50 alone {alone[^1]:0.000} ms, with {Watchers} watchers {watched[^1]:0.000} ms ({watched[^1] / alone[^1]:0.00}x)");
                }
            }
        }

        var ratios = alone.Zip(watched, (a, w) => w / a).ToList();
        var ratio = BenchStats.Median(ratios);
        WriteSection("serve-watchers", $"""
            ## Watchers off the driver's path (issue 16)

            {BenchReport.Machine()}

            `alex serve --simulate --baud 2000000` as its own process; one driver sends {Commands} commands at 50/s
            (STOP and GET_STATS in turn: every STOP is pushed to every other client as SafetyStop, every GET_STATS feeds
            the status telemetry), first alone, then with {Watchers} watchers connected, each subscribed to status at
            10 Hz plus the default topics. Per round the driver's median round trip alone and with the watchers;
            {rounds} rounds in one run after a warm-up round; the ratio is per round, watchers / alone.
            The hub posts what everyone is told to one fan-out task (each broadcast encoded once), so the driver's
            reply no longer waits for the watchers' TLS writes.

            | rounds | p50 alone (median, range) | p50 with {Watchers} watchers (median, range) | ratio (median, range) | goal ≤ 1.3× |
            |---:|---:|---:|---:|:--:|
            | {rounds} | {BenchStats.Ms(BenchStats.Median(alone))} ms ({BenchStats.Ms(alone.Min())}–{BenchStats.Ms(alone.Max())}) | {BenchStats.Ms(BenchStats.Median(watched))} ms ({BenchStats.Ms(watched.Min())}–{BenchStats.Ms(watched.Max())}) | {ratio:0.00}× ({ratios.Min():0.00}–{ratios.Max():0.00}) | {(ratio <= 1.3 ? "met" : "missed")} |
            """);
        return 0;

        async Task CountAsync(AlexLinkClient client)
        {
            try
            {
                await foreach (var message in client.Telemetry.ReadAllAsync().ConfigureAwait(false))
                {
                    Interlocked.Increment(ref received);
                }
            }
            catch (AlexConnectException)
            {
                // closed at the end of the round
            }
        }
    }

    // Commands at 50/s, STOP and GET_STATS in turn; the round trip of each, in ms.
    private static async Task<List<double>> DriveAsync(AlexLinkClient driver, int count)
    {
        var times = new List<double>(count);
        var period = TimeSpan.FromMilliseconds(20);
        var next = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var reply = await driver.SendAsync(i % 2 == 0 ? Alex.Protocol.DriveCommand.Stop : Alex.Protocol.DriveCommand.GetStats, CancellationToken.None).ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!reply.Acknowledged)
            {
                throw new InvalidOperationException($"the driver's command failed: {reply.Text}");
            }

            next += (long)(period.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait).ConfigureAwait(false);
            }
        }

        return times;
    }

    // ---- (d) `alex --version` start-up ----

    public static async Task<int> StartupAsync(string[] args)
    {
        const int runs = 40;
        var (file, prefix) = AlexProcess.Command();
        var times = new List<double>();
        string? version = null;
        for (var i = 0; i < runs + 3; i++)
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in prefix.Append("--version"))
            {
                start.ArgumentList.Add(a);
            }

            var started = Stopwatch.GetTimestamp();
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
            await process.WaitForExitAsync().ConfigureAwait(false);
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"alex --version exited {process.ExitCode}");
            }

            version = output.Trim();
            if (i >= 3)
            {
                times.Add(ms); // the first runs fill the disk cache
            }
        }

        var how = Environment.GetEnvironmentVariable("ALEX_BENCH_EXE") is { Length: > 0 }
            ? $"the shipped NativeAOT build `{file}`"
            : prefix.Length == 0 ? $"the apphost `{Path.GetFileName(file)}` (Release build, framework-dependent, tiered JIT)" : "`dotnet alex.dll`";
        Console.WriteLine($"alex --version ({version}): median {BenchStats.Median(times):0.0} ms, p99 {BenchStats.Quantile(times, 0.99):0.0} ms");
        WriteSection("cli-startup", $"""
            ## `alex --version` start-up

            {BenchReport.Machine()}

            Wall time from process start to exit of {how} --version, {runs} runs after 3 warm-up runs, measured by this benchmark
            (hyperfine is not installed). Printed: `{version}`.

            | runs | median | p99 | min | max |
            |---:|---:|---:|---:|---:|
            | {runs} | {BenchStats.Ms(BenchStats.Median(times))} ms | {BenchStats.Ms(BenchStats.Quantile(times, 0.99))} ms | {BenchStats.Ms(times.Min())} ms | {BenchStats.Ms(times.Max())} ms |
            """);
        return 0;
    }
}
