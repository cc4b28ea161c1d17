using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>Every command through real TLS on loopback, the server, ArduinoLink and the simulated Alex.</summary>
public sealed class ServerCommandTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerCommandTests(TestPki pki)
    {
        _pki = pki;
    }

    public static TheoryData<CommandCode, uint, uint> EveryCommand => new()
    {
        { CommandCode.Forward, 5, 60 },
        { CommandCode.Reverse, 5, 60 },
        { CommandCode.TurnLeft, 10, 60 },
        { CommandCode.TurnRight, 10, 60 },
        { CommandCode.Stop, 0, 0 },
        { CommandCode.GetStats, 0, 0 },
        { CommandCode.ClearStats, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task AlexLink_EveryCommand_AnsweredByTheSimulator(CommandCode code, uint p0, uint p1)
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        var welcome = Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());
        Assert.Equal("laptop", welcome.ClientName);
        Assert.Equal(AlexLinkRole.Driver, welcome.Role);
        Assert.Equal(TestPki.ServerName, welcome.ServerName);
        Assert.Equal(1500u, welcome.LeaseWindowMs);

        var reply = await client.RequestAsync(new AlexLinkCommand(code, p0, p1));
        if (code == CommandCode.GetStats)
        {
            Assert.IsType<AlexLinkStatus>(reply);
        }
        else
        {
            Assert.IsType<AlexLinkOk>(reply);
        }

        var audited = await server.WaitForAuditAsync("command", r => r.Field("name") == "laptop");
        Assert.Contains("ok", audited.Field("result"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexLink_ForwardThenStats_OdometryGrowsThenStopHolds()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 100)));
        await Bounded.Until(() => server.Robot.Alex.Counters.LeftForwardTicks > 20, what: "the wheels to turn");
        var first = Assert.IsType<AlexLinkStatus>(await client.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        Assert.True(first.Counters.LeftForwardTicks > 0);
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
        Assert.Equal(Alex.Robot.Simulation.MotionKind.Stopped, server.Robot.Alex.Motion);
    }

    [Fact]
    public async Task AlexLink_Subscribe_TelemetryPushedAtTheRequestedRate()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("tutor");
        await client.ReadAsync();
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.All, 100)));
        var started = DateTime.UtcNow;
        for (var i = 0; i < 5; i++)
        {
            var pushed = await client.ReadUntilAsync(m => m is AlexLinkStatus { RequestId: 0 });
            Assert.Equal(0u, pushed.RequestId);
        }

        // Five pushes at 100 ms take at least ~400 ms and (on a loaded CI box) well under the bound.
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(350));
    }

    [Fact]
    public async Task AlexLink_Heartbeat_EchoedWithIdAndValue()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        var echo = Assert.IsType<AlexLinkHeartbeat>(await client.RequestAsync(new AlexLinkHeartbeat(1234567)));
        Assert.Equal(1234567, echo.Value);
    }

    [Fact]
    public async Task AlexLink_ArduinoMessage_ReachesSubscribedClients()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("tutor");
        await client.ReadAsync();
        await client.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.ArduinoText | AlexLinkTopics.Link, 0));
        server.Robot.Pump.SendMessage("Hello from Alex");
        var text = Assert.IsType<AlexLinkArduinoText>(await client.ReadUntilAsync(m => m is AlexLinkArduinoText));
        Assert.Equal("Hello from Alex", text.Text);
    }

    [Fact]
    public async Task AlexLink_SpeedOverLimit_RefusedWithTheLimitInWords()
    {
        await using var server = await TestServer.StartAsync(_pki, maxSpeed: 60, maxDistance: 100);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        var tooFast = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 10, 90)));
        Assert.Equal(AlexLinkErrorCode.LimitExceeded, tooFast.Code);
        Assert.Contains("60 %", tooFast.Text, StringComparison.Ordinal);
        var tooFar = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 500, 50)));
        Assert.Contains("100 cm", tooFar.Text, StringComparison.Ordinal);
        var forever = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 50)));
        Assert.Contains("until stopped", forever.Text, StringComparison.Ordinal);
        Assert.Equal(Alex.Robot.Simulation.MotionKind.Stopped, server.Robot.Alex.Motion);
    }

    [Fact]
    public async Task AlexLink_UnknownCommandCode_ErrorAndSessionGoesOn()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        await client.ReadAsync();
        var error = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkCommand((CommandCode)99, 0, 0)));
        Assert.Equal(AlexLinkErrorCode.UnknownCommand, error.Code);
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
    }

    [Fact]
    public async Task Classic_RecordedSession_SameBytesOneRecordEach()
    {
        // The course client's exchange (tls-plaintext vectors, PROTOCOL.md §4) replayed against our server.
        await using var server = await TestServer.StartAsync(_pki);
        await using var ssl = await server.ConnectAsync("laptop", alexLink: false);
        Assert.Equal(default, ssl.NegotiatedApplicationProtocol);
        var vectors = GoldenVectors.TlsPlaintext.ToList();
        var ok = vectors.Single(v => v.Index == 4).Bytes;
        foreach (var index in new[] { 1, 5, 9, 13, 17, 37 })
        {
            await ssl.WriteAsync(GoldenVectors.Items[index].Bytes).AsTask().Within();
            Assert.Equal(Convert.ToHexString(ok), Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
            // Stop between moves so odometry settles for the exact zero check below.
            await ssl.WriteAsync(Classic.Command('s')).AsTask().Within();
            Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        }

        await ssl.WriteAsync(GoldenVectors.Items[21].Bytes).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        var status = await Classic.ReadRecordAsync(ssl);
        Assert.Equal(65, status.Length);
        Assert.Equal(1, status[0]);

        await ssl.WriteAsync(GoldenVectors.Items[27].Bytes).AsTask().Within();
        Assert.Equal(Convert.ToHexString(GoldenVectors.Items[30].Bytes), Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        await ssl.WriteAsync(GoldenVectors.Items[31].Bytes).AsTask().Within();
        Assert.Equal(Convert.ToHexString(GoldenVectors.Items[34].Bytes), Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        Assert.Equal(Convert.ToHexString(GoldenVectors.Items[36].Bytes), Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
    }

    [Fact]
    public async Task Classic_ArduinoMessage_ForwardedAsTheRecordedBytes()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var ssl = await server.ConnectAsync("laptop", alexLink: false);
        await server.WaitForAuditAsync("connection-accepted");
        server.Robot.Pump.SendMessage("Hello from Alex");
        Assert.Equal(Convert.ToHexString(GoldenVectors.Items[42].Bytes), Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
    }

    [Fact]
    public async Task Classic_UnknownLetter_BadCommandInsteadOfSilence()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var ssl = await server.ConnectAsync("laptop", alexLink: false);
        await ssl.WriteAsync(Classic.Command('x', 1, 2)).AsTask().Within();
        Assert.Equal("0004", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        await ssl.WriteAsync(Classic.Command('s')).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
    }

    [Fact]
    public async Task Classic_CommandSplitOverTwoRecords_StillUnderstood()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var ssl = await server.ConnectAsync("laptop", alexLink: false);
        var command = Classic.Command('s');
        await ssl.WriteAsync(command.AsMemory(0, 3)).AsTask().Within();
        await ssl.FlushAsync();
        await ssl.WriteAsync(command.AsMemory(3)).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
    }
}
