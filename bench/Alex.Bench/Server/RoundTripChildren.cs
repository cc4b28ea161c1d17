// The two servers of bench `roundtrip`, each in its own process as `alex serve` runs in its own process in use: the robot
// server (RobotHost as `alex serve` builds it, backed by the simulator without line pacing) and the floor, a bare SslStream
// echo. Each listens on a free loopback port, prints "ready PORT" and exits when its standard input closes (the bench ended or died).
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Robot.Server;
using Alex.Robot.Simulation;

namespace Alex.Bench.Server;

internal static class RoundTripChildren
{
    /// <summary>`roundtrip-server DIR`: the robot server on 127.0.0.1 with the certificates in DIR (BenchPki's names).</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        var dir = Arguments(args);
        using var ticks = Environment.GetEnvironmentVariable("ALEX_BENCH_ALLOCS") == "1" ? new AllocTicks() : null;
        await using var robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), pacing: null, TimeProvider.System, CancellationToken.None);
        var options = new RobotHostOptions
        {
            CertificatePath = Path.Combine(dir, "alex.crt"),
            KeyPath = Path.Combine(dir, "alex.key"),
            Policy = new PolicySources(Path.Combine(dir, CertificateAuthority.CertificateFileName), Path.Combine(dir, CertificateAuthority.CrlFileName), ["laptop"], null, AllowAny: false, Legacy: false),
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Hub = new HubOptions { LeaseWindow = TimeSpan.FromSeconds(30) },
            AuditPath = Path.Combine(dir, "audit.jsonl"),
        };
        var host = RobotHost.Start(options, robot.Link, TimeProvider.System);
        await using (host.ConfigureAwait(false))
        {
            await ReadyUntilStdinClosesAsync(host.LocalEndPoint.Port);
        }

        return 0;
    }

    /// <summary>
    /// `roundtrip-echo DIR`: the floor. Each connection first sends two bytes (request size, reply size); then every
    /// request of that size is answered with a reply of that size, with the same TLS profile and certificates as the server.
    /// </summary>
    public static async Task<int> EchoAsync(string[] args)
    {
        var dir = Arguments(args);
        var ca = CertificateFile.Load(Path.Combine(dir, CertificateAuthority.CertificateFileName));
        using var serverCertificate = PrivateKeyFile.LoadCertificateWithKey(Path.Combine(dir, "alex.crt"), Path.Combine(dir, "alex.key"));
        var context = TlsProfiles.CreateServerContext(serverCertificate);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var socket = await listener.AcceptSocketAsync();
                socket.NoDelay = true;
                _ = Task.Run(() => EchoConnectionAsync(socket, context, ca));
            }
        });
        await ReadyUntilStdinClosesAsync(((IPEndPoint)listener.LocalEndpoint).Port);
        listener.Stop();
        return 0;
    }

    private static async Task EchoConnectionAsync(Socket socket, SslStreamCertificateContext context, System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        using (socket)
        {
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            try
            {
                await ssl.AuthenticateAsServerAsync(TlsProfiles.Server(context, ca, new ClientCertificateCheck(), offerAlexLink: false));
                var sizes = new byte[2];
                await ssl.ReadExactlyAsync(sizes);
                var request = new byte[sizes[0]];
                var reply = new byte[sizes[1]];
                while (true)
                {
                    await ssl.ReadExactlyAsync(request);
                    await ssl.WriteAsync(reply);
                }
            }
            catch (Exception e) when (e is EndOfStreamException or IOException or System.Security.Authentication.AuthenticationException)
            {
                // The bench closed its connection.
            }
        }
    }

    private static string Arguments(string[] args)
    {
        if (args.Length != 1 || !Directory.Exists(args[0]))
        {
            throw new ArgumentException("usage: roundtrip-server|roundtrip-echo DIR (run by the roundtrip benchmark)");
        }

        return args[0];
    }

    // "ready PORT" on stdout, then wait for the bench to close our stdin; then "done" with what this process allocated and
    // collected: bytes, and garbage collections of generations 0, 1 and 2.
    private static async Task ReadyUntilStdinClosesAsync(int port)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {port}"));
        await Console.Out.FlushAsync();
        await Console.In.ReadToEndAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {GC.GetTotalAllocatedBytes(precise: true)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)}"));
        await Console.Out.FlushAsync();
    }
}

/// <summary>
/// `ALEX_BENCH_ALLOCS=1`: the runtime's allocation samples (one per ~100 KB allocated) counted by type, printed to stderr
/// when the server ends: which types make up the server's garbage per command, without a profiler.
/// </summary>
internal sealed class AllocTicks : System.Diagnostics.Tracing.EventListener
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _samples = new();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) == true && e.Payload is { } p)
        {
            var name = e.PayloadNames!.IndexOf("TypeName") is var i and >= 0 ? p[i]?.ToString() ?? "?" : "?";
            _samples.AddOrUpdate(name, 1, (_, n) => n + 1);
        }
    }

    public override void Dispose()
    {
        foreach (var (name, n) in _samples.OrderByDescending(kv => kv.Value).Take(40))
        {
            Console.Error.WriteLine($"alloc {n,6} {name}");
        }

        base.Dispose();
    }
}
