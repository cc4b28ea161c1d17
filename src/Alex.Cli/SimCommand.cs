using System.CommandLine;
using System.Runtime.InteropServices;
using Alex.Robot.Pty;
using Alex.Robot.Simulation;

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
            "  alex sim --pty --stats-order status-only --hello-reply ok\n\n" +
            "Any program can open the device as a serial port at 9600 8N1: ours (alex serve --serial PATH)\n" +
            "or your own C server. Replies are paced like a real line at --baud. Each frame seen is logged\n" +
            "to stderr. Stop with Ctrl-C.");

        var pty = new Option<bool>("--pty") { Description = "Serve on a new pseudo-terminal (the only transport for now)." };
        var link = new Option<string?>("--link") { Description = "Also make PATH a symlink to the device (replaced if it is a stale symlink)." };
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
        foreach (var o in new Option[] { pty, link, baud, noPacing, statsOrder, hello, courseReceiver, countsPerRev, wheel, quiet })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            if (!pr.GetValue(pty))
            {
                throw new CliException("alex sim needs a transport", hint: "add --pty to serve on a pseudo-terminal");
            }

            if (!OperatingSystem.IsLinux())
            {
                throw new CliException("alex sim --pty works on Linux only", exitCode: AlexCommandLine.ExitFailed);
            }

            var rate = pr.GetValue(baud);
            if (rate <= 0)
            {
                throw new CliException($"--baud {rate} is not a line speed", hint: "use e.g. --baud 9600 or --baud 115200");
            }

            SimulatorSettings settings;
            try
            {
                settings = new SimulatorSettings
                {
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
            PtySimulator sim;
            try
            {
                sim = PtySimulator.Start(settings, pr.GetValue(noPacing) ? null : new SerialLinePacing(rate), pr.GetValue(link), TimeProvider.System, log);
            }
            catch (IOException e)
            {
                throw new CliException(e.Message, hint: "choose another --link path, or remove the file", exitCode: AlexCommandLine.ExitFailed);
            }

            await using (sim.ConfigureAwait(false))
            {
                // The device path alone on stdout, first, so scripts and tests can read it.
                Console.Out.WriteLine(sim.DevicePath);
                Console.Out.Flush();
                Console.Error.WriteLine(
                    $"alex sim: serving a simulated Alex on {sim.DevicePath}" + (sim.LinkPath is null ? string.Empty : $" (link {sim.LinkPath})") +
                    $", {(pr.GetValue(noPacing) ? "unpaced" : $"paced at {rate} baud")}; Ctrl-C stops");
                // Ctrl-C, kill (SIGTERM) and a closed terminal (SIGHUP) all stop serving cleanly, so
                // the symlink is removed; a background job may start with SIGINT ignored.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
                using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
                using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
                try
                {
                    await sim.Completion.WaitAsync(stop.Token).ConfigureAwait(false);
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

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }
}
