using System.CommandLine;
using System.Runtime.InteropServices;
using Alex.Robot.Pty;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Cli;

/// <summary>`alex sim`: the simulated Alex (an Arduino running the course firmware) on a pseudo-terminal.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "sim",
            "Run the simulated Alex (an Arduino running the course firmware) on a pseudo-terminal.\n\n" +
            "Examples:\n" +
            "  alex sim --pty                          print the device path (e.g. /dev/pts/3) and serve\n" +
            "  alex sim --pty --link /tmp/alex         also make /tmp/alex a symlink to it\n" +
            "  alex sim --pty --no-pacing              reply as fast as possible (tests, benchmarks)\n" +
            "  alex sim --pty --stats-order status-only --hello-reply ok\n" +
            "  alex sim --lidar-pty --link /tmp/lidar       a simulated RPLidar A1 alone (alex serve --lidar /tmp/lidar)\n" +
            "  alex sim --pty --link /tmp/alex --lidar-pty --lidar-link /tmp/lidar --world room.json\n" +
            "                                          both, the lidar riding on the simulated Alex\n" +
            "  alex sim --pty --extensions alex-extensions.json --answer 'colour=310,120,95;400,90,80'\n" +
            "                                          a team's declared commands, answered with these readings in turn\n\n" +
            "Any program can open the device as a serial port at 9600 8N1: ours (alex serve --serial PATH)\n" +
            "or your own C server. Replies are paced like a real line at --baud. Each frame seen is logged\n" +
            "to stderr. The lidar speaks the RPLidar protocol (docs/lidar.md) at any baud; it sees the course arena\n" +
            "or --world, from the simulated Alex's pose when --pty runs too. The device paths are printed on stdout,\n" +
            "the Alex's first. Stop with Ctrl-C. With --extensions, the team's declared commands (docs/extensions.md) are\n" +
            "answered as declared: fixed values, or each --answer NAME=V,V,...[;V,V,...] reading in turn.");

        var pty = new Option<bool>("--pty") { Description = "Serve the simulated Alex on a new pseudo-terminal." };
        var link = new Option<string?>("--link") { Description = "Also make PATH a symlink to the device (replaced if it is a stale symlink); the lidar's when only --lidar-pty is given." };
        var lidarPty = new Option<bool>("--lidar-pty") { Description = "Serve a simulated RPLidar A1 on a new pseudo-terminal." };
        var lidarLink = new Option<string?>("--lidar-link") { Description = "Make PATH a symlink to the lidar's device." };
        var world = new Option<string?>("--world") { Description = "The room the lidar sees (JSON walls and boxes in cm, docs/lidar.md §7); default: the course arena." };
        var baud = new Option<int>("--baud") { Description = "Line speed the replies are paced at (10 bits per byte).", DefaultValueFactory = _ => 9600 };
        var noPacing = new Option<bool>("--no-pacing") { Description = "Do not pace: reply as fast as the pty goes." };
        var statsOrder = new Option<string>("--stats-order") { Description = "How GET_STATS is answered: ok-then-status, status-only or status-then-ok.", DefaultValueFactory = _ => "ok-then-status" };
        statsOrder.AcceptOnlyFromAmong("ok-then-status", "status-only", "status-then-ok");
        var hello = new Option<string>("--hello-reply") { Description = "How HELLO is answered: none (most firmware) or ok.", DefaultValueFactory = _ => "none" };
        hello.AcceptOnlyFromAmong("none", "ok");
        var courseReceiver = new Option<bool>("--course-receiver") { Description = "Cut input into fixed 140-byte blocks like the course firmware (no resynchronisation after noise)." };
        var countsPerRev = new Option<int>("--counts-per-rev") { Description = "Encoder ticks per wheel revolution.", DefaultValueFactory = _ => 195 };
        var wheel = new Option<double>("--wheel-cm") { Description = "Wheel circumference in cm.", DefaultValueFactory = _ => 20.4 };
        var quiet = new Option<bool>("--quiet") { Description = "Do not log frames to stderr." };
        var extensions = ExtensionsOption.Create();
        var answers = new Option<string[]>("--answer") { Description = "Scripted values for a declared command: NAME=V,V,... (its fields in order; text for a message reply), readings separated by ';', repeated in turn" };
        foreach (var o in new Option[] { pty, link, baud, noPacing, statsOrder, hello, courseReceiver, countsPerRev, wheel, quiet, lidarPty, lidarLink, world, extensions, answers })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var robotWanted = pr.GetValue(pty);
            var lidarWanted = pr.GetValue(lidarPty);
            if (!robotWanted && !lidarWanted)
            {
                throw new CliException("alex sim needs a transport", hint: "add --pty to serve the Alex on a pseudo-terminal, --lidar-pty for the lidar");
            }

            if (!lidarWanted && (pr.GetValue(lidarLink) is not null || pr.GetValue(world) is not null))
            {
                throw new CliException("--lidar-link and --world are for the simulated lidar", hint: "add --lidar-pty");
            }

            var lidarWorld = !lidarWanted ? null : pr.GetValue(world) is { } worldPath ? LidarOptions.LoadWorld(worldPath) : LidarWorld.DefaultArena;

            if (!OperatingSystem.IsLinux())
            {
                throw new CliException("alex sim --pty works on Linux only", exitCode: AlexCommandLine.ExitFailed);
            }

            var rate = pr.GetValue(baud);
            if (rate <= 0)
            {
                throw new CliException($"--baud {rate} is not a line speed", hint: "use e.g. --baud 9600 or --baud 115200");
            }

            var declared = ExtensionsOption.Load(pr.GetValue(extensions));
            var scripts = new Dictionary<string, IReadOnlyList<string[]>>();
            foreach (var spec in pr.GetValue(answers) ?? [])
            {
                if (!SimulatorSettings.TryParseAnswer(spec, declared, out var name, out var readings, out var error))
                {
                    throw new CliException($"--answer {spec}: {error}", hint: "e.g. --answer colour=310,120,95 (a declared command's name, then its values)");
                }

                scripts[name] = readings;
            }

            SimulatorSettings settings;
            try
            {
                settings = new SimulatorSettings
                {
                    Extensions = declared,
                    Answers = scripts,
                    CountsPerRev = pr.GetValue(countsPerRev),
                    WheelCircumferenceCm = pr.GetValue(wheel),
                    GetStatsReplyOrder = pr.GetValue(statsOrder) switch
                    {
                        "status-only" => GetStatsReplyOrder.StatusOnly,
                        "status-then-ok" => GetStatsReplyOrder.StatusThenOk,
                        _ => GetStatsReplyOrder.OkThenStatus,
                    },
                    HelloReply = pr.GetValue(hello) == "ok" ? HelloReply.Ok : HelloReply.None,
                    Receiver = pr.GetValue(courseReceiver) ? FrameReceiver.CourseBlocks : FrameReceiver.Resynchronising,
                };
                settings.Validate();
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new CliException($"bad simulator setting: {e.Message}", hint: "--counts-per-rev and --wheel-cm must be positive");
            }

            var log = pr.GetValue(quiet) ? null : (Action<string>)(line => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {line}"));
            PtySimulator? sim = null;
            LidarPtySimulator? lidar = null;
            try
            {
                if (robotWanted)
                {
                    sim = PtySimulator.Start(settings, pr.GetValue(noPacing) ? null : new SerialLinePacing(rate), pr.GetValue(link), TimeProvider.System, log);
                }

                if (lidarWanted)
                {
                    var body = sim is null ? SimulatedBody.Fixed(lidarWorld!.Start) : new SimulatedBody(() => sim.Alex.Counters, sim.Alex.Settings, lidarWorld!.Start);
                    var device = new SimulatedLidar(lidarWorld, body, new LidarSimSettings(), TimeProvider.System);
                    lidar = LidarPtySimulator.Start(device, pr.GetValue(lidarLink) ?? (robotWanted ? null : pr.GetValue(link)), TimeProvider.System, log);
                }
            }
            catch (IOException e)
            {
                await DisposeAsync(sim, lidar).ConfigureAwait(false);
                throw new CliException(e.Message, hint: "choose another --link path, or remove the file", exitCode: AlexCommandLine.ExitFailed);
            }

            try
            {
                // The device paths alone on stdout, first, so scripts and tests can read them (the Alex's first).
                foreach (var path in new[] { sim?.DevicePath, lidar?.DevicePath }.OfType<string>())
                {
                    Console.Out.WriteLine(path);
                }

                Console.Out.Flush();
                if (sim is not null)
                {
                    Console.Error.WriteLine(
                        $"alex sim: serving a simulated Alex on {sim.DevicePath}" + (sim.LinkPath is null ? string.Empty : $" (link {sim.LinkPath})") +
                        $", {(pr.GetValue(noPacing) ? "unpaced" : $"paced at {rate} baud")}; Ctrl-C stops");
                }

                if (lidar is not null)
                {
                    Console.Error.WriteLine(
                        $"alex sim: serving a simulated RPLidar A1 on {lidar.DevicePath}" + (lidar.LinkPath is null ? string.Empty : $" (link {lidar.LinkPath})") +
                        $" in {lidarWorld!.Name.Split(':')[0]}; Ctrl-C stops");
                }

                // Ctrl-C, kill (SIGTERM) and a closed terminal (SIGHUP) all stop serving cleanly, so
                // the symlinks are removed; a background job may start with SIGINT ignored.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
                using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
                try
                {
                    await Task.WhenAny(new[] { sim?.Completion, lidar?.Completion }.OfType<Task>()).WaitAsync(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // the normal way to stop serving
                }

                void Stop(PosixSignalContext context)
                {
                    context.Cancel = true;
                    stop.Cancel();
                }
            }
            finally
            {
                await DisposeAsync(sim, lidar).ConfigureAwait(false);
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    private static async Task DisposeAsync(PtySimulator? sim, LidarPtySimulator? lidar)
    {
        if (lidar is not null)
        {
            await lidar.DisposeAsync().ConfigureAwait(false);
        }

        if (sim is not null)
        {
            await sim.DisposeAsync().ConfigureAwait(false);
        }
    }
}
