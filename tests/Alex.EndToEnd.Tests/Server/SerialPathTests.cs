using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Alex.Pki.Tls;
using Alex.Robot.Server;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// The serial path under load from other sessions, at 9600 baud (a frame takes 146 ms each way): a STOP flood and a
/// GET_STATS fan-in must not hold up the driver, and every STOP asked for together reaches the Arduino once.
/// </summary>
public sealed class SerialPathTests : IClassFixture<TestPki>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);
    private readonly TestPki _pki;

    public SerialPathTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task StopFlood_WatcherSends200StopsAndLeaves_DriversNextMoveNotHeldUp_FewStopsReachTheArduino()
    {
        await using var server = await TestServer.StartAsync(_pki, lease: Lease, pacing: new SerialLinePacing(9600));
        var stopsReceived = 0;
        server.Robot.Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { Type: PacketType.Command, Command: CommandCode.Stop })
            {
                Interlocked.Increment(ref stopsReceived);
            }
        };
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        var watcher = await server.ConnectAlexLinkAsync("tutor");
        await watcher.ReadAsync();

        var flood = new byte[200][];
        for (var i = 0; i < flood.Length; i++)
        {
            flood[i] = AlexLinkWriter.Encode(new AlexLinkStop(), (uint)(i + 1));
        }

        await watcher.Ssl.WriteAsync(flood.SelectMany(f => f).ToArray()).AsTask().Within();
        await watcher.Ssl.FlushAsync().Within();
        await Bounded.Until(() => Volatile.Read(ref stopsReceived) > 0, what: "the first STOP to reach the Arduino");
        await watcher.DisposeAsync();

        // One STOP on the line (146 ms + its reply), then the driver's move: at most one STOP's wire time of delay,
        // where every STOP once had its own exchange (200 × 0.3 s = a minute).
        var clock = Stopwatch.StartNew();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 5, 30), TimeSpan.FromSeconds(90)));
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the driver's move took {clock.Elapsed.TotalSeconds:0.00} s after a STOP flood");
        Assert.True(Volatile.Read(ref stopsReceived) <= 10, $"{stopsReceived} STOP frames reached the Arduino for 200 STOPs asked for together");
    }

    [Fact]
    public async Task GetStatsFanIn_30WatchersPolling_DriversMoveWaitsBehindAtMostOneGetStats()
    {
        await using var server = await TestServer.StartAsync(_pki, lease: Lease, pacing: new SerialLinePacing(9600));
        var statsOnLine = 0;
        var statsBeforeMove = new List<int>();
        server.Robot.Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { Type: PacketType.Command } p)
            {
                if (p.Command == CommandCode.GetStats)
                {
                    Interlocked.Increment(ref statsOnLine);
                }
                else if (p.Command == CommandCode.Forward)
                {
                    lock (statsBeforeMove)
                    {
                        statsBeforeMove.Add(Volatile.Read(ref statsOnLine));
                    }
                }
            }
        };
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();

        var watchers = new List<AlexLinkTestClient>();
        for (var i = 0; i < 30; i++)
        {
            var w = await server.ConnectAlexLinkAsync("tutor");
            await w.ReadAsync();
            watchers.Add(w);
        }

        using var stop = new CancellationTokenSource();
        var answered = 0;
        var polling = watchers.Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var reply = await w.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0), TimeSpan.FromSeconds(60));
                Assert.True(reply is AlexLinkStatus, $"a watcher's GET_STATS got {reply}");
                Interlocked.Increment(ref answered);
            }
        })).ToList();
        try
        {
            await Bounded.Until(() => Volatile.Read(ref answered) >= 60, TimeSpan.FromSeconds(60), "the watchers to be polling");

            // Counted on the Arduino's side of the line, not by the clock: between the driver sending a move and the
            // move reaching the Arduino, at most the GET_STATS already on the wire and one shared GET_STATS go first.
            // Without sharing and turns, each of the 30 watchers' GET_STATS would have its own exchange ahead of it.
            for (var i = 0; i < 3; i++)
            {
                var before = Volatile.Read(ref statsOnLine);
                var reply = await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 5, 30), TimeSpan.FromSeconds(90));
                Assert.True(reply is AlexLinkOk, $"the driver's move got {reply}");
                int reached;
                lock (statsBeforeMove)
                {
                    reached = statsBeforeMove[^1];
                }

                Assert.True(reached - before <= 2, $"{reached - before} GET_STATS reached the Arduino between the driver's move being sent and the move");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(polling).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            foreach (var w in watchers)
            {
                await w.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SerialPortMissingAtStart_EveryClientToldTheArduinoIsNotConnected()
    {
        var missing = Path.Combine(_pki.Dir, $"ttyACM-{Guid.NewGuid():N}");
        await using var owner = await ArduinoRobotLink.OpenAsync(new RobotLinkSpec(missing, 9600, Simulate: false), TimeProvider.System, CancellationToken.None).Within();
        var robot = (ArduinoRobotLink)owner.Link;
        await Bounded.Until(() => robot.Problem is not null, what: "the link to find the port missing");
        var options = new RobotHostOptions
        {
            CertificatePath = _pki.Path("alex.crt"),
            KeyPath = _pki.Path("alex.key"),
            Policy = new PolicySources(_pki.CaPath, _pki.Ca.CrlPath, ["laptop=drive", "course-laptop"], null, AllowAny: false, Legacy: false),
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Hub = new HubOptions { LeaseWindow = Lease },
        };
        await using var host = RobotHost.Start(options, robot, TimeProvider.System);

        // AlexLink/1 (alex drive, alex web, alex doctor): the link state right after the welcome, and commands refused.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.LocalEndPoint.Port).Within();
        var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(_pki.Load("laptop"), _pki.LoadCa(), TestPki.ServerName, alexLink: true)).Within();
        await using var client = new AlexLinkTestClient(ssl, tcp);
        Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());
        var state = Assert.IsType<AlexLinkLinkState>(await client.ReadAsync());
        Assert.Equal(AlexLinkLinkStatus.Down, state.Status);
        Assert.Contains("no such port", state.Detail, StringComparison.Ordinal);
        Assert.Contains("serial line: noise 0", state.Detail, StringComparison.Ordinal);
        var refused = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 5, 50)));
        Assert.Equal(AlexLinkErrorCode.LinkDown, refused.Code);
        Assert.Contains("not connected", refused.Text, StringComparison.Ordinal);
        Assert.Contains("no such port", refused.Text, StringComparison.Ordinal);
    }
}
