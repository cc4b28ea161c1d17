// Benchmarks (not timed tests). Each writes its section of docs/BENCHMARKS.md with the machine and date.
// Usage: dotnet run -c Release --project bench/Alex.Bench -- [name ...]   (no name: list them)
namespace Alex.Bench;

internal static class Program
{
    // name -> (what it measures, entry point). Each feature's benchmark adds one line.
    private static readonly Dictionary<string, (string What, Func<string[], Task<int>> Run)> Benchmarks = new(StringComparer.Ordinal)
    {
        ["roundtrip"] = ("command round trip through the robot server vs a bare SslStream echo [count]", Server.RoundTripBenchmark.RunAsync),
        ["handshakes"] = ("mutual-TLS handshakes/s: alex serve vs openssl s_server, by openssl s_time [seconds rounds]", Server.HandshakeBenchmark.RunAsync),
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
