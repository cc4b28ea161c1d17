using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

public sealed class ReconnectingClientTests : IClassFixture<TestPkiFixture>
{
    private readonly TestPki _pki;

    public ReconnectingClientTests(TestPkiFixture fixture)
    {
        _pki = fixture.Pki;
    }

    [Theory]
    [InlineData(0, 0.5, 500)]
    [InlineData(1, 0.5, 1000)]
    [InlineData(3, 0.5, 4000)]
    [InlineData(10, 0.5, 5000)]
    [InlineData(0, 0.0, 375)]
    [InlineData(0, 1.0, 625)]
    [InlineData(100, 1.0, 6250)]
    public void Backoff_GrowsCapsAndSpreads(int attempt, double random, double expectedMs)
    {
        Assert.Equal(expectedMs, Backoff.Default.Delay(attempt, random).TotalMilliseconds, precision: 6);
    }

    [Fact]
    public async Task Run_ServerRestarts_ReconnectsAndResubscribes()
    {
        var link = new SimulatedRobotLink(TimeProvider.System);
        var host = StartHost(link, 0);
        var port = host.LocalEndPoint.Port;
        var events = new ConcurrentQueue<LinkEvent>();
        await using var client = new ReconnectingClient(_pki.Options(_pki.Laptop, port), new ReconnectPolicy { Backoff = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)) }, random: () => 0.5)
        {
            Topics = AlexLinkTopics.All,
            StatusInterval = TimeSpan.FromMilliseconds(100),
        };
        client.Changed += events.Enqueue;
        using var stop = new CancellationTokenSource();
        var run = client.RunAsync(stop.Token);
        try
        {
            Assert.True(await client.WaitConnectedAsync(Bounded.Step, CancellationToken.None).Within());
            var first = client.Session;
            Assert.True((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Acknowledged);

            await host.DisposeAsync().AsTask().Within();
            await Bounded.Until(() => events.Any(e => e is LinkState { Phase: LinkPhase.Waiting }), what: "the client to notice the server went away");
            var down = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();
            Assert.False(down.Acknowledged);
            Assert.Equal(AlexLinkErrorCode.LinkDown, down.Error);

            events.Clear();
            host = StartHost(link, port);
            Assert.True(await client.WaitConnectedAsync(Bounded.Step, CancellationToken.None).Within());
            Assert.NotSame(first, client.Session);
            Assert.True((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Acknowledged);

            // The subscription came back with the connection: status telemetry flows again.
            await Bounded.Until(() => events.Any(e => e is LinkStatus), what: "a pushed status after the reconnect");
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
            await host.DisposeAsync().AsTask().Within();
        }
    }

    [Fact]
    public async Task Run_Refused_StopsAtOnceWithTheReason()
    {
        var link = new SimulatedRobotLink(TimeProvider.System);
        await using var host = StartHost(link, 0);
        var states = new ConcurrentQueue<LinkState>();
        await using var client = new ReconnectingClient(_pki.Options(_pki.Unlisted, host.LocalEndPoint.Port), new ReconnectPolicy { Backoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10)) });
        client.Changed += e =>
        {
            if (e is LinkState s)
            {
                states.Enqueue(s);
            }
        };
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => client.RunAsync(CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Refused, e.Failure);
        Assert.Equal(LinkPhase.Stopped, states.Last().Phase);
        Assert.Equal(1, states.Count(s => s.Phase == LinkPhase.Connecting));
    }

    [Fact]
    public async Task Run_FirstConnectFails_GivesUpWhenAskedTo_KeepsTryingOtherwise()
    {
        // Nothing listens on the port: unreachable, which waiting can fix, so only GiveUpIfFirstFails stops.
        var port = FreePort();
        await using var console = new ReconnectingClient(_pki.Options(_pki.Laptop, port), new ReconnectPolicy { GiveUpIfFirstFails = true });
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => console.RunAsync(CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Unreachable, e.Failure);

        var attempts = 0;
        await using var gateway = new ReconnectingClient(_pki.Options(_pki.Laptop, port), new ReconnectPolicy { Backoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10)) });
        gateway.Changed += ev => attempts += ev is LinkState { Phase: LinkPhase.Connecting } ? 1 : 0;
        using var stop = new CancellationTokenSource();
        var run = gateway.RunAsync(stop.Token);
        await Bounded.Until(() => Volatile.Read(ref attempts) >= 3, what: "three attempts");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
    }

    [Fact]
    public async Task Run_StatusesFeedDeadReckoning_FromTelemetryAndReplies()
    {
        var link = new SimulatedRobotLink(TimeProvider.System);
        await using var host = StartHost(link, 0);
        var statuses = new ConcurrentQueue<LinkStatus>();
        await using var client = new ReconnectingClient(_pki.Options(_pki.Laptop, host.LocalEndPoint.Port));
        client.Changed += e =>
        {
            if (e is LinkStatus s)
            {
                statuses.Enqueue(s);
            }
        };
        using var stop = new CancellationTokenSource();
        var run = client.RunAsync(stop.Token);
        try
        {
            Assert.True(await client.WaitConnectedAsync(Bounded.Step, CancellationToken.None).Within());
            Assert.True((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Acknowledged);
            Assert.True((await client.SendAsync(new DriveCommand(CommandCode.Forward, 20, 100), CancellationToken.None).Within()).Acknowledged);

            // The reply to GET_STATS is a status like a pushed one: once Alex has gone 20 cm forward, the pose says so.
            var deadline = DateTime.UtcNow + Bounded.Step;
            while (!((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Status?.ForwardDistanceCm >= 20))
            {
                Assert.True(DateTime.UtcNow < deadline, "the forward move did not finish");
                await Task.Delay(50);
            }

            var last = statuses.Last();
            Assert.True(last.Pose.X >= 19.5, $"x = {last.Pose.X}");
            Assert.Equal(0, last.Pose.Y, 3);
            Assert.Equal(last.Pose, client.Position.Pose);
            Assert.True(client.Position.Path.Count >= 2);

            var reset = new TaskCompletionSource<LinkPathReset>();
            client.Changed += e =>
            {
                if (e is LinkPathReset r)
                {
                    reset.TrySetResult(r);
                }
            };
            client.ResetPath();
            var fresh = await reset.Task.Within();
            Assert.Equal(default, fresh.Pose);
            Assert.Single(fresh.Path);
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
        }
    }

    [Theory]
    [InlineData(ConnectFailure.Unreachable, false, true, true)]
    [InlineData(ConnectFailure.Timeout, true, true, true)]
    [InlineData(ConnectFailure.ConnectionLost, true, true, true)]
    [InlineData(ConnectFailure.TlsFailed, true, true, true)]
    [InlineData(ConnectFailure.Unreachable, false, false, false)]
    [InlineData(ConnectFailure.ServerNotTrusted, true, true, false)]
    [InlineData(ConnectFailure.ClientCertificateRejected, true, true, false)]
    [InlineData(ConnectFailure.ProtocolMismatch, true, true, false)]
    [InlineData(ConnectFailure.ServerNotTrusted, true, false, true)]
    public void Policy_Decide_RetriesWhatMayPass(ConnectFailure failure, bool everConnected, bool giveUpIfLasting, bool retries)
    {
        var policy = new ReconnectPolicy { GiveUpIfFirstFails = !retries && !everConnected, GiveUpIfLasting = giveUpIfLasting };
        var delay = policy.Decide(new AlexConnectException(failure, "x"), everConnected, retry: 2, random01: 0.5);
        Assert.Equal(retries, delay is not null);
        if (delay is { } d)
        {
            Assert.Equal(Backoff.Default.Delay(2, 0.5), d);
        }
    }

    [Fact]
    public void Policy_Decide_BusyRefusalMayPass_RevokedDoesNot()
    {
        var policy = ReconnectPolicy.Default;
        Assert.NotNull(policy.Decide(new AlexConnectException(ConnectFailure.Refused, "busy") { RefusalCode = AlexLinkRefusalCode.Busy }, true, 0, 0.5));
        Assert.Null(policy.Decide(new AlexConnectException(ConnectFailure.Refused, "revoked") { RefusalCode = AlexLinkRefusalCode.Revoked }, true, 0, 0.5));
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private RobotHost StartHost(SimulatedRobotLink link, int port) => RobotHost.Start(
        new RobotHostOptions
        {
            CertificatePath = _pki.RobotCertificate,
            KeyPath = _pki.RobotKey,
            Policy = new PolicySources(_pki.CaPath, null, TestPki.AllowEntries, null, AllowAny: false, Legacy: false),
            Listen = new IPEndPoint(IPAddress.Loopback, port),
        },
        link,
        TimeProvider.System);
}
