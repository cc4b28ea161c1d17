// Benchmarks (not timed tests). Each writes its section of docs/BENCHMARKS.md with the machine and date.
// Usage: dotnet run -c Release --project bench/Alex.Bench -- [name ...]   (no name: list them)
namespace Alex.Bench;

internal static class Program
{
    // name -> (what it measures, entry point). Each feature's benchmark adds one line.
    private static readonly Dictionary<string, (string What, Func<string[], Task<int>> Run)> Benchmarks = new(StringComparer.Ordinal)
    {
        ["serial"] = ("command round trip over a pty, paced at 9600 / 115200 / unpaced, vs wire time (--quick: fewer samples)", SerialBenchmark.RunAsync),
        ["roundtrip"] = ("command round trip through the robot server vs a bare SslStream echo [count]", Server.RoundTripBenchmark.RunAsync),
        ["roundtrip-server"] = ("(run by roundtrip) the robot server with the unpaced simulator, in its own process: DIR", Server.RoundTripChildren.ServeAsync),
        ["roundtrip-echo"] = ("(run by roundtrip) the bare SslStream echo, in its own process: DIR", Server.RoundTripChildren.EchoAsync),
        ["handshakes"] = ("mutual-TLS handshakes/s: alex serve vs openssl s_server, by openssl s_time [seconds rounds]", Server.HandshakeBenchmark.RunAsync),
        ["serve-serial-latency"] = ("command round trip through alex serve + pty + alex sim at 9600/115200 baud vs two frames' wire time", Serving.ServingBenchmarks.SerialLatencyAsync),
        ["serve-deadman"] = ("driver vanishes (TCP reset / silence) → STOP frame on the serial line, vs lease window + 50 ms", Serving.ServingBenchmarks.DeadmanAsync),
        ["serve-memory"] = ("alex serve RSS idle and with 50 watchers at 10 Hz", Serving.ServingBenchmarks.MemoryAsync),
        ["serve-watchers"] = ("driver round trip at 50 commands/s with 50 watchers at 10 Hz vs none, same run [rounds]", Serving.ServingBenchmarks.WatchersAsync),
        ["serve-cpu"] = ("alex serve --simulate CPU: idle, and per command at 50/s with 10 watchers; shipped vs default spinning [rounds]", Serving.CpuBenchmark.RunAsync),
        ["serial-relay"] = ("STOP / GET_STATS through alex serve --serial to an unpaced fake Arduino on a pty vs a minimal TLS→pty relay; idle wake-ups; STOP flood [rounds perRound]", Serving.SerialRelayBenchmark.RunAsync),
        ["serial-relay-child"] = ("(run by serial-relay) the minimal relay: DIR PTY PORT", Serving.SerialRelayBenchmark.RelayAsync),
        ["serve-admission"] = ("the laptop's connect + Welcome with no attack and under a slowloris + handshake flood from 127.0.0.2, same run [rounds perPhase]", Serving.AdmissionBenchmark.RunAsync),
        ["serve-admission-attacker"] = ("(run by serve-admission) the attack from 127.0.0.2: PORT CA", Serving.AdmissionBenchmark.AttackAsync),
        ["lidar"] = ("scan latency p50/p99 with 1 and 20 watchers, driver round trip with the lidar streaming vs without, decoder throughput [rounds seconds]", Serving.LidarBenchmark.RunAsync),
        ["fleet"] = ("N robots publishing to one Mosquitto: instructor's view of a change, STOP-all to every serial line, broker CPU/RSS, round trip with vs without [robots rounds]", Serving.FleetBenchmark.RunAsync),
        ["map-accuracy"] = ("mapping drill in the simulator with slip and noise: end pose error with and without scan matching, map agreement, cost per scan [seeds]", Mapping.MapAccuracyBenchmark.RunAsync),
        ["map-server"] = ("the server's map (ServerMapper via the hub, polled status) on a turn-heavy drive vs the simulator's truth, unpaced and at 9600 baud; pose rules side by side [seeds]", Mapping.ServerMapAccuracyBenchmark.RunAsync),
        ["cli-startup"] = ("alex --version start-up time, median and p99", Serving.ServingBenchmarks.StartupAsync),
    };

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: dotnet run -c Release --project bench/Alex.Bench -- NAME [args]\n\nbenchmarks:");
            foreach (var (name, b) in Benchmarks)
            {
                Console.WriteLine($"  {name,-20} {b.What}");
            }

            return args.Length == 0 ? 2 : 0;
        }

        if (!Benchmarks.TryGetValue(args[0], out var bench))
        {
            Console.Error.WriteLine($"no benchmark named '{args[0]}'; run without arguments to list them");
            return 2;
        }

        return await bench.Run(args[1..]).ConfigureAwait(false);
    }
}
