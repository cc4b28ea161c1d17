using System.Buffers.Binary;
using System.Net.Sockets;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>Lease, watchers, STOP from anyone, the dead-man, revocation while connected, hostile frames.</summary>
public sealed class ServerSafetyTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerSafetyTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task DriverAndWatcher_WatcherCommandsRefused_WatcherStopAccepted()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        Assert.Equal(AlexLinkRole.Driver, Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync()).Role);
        Assert.Equal(AlexLinkRole.Watcher, Assert.IsType<AlexLinkWelcome>(await watcher.ReadAsync()).Role);

        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 80)));
        var refused = Assert.IsType<AlexLinkError>(await watcher.RequestAsync(new AlexLinkCommand(CommandCode.Reverse, 10, 50)));
        Assert.Equal(AlexLinkErrorCode.Forbidden, refused.Code);
        Assert.Contains("may only watch", refused.Text, StringComparison.Ordinal);
        var lease = Assert.IsType<AlexLinkError>(await watcher.RequestAsync(new AlexLinkTakeLease()));
        Assert.Equal(AlexLinkErrorCode.Forbidden, lease.Code);

        Assert.IsType<AlexLinkStatus>(await watcher.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        Assert.IsType<AlexLinkOk>(await watcher.RequestAsync(new AlexLinkStop()));
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        var told = Assert.IsType<AlexLinkSafetyStop>(await driver.ReadUntilAsync(m => m is AlexLinkSafetyStop));
        Assert.Equal(AlexLinkStopReason.StopRequested, told.Reason);
        Assert.Equal("tutor", told.Who);
    }

    [Fact]
    public async Task WatcherStop_DropsTheDriversQueuedMoves_NoneStartsAfterIt()
    {
        // At 9600 baud a frame takes 146 ms each way, so the driver's next moves wait while the first is on the line. The
        // link waits a minute for a reply here, not a second: the simulator holds the first reply back (below) for as long
        // as the STOP takes to arrive, which under load can be longer than a second (the move would then answer Timeout).
        await using var server = await TestServer.StartAsync(_pki, pacing: new SerialLinePacing(9600), replyTimeout: TimeSpan.FromSeconds(60));
        var received = new List<CommandCode>();

        // The simulator holds its reply to the first move (this handler runs before replies go out) until the STOP has
        // reached the server's exchange: the moves queued behind it are then certainly still queued, whatever the load.
        using var stopIn = new ManualResetEventSlim();
        server.Robot.Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { Type: PacketType.Command } p)
            {
                lock (received)
                {
                    received.Add(p.Command);
                }

                if (p.Command == CommandCode.Forward)
                {
                    stopIn.Wait(Bounded.Step);
                }
            }
        };
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        await driver.ReadAsync();
        await watcher.ReadAsync();

        // Three moves at once: the first goes on the line, the other two queue behind it.
        await driver.SendAsync(new AlexLinkCommand(CommandCode.Forward, 5, 50) { RequestId = 1 });
        await driver.SendAsync(new AlexLinkCommand(CommandCode.Reverse, 5, 50) { RequestId = 2 });
        await driver.SendAsync(new AlexLinkCommand(CommandCode.TurnLeft, 90, 50) { RequestId = 3 });
        await Bounded.Until(() => { lock (received) { return received.Contains(CommandCode.Forward); } }, what: "the first move to reach the simulator");
        var stopAsked = server.Robot.ArduinoLink.StopEpoch;
        await watcher.SendAsync(new AlexLinkStop() { RequestId = 1 });
        await Bounded.Until(() => server.Robot.ArduinoLink.StopEpoch > stopAsked, what: "the watcher's STOP to reach the exchange");
        stopIn.Set();
        var stopReply = await watcher.ReadUntilAsync(m => m.RequestId == 1);
        Assert.True(stopReply is AlexLinkOk, $"the watcher's STOP got {stopReply}");

        // The moves asked for before the STOP are answered "Stopped" and never sent.
        var replies = new Dictionary<uint, AlexLinkMessage>();
        while (replies.Count < 3)
        {
            var m = await driver.ReadUntilAsync(m => m.RequestId is >= 1 and <= 3);
            replies[m.RequestId] = m;
        }

        Assert.True(replies[1] is AlexLinkOk, $"the first move got {replies[1]}");
        foreach (var id in new uint[] { 2, 3 })
        {
            var dropped = Assert.IsType<AlexLinkError>(replies[id]);
            Assert.Equal(AlexLinkErrorCode.Stopped, dropped.Code);
            Assert.Contains("STOP", dropped.Text, StringComparison.Ordinal);
        }

        // One more exchange through the line (GET_STATS), so anything wrongly queued would have been sent by now.
        await driver.SendAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0) { RequestId = 4 });
        var stats = await driver.ReadUntilAsync(m => m.RequestId == 4);
        Assert.True(stats is AlexLinkStatus, $"GET_STATS got {stats}");
        lock (received)
        {
            Assert.Equal([CommandCode.Forward, CommandCode.Stop, CommandCode.GetStats], received);
        }

        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        await server.WaitForAuditAsync("command", r => r.Field("command")?.StartsWith('b') == true && r.Field("result")?.Contains("STOP", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task SecondDriver_NotTheDriver_ErrorNamesTheHolder()
    {
        _pki.Client("laptop-2");
        await using var server = await TestServer.StartAsync(_pki, allow: ["laptop", "laptop-2"]);
        await using var first = await server.ConnectAlexLinkAsync("laptop");
        await using var second = await server.ConnectAlexLinkAsync("laptop-2");
        await first.ReadAsync();
        await second.ReadAsync();
        Assert.IsType<AlexLinkOk>(await first.RequestAsync(new AlexLinkTakeLease()));
        var error = Assert.IsType<AlexLinkError>(await second.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 10, 50)));
        Assert.Equal(AlexLinkErrorCode.NotDriver, error.Code);
        Assert.Matches("^not the driver: laptop holds the lease since [0-9]{2}:[0-9]{2}:[0-9]{2}$", error.Text);
        await server.WaitForAuditAsync("lease", r => r.Field("change") == "taken" && r.Field("name") == "laptop");
    }

    [Fact]
    public async Task DriverKilledMidMove_OdometryStopsGrowingWithinTheLeaseWindow()
    {
        var lease = TimeSpan.FromMilliseconds(600);
        await using var server = await TestServer.StartAsync(_pki, lease: lease);
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        await watcher.ReadAsync();
        var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));
        await Bounded.Until(() => server.Robot.Alex.Counters.LeftForwardTicks > 10, what: "the robot to move");

        // Kill the driver: no close_notify, the socket just goes (a laptop losing Wi-Fi sends not even that).
        var killedAt = DateTime.UtcNow;
        driver.Kill();
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, lease * 2, "the dead-man to stop the robot");
        Assert.True(DateTime.UtcNow - killedAt < lease * 2);
        var settled = server.Robot.Alex.Counters;
        var stop = Assert.IsType<AlexLinkSafetyStop>(await watcher.ReadUntilAsync(m => m is AlexLinkSafetyStop));
        Assert.Equal(AlexLinkStopReason.DriverLeft, stop.Reason);
        Assert.Equal("laptop", stop.Who);
        var later = Assert.IsType<AlexLinkStatus>(await watcher.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        Assert.Equal(settled, later.Counters);
        await server.WaitForAuditAsync("dead-man", r => r.Field("name") == "laptop");
    }

    [Fact]
    public async Task ServerStopsWhileTheDriverMoves_TheStopReachesTheArduinoBeforeTheServerIsGone()
    {
        // 9600 baud: a frame takes 146 ms, so the server's STOP has to wait behind the GET_STATS on the line.
        await using var server = await TestServer.StartAsync(_pki, pacing: new SerialLinePacing(9600));
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);
        var statsArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Robot.Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { Type: PacketType.Command, Command: CommandCode.GetStats })
            {
                statsArrived.TrySetResult();
            }
        };
        await driver.SendAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0) { RequestId = driver.NextId() });
        await statsArrived.Task.Within(what: "the GET_STATS to reach the Arduino");

        // Ctrl+C on `alex serve`: the host goes first, then the serial link (ServeCommand). Nothing may be left for later.
        await server.Host.DisposeAsync().AsTask().Within(TimeSpan.FromSeconds(10));

        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        Assert.Contains(server.Records, r => r.Event == "command" && r.Field("name") == "server" && r.Field("command") == "s" && r.Field("result") == "ok");
        Assert.Equal("server-stopped", server.Records.Last().Event);
    }

    [Fact]
    public async Task DriverSilentPastTheLease_DeadManStopsTheRobotAndTellsWatchers()
    {
        var lease = TimeSpan.FromMilliseconds(500);
        await using var server = await TestServer.StartAsync(_pki, lease: lease);
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        await watcher.ReadAsync();
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));
        var silentFrom = DateTime.UtcNow;

        // The driver's connection stays open, but it sends nothing (a frozen app, a half-open link).
        var stop = Assert.IsType<AlexLinkSafetyStop>(await watcher.ReadUntilAsync(m => m is AlexLinkSafetyStop, TimeSpan.FromSeconds(5)));
        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, stop.Reason);
        Assert.Contains("sent nothing for", stop.Text, StringComparison.Ordinal);
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, lease, "the STOP to reach the Arduino");
        Assert.True(DateTime.UtcNow - silentFrom < lease * 3);
    }

    [Fact]
    public async Task DriverHeartbeating_KeepsDriving()
    {
        // A client's heartbeat cadence in real time: 250 ms beats for 1.5 lease windows. The window is
        // 8 beats wide so a loaded CI machine that delays one beat by a second does not trip it.
        var lease = TimeSpan.FromMilliseconds(2000);
        await using var server = await TestServer.StartAsync(_pki, lease: lease);
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 20)));
        for (var i = 0; i < 12; i++)
        {
            await Task.Delay(lease / 8);
            await driver.RequestAsync(new AlexLinkHeartbeat(i));
        }

        Assert.True(MotionKind.Forward == server.Robot.Alex.Motion, string.Join("\n", server.Records.Select(r => r.Json)));
        Assert.DoesNotContain(server.Records, r => r.Event == "dead-man");
    }

    [Fact]
    public async Task RevokedWhileConnected_DisconnectedWithReason_RobotStopped()
    {
        _pki.Client("revoked-driver");
        await using var server = await TestServer.StartAsync(_pki, allow: ["revoked-driver", "tutor=watch"]);
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        await watcher.ReadAsync();
        await using var driver = await server.ConnectAlexLinkAsync("revoked-driver");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));

        _pki.Revoke("revoked-driver");

        var refusal = Assert.IsType<AlexLinkRefusal>(await driver.ReadUntilAsync(m => m is AlexLinkRefusal));
        Assert.Equal(AlexLinkRefusalCode.Revoked, refusal.Code);
        var stop = Assert.IsType<AlexLinkSafetyStop>(await watcher.ReadUntilAsync(m => m is AlexLinkSafetyStop));
        Assert.Equal(AlexLinkStopReason.DriverRevoked, stop.Reason);
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, what: "the robot to stop");
        await server.WaitForAuditAsync("revoked", r => r.Field("name") == "revoked-driver");
    }

    [Fact]
    public async Task AllowFileEdited_UnlistedClientDisconnected()
    {
        var file = _pki.Path($"allow-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, "# who may drive\nlaptop\ntutor=watch\n");
        await using var server = await TestServer.StartAsync(_pki, allow: [], allowFile: file);
        await using var tutor = await server.ConnectAlexLinkAsync("tutor");
        Assert.IsType<AlexLinkWelcome>(await tutor.ReadAsync());

        await File.WriteAllTextAsync(file, "laptop\n");

        var refusal = Assert.IsType<AlexLinkRefusal>(await tutor.ReadUntilAsync(m => m is AlexLinkRefusal));
        Assert.Equal(AlexLinkRefusalCode.NotAllowed, refusal.Code);
        await using var laptop = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await laptop.ReadAsync());
    }

    [Fact]
    public async Task OversizedFrame_ErrorThenClose_OthersStillServed()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var other = await server.ConnectAlexLinkAsync("tutor");
        await other.ReadAsync();
        await using var bad = await server.ConnectAlexLinkAsync("laptop");
        await bad.ReadAsync();
        var header = new byte[AlexLinkFrame.HeaderSize];
        BinaryPrimitives.WriteUInt16LittleEndian(header, 60000);
        header[AlexLinkFrame.TypeOffset] = (byte)AlexLinkMessageType.Command;
        await bad.Ssl.WriteAsync(header).AsTask().Within();
        var error = Assert.IsType<AlexLinkError>(await bad.ReadAsync());
        Assert.Equal(AlexLinkErrorCode.FrameTooLarge, error.Code);
        Assert.Null(await bad.ReadAsync());
        Assert.IsType<AlexLinkStatus>(await other.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "laptop" && r.Field("reason")!.Contains("protocol error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MalformedPayload_BadFrameErrorAndTheSessionGoesOn()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        // A Command frame whose payload is 3 bytes (a command needs 12).
        var frame = new byte[AlexLinkFrame.HeaderSize + 3];
        BinaryPrimitives.WriteUInt16LittleEndian(frame, 3);
        frame[AlexLinkFrame.TypeOffset] = (byte)AlexLinkMessageType.Command;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(AlexLinkFrame.RequestIdOffset), 77);
        await client.Ssl.WriteAsync(frame).AsTask().Within();
        var error = Assert.IsType<AlexLinkError>(await client.ReadAsync());
        Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
        Assert.Equal(77u, error.RequestId);
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
    }

    [Fact]
    public async Task TruncatedFrameThenClose_ServerLogsItAndKeepsServing()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var cut = await server.ConnectAlexLinkAsync("laptop");
        await cut.ReadAsync();
        var whole = AlexLinkWriter.Encode(new AlexLinkCommand(CommandCode.Forward, 10, 50) { RequestId = 1 });
        await cut.Ssl.WriteAsync(whole.AsMemory(0, whole.Length - 4)).AsTask().Within();
        await cut.DisposeAsync();
        var closed = await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "laptop");
        Assert.Contains("middle of a frame", closed.Field("reason"), StringComparison.Ordinal);
        await using var next = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await next.ReadAsync());
    }

    [Fact]
    public async Task ClassicGarbage_BadPacketThenClose_OthersStillServed()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var other = await server.ConnectAsync("tutor", alexLink: false);
        await using var bad = await server.ConnectAsync("laptop", alexLink: false);
        await bad.WriteAsync(new byte[] { 0x7F, 1, 2, 3 }).AsTask().Within();
        Assert.Equal("0002", Convert.ToHexString(await Classic.ReadRecordAsync(bad)));
        Assert.Equal(0, await bad.ReadAsync(new byte[8]).AsTask().Within());
        await other.WriteAsync(Classic.Command('g')).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(other)));
        Assert.Equal(65, (await Classic.ReadRecordAsync(other)).Length);
    }

    [Fact]
    public async Task ClassicDriverDisconnectsMidMove_RobotStopped()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var (ssl, tcp) = await server.ConnectWithSocketAsync("laptop", alexLink: false);
        await ssl.WriteAsync(Classic.Command('f', 0, 100)).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);
        // The course client's 'q': exit without close_notify.
        tcp.Client.Close(0);
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, what: "the robot to stop");
        await server.WaitForAuditAsync("dead-man", r => r.Field("kind") == "DriverLeft");
    }

    [Fact]
    public async Task SerialLineUnplugged_ClientsToldAndCommandsRefused_ServerKeepsServing()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        await client.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Link, 0));
        server.Robot.Unplug();
        var down = Assert.IsType<AlexLinkLinkState>(await client.ReadUntilAsync(m => m is AlexLinkLinkState { Status: AlexLinkLinkStatus.Down }));
        Assert.NotEmpty(down.Detail);
        var error = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        Assert.Equal(AlexLinkErrorCode.LinkDown, error.Code);
        await using var another = await server.ConnectAlexLinkAsync("tutor");
        Assert.IsType<AlexLinkWelcome>(await another.ReadAsync());
        await server.WaitForAuditAsync("link", r => r.Field("state") == "down");
    }
}
