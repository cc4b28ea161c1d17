using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;
using Xunit.Abstractions;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// Under attack and fault the robot is still stopped and the owner still gets in: admission per source address,
/// refusals that cannot write the audit log full, a full audit disk that stops nothing, seats kept for drivers.
/// The attacker is 127.0.0.2 and the laptop 127.0.0.1 (all of 127.0.0.0/8 is loopback).
/// </summary>
public sealed class ServerAdmissionTests : IClassFixture<TestPki>
{
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    private readonly TestPki _pki;
    private readonly ITestOutputHelper _output;
    private System.Security.Cryptography.X509Certificates.X509Certificate2? _ca;

    public ServerAdmissionTests(TestPki pki, ITestOutputHelper output)
    {
        _pki = pki;
        _output = output;
    }

    [Fact]
    public async Task RefusalFlood_FromOneAddress_AuditedAsAFewRecordsWithTheCount()
    {
        var server = await TestServer.StartAsync(_pki);
        const int Attempts = 300;
        for (var i = 0; i < Attempts; i++)
        {
            await CertificatelessAsync(server.EndPoint, CancellationToken.None);
        }

        await Bounded.Until(() => server.Host.Server.Unauthenticated == 0, what: "the refused handshakes to end");
        await using (var laptop = await server.ConnectAlexLinkAsync("laptop"))
        {
            Assert.IsType<AlexLinkWelcome>(await laptop.ReadAsync());
        }

        await server.DisposeAsync();
        var fromAttacker = File.ReadAllLines(server.AuditPath)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => (r.TryGetProperty("peer", out var p) && p.GetString()!.StartsWith("127.0.0.2:", StringComparison.Ordinal))
                || (r.TryGetProperty("source", out var s) && s.GetString() == "127.0.0.2"))
            .ToList();
        _output.WriteLine(string.Join("\n", fromAttacker.Select(r => r.GetRawText())));
        // One refusal in full per 10 s window, one summary per window: the test takes well under a minute.
        Assert.InRange(fromAttacker.Count, 2, 12);
        var inFull = fromAttacker.Count(r => r.GetProperty("event").GetString() == "connection-refused");
        var counted = fromAttacker.Where(r => r.GetProperty("event").GetString() == "connection-refused-summary").Sum(r => r.GetProperty("count").GetInt64());
        Assert.Equal(Attempts, inFull + counted);
    }

    [Fact]
    public async Task AuditDiskFull_ServerKeepsAccepting_DeadManStops_LossRecordedOnceSpaceIsBack()
    {
        using var disk = new Tmpfs("256k");
        var lease = TimeSpan.FromMilliseconds(600);
        await using var server = await TestServer.StartAsync(_pki, lease: lease, auditPath: disk.Path("audit.jsonl"));
        var filler = disk.Path("filler");
        Tmpfs.Fill(filler);
        for (var i = 0; i < 100; i++)
        {
            await CertificatelessAsync(server.EndPoint, CancellationToken.None);
            server.Host.Audit.Write("filler", ("pad", new string('x', 4000)));
        }

        await Bounded.Until(() => server.Host.Audit.Trouble is not null, what: "the audit log to notice the full disk");

        // Sessions, commands and the dead-man go on.
        await SessionsAndDeadManGoOnAsync(server, lease);
        Assert.True(server.Host.Audit.LostTotal > 0);

        File.Delete(filler);
        await Bounded.Until(
            () =>
            {
                server.Host.Audit.Write("tick");
                return server.Records.Any(r => r.Event == "audit-lost");
            },
            what: "the audit log to write again");
        AssertWholeJsonLines(server.AuditPath);

        await using var again = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await again.ReadAsync());
    }

    [Ext4ImageFact]
    public async Task AuditDiskRemountedReadOnly_ServerKeepsAccepting_DeadManStops_LossSaid_LinesWhole()
    {
        using var disk = new Ext4Image();
        var lease = TimeSpan.FromMilliseconds(600);
        await using var server = await TestServer.StartAsync(_pki, lease: lease, auditPath: disk.Path("audit.jsonl"));
        await using (var first = await server.ConnectAlexLinkAsync("laptop"))
        {
            Assert.IsType<AlexLinkWelcome>(await first.ReadAsync());
        }

        await Bounded.Until(() => File.ReadAllText(server.AuditPath).Contains("\"laptop\"", StringComparison.Ordinal), what: "the first session's records");

        // The kernel flips the disk read-only under the open audit file, as on a real disk error.
        disk.FailToReadOnly();
        Assert.True(disk.IsReadOnly, "the file system did not go read-only");
        await Bounded.Until(
            () =>
            {
                server.Host.Audit.Write("tick");
                return server.Host.Audit.Trouble is not null;
            },
            what: "the audit log to notice the read-only disk");

        await SessionsAndDeadManGoOnAsync(server, lease);
        Assert.True(server.Host.Audit.LostTotal > 0);
        Assert.Contains("Read-only", server.Host.Audit.Trouble, StringComparison.OrdinalIgnoreCase);

        AssertWholeJsonLines(server.AuditPath);

        await using var again = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await again.ReadAsync());
    }

    [Fact]
    public async Task SlowlorisAndHandshakeFlood_FromOneAddress_LaptopStillGetsIn()
    {
        await using var server = await TestServer.StartAsync(_pki);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var attackStarted = Stopwatch.StartNew();
        var attempts = 0L;
        var slowloris = Enumerable.Range(0, 40).Select(_ => Task.Run(() => HoldSlotsAsync(server.EndPoint, () => Interlocked.Increment(ref attempts), stop.Token))).ToList();
        var flood = Enumerable.Range(0, 64).Select(_ => Task.Run(() => FloodAsync(server.EndPoint, () => Interlocked.Increment(ref attempts), stop.Token))).ToList();
        try
        {
            // The attack is under way before the laptop tries.
            await Bounded.Until(() => Interlocked.Read(ref attempts) > 200, TimeSpan.FromSeconds(60), "the attack to start");
            const int Tries = 40;
            var ok = 0;
            var times = new List<double>();
            for (var i = 0; i < Tries; i++)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    await using var laptop = await server.ConnectAlexLinkAsync("laptop");
                    Assert.IsType<AlexLinkWelcome>(await laptop.ReadAsync(TimeSpan.FromSeconds(10)));
                    times.Add(watch.Elapsed.TotalMilliseconds);
                    ok++;
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or SocketException or TimeoutException or EndOfStreamException)
                {
                    _output.WriteLine($"laptop connection {i}: {e.GetType().Name}: {e.Message}");
                }
            }

            times.Sort();
            var p95 = times.Count == 0 ? double.NaN : times[Math.Min(times.Count - 1, (int)Math.Ceiling(times.Count * 0.95) - 1)];
            // What the anonymous attacker made the audit log write, per second of attack.
            var attackerBytes = server.Records.Where(r => r.Json.Contains("127.0.0.2", StringComparison.Ordinal)).Sum(r => r.Json.Length + 1);
            _output.WriteLine($"laptop: {ok}/{Tries} connected; connect+welcome p50 {(times.Count == 0 ? double.NaN : times[times.Count / 2]):0} ms, p95 {p95:0} ms; " +
                $"attacker connections {Interlocked.Read(ref attempts)} in {attackStarted.Elapsed.TotalSeconds:0} s; audit bytes from the attacker {attackerBytes} ({attackerBytes / attackStarted.Elapsed.TotalSeconds:0} B/s)");
            Assert.True(ok >= Tries * 95 / 100, $"only {ok} of {Tries} laptop connections got in");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(slowloris.Concat(flood)).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task WatchersFillTheServer_DriverStillConnects()
    {
        await using var server = await TestServer.StartAsync(_pki, maxSessions: 4);
        var watchers = new List<AlexLinkTestClient>();
        try
        {
            AlexLinkMessage? first = null;
            for (var i = 0; i < 10; i++)
            {
                var watcher = await server.ConnectAlexLinkAsync("tutor");
                watchers.Add(watcher);
                first = await watcher.ReadAsync();
                if (first is not AlexLinkWelcome)
                {
                    break;
                }
            }

            var refusal = Assert.IsType<AlexLinkRefusal>(first);
            Assert.Equal(AlexLinkRefusalCode.Busy, refusal.Code);
            Assert.Contains("kept for drivers", refusal.Text, StringComparison.Ordinal);
            Assert.Equal(2, server.Host.Server.SessionCount);

            await using var driver = await server.ConnectAlexLinkAsync("laptop");
            Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 10, 50)));
        }
        finally
        {
            foreach (var w in watchers)
            {
                await w.DisposeAsync();
            }
        }
    }

    // With the audit log in trouble: a watcher and a driver get in, the driver's move starts, and when the driver
    // vanishes the dead-man stops the robot and tells the watcher.
    private static async Task SessionsAndDeadManGoOnAsync(TestServer server, TimeSpan lease)
    {
            await using var watcher = await server.ConnectAlexLinkAsync("tutor");
            Assert.IsType<AlexLinkWelcome>(await watcher.ReadAsync());
            var driver = await server.ConnectAlexLinkAsync("laptop");
            Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));
            await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Forward, what: "the robot to move");
            driver.Kill();
            await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, lease * 4, "the dead-man to stop the robot");
            Assert.IsType<AlexLinkSafetyStop>(await watcher.ReadUntilAsync(m => m is AlexLinkSafetyStop));
    }

    private static void AssertWholeJsonLines(string path)
    {
            var text = File.ReadAllText(path);
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var _ = JsonDocument.Parse(line);
            }
    }

    // Slowloris: a connection that sends half a TLS record header and then nothing; reopened as soon as the server closes it.
    private static async Task HoldSlotsAsync(IPEndPoint server, Action counted, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 100_000 && !cancellationToken.IsCancellationRequested; i++)
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

    private async Task FloodAsync(IPEndPoint server, Action counted, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 100_000 && !cancellationToken.IsCancellationRequested; i++)
        {
            counted();
            await CertificatelessAsync(server, cancellationToken);
        }
    }

    // One connection from the attacker's address that offers no certificate: refused by the server.
    private async Task CertificatelessAsync(IPEndPoint server, CancellationToken cancellationToken)
    {
        _ca ??= _pki.LoadCa();
        using var tcp = new TcpClient(new IPEndPoint(Attacker, 0));
        try
        {
            await tcp.ConnectAsync(server, cancellationToken);
            await using var ssl = new SslStream(tcp.GetStream());
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(10));
            await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(null, _ca, TestPki.ServerName, alexLink: true), deadline.Token);
            _ = await ssl.ReadAsync(new byte[16], deadline.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            // Refused or cut: what the attacker gets.
        }
    }
}
