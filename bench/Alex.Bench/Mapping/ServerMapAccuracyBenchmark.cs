// map-server: the server's map (ServerMapper, docs/mapping.md §4) on the path `alex serve --simulate --lidar simulated`
// takes: the simulated Alex behind ArduinoLink and the hub, polled for its status every 200 ms, the simulated lidar
// through LidarLink, a driver over TLS making turns at full speed. Against the simulator's truth, with wheel slip and
// encoder noise on. Which odometry pose goes with a revolution is compared side by side on the same run: the hub's
// messages are recorded in the order ServerMapper hears them and replayed into one mapper per rule (ServerMapper's own,
// the newest sample, and candidates: a line through the last two samples, interpolation, the encoders read exactly).
using System.Diagnostics;
using System.Globalization;
using Alex.Bench.Server;
using Alex.Bench.Serving;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Odometry;
using Alex.Protocol.Serial;
using Alex.Robot.Lidar;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;
using Alex.Robot.Simulation.Mapping;

namespace Alex.Bench.Mapping;

internal static class ServerMapAccuracyBenchmark
{
    private const int Squares = 2;

    // The rules for the pose of a revolution that ends at `completed`, given the status samples (time, pose) in order.
    private static readonly (string Name, string What)[] Rules =
    [
        ("newest", "the newest status sample when the revolution arrives (what ServerMapper does)"),
        ("extrapolated", "on the line through the last two samples at the revolution's end, at most one interval past the newest"),
        ("interpolated", "between the samples either side of the revolution's end (it would wait for the next poll)"),
        ("exact", "the encoders read at the moment the revolution completed (no poll: the best the odometry can do)"),
    ];

    private sealed record Run(int Seed, string Line, Dictionary<string, Outcome> ByRule, Outcome Live, int Revolutions, double PollMs);

    private sealed record Outcome(double EndCm, double EndDeg, double Walls, double Free, double Stray, double InputDegMedian, double InputDegP95);

    public static async Task<int> RunAsync(string[] args)
    {
        var seeds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 6;
        int?[] lines = [null, 9600];
        var runs = new List<Run>();
        using var pki = new BenchPki();
        foreach (var baud in lines)
        {
            for (var seed = 1; seed <= seeds; seed++)
            {
                var run = await OneAsync(pki, seed, baud).ConfigureAwait(false);
                runs.Add(run);
                Console.WriteLine($"{run.Line} seed {seed}: {run.Revolutions} revolutions, poll every {run.PollMs:0} ms; " +
                    string.Join("; ", Rules.Select(r => $"{r.Name} {Describe(run.ByRule[r.Name])}")) + $"; live {Describe(run.Live)}");
            }
        }

        static string Describe(Outcome o) => string.Create(CultureInfo.InvariantCulture, $"{o.EndCm:0.0} cm {o.EndDeg:0.0}° walls {o.Walls:0.0} % stray {o.Stray:0.0} % input {o.InputDegMedian:0.0}°/{o.InputDegP95:0.0}°");
        static string Range(IEnumerable<double> values, string format = "0.0")
        {
            var v = values.ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{BenchStats.Median(v).ToString(format, CultureInfo.InvariantCulture)} ({v.Min().ToString(format, CultureInfo.InvariantCulture)}–{v.Max().ToString(format, CultureInfo.InvariantCulture)})");
        }

        var tables = new List<string>();
        foreach (var line in runs.Select(r => r.Line).Distinct())
        {
            var these = runs.Where(r => r.Line == line).ToList();
            var rows = new List<string>
            {
                "| rule | input heading error while moving, median / p95 | end position error | end heading error | true wall points found | occupied cells off the true walls |",
                "|---|---|---|---|---|---|",
            };
            foreach (var (name, _) in Rules)
            {
                var o = these.Select(r => r.ByRule[name]).ToList();
                rows.Add($"| {name} | {Range(o.Select(x => x.InputDegMedian))}° / {Range(o.Select(x => x.InputDegP95))}° | {Range(o.Select(x => x.EndCm))} cm | {Range(o.Select(x => x.EndDeg))}° | {Range(o.Select(x => x.Walls))} % | {Range(o.Select(x => x.Stray))} % |");
            }

            var live = these.Select(r => r.Live).ToList();
            rows.Add($"| ServerMapper as built (live) | — | {Range(live.Select(x => x.EndCm))} cm | {Range(live.Select(x => x.EndDeg))}° | {Range(live.Select(x => x.Walls))} % | {Range(live.Select(x => x.Stray))} % |");
            var perSeed = string.Join("; ", these.Select(r => string.Create(CultureInfo.InvariantCulture,
                $"seed {r.Seed}: end {string.Join(" / ", Rules.Select(x => r.ByRule[x.Name].EndCm.ToString("0.0", CultureInfo.InvariantCulture)))} cm, stray {string.Join(" / ", Rules.Select(x => r.ByRule[x.Name].Stray.ToString("0.0", CultureInfo.InvariantCulture)))} %")));
            tables.Add($"""
                **{line}** ({these.Count} runs; a status every {BenchStats.Median(these.Select(r => r.PollMs).ToList()):0} ms (median), {BenchStats.Median(these.Select(r => (double)r.Revolutions).ToList()):0} revolutions a run). Median over runs (range):

                {string.Join("\n", rows)}

                Per run, {string.Join(" / ", Rules.Select(r => r.Name))}: {perSeed}.
                """);
        }

        var section = $"""
            ## map-server: the server's map on a turn-heavy drive, against the simulator's truth

            {BenchReport.Machine()}

            Method: in one process, the path `alex serve --simulate --lidar simulated` takes: the simulated Alex behind
            ArduinoLink (serial line unpaced, as the tests run it, and paced at 9600 baud, as `alex serve --simulate` and the
            course's Arduino run it), the hub polling the status every {ServerMapper.StatusInterval.TotalMilliseconds:0} ms for the odometry, the simulated A1
            through LidarLink, `ServerMapper` on the hub. A driver over TLS drives a 40 cm square to the left {Squares} times:
            each side a quarter turn at 100 % then 40 cm at 60 %, sent as soon as the last move ended (about 150°/s turning:
            30° between two polls). Wheel slip (3 % straight, 5 % turning) and encoder noise (0.5 tick·√tick) on, seeded
            1–{seeds}; the simulator alone knows where the lidar really is. The hub's messages are recorded in the order
            ServerMapper hears them and replayed into one mapper per rule for the odometry pose that goes with a revolution:
            {string.Join("; ", Rules.Select(r => $"**{r.Name}**: {r.What}"))}. The live ServerMapper of the same run is
            shown too. Input heading error: per revolution, the heading handed to the mapper against the encoders' heading at
            the revolution's end (the timing error alone, slip aside). End errors: the mapper's pose after the last
            revolution against the truth. Wall points found: as in map-accuracy (MapAgreementCheck; the drive sees only part of
            the arena, so well under 100 %). Occupied cells off the true walls: the share of the map's occupied cells with
            no true wall in them or the 8 around them (smear; lower is better).

            {string.Join("\n\n", tables)}

            What the runs show: the pose is the weak part of the server's map, not the matcher (with the encoders read exactly,
            the map is as clean as map-accuracy's). Unpaced, the newest sample is up to a poll (about 30° of a turn) old; putting
            the pose on the line through the last two samples at the revolution's end roughly halves the p95 heading error but
            leaves the map much as it was (a robot that just stopped is extrapolated as still turning), while interpolating
            between the samples either side of the revolution's end, a poll later, gets close to the exact encoders. At 9600 baud
            a poll is a request frame and two reply frames (438 ms on the wire) and its counters were read some 290 ms before it
            arrives, yet is stamped on arrival: every rule is far off, and extrapolating from such samples makes the map and the
            end pose clearly worse. A status stamped when its counters were read would be the first thing to fix.
            """;
        Console.WriteLine(section);
        Console.WriteLine($"wrote the 'map-server' section of {BenchReport.WriteSection("map-server", section)}");
        return 0;
    }

    private static async Task<Run> OneAsync(BenchPki pki, int seed, int? baud)
    {
        var settings = new SimulatorSettings { WheelSlip = 0.03, TurnSlip = 0.05, EncoderNoise = 0.5, NoiseSeed = seed };
        var time = TimeProvider.System;
        await using var robot = await SimulatedRobot.StartAsync(settings, baud is { } b ? new SerialLinePacing(b) : null, time, CancellationToken.None).ConfigureAwait(false);
        var options = pki.HostOptions() with { Hub = new HubOptions { LeaseWindow = TimeSpan.FromSeconds(30), ObserverStatusInterval = ServerMapper.StatusInterval } };
        var host = RobotHost.Start(options, robot.Link, time);
        await using var hostScope = host.ConfigureAwait(false);
        var recorded = new List<AlexLinkMessage>();
        host.Hub.Published += m =>
        {
            if (m is AlexLinkStatus or AlexLinkScan)
            {
                lock (recorded)
                {
                    recorded.Add(m);
                }
            }
        };
        var mapper = ServerMapper.Start(host.Hub);
        var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), host.Hub, robot.Alex, time, _ => { })!;
        var world = LidarWorld.DefaultArena;
        var body = lidar.Simulated!.Body;
        var truth = new Dictionary<long, MapPose>();
        var encoders = new Dictionary<long, Pose>();
        var encoderOdometry = new DeadReckoning();
        lidar.Link.Scanned += scan =>
        {
            // On the lidar's loop, just after the hub was handed the revolution (its end is now).
            var counters = robot.Alex.Counters;
            var pose = body.Pose;
            lock (truth)
            {
                encoderOdometry.Update(counters);
                encoders[scan.Sequence] = encoderOdometry.Current;
                truth[scan.Sequence] = MapDrill.InMapFrame(pose, world.Start);
            }
        };

        await using (mapper.ConfigureAwait(false))
        await using (lidar.ConfigureAwait(false))
        {
            await UntilAsync(() => mapper.Read(m => m.Scans) > 3, "the first revolutions mapped").ConfigureAwait(false);
            using var credentials = AlexCredentials.FromPkiDirectory(pki.Dir);
            var driver = await AlexLinkClient.ConnectAsync(new AlexClientOptions
            {
                Host = "127.0.0.1",
                Port = host.LocalEndPoint.Port,
                ServerName = "alex.epp.com",
                Credentials = credentials,
                Protocol = AlexProtocol.AlexLink1,
                ConnectTimeout = TimeSpan.FromSeconds(30),
                ReplyTimeout = TimeSpan.FromSeconds(30),
            }, CancellationToken.None).ConfigureAwait(false);
            await using (driver.ConfigureAwait(false))
            {
                Ok(await driver.TakeLeaseAsync(CancellationToken.None).ConfigureAwait(false));
                for (var side = 0; side < 4 * Squares; side++)
                {
                    await MoveAsync(driver, robot, new DriveCommand(CommandCode.TurnLeft, 90, 100)).ConfigureAwait(false);
                    await MoveAsync(driver, robot, new DriveCommand(CommandCode.Forward, 40, 60)).ConfigureAwait(false);
                }
            }

            // Standing: a few polls and revolutions more, so every rule has seen the robot stand.
            var now = mapper.Sequence;
            await UntilAsync(() => mapper.Sequence > now + 8, "eight map updates after the drive").ConfigureAwait(false);
        }

        AlexLinkMessage[] messages;
        lock (recorded)
        {
            messages = [.. recorded];
        }

        Dictionary<long, MapPose> truthAt;
        Dictionary<long, Pose> encodersAt;
        lock (truth)
        {
            truthAt = new(truth);
            encodersAt = new(encoders);
        }

        var byRule = Rules.ToDictionary(r => r.Name, r => Replay(r.Name, messages, truthAt, encodersAt, world));
        var lastTruth = truthAt[truthAt.Keys.Max()];
        var live = mapper.Read(m => Measure(m, lastTruth, world, []));
        var statuses = messages.OfType<AlexLinkStatus>().Select(s => s.ReadAtUnixMs).ToList();
        var gaps = statuses.Zip(statuses.Skip(1), (a, c) => (double)(c - a)).ToList();
        return new Run(seed, baud is { } rate ? $"serial line paced at {rate} baud" : "serial line unpaced", byRule, live,
            messages.OfType<AlexLinkScan>().Count(s => s.Part == s.Parts - 1), BenchStats.Median(gaps));
    }

    // One mapper fed the recorded messages, with the rule's pose for each revolution.
    private static Outcome Replay(string rule, AlexLinkMessage[] messages, Dictionary<long, MapPose> truth, Dictionary<long, Pose> encoders, LidarWorld world)
    {
        var odometry = new DeadReckoning();
        var samples = new List<(long At, Pose Pose)>();
        foreach (var status in messages.OfType<AlexLinkStatus>())
        {
            odometry.Update(status.Counters);
            samples.Add((status.ReadAtUnixMs, odometry.Current));
        }

        var heard = 0;
        var assembler = new AlexLinkScanAssembler();
        var mapper = new Mapper();
        var inputErrors = new List<double>();
        uint last = 0;
        Pose? before = null;
        foreach (var message in messages)
        {
            if (message is AlexLinkStatus)
            {
                heard++;
            }
            else if (message is AlexLinkScan scan && assembler.Offer(scan) is { } revolution && encoders.TryGetValue(revolution.Sequence, out var exact))
            {
                var pose = rule switch
                {
                    "newest" => heard == 0 ? default : samples[heard - 1].Pose,
                    "extrapolated" => heard < 2 ? (heard == 0 ? default : samples[0].Pose) : OnTheLine(samples[heard - 2], samples[heard - 1], revolution.CompletedUnixMs),
                    "interpolated" => Interpolated(samples, revolution.CompletedUnixMs),
                    _ => exact,
                };
                if (before is { } b && (Math.Abs(b.HeadingDeg - exact.HeadingDeg) > 0.1 || Math.Abs(b.X - exact.X) + Math.Abs(b.Y - exact.Y) > 0.1))
                {
                    // Only revolutions during which the robot moved: standing, every rule gives the same pose.
                    inputErrors.Add(Math.Abs(MapPose.Normalize((pose.HeadingDeg - exact.HeadingDeg) * Math.PI / 180)) * 180 / Math.PI);
                }

                before = exact;
                mapper.Add(new MapPose(pose.X, pose.Y, pose.HeadingDeg * Math.PI / 180), MapScan.FromPoints(revolution.Points));
                last = revolution.Sequence;
            }
        }

        return Measure(mapper, truth[last], world, inputErrors);
    }

    // The pose at `at` between the samples either side of it (the last one when none is later).
    private static Pose Interpolated(List<(long At, Pose Pose)> samples, long at)
    {
        var i = samples.FindIndex(s => s.At >= at);
        return i < 0 ? samples[^1].Pose : i == 0 ? samples[0].Pose : OnTheLine(samples[i - 1], samples[i], at);
    }

    // The pose at `at` on the line through two samples, at most one of their intervals past the newer; heading the short way round.
    private static Pose OnTheLine((long At, Pose Pose) a, (long At, Pose Pose) b, long at)
    {
        if (b.At <= a.At)
        {
            return b.Pose;
        }

        var f = Math.Clamp((at - a.At) / (double)(b.At - a.At), 0, 2);
        var turn = MapPose.Normalize((b.Pose.HeadingDeg - a.Pose.HeadingDeg) * Math.PI / 180) * 180 / Math.PI;
        return new Pose(
            a.Pose.X + ((b.Pose.X - a.Pose.X) * f),
            a.Pose.Y + ((b.Pose.Y - a.Pose.Y) * f),
            a.Pose.HeadingDeg + (turn * f));
    }

    private static Outcome Measure(Mapper mapper, MapPose truth, LidarWorld world, List<double> inputErrors)
    {
        var agreement = MapAgreementCheck.Measure(mapper.Map, world);
        var pose = mapper.Pose;
        return new Outcome(
            Math.Sqrt(((pose.X - truth.X) * (pose.X - truth.X)) + ((pose.Y - truth.Y) * (pose.Y - truth.Y))),
            Math.Abs(MapPose.Normalize(pose.Theta - truth.Theta)) * 180 / Math.PI,
            agreement.Walls * 100,
            agreement.Free * 100,
            Stray(mapper.Map, world) * 100,
            inputErrors.Count == 0 ? double.NaN : BenchStats.Median(inputErrors),
            inputErrors.Count == 0 ? double.NaN : BenchStats.Quantile(inputErrors, 0.95));
    }

    // The share of the map's occupied cells with no true wall in them or the 8 around them: smear, in the map frame.
    private static double Stray(OccupancyGrid map, LidarWorld world)
    {
        var wallCells = new HashSet<(int, int)>();
        foreach (var s in world.Segments)
        {
            var length = Math.Sqrt(((s.X2 - s.X1) * (s.X2 - s.X1)) + ((s.Y2 - s.Y1) * (s.Y2 - s.Y1)));
            var n = Math.Max(1, (int)Math.Ceiling(length));
            for (var i = 0; i <= n; i++)
            {
                var p = MapDrill.InMapFrame(new WorldPose(s.X1 + ((s.X2 - s.X1) * i / n), s.Y1 + ((s.Y2 - s.Y1) * i / n), 0), world.Start);
                wallCells.Add(map.CellOf(p.X, p.Y));
            }
        }

        var (x0, y0, width, height) = map.Bounds();
        int occupied = 0, stray = 0;
        for (var j = y0; j < y0 + height; j++)
        {
            for (var i = x0; i < x0 + width; i++)
            {
                if (map.LogOdds(i, j) <= 0)
                {
                    continue;
                }

                occupied++;
                var near = false;
                for (var dj = -1; dj <= 1 && !near; dj++)
                {
                    for (var di = -1; di <= 1 && !near; di++)
                    {
                        near = wallCells.Contains((i + di, j + dj));
                    }
                }

                stray += near ? 0 : 1;
            }
        }

        return occupied == 0 ? 0 : (double)stray / occupied;
    }

    private static async Task MoveAsync(AlexLinkClient driver, SimulatedRobot robot, DriveCommand command)
    {
        Ok(await driver.SendAsync(command, CancellationToken.None).ConfigureAwait(false));
        await UntilAsync(() => robot.Alex.Motion == MotionKind.Stopped, $"{command.Command} to end").ConfigureAwait(false);
    }

    private static void Ok(CommandReply reply)
    {
        if (!reply.Acknowledged)
        {
            throw new InvalidOperationException("the server did not accept a move: " + reply);
        }
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("waited a minute for " + what);
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }
}
