// `serve-admission`: can the owner still get in while one address attacks? `alex serve --simulate` in its own process;
// the attacker in another (this bench's own executable, `serve-admission-attacker`) from 127.0.0.2: 40 slowloris
// sockets (half a TLS record header, reopened as soon as the server closes them) and 64 loops of certificate-less
// handshakes. The laptop, from 127.0.0.1 in the bench process, connects, completes mutual TLS and reads the Welcome,
// then closes. Each round measures the laptop with no attack and under the attack, back to back, the order swapped every
// round, so the machine's own load shows in both. Goal: ≥ 95 % of the laptop's connections get in under attack and
// their p95 connect + Welcome stays under 1 s.
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Alex.Bench.Server;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;

namespace Alex.Bench.Serving;

internal static class AdmissionBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    // The attack runs this long before the laptop tries: longer than the server's 5 s handshake deadline.
    private static readonly TimeSpan Soak = TimeSpan.FromSeconds(6);

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        var perPhase = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 40;
        using var pki = new ServingPki();
        var machine = BenchReport.Machine();
        var port = BenchStats.FreePort();
        await using var serve = AlexProcess.Start("serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--simulate", "--listen", $"127.0.0.1:{port}", "--quiet");
        await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
        serve.Drain();
        var laptop = PrivateKeyFile.LoadCertificateWithKey(Path.Combine(pki.Dir, "laptop.crt"), Path.Combine(pki.Dir, "laptop.key"));
        var ca = CertificateFile.Load(Path.Combine(pki.Dir, CertificateAuthority.CertificateFileName));
        var caPath = Path.Combine(pki.Dir, CertificateAuthority.CertificateFileName);

        // Warm up the server and this process's TLS stack.
        for (var i = 0; i < 10; i++)
        {
            await ConnectAndWelcomeAsync(port, laptop, ca).ConfigureAwait(false);
        }

        var quiet = new Phase();
        var attacked = new Phase();
        var attackerConnections = 0L;
        var attackSeconds = 0.0;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var underAttack in round % 2 == 0 ? new[] { false, true } : [true, false])
            {
                if (!underAttack)
                {
                    await MeasureAsync(quiet, perPhase, port, laptop, ca).ConfigureAwait(false);
                    continue;
                }

                await using var attacker = AlexProcess.StartProgram(
                    Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
                    [typeof(AdmissionBenchmark).Assembly.Location, "serve-admission-attacker", port.ToString(CultureInfo.InvariantCulture), caPath]);
                await attacker.WaitForLineAsync("attacking", StartTimeout).ConfigureAwait(false);
                var started = Stopwatch.GetTimestamp();
                await Task.Delay(Soak).ConfigureAwait(false); // past one handshake deadline: slots held, timed out, retaken
                await MeasureAsync(attacked, perPhase, port, laptop, ca).ConfigureAwait(false);
                attackSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
                attackerConnections += LastCount(attacker);
            }

            Console.WriteLine($"round {round + 1}/{rounds}: quiet {quiet.Summary()}; under attack {attacked.Summary()}");
        }

        var md = new StringBuilder();
        md.AppendLine("## serve-admission: the laptop's connections while one address attacks");
        md.AppendLine();
        md.AppendLine(machine);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`alex serve --simulate` in its own process; the attacker in another, from 127.0.0.2: 40 slowloris sockets (half a TLS record header, reopened as soon as the server closes them) and 64 loops of certificate-less handshakes. The laptop, from 127.0.0.1, connects, completes mutual TLS and reads the Welcome, then closes, one connection after another. {rounds} rounds of {perPhase} laptop connections with no attack and {perPhase} under attack, back to back, the order swapped every round; each attack runs {Soak.TotalSeconds:0} s (past the server's 5 s handshake deadline) before the laptop tries. All three processes share the machine's {Environment.ProcessorCount} cores, so the attack's own CPU (its handshakes) is in the figures.");
        md.AppendLine();
        md.AppendLine("| laptop | got in | connect + Welcome p50 | p95 | p99 | max |");
        md.AppendLine("|---|---|---|---|---|---|");
        md.AppendLine(quiet.Row("no attack"));
        md.AppendLine(attacked.Row("under attack"));
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Under attack / no attack: p50 {BenchReport.F(attacked.Quantile(0.5) / quiet.Quantile(0.5))}×, p95 {BenchReport.F(attacked.Quantile(0.95) / quiet.Quantile(0.95))}×. The attacker opened {attackerConnections.ToString("N0", CultureInfo.InvariantCulture)} connections in {BenchReport.F(attackSeconds, "0")} s of attack ({BenchReport.F(attackerConnections / Math.Max(1, attackSeconds), "0")}/s). Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}.");
        var path = BenchReport.WriteSection("serve-admission", md.ToString());
        Console.WriteLine(md.ToString());
        Console.WriteLine($"written to {path}");
        return 0;
    }

    private static long LastCount(AlexProcess attacker)
    {
        var last = 0L;
        while (attacker.Lines.TryRead(out var line))
        {
            if (line.Line.StartsWith("count ", StringComparison.Ordinal))
            {
                last = long.Parse(line.Line[6..], CultureInfo.InvariantCulture);
            }
        }

        return last;
    }

    /// <summary>`serve-admission-attacker PORT CA`: the attack, until killed; prints its connection count every second.</summary>
    public static async Task<int> AttackAsync(string[] args)
    {
        var server = new IPEndPoint(IPAddress.Loopback, int.Parse(args[0], CultureInfo.InvariantCulture));
        var ca = CertificateFile.Load(args[1]);
        var attempts = 0L;
        using var stop = new CancellationTokenSource();
        var tasks = Enumerable.Range(0, 40).Select(_ => Task.Run(() => HoldSlotsAsync(server, () => Interlocked.Increment(ref attempts), stop.Token)))
            .Concat(Enumerable.Range(0, 64).Select(_ => Task.Run(() => FloodAsync(server, ca, () => Interlocked.Increment(ref attempts), stop.Token))))
            .ToList();
        while (Interlocked.Read(ref attempts) < 200)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }

        Console.WriteLine("attacking");
        while (!stop.IsCancellationRequested)
        {
            Console.WriteLine($"count {Interlocked.Read(ref attempts)}");
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await Task.WhenAll(tasks);
        return 0;
    }

    private static async Task MeasureAsync(Phase phase, int count, int port, X509Certificate2 laptop, X509Certificate2 ca)
    {
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await ConnectAndWelcomeAsync(port, laptop, ca).ConfigureAwait(false);
                phase.Times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException or InvalidDataException)
            {
                phase.Failed++;
            }
        }
    }

    private static async Task ConnectAndWelcomeAsync(int port, X509Certificate2 laptop, X509Certificate2 ca)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, deadline.Token).ConfigureAwait(false);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await using (ssl.ConfigureAwait(false))
        {
            await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(laptop, ca, "alex.epp.com", alexLink: true), deadline.Token).ConfigureAwait(false);
            var buffer = new byte[4096];
            var held = 0;
            while (true)
            {
                var n = await ssl.ReadAsync(buffer.AsMemory(held), deadline.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("the server closed the connection before its Welcome");
                }

                held += n;
                var unread = new ReadOnlySequence<byte>(buffer, 0, held);
                if (AlexLinkReader.TryRead(ref unread, out var message, out _, AlexLinkFrame.MaxPayload) == OperationStatus.Done)
                {
                    if (message is not AlexLinkWelcome)
                    {
                        throw new InvalidDataException($"the server answered {message} instead of a Welcome");
                    }

                    break;
                }
            }

            await ssl.ShutdownAsync().ConfigureAwait(false);
        }
    }

    // Slowloris: half a TLS record header, then nothing; reopened as soon as the server closes it.
    private static async Task HoldSlotsAsync(IPEndPoint server, Action counted, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var tcp = new TcpClient(new IPEndPoint(Attacker, 0));
            try
            {
                await tcp.ConnectAsync(server, cancellationToken);
                counted();
                await tcp.GetStream().WriteAsync(new byte[] { 0x16, 0x03 }, cancellationToken);
                _ = await tcp.GetStream().ReadAsync(new byte[16], cancellationToken);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
            }
        }
    }

    // Handshakes that offer no certificate, one after another: each is refused by the server.
    private static async Task FloodAsync(IPEndPoint server, X509Certificate2 ca, Action counted, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            counted();
            using var tcp = new TcpClient(new IPEndPoint(Attacker, 0));
            try
            {
                await tcp.ConnectAsync(server, cancellationToken);
                await using var ssl = new SslStream(tcp.GetStream());
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(10));
                await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(null, ca, "alex.epp.com", alexLink: true), deadline.Token);
                _ = await ssl.ReadAsync(new byte[16], deadline.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
            }
        }
    }

    private sealed class Phase
    {
        public List<double> Times { get; } = [];

        public int Failed { get; set; }

        public double Quantile(double q) => Times.Count == 0 ? double.NaN : BenchStats.Quantile(Times, q);

        public string Summary() => $"{Times.Count}/{Times.Count + Failed} in, p50 {BenchStats.Ms(Quantile(0.5))} ms, p95 {BenchStats.Ms(Quantile(0.95))} ms";

        public string Row(string name) =>
            $"| {name} | {Times.Count} of {Times.Count + Failed} ({BenchReport.F(100.0 * Times.Count / Math.Max(1, Times.Count + Failed), "0.0")} %) | {BenchStats.Ms(Quantile(0.5))} ms | {BenchStats.Ms(Quantile(0.95))} ms | {BenchStats.Ms(Quantile(0.99))} ms | {BenchStats.Ms(Times.Count == 0 ? double.NaN : Times.Max())} ms |";
    }
}
