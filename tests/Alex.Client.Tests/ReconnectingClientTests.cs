using System.Collections.Concurrent;
using System.Net;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
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
        var states = new ConcurrentQueue<LinkState>();
        await using var client = new ReconnectingClient(_pki.Options(_pki.Laptop, port), new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)), () => 0.5);
        client.StateChanged += states.Enqueue;
        using var stop = new CancellationTokenSource();
        var run = client.RunAsync(stop.Token);
        try
        {
            var first = await client.WaitConnectedAsync(CancellationToken.None).Within();
            await client.SubscribeAsync(AlexLinkTopics.All, TimeSpan.FromMilliseconds(100), CancellationToken.None).Within();
            Assert.True((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Acknowledged);

            await host.DisposeAsync().AsTask().Within();
            await Bounded.Until(() => states.Any(s => s.Phase == LinkPhase.Waiting), what: "the client to notice the server went away");
            var down = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();
            Assert.False(down.Acknowledged);
            Assert.Equal(AlexLinkErrorCode.LinkDown, down.Error);

            host = StartHost(link, port);
            var second = await client.WaitConnectedAsync(CancellationToken.None).Within();
            Assert.NotSame(first, second);
            Assert.True((await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within()).Acknowledged);

            // The subscription came back with the connection: status telemetry flows again.
            while (await client.Telemetry.ReadAsync().AsTask().Within() is not AlexLinkStatus)
            {
            }

            Assert.Contains(states, s => s.Phase == LinkPhase.Waiting && s.RetryIn == TimeSpan.FromMilliseconds(50));
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
        await using var client = new ReconnectingClient(_pki.Options(_pki.Unlisted, host.LocalEndPoint.Port), new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10)));
        client.StateChanged += states.Enqueue;
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => client.RunAsync(CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Refused, e.Failure);
        Assert.Equal(LinkPhase.Stopped, states.Last().Phase);
        Assert.Equal(1, states.Count(s => s.Phase == LinkPhase.Connecting));
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
