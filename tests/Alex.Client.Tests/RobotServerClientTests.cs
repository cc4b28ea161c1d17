using System.Net;
using System.Security.Authentication;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

/// <summary>Our client against the real robot server, over real TLS on loopback, certificates minted per run.</summary>
public sealed class RobotServerClientTests : IClassFixture<TestPkiFixture>, IAsyncLifetime
{
    private readonly TestPki _pki;
    private readonly SimulatedRobotLink _link = new(TimeProvider.System);
    private RobotHost _host = null!;

    public RobotServerClientTests(TestPkiFixture fixture)
    {
        _pki = fixture.Pki;
    }

    private int Port => _host.LocalEndPoint.Port;

    public Task InitializeAsync()
    {
        _host = RobotHost.Start(
            new RobotHostOptions
            {
                CertificatePath = _pki.RobotCertificate,
                KeyPath = _pki.RobotKey,
                Policy = new PolicySources(_pki.CaPath, null, TestPki.AllowEntries, null, AllowAny: false, Legacy: false),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                Hub = new HubOptions { LeaseWindow = TimeSpan.FromSeconds(3), MaxSpeedPercent = 80, MaxDistanceCm = 300 },
            },
            _link,
            TimeProvider.System);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync().AsTask().Within();

    [Fact]
    public async Task Connect_AlexLink_WelcomeNamesUsAndOurRole()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        Assert.Equal(AlexProtocol.AlexLink1, client.Protocol);
        Assert.NotNull(client.Welcome);
        Assert.Equal("laptop.epp.com", client.Welcome.ClientName);
        Assert.Equal(AlexLinkRole.Driver, client.Welcome.Role);
        Assert.Equal(3000u, client.Welcome.LeaseWindowMs);
        Assert.Equal(TestPki.RobotName, client.ServerTrust.PeerName);
        Assert.Contains(client.TlsVersion, new[] { SslProtocols.Tls12, SslProtocols.Tls13 });
    }

    [Fact]
    public async Task Send_EveryCommand_AlexLink_AcknowledgedAndStatusRead()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        await DriveEveryCommandAsync(client);
    }

    [Fact]
    public async Task Send_EveryCommand_Classic_AcknowledgedAndStatusRead()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port, AlexProtocol.Classic), CancellationToken.None).Within();
        Assert.Equal(AlexProtocol.Classic, client.Protocol);
        Assert.Null(client.Welcome);
        await DriveEveryCommandAsync(client);
    }

    [Fact]
    public async Task Watcher_CommandRefused_StopAccepted()
    {
        await using var driver = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        await using var watcher = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Watcher, Port), CancellationToken.None).Within();
        Assert.Equal(AlexLinkRole.Watcher, watcher.Welcome!.Role);
        Assert.True((await driver.SendAsync(new DriveCommand(CommandCode.Forward, 100, 50), CancellationToken.None).Within()).Acknowledged);

        var refused = await watcher.SendAsync(new DriveCommand(CommandCode.Forward, 10, 10), CancellationToken.None).Within();
        Assert.False(refused.Acknowledged);
        Assert.Equal(AlexLinkErrorCode.Forbidden, refused.Error);

        var stop = await watcher.StopAsync(CancellationToken.None).Within();
        Assert.True(stop.Acknowledged, stop.Text);
        Assert.Equal(CommandCode.Stop, _link.Received[^1].Command);
    }

    [Fact]
    public async Task SecondDriver_Refused_TextNamesTheHolder()
    {
        await using var first = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop2, Port), CancellationToken.None).Within();
        await using var second = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        Assert.True((await first.TakeLeaseAsync(CancellationToken.None).Within()).Acknowledged);
        var refused = await second.SendAsync(new DriveCommand(CommandCode.Forward, 10, 10), CancellationToken.None).Within();
        Assert.False(refused.Acknowledged);
        Assert.Equal(AlexLinkErrorCode.NotDriver, refused.Error);
        Assert.StartsWith("not the driver: laptop-2 holds the lease since ", refused.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_OverLimit_RefusedWithTheLimit()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        var reply = await client.SendAsync(new DriveCommand(CommandCode.Forward, 50, 95), CancellationToken.None).Within();
        Assert.False(reply.Acknowledged);
        Assert.Equal(AlexLinkErrorCode.LimitExceeded, reply.Error);
        Assert.Contains("80", reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscribe_Status_TelemetryArrives()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        Assert.True((await client.SubscribeAsync(AlexLinkTopics.All, TimeSpan.FromMilliseconds(100), CancellationToken.None).Within()).Acknowledged);
        var status = await ReadUntilAsync<AlexLinkStatus>(client);
        Assert.Equal(0u, status.RequestId);
        _link.Say("Hello from Alex");
        var text = await ReadUntilAsync<AlexLinkArduinoText>(client);
        Assert.Equal("Hello from Alex", text.Text);
    }

    [Fact]
    public async Task Ping_HeartbeatEchoed()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        var rtt = await client.PingAsync(CancellationToken.None).Within();
        Assert.True(rtt > TimeSpan.Zero && rtt < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Heartbeats_SentWhileIdle_AndEchoed()
    {
        var options = _pki.Options(_pki.Laptop, Port) with { HeartbeatInterval = TimeSpan.FromMilliseconds(100) };
        await using var client = await AlexLinkClient.ConnectAsync(options, CancellationToken.None).Within();
        Assert.Null(client.LastHeartbeatRoundTrip);

        // We send nothing: only the heartbeat loop speaks, and the server's echo is measured.
        await Bounded.Until(() => client.LastHeartbeatRoundTrip is not null, what: "a heartbeat echo");
        Assert.True(client.LastHeartbeatRoundTrip < TimeSpan.FromSeconds(5));
        Assert.False(client.Closed.IsCompleted);
    }

    [Fact]
    public async Task Connect_NotOnAllowList_RefusalInWords()
    {
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(_pki.Options(_pki.Unlisted, Port), CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Refused, e.Failure);
        Assert.Equal(AlexLinkRefusalCode.NotAllowed, e.RefusalCode);
        Assert.Contains("laptop-3", e.Message, StringComparison.Ordinal);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task Connect_CertificateFromAnotherCa_ReportedAsRejected()
    {
        // The stranger's directory trusts its own CA, so give it ours to trust the server: only its certificate is foreign.
        var options = _pki.Options(_pki.Stranger, Port) with
        {
            Credentials = AlexCredentials.FromFiles(Path.Combine(_pki.Stranger, "laptop.crt"), Path.Combine(_pki.Stranger, "laptop.key"), _pki.CaPath),
        };
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(options, CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.ClientCertificateRejected, e.Failure);
    }

    [Fact]
    public async Task Connect_WrongServerName_WeRefuseTheServer()
    {
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port, serverName: "robot-7.epp.com"), CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.ServerNotTrusted, e.Failure);
        Assert.Contains("robot-7.epp.com", e.Message, StringComparison.Ordinal);
        Assert.Contains("--name", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_ByAddress_MatchesTheCertificatesIpSan()
    {
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port, serverName: null), CancellationToken.None).Within();
        Assert.Equal("127.0.0.1", client.ServerTrust.PeerName);
    }

    [Fact]
    public async Task Connect_TrustingAnotherCa_WeRefuseTheServer()
    {
        var options = _pki.Options(_pki.Laptop, Port) with
        {
            Credentials = AlexCredentials.FromFiles(Path.Combine(_pki.Laptop, "laptop.crt"), Path.Combine(_pki.Laptop, "laptop.key"), _pki.OtherCaPath),
        };
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(options, CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.ServerNotTrusted, e.Failure);
        Assert.Contains("unknown CA", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closed_ServerStops_ReportsConnectionLost()
    {
        var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, Port), CancellationToken.None).Within();
        await using (client)
        {
            await _host.DisposeAsync().AsTask().Within();
            var why = await client.Closed.Within();
            Assert.Equal(ConnectFailure.ConnectionLost, why.Failure);
            await Assert.ThrowsAsync<AlexConnectException>(() => client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within());
        }

        await InitializeAsync(); // DisposeAsync of the test disposes a host again
    }

    private async Task DriveEveryCommandAsync(AlexLinkClient client)
    {
        var ct = CancellationToken.None;
        foreach (var command in new[]
        {
            DriveCommand.ClearStats,
            new DriveCommand(CommandCode.Forward, 50, 75),
            new DriveCommand(CommandCode.Reverse, 30, 60),
            new DriveCommand(CommandCode.TurnLeft, 90, 80),
            new DriveCommand(CommandCode.TurnRight, 45, 70),
            DriveCommand.Stop,
        })
        {
            var reply = await client.SendAsync(command, ct).Within();
            Assert.True(reply.Acknowledged, $"{command}: {reply.Text}");
            Assert.Null(reply.Status);
        }

        var stats = await client.SendAsync(DriveCommand.GetStats, ct).Within();
        Assert.True(stats.Acknowledged, stats.Text);
        Assert.NotNull(stats.Status);
        Assert.Equal(_link.Alex.Counters, stats.Status);
        Assert.Contains(_link.Received, c => c.Command == CommandCode.TurnRight && c.Param0 == 45 && c.Param1 == 70);
    }

    private static async Task<T> ReadUntilAsync<T>(AlexLinkClient client)
        where T : AlexLinkMessage
    {
        using var bound = new CancellationTokenSource(Bounded.Step);
        await foreach (var m in client.Telemetry.ReadAllAsync(bound.Token))
        {
            if (m is T wanted)
            {
                return wanted;
            }
        }

        throw new InvalidOperationException($"telemetry ended before a {typeof(T).Name}");
    }
}

public sealed class TestPkiFixture : IDisposable
{
    public TestPki Pki { get; } = new();

    public void Dispose() => Pki.Dispose();
}
