// `roundtrip`: command round trip on one connection through the whole robot server (TLS, session,
// hub, lease, ArduinoLink, in-memory serial line, simulated firmware without line pacing), p50/p99,
// against the floor: a bare SslStream echo with the same TLS profile and the same message sizes,
// measured in the same run (issue 4 "Benchmark"; goal: within 1.3x of the echo).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Alex.Robot.Simulation;

namespace Alex.Bench.Server;

internal static class RoundTripBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
        var warmup = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : Math.Max(20000, count);
        using var pki = new BenchPki();
        await using var robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), pacing: null, TimeProvider.System, CancellationToken.None);
        var host = RobotHost.Start(pki.HostOptions() with { AuditPath = pki.Path("audit.jsonl") }, robot.Link, TimeProvider.System);
        await using (host.ConfigureAwait(false))
        {
            var ca = CertificateFile.Load(pki.Ca.CertificatePath);
            var client = PrivateKeyFile.LoadCertificateWithKey(pki.Path("laptop.crt"), pki.Path("laptop.key"));

            // The cases: request bytes → reply bytes, as on the wire inside TLS.
            var stop = AlexLinkWriter.Encode(new AlexLinkStop { RequestId = 1 });
            var stats = AlexLinkWriter.Encode(new AlexLinkCommand(CommandCode.GetStats, 0, 0) { RequestId = 1 });
            var classicStop = new ClassicCommand((byte)'s', 0, 0).Encode();
            var okSize = AlexLinkFrame.HeaderSize;
            var statusSize = AlexLinkFrame.HeaderSize + AlexLinkStatus.Size;

            Console.WriteLine($"roundtrip: {count} round trips per case after {warmup} warm-up, in {Rounds} alternating rounds with the floor, server backed by the unpaced simulator");
            // Both server connections stay open for the whole run; every case (ours and its floor) is warmed up first, then
            // all are measured in the same rounds, so no case is measured on colder code or a different machine state.
            await using var linkSsl = await ConnectAsync(host.LocalEndPoint, client, ca, alexLink: true);
            // No pushes on the measured connection (the classic connection's STOPs would otherwise come as SafetyStop):
            // subscribe to nothing, and read up to the server's Ok for that.
            await linkSsl.WriteAsync(AlexLinkWriter.Encode(new AlexLinkSubscribe(AlexLinkTopics.None, 0) { RequestId = 99 }));
            if (!await ReadUntilOkAsync(linkSsl, 99))
            {
                Console.Error.WriteLine("roundtrip: the server did not welcome the benchmark client");
                return 1;
            }

            await using var classicSsl = await ConnectAsync(host.LocalEndPoint, client, ca, alexLink: false);
            await using var linkStopCase = await Case.StartAsync(pki, client, ca, linkSsl, stop, okSize, (byte)AlexLinkMessageType.Ok);
            await using var linkStatsCase = await Case.StartAsync(pki, client, ca, linkSsl, stats, statusSize, (byte)AlexLinkMessageType.Status);
            await using var classicCase = await Case.StartAsync(pki, client, ca, classicSsl, classicStop, ClassicResponse.Size, (byte)ClassicMessageType.Response);
            Case[] cases = [linkStopCase, linkStatsCase, classicCase];
            foreach (var c in cases)
            {
                await c.WarmUpAsync(warmup);
            }

            var perRound = count / Rounds;
            for (var round = 0; round < Rounds; round++)
            {
                foreach (var c in cases)
                {
                    await c.RoundAsync(perRound, oursFirst: round % 2 == 0);
                }
            }

            await linkSsl.ShutdownAsync();
            await classicSsl.ShutdownAsync();
            var linkStop = linkStopCase.Result;
            var linkStats = linkStatsCase.Result;
            var classic = classicCase.Result;

            // The Arduino side alone, no network: what ArduinoLink + the in-memory line + the simulator cost.
            var linkOnly = new Samples(count);
            for (var i = 0; i < warmup + count; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var r = await robot.Link.ExecuteAsync(Alex.Protocol.DriveCommand.Stop, CancellationToken.None);
                if (!r.IsOk)
                {
                    throw new InvalidOperationException("the simulator did not acknowledge STOP: " + r);
                }

                if (i >= warmup)
                {
                    linkOnly.Add(Stopwatch.GetElapsedTime(started));
                }
            }

            var md = new StringBuilder();
            md.AppendLine("## roundtrip: command round trip on one connection");
            md.AppendLine();
            md.AppendLine(BenchReport.Machine());
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{count} round trips per case (after {warmup} warm-up each), one connection, TLS 1.3 on 127.0.0.1, the same certificates (ECDSA P-256) for all. ");
            md.AppendLine("Server path: TLS, session read loop, hub (lease, limits), ArduinoLink (one request in flight), 140-byte serial frames over an in-memory line, simulated firmware without line pacing, and the reply back; audit log on (one record per command, formatted, written and flushed in order by the log's background writer in 2 ms batches). ");
            md.AppendLine(CultureInfo.InvariantCulture, $"Floor: a bare SslStream echo that reads the request's size and writes the reply's size, on its own connection, measured in the same run in {Rounds} rounds alternating with ours (so both see the same machine load).");
            md.AppendLine();
            md.AppendLine("| case | p50 | p99 | p50 vs floor | p99 vs floor |");
            md.AppendLine("|---|---|---|---|---|");
            md.AppendLine(linkStop.Floor.Row($"floor: echo {stop.Length} → {okSize} bytes"));
            md.AppendLine(linkStop.Ours.Row($"AlexLink/1 STOP ({stop.Length} → {okSize} bytes)", linkStop.Floor));
            md.AppendLine(linkStats.Floor.Row($"floor: echo {stats.Length} → {statusSize} bytes"));
            md.AppendLine(linkStats.Ours.Row($"AlexLink/1 GET_STATS ({stats.Length} → {statusSize} bytes)", linkStats.Floor));
            md.AppendLine(classic.Floor.Row($"floor: echo {classicStop.Length} → {ClassicResponse.Size} bytes"));
            md.AppendLine(classic.Ours.Row($"classic `s` ({classicStop.Length} → {ClassicResponse.Size} bytes)", classic.Floor));
            md.AppendLine(linkOnly.Row("for scale: STOP through ArduinoLink + simulator alone, no network", linkStop.Floor));
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"All three cases and their floors were warmed up first ({warmup} round trips each), then measured in the same {Rounds} rounds. p50 ratio round by round (each round {count / Rounds} of ours and {count / Rounds} of the floor, the order swapped every round): STOP {linkStop.RoundRatios()}; GET_STATS {linkStats.RoundRatios()}; classic {classic.RoundRatios()}.");
            md.AppendLine();
            string Verdict(string what, Pair pair) =>
                string.Create(CultureInfo.InvariantCulture, $"{what} {BenchReport.F(pair.Ours.Percentile(50) / pair.Floor.Percentile(50))}× ({(pair.Ours.Percentile(50) <= 1.3 * pair.Floor.Percentile(50) ? "met" : "missed")})");
            md.AppendLine(CultureInfo.InvariantCulture, $"Goal: p50 within 1.3× of the floor. This run: {Verdict("STOP", linkStop)}, {Verdict("GET_STATS", linkStats)}, {Verdict("classic", classic)}.");
            md.AppendLine();
            md.AppendLine("How the path got here (before: 2-5× the floor): the in-memory serial line, the simulator's replies, the ArduinoLink's queue and the reply to the waiting command continue on the thread that produced them instead of a thread-pool hop each; a serial write gets a timer only if it does not complete at once; the client hears the result before it is audited, and the audit writer formats and flushes in 2 ms batches. Warm-up matters: with a few hundred warm-up round trips the first cases ran on tier-0 JIT code and measured 1.6-2.4×, and even with 20000 the case measured last came out best; the bench now warms every case before measuring any. ");
            md.AppendLine("Read the ratios with the floor's two modes in mind: on this 2-CPU machine a bare echo connection settles either near 48 µs per round trip (its two ends served on different CPUs) or near 23-28 µs (as when everything is pinned to one CPU), and keeps that mode for the connection's life, while ours stays near 52-58 µs either way. Against a slow-mode floor ours is 1.1-1.2×, against a fast-mode floor 2.0-2.4×. Pinned to one CPU (`taskset -c 0`, everything serialised, so the ratio is the CPU work added) this build measured STOP 2.04×, GET_STATS 2.33×, classic 1.91× (53-66 µs against 28 µs): the server adds some 25-35 µs of work per command (frame encode and decode both ways, the simulated firmware, lease and hub, the audit record, more async steps). So the 1.3× goal is met only against the slower mode of the floor; against the echo at its fastest it is not met.");
            var path = BenchReport.WriteSection("roundtrip", md.ToString());
            Console.WriteLine(md.ToString());
            Console.WriteLine($"written to {path}");
        }

        return 0;
    }

    private static async Task<SslStream> ConnectAsync(IPEndPoint endpoint, System.Security.Cryptography.X509Certificates.X509Certificate2 client, System.Security.Cryptography.X509Certificates.X509Certificate2 ca, bool alexLink)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(endpoint.Address, endpoint.Port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(client, ca, "alex.epp.com", alexLink));
        return ssl;
    }

    private const int Rounds = 10;

    /// <summary>Ours and the floor for one case, measured in alternating rounds so both see the same machine.</summary>
    private sealed record Pair(Samples Ours, Samples Floor, List<double> Ratios)
    {
        public string RoundRatios()
        {
            var sorted = Ratios.Order().ToList();
            return string.Create(CultureInfo.InvariantCulture, $"median {BenchReport.F(sorted[sorted.Count / 2])}×, range {BenchReport.F(sorted[0])}–{BenchReport.F(sorted[^1])}×");
        }
    }

    /// <summary>One case: our server's connection and a bare echo of the same sizes on its own connection (the floor).</summary>
    private sealed class Case : IAsyncDisposable
    {
        private readonly SslStream _ours;
        private readonly byte[] _request;
        private readonly byte[] _echoRequest;
        private readonly int _replySize;
        private readonly byte _replyType;
        private readonly EchoServer _echo;
        private readonly SslStream _floor;
        private readonly Samples _oursSamples = new(0);
        private readonly Samples _floorSamples = new(0);
        private readonly List<double> _ratios = [];

        private Case(SslStream ours, byte[] request, int replySize, byte replyType, EchoServer echo, SslStream floor)
        {
            _ours = ours;
            _request = request;
            _echoRequest = new byte[request.Length];
            _replySize = replySize;
            _replyType = replyType;
            _echo = echo;
            _floor = floor;
        }

        public Pair Result => new(_oursSamples, _floorSamples, _ratios);

        public static async Task<Case> StartAsync(BenchPki pki, System.Security.Cryptography.X509Certificates.X509Certificate2 client, System.Security.Cryptography.X509Certificates.X509Certificate2 ca, SslStream ours, byte[] request, int replySize, byte replyType)
        {
            var echo = await EchoServer.StartAsync(pki, ca, request.Length, replySize);
            var floor = await ConnectAsync(echo.EndPoint, client, ca, alexLink: false);
            return new Case(ours, request, replySize, replyType, echo, floor);
        }

        public async Task WarmUpAsync(int iterations)
        {
            await MeasureAsync(_ours, _request, _replySize, _replyType, iterations, null);
            await MeasureAsync(_floor, _echoRequest, _replySize, null, iterations, null);
        }

        public async Task RoundAsync(int iterations, bool oursFirst)
        {
            var o = new Samples(iterations);
            var f = new Samples(iterations);
            if (oursFirst)
            {
                await MeasureAsync(_ours, _request, _replySize, _replyType, iterations, o);
                await MeasureAsync(_floor, _echoRequest, _replySize, null, iterations, f);
            }
            else
            {
                await MeasureAsync(_floor, _echoRequest, _replySize, null, iterations, f);
                await MeasureAsync(_ours, _request, _replySize, _replyType, iterations, o);
            }

            _ratios.Add(o.Percentile(50) / f.Percentile(50));
            _oursSamples.AddAll(o);
            _floorSamples.AddAll(f);
        }

        public async ValueTask DisposeAsync()
        {
            await _floor.ShutdownAsync();
            await _floor.DisposeAsync();
            await _echo.DisposeAsync();
        }
    }

    // Reads frames (Welcome, pushed state) until the Ok answering `id`; false if the connection ends first.
    private static async Task<bool> ReadUntilOkAsync(SslStream ssl, uint id)
    {
        var buffer = new byte[16 * 1024];
        var held = 0;
        while (true)
        {
            var n = await ssl.ReadAsync(buffer.AsMemory(held));
            if (n == 0)
            {
                return false;
            }

            held += n;
            var unread = new System.Buffers.ReadOnlySequence<byte>(buffer, 0, held);
            while (AlexLinkReader.TryRead(ref unread, out var message, out _) == System.Buffers.OperationStatus.Done)
            {
                if (message is AlexLinkOk && message.RequestId == id)
                {
                    return unread.IsEmpty;
                }
            }

            var consumed = held - (int)unread.Length;
            buffer.AsSpan(consumed, held - consumed).CopyTo(buffer);
            held -= consumed;
        }
    }

    private static async Task MeasureAsync(SslStream ssl, byte[] request, int replySize, byte? replyType, int iterations, Samples? samples)
    {
        var reply = new byte[replySize];
        var typeOffset = replyType == (byte)ClassicMessageType.Response && replySize == ClassicResponse.Size ? 0 : AlexLinkFrame.TypeOffset;
        for (var i = 0; i < iterations; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await ssl.WriteAsync(request);
            await ssl.ReadExactlyAsync(reply);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (replyType is { } type && reply[typeOffset] != type)
            {
                throw new InvalidOperationException($"unexpected reply type 0x{reply[typeOffset]:X2}");
            }

            samples?.Add(elapsed);
        }
    }

    /// <summary>The floor: a bare SslStream echo (same certificates, same TLS profile) that reads the request's size and writes the reply's size.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _serving;

        private EchoServer(TcpListener listener, Task serving)
        {
            _listener = listener;
            _serving = serving;
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public static Task<EchoServer> StartAsync(BenchPki pki, System.Security.Cryptography.X509Certificates.X509Certificate2 ca, int requestSize, int replySize)
        {
            var serverCertificate = PrivateKeyFile.LoadCertificateWithKey(pki.Path("alex.crt"), pki.Path("alex.key"));
            var context = TlsProfiles.CreateServerContext(serverCertificate);
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var serving = Task.Run(async () =>
            {
                using (serverCertificate)
                {
                    using var socket = await listener.AcceptSocketAsync();
                    socket.NoDelay = true;
                    await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
                    await ssl.AuthenticateAsServerAsync(TlsProfiles.Server(context, ca, new ClientCertificateCheck(), offerAlexLink: false));
                    var request = new byte[requestSize];
                    var reply = new byte[replySize];
                    while (true)
                    {
                        try
                        {
                            await ssl.ReadExactlyAsync(request);
                        }
                        catch (EndOfStreamException)
                        {
                            break;
                        }

                        await ssl.WriteAsync(reply);
                    }

                    await ssl.ShutdownAsync();
                }
            });
            return Task.FromResult(new EchoServer(listener, serving));
        }

        public async ValueTask DisposeAsync()
        {
            await _serving;
            _listener.Stop();
        }
    }
}
