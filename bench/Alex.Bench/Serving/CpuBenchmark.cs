// serve-cpu: what `alex serve --simulate` costs in CPU, idle and at a driver's pace, as the shipped
// configuration against the runtime's default thread-pool spinning, alternated in the same run.
using System.Globalization;
using System.Text;
using Alex.Bench.Server;
using Alex.Client;
using Alex.Protocol.AlexLink;

namespace Alex.Bench.Serving;

internal static class CpuBenchmark
{
    private const int Watchers = 10;
    private const int CommandsPerSecond = 50;
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan BusyWindow = TimeSpan.FromSeconds(10);

    /// <summary>The two configurations: as shipped (spin limit 0, in alex.runtimeconfig.json or compiled in), and the runtime's default.</summary>
    private static readonly (string Name, Dictionary<string, string> Environment)[] Configurations =
    [
        ("shipped", new()),
        ("default spinning (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70)", new() { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "70" }),
    ];

    private sealed record Sample(double IdlePercent, double BusyMsPerCommand, double IdleRssMb, int Commands, double StatusPerSecond);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var loadBefore = Load();
        var machine = BenchReport.Machine();
        using var pki = new ServingPki();
        var samples = Configurations.ToDictionary(c => c.Name, _ => new List<Sample>());
        for (var round = 0; round < rounds; round++)
        {
            // Alternate the order so a drift in the machine's load falls on both configurations alike.
            var order = round % 2 == 0 ? Configurations : Enumerable.Reverse(Configurations).ToArray();
            foreach (var (name, environment) in order)
            {
                var sample = await MeasureAsync(pki, environment).ConfigureAwait(false);
                samples[name].Add(sample);
                Console.WriteLine($"round {round + 1} {name}: idle {sample.IdlePercent:0.00} % of a core, {sample.BusyMsPerCommand:0.000} ms CPU per command ({sample.Commands} commands, {sample.StatusPerSecond:0} status/s to the watchers), idle RSS {sample.IdleRssMb:0.0} MB");
            }
        }

        var loadAfter = Load();
        var rows = new StringBuilder();
        rows.AppendLine("| configuration | idle CPU, % of a core: median (range) | CPU per command at 50/s with 10 watchers: median (range) | idle RSS: median (range) |");
        rows.AppendLine("|---|---:|---:|---:|");
        foreach (var (name, _) in Configurations)
        {
            var s = samples[name];
            rows.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Spread(s.Select(x => x.IdlePercent), "0.00", " %")} | {Spread(s.Select(x => x.BusyMsPerCommand), "0.000", " ms")} | {Spread(s.Select(x => x.IdleRssMb), "0.0", " MB")} |");
        }

        var shipped = samples[Configurations[0].Name];
        var spinning = samples[Configurations[1].Name];
        var ratio = BenchStats.Median([.. shipped.Select(x => x.BusyMsPerCommand)]) / BenchStats.Median([.. spinning.Select(x => x.BusyMsPerCommand)]);
        var (file, prefix) = AlexProcess.Command();
        var what = prefix.Length == 0 ? $"`{file}`" : "`dotnet alex.dll`";
        var idleMedian = BenchStats.Median([.. shipped.Select(x => x.IdlePercent)]);
        var busyMedian = BenchStats.Median([.. shipped.Select(x => x.BusyMsPerCommand)]);
        BenchReport.WriteSection("serve-cpu", $"""
            ## serve-cpu: server CPU idle and per command

            {machine} Load average at the end: {loadAfter}.

            {what} `serve --simulate --baud 2000000` in its own process (the simulated line fast enough for 50 commands/s: a STOP exchange takes 1.4 ms on it); CPU time is utime + stime of all its threads from
            /proc/PID/stat (10 ms ticks). Each run: start, warm up with 300 commands from a driver and 2 s of
            {Watchers} watchers, wait 3 s with no client, then *idle* = CPU over {IdleWindow.TotalSeconds:0} s with nobody
            connected, then *busy* = {Watchers} watchers subscribed to status at 10 Hz and one driver sending `s` (STOP) at
            {CommandsPerSecond} commands/s (paced by a timer, one at a time) for {BusyWindow.TotalSeconds:0} s: the server's CPU over that
            window divided by the commands sent (the watchers' status pushes and the simulator's polling are in it).
            {rounds} rounds, each running both configurations, in alternating order; the table gives the median and
            the range over the rounds. Load average before: {loadBefore}, after: {loadAfter}.

            {rows.ToString().TrimEnd()}

            Shipped against default spinning, CPU per command: {ratio:0.00}× (median against median).
            Goals: idle < 0.3 % of a core ({(idleMedian < 0.3 ? "met" : "missed")}: {idleMedian:0.00} %); CPU per command ≤ 0.8 ms ({(busyMedian <= 0.8 ? "met" : "missed")}: {busyMedian:0.000} ms).
            """);
        return 0;
    }

    private static async Task<Sample> MeasureAsync(ServingPki pki, IReadOnlyDictionary<string, string> environment)
    {
        var port = BenchStats.FreePort();
        var serve = AlexProcess.Start(environment, "serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--simulate", "--baud", "2000000", "--listen", $"127.0.0.1:{port}", "--quiet");
        await using (serve.ConfigureAwait(false))
        {
            await serve.WaitForLineAsync("listening on", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            using var driverCredentials = AlexCredentials.FromPkiDirectory(pki.Dir);
            using var watcherCredentials = AlexCredentials.FromPkiDirectory(pki.WatcherDir);

            // Warm-up: the same work as the busy window, briefly, so the JIT (if any) and the pools are settled.
            await BusyAsync(port, driverCredentials, watcherCredentials, TimeSpan.FromSeconds(2), commandsFirst: 300).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);

            var before = serve.CpuTime();
            await Task.Delay(IdleWindow).ConfigureAwait(false);
            var idle = (serve.CpuTime() - before) / IdleWindow * 100;
            var rss = serve.RssMegabytes();

            var (commands, status, cpu) = await BusyAsync(port, driverCredentials, watcherCredentials, BusyWindow, commandsFirst: 0, serve).ConfigureAwait(false);
            return new Sample(idle, cpu.TotalMilliseconds / commands, rss, commands, status / BusyWindow.TotalSeconds);
        }
    }

    /// <summary>Watchers at 10 Hz and a driver at 50 commands/s for <paramref name="window"/>; the server's CPU over the window when <paramref name="serve"/> is given.</summary>
    private static async Task<(int Commands, long Status, TimeSpan Cpu)> BusyAsync(int port, AlexCredentials driverCredentials, AlexCredentials watcherCredentials, TimeSpan window, int commandsFirst, AlexProcess? serve = null)
    {
        var watchers = new List<AlexLinkClient>();
        var received = 0L;
        try
        {
            for (var i = 0; i < Watchers; i++)
            {
                var watcher = await AlexLinkClient.ConnectAsync(Options(port, watcherCredentials), CancellationToken.None).ConfigureAwait(false);
                watchers.Add(watcher);
                var ok = await watcher.SubscribeAsync(AlexLinkTopics.Status | AlexLinkTopics.Default, TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                if (!ok.Acknowledged)
                {
                    throw new InvalidOperationException($"subscribe refused: {ok.Text}");
                }

                _ = CountAsync(watcher);
            }

            var driver = await AlexLinkClient.ConnectAsync(Options(port, driverCredentials), CancellationToken.None).ConfigureAwait(false);
            await using (driver.ConfigureAwait(false))
            {
                var lease = await driver.TakeLeaseAsync(CancellationToken.None).ConfigureAwait(false);
                if (!lease.Acknowledged)
                {
                    throw new InvalidOperationException($"no lease: {lease.Text}");
                }

                for (var i = 0; i < commandsFirst; i++)
                {
                    await SendAsync(driver).ConfigureAwait(false);
                }

                Interlocked.Exchange(ref received, 0);
                var cpuBefore = serve?.CpuTime() ?? TimeSpan.Zero;
                var commands = 0;
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / CommandsPerSecond));
                var end = DateTime.UtcNow + window;
                while (DateTime.UtcNow < end && await timer.WaitForNextTickAsync().ConfigureAwait(false))
                {
                    await SendAsync(driver).ConfigureAwait(false);
                    commands++;
                }

                var cpu = (serve?.CpuTime() ?? TimeSpan.Zero) - cpuBefore;
                return (commands, Interlocked.Read(ref received), cpu);
            }
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

    private static async Task SendAsync(AlexLinkClient driver)
    {
        var reply = await driver.SendAsync(Alex.Protocol.DriveCommand.Stop, CancellationToken.None).ConfigureAwait(false);
        if (!reply.Acknowledged)
        {
            throw new InvalidOperationException($"s refused: {reply.Text}");
        }
    }

    private static AlexClientOptions Options(int port, AlexCredentials credentials) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ServerName = "alex.epp.com",
        Credentials = credentials,
        Protocol = AlexProtocol.AlexLink1,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        ReplyTimeout = TimeSpan.FromSeconds(10),
    };

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    private static string Spread(IEnumerable<double> values, string format, string unit)
    {
        var v = values.ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{BenchStats.Median(v).ToString(format, CultureInfo.InvariantCulture)}{unit} ({v.Min().ToString(format, CultureInfo.InvariantCulture)}–{v.Max().ToString(format, CultureInfo.InvariantCulture)})");
    }
}
