// `fleet`: N simulated robots publishing to one Mosquitto made by `alex pki fleet-broker`, and an instructor's view.
// The robots are N robot servers (RobotHost + the simulated Alex + FleetPublisher, as `alex serve --simulate --fleet`
// wires them) in this one process, not N processes: 40 `alex serve` processes would take 40 runtimes' memory on a
// 2-core machine already shared; the broker, the network path and each robot's publisher are the same either way.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Alex.Bench.Server;
using Alex.Client;
using Alex.Fleet;
using Alex.Pki;
using Alex.Pki.Fleet;
using Alex.Protocol;
using Alex.Protocol.Fleet;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Alex.Robot.Simulation;

namespace Alex.Bench.Serving;

internal static class FleetBenchmark
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "mosquitto"))))
        {
            Console.Error.WriteLine("fleet: needs Mosquitto on the PATH (Debian: apt-get install mosquitto)");
            return 2;
        }

        var robots = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        const int RoundTrips = 200;
        var machine = BenchReport.Machine();
        using var pki = new BenchPki();
        pki.Ca.Issue(new IssueRequest { Role = CertificateRole.Instructor, Name = "teacher" }, pki.Path("teacher.key"), pki.Path("teacher.crt"), null, force: false);
        pki.Ca.IssueAll([.. Enumerable.Range(0, robots).Select(i => new IssueOrder(new IssueRequest { Role = CertificateRole.Fleet, Name = Name(i) }, pki.Path(Name(i) + ".key"), pki.Path(Name(i) + ".crt")))], force: false);
        var port = BenchStats.FreePort();
        var files = FleetBroker.Write(pki.Ca, pki.Path("mosquitto"), new FleetBrokerRequest { Host = "localhost", Bind = "127.0.0.1", Port = port, RunAs = Environment.UserName });
        var endpoint = new FleetEndpoint("localhost", port);
        var time = TimeProvider.System;

        await using var broker = AlexProcess.StartProgram("mosquitto", ["-c", files.ConfPath]);
        await broker.WaitForLineAsync("running", Step).ConfigureAwait(false);

        // The robots, each with the time its simulator last saw a STOP frame.
        var hosts = new List<(SimulatedRobot Robot, RobotHost Host)>();
        var stopSeen = new long[robots];
        for (var i = 0; i < robots; i++)
        {
            var robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), null, time, CancellationToken.None).ConfigureAwait(false);
            var index = i;
            robot.Pump.Exchanged += e =>
            {
                if (e.Received.Packet is { Type: PacketType.Command, Command: CommandCode.Stop })
                {
                    Volatile.Write(ref stopSeen[index], Stopwatch.GetTimestamp());
                }
            };
            hosts.Add((robot, RobotHost.Start(pki.HostOptions(), robot.Link, time)));
        }

        var identities = Enumerable.Range(0, robots).Select(i => FleetIdentity.Load(pki.Path(Name(i) + ".crt"), pki.Path(Name(i) + ".key"), pki.Ca.CertificatePath)).ToList();
        using var teacher = FleetIdentity.Load(pki.Path("teacher.crt"), pki.Path("teacher.key"), pki.Ca.CertificatePath);
        await using var watch = await FleetWatch.ConnectAsync(endpoint, teacher, time, CancellationToken.None).ConfigureAwait(false);
        var heard = new ConcurrentDictionary<string, (FleetStatus Status, long At)>();
        var arrived = new SemaphoreSlim(0);
        watch.StatusReceived += (robot, status) =>
        {
            if (status is not null)
            {
                heard[robot] = (status, Stopwatch.GetTimestamp());
                arrived.Release();
            }
        };

        using var credentials = AlexCredentials.FromPkiDirectory(pki.Dir);
        var driver = await AlexLinkClient.ConnectAsync(Client(hosts[0].Host.LocalEndPoint.Port, credentials), CancellationToken.None).ConfigureAwait(false);
        var without = new Samples(rounds * RoundTrips);
        var with = new Samples(rounds * RoundTrips);
        var ratios = new List<double>();
        var view = new Samples(rounds * 20);
        var stopAll = new Samples(rounds * 3 * robots);
        var stopAllLast = new Samples(rounds * 3);
        var brokerCpu = new List<double>();
        var brokerRss = new List<double>();
        var published = 0L;
        await using (driver.ConfigureAwait(false))
        {
            // Warm-up: the JIT and the connection's first round trips are in neither figure.
            await RoundTripsAsync(driver, RoundTrips).ConfigureAwait(false);
            for (var round = 0; round < rounds; round++)
            {
                // (a) robot 0's round trip with no publisher running: before (b) in even rounds, after it in odd ones, so
                // neither side is always the warmer one.
                var quiet = round % 2 == 0 ? await RoundTripsAsync(driver, RoundTrips).ConfigureAwait(false) : null;

                // (b) every robot publishing; robot 0's state flips with each command, so it publishes at every tick.
                var publishers = hosts.Select((h, i) => Publish(h.Host, identities[i], endpoint, time)).ToList();
                Samples busy;
                try
                {
                    await UntilAsync(() => publishers.All(p => p.IsConnected) && hosts.Select((_, i) => Name(i)).All(n => heard.TryGetValue(n, out var s) && s.Status.State == FleetStatus.Online), "every robot online").ConfigureAwait(false);
                    var cpuBefore = broker.CpuTime();
                    var wall = Stopwatch.StartNew();
                    busy = await RoundTripsAsync(driver, RoundTrips).ConfigureAwait(false);
                    with.AddAll(busy);

                    // (c) a state change on robot i as the instructor sees it: a driver's first move (lease taken, moving).
                    for (var k = 1; k <= Math.Min(10, robots - 1); k++)
                    {
                        var i = (round * 10 + k) % (robots - 1) + 1;
                        var other = await AlexLinkClient.ConnectAsync(Client(hosts[i].Host.LocalEndPoint.Port, credentials), CancellationToken.None).ConfigureAwait(false);
                        await using (other.ConfigureAwait(false))
                        {
                            foreach (var move in new[] { true, false })
                            {
                                var sent = Stopwatch.GetTimestamp();
                                var reply = move ? await other.SendAsync(new DriveCommand(CommandCode.Forward, 0, 50), CancellationToken.None).ConfigureAwait(false) : await other.StopAsync(CancellationToken.None).ConfigureAwait(false);
                                var ok = Stopwatch.GetTimestamp();
                                var seenAt = await SeenAsync(heard, arrived, Name(i), s => s.Moving == move, sent).ConfigureAwait(false);
                                view.Add(Stopwatch.GetElapsedTime(ok, seenAt));
                                _ = reply;
                            }
                        }
                    }

                    // (d) STOP-all: from the instructor's publish to each robot's STOP frame on its serial line.
                    for (var s = 0; s < 3; s++)
                    {
                        var before = Stopwatch.GetTimestamp();
                        var outcome = await watch.StopAsync(null, "benchmark", CancellationToken.None).ConfigureAwait(false);
                        if (outcome.Result != FleetStopResult.Sent)
                        {
                            throw new InvalidOperationException($"the instructor's STOP was not taken: {outcome.Result} {outcome.Problem}");
                        }

                        await UntilAsync(() => stopSeen.All(t => Volatile.Read(ref t) > before), "every robot's serial STOP").ConfigureAwait(false);
                        var last = TimeSpan.Zero;
                        foreach (var t in stopSeen)
                        {
                            var d = Stopwatch.GetElapsedTime(before, t);
                            stopAll.Add(d);
                            last = d > last ? d : last;
                        }

                        stopAllLast.Add(last);
                    }

                    brokerCpu.Add((broker.CpuTime() - cpuBefore).TotalSeconds / wall.Elapsed.TotalSeconds * 100);
                    brokerRss.Add(broker.RssMegabytes());
                    published += publishers.Sum(p => p.Published);
                }
                finally
                {
                    foreach (var p in publishers)
                    {
                        await p.DisposeAsync().ConfigureAwait(false);
                    }
                }

                quiet ??= await RoundTripsAsync(driver, RoundTrips).ConfigureAwait(false);
                without.AddAll(quiet);
                ratios.Add(busy.Percentile(50) / quiet.Percentile(50));
            }
        }

        foreach (var (robot, host) in hosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            await robot.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var identity in identities)
        {
            identity.Dispose();
        }

        var ratio = with.Percentile(50) / without.Percentile(50);
        var md = new StringBuilder();
        md.AppendLine("## fleet: robots publishing to one Mosquitto, the instructor's view, STOP-all");
        md.AppendLine();
        md.AppendLine(machine + $" Mosquitto: {BenchReport.Run("mosquitto", "-h").Split('\n')[0].Trim()}.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{robots} robot servers (RobotHost + simulated Alex + FleetPublisher, as `alex serve --simulate --fleet` wires them) in the benchmark's one process, each publishing to one Mosquitto 2.0 over mutual TLS with the files from `alex pki fleet-broker`; an instructor's FleetWatch (as `alex fleet`) subscribed to every status. {rounds} rounds; in each, robot 0's driver does {RoundTrips} round trips (alternating a move and STOP, so its state flips and it publishes at every 200 ms tick) with all {robots} publishing, and as many with no publisher running, before in even rounds and after in odd ones; {RoundTrips} round trips warm up first.");
        md.AppendLine();
        md.AppendLine("| measure | p50 | p99 |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| robot 0's round trip, no fleet publishing | {Ms(without.Percentile(50))} ms | {Ms(without.Percentile(99))} ms |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| robot 0's round trip, {robots} robots publishing | {Ms(with.Percentile(50))} ms | {Ms(with.Percentile(99))} ms |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| instructor's view of a state change (command OK → status received) | {Ms(view.Percentile(50))} ms | {Ms(view.Percentile(99))} ms |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| STOP-all: publish → a robot's serial STOP | {Ms(stopAll.Percentile(50))} ms | {Ms(stopAll.Percentile(99))} ms |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| STOP-all: publish → the last robot's serial STOP | {Ms(stopAllLast.Percentile(50))} ms | {Ms(stopAllLast.Percentile(99))} ms |");
        md.AppendLine();
        var met = ratio <= 1.05 && BenchStats.Median(ratios) <= 1.05;
        md.AppendLine(CultureInfo.InvariantCulture, $"Round trip with the fleet against without: {BenchReport.F(ratio)}× pooled p50, {BenchReport.F(BenchStats.Median(ratios))}× median of the rounds' p50 ratios (range {BenchReport.F(ratios.Min())}–{BenchReport.F(ratios.Max())}×). Goal ≤ 1.05× (met when both are): {(met ? "met" : "missed")}.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Here all {robots} publishers share robot 0's process and thread pool (one runtime); with `alex serve --fleet` each robot's process runs only its own publisher.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Broker while {robots} robots published: CPU {BenchReport.F(BenchStats.Median(brokerCpu), "0.0")} % of one core (median of rounds, range {BenchReport.F(brokerCpu.Min(), "0.0")}–{BenchReport.F(brokerCpu.Max(), "0.0")} %), RSS {BenchReport.F(brokerRss.Max(), "0.0")} MB; {published} statuses acknowledged in all.");
        md.AppendLine("The view of a change includes up to one publisher tick (200 ms, `FleetPublisherOptions.Tick`): the publisher looks at the server's state five times a second rather than hooking every change.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Run: `dotnet run -c Release --project bench/Alex.Bench -- fleet [robots] [rounds]` (needs `mosquitto`).");
        var path = BenchReport.WriteSection("fleet", md.ToString());
        Console.WriteLine(md.ToString());
        Console.WriteLine($"written to {path}");
        return 0;
    }

    private static string Name(int i) => $"robot-{i + 1:00}";

    private static string Ms(double seconds) => BenchStats.Ms(seconds * 1000);

    private static FleetPublisher Publish(RobotHost host, FleetIdentity identity, FleetEndpoint endpoint, TimeProvider time) =>
        FleetPublisher.Start(
            endpoint,
            identity,
            () =>
            {
                var (counters, at) = host.Hub.LastCounters;
                return FleetStatus.From(host.Server.Status(), counters, at, time.GetUtcNow());
            },
            (who, why) => host.Hub.FleetStopAsync(who, why),
            time,
            _ => { });

    private static async Task<Samples> RoundTripsAsync(AlexLinkClient driver, int count)
    {
        var samples = new Samples(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            _ = i % 2 == 0
                ? await driver.SendAsync(new DriveCommand(CommandCode.Forward, 0, 50), CancellationToken.None).ConfigureAwait(false)
                : await driver.StopAsync(CancellationToken.None).ConfigureAwait(false);
            samples.Add(Stopwatch.GetElapsedTime(started));
        }

        return samples;
    }

    private static async Task<long> SeenAsync(ConcurrentDictionary<string, (FleetStatus Status, long At)> heard, SemaphoreSlim arrived, string robot, Func<FleetStatus, bool> match, long after)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Step.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (heard.TryGetValue(robot, out var s) && s.At > after && match(s.Status))
            {
                return s.At;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the instructor never saw {robot}'s change");
            }

            await arrived.WaitAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
        }
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Step.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
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
}
