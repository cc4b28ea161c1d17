using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Extensions;
using Alex.Protocol.Safety;
using Alex.Protocol.Serial;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Protocol.Tests.Extensions;

/// <summary>
/// The team's declared commands under the server's pure rules (docs/extensions.md): the lease and roles, the limits,
/// the dead-man, the serial exchange, the classic letters and packets. Uses the shipped examples.
/// </summary>
public sealed class ExtensionRulesTests
{
    private static readonly TeamExtensions Colour = Example("colour-sensor.json");
    private static readonly TeamExtensions Ultrasonic = Example("ultrasonic-servo.json");
    private static readonly ArduinoLinkOptions Fast = new() { ResetDelay = TimeSpan.Zero, HelloGrace = TimeSpan.Zero };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
    private readonly LeaseClient _driver = new(1, "laptop", AlexLinkRole.Driver, SendsHeartbeats: true);
    private readonly LeaseClient _driver2 = new(2, "laptop-2", AlexLinkRole.Driver, SendsHeartbeats: true);
    private readonly LeaseClient _watcher = new(3, "tutor", AlexLinkRole.Watcher, SendsHeartbeats: true);
    private readonly LeaseClient _classic = new(4, "course-laptop", AlexLinkRole.Driver, SendsHeartbeats: false);

    private static DriveCommand Range => new((CommandCode)8);

    private static DriveCommand ClawOpen => new((CommandCode)14);

    private static DriveCommand Sweep(uint speed = 40) => new((CommandCode)16, speed);

    [Fact]
    public void Authorize_WatcherSendsDeclaredRead_Allowed_WithoutTheLease()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), extensions: Ultrasonic);
        lease.Authorize(_driver, new DriveCommand(CommandCode.Forward, 10, 50));

        Assert.True(lease.Authorize(_watcher, Range).IsAllowed);
        Assert.True(lease.Authorize(_driver2, Range).IsAllowed);
        Assert.Equal(_driver, lease.Holder);
    }

    [Fact]
    public void Authorize_WatcherSendsDeclaredMoveOrDriversOnlyCommand_Forbidden()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), extensions: Ultrasonic);

        Assert.Equal(AlexLinkErrorCode.Forbidden, lease.Authorize(_watcher, Sweep()).Error);
        Assert.Equal(AlexLinkErrorCode.Forbidden, lease.Authorize(_watcher, ClawOpen).Error);
        Assert.False(lease.MayBeMoving);
    }

    [Fact]
    public void Authorize_DeclaredMoveWhileAnotherDrives_NotDriver()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), extensions: Ultrasonic);
        Assert.True(lease.Authorize(_driver, ClawOpen).IsAllowed);
        Assert.Equal(_driver, lease.Holder);
        Assert.False(lease.MayBeMoving);

        Assert.Equal(AlexLinkErrorCode.NotDriver, lease.Authorize(_driver2, Sweep()).Error);
    }

    [Fact]
    public void Evaluate_UnboundedDeclaredMove_HeartbeatsStop_DeadManStops()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), extensions: Ultrasonic);
        Assert.True(lease.Authorize(_driver, Sweep()).IsAllowed);
        Assert.True(lease.MayBeMoving);

        _time.Advance(TimeSpan.FromMilliseconds(1500));
        var d = lease.Evaluate();

        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, d.Stop!.Reason);
        Assert.False(lease.MayBeMoving);
    }

    [Fact]
    public void Evaluate_ClassicDriverSilentDuringUnboundedDeclaredMove_Stopped()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), silentMoveLimit: TimeSpan.FromSeconds(3), extensions: Ultrasonic);
        Assert.True(lease.Authorize(_classic, Sweep()).IsAllowed);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(3), lease.NextCheckAt);

        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, lease.Evaluate().Stop!.Reason);
    }

    [Fact]
    public void Authorize_ClassicClaw_NoDeadManDeadline()
    {
        var lease = new DriverLease(_time, TimeSpan.FromMilliseconds(1500), extensions: Ultrasonic);
        Assert.True(lease.Authorize(_classic, ClawOpen).IsAllowed);
        Assert.Null(lease.NextCheckAt);
    }

    [Theory]
    [InlineData(61u, 0u, 0u, "sweep: speed 61 % is outside its declared range 0–60 %")]
    [InlineData(50u, 40u, 0u, "sweep: speed 50 % is over the limit of 40 %")]
    [InlineData(30u, 0u, 300u, "sweep runs until stopped, which the distance limit of 300 cm does not allow")]
    [InlineData(30u, 0u, 0u, null)]
    public void Check_DeclaredMove_RangesAndServerLimits(uint speed, uint maxSpeed, uint maxDistance, string? expected)
    {
        Assert.Equal(expected, new DriveLimits(maxSpeed, maxDistance).Check(Sweep(speed), Ultrasonic));
    }

    [Fact]
    public void Check_DeclaredRead_NoMoveLimits()
    {
        Assert.Null(new DriveLimits(10, 10, 10).Check(Range, Ultrasonic));
        Assert.Equal("range takes 0 parameter(s); param0 must be 0, got 3", new DriveLimits().Check(new DriveCommand((CommandCode)8, 3), Ultrasonic));
    }

    [Fact]
    public void Exchange_DeclaredResponse_AnswersWithThePacket_TrailingOkSwallowed()
    {
        var ex = Ready(Colour);
        var read = ex.Submit(SerialPacket.ForRawCommand(7), SerialOrigin.Client);
        Assert.Equal(7, ex.Next()!.Code);
        var colour = new SerialPacket(PacketType.Response, 6, [], [310, 120, 95]);
        ex.Received(SerialFrame.Encode(colour));

        var reply = Done(read);
        Assert.Equal(colour, reply.Packet);
        Assert.Equal("ok [310,120,95]", reply.ToString());

        // A trailing OK inside the grace belongs to the colour read, not to the next command.
        var stop = ex.Submit(DriveCommand.Stop.ToPacket(), SerialOrigin.Client);
        Assert.Null(ex.Next());
        ex.Received(SerialFrame.Encode(SerialPacket.Ok()));
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        Assert.False(stop.Reply.IsCompleted);
    }

    [Fact]
    public void Exchange_StatusShapedReply_OkFirst_EndsOnTheStatus()
    {
        var ex = Ready(Ultrasonic);
        var read = ex.Submit(SerialPacket.ForRawCommand(8), SerialOrigin.Client);
        ex.Next();
        ex.Received(SerialFrame.Encode(SerialPacket.Ok()));
        ex.Received(SerialFrame.Encode(new SerialPacket(PacketType.Response, 1, [], [42])));

        Assert.Equal(42u, Done(read).Packet!.Params[0]);
        var next = ex.Submit(DriveCommand.ClearStats.ToPacket(), SerialOrigin.Client);
        Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
        Assert.False(next.Reply.IsCompleted);
    }

    [Fact]
    public void Exchange_DeclaredReadAnsweredError_ArduinoError()
    {
        var ex = Ready(Colour);
        var read = ex.Submit(SerialPacket.ForRawCommand(7), SerialOrigin.Client);
        ex.Next();
        ex.Received(SerialFrame.Encode(SerialPacket.Error(ResponseCode.BadCommand)));

        Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadCommand), Done(read));
    }

    [Fact]
    public void Exchange_QueuedDeclaredMove_DroppedByStop_LostReplyFollowedByStop()
    {
        var ex = Ready(Ultrasonic);
        var claw = ex.Submit(ClawOpen.ToPacket(), SerialOrigin.Client);
        var sweep = ex.Submit(Sweep().ToPacket(), SerialOrigin.Client);
        ex.Submit(DriveCommand.Stop.ToPacket(), SerialOrigin.Client);
        Assert.Equal(RobotReplyKind.Stopped, Done(sweep).Kind);
        Assert.False(claw.Reply.IsCompleted);

        // A declared move whose reply is lost is followed by a STOP.
        var ex2 = Ready(Ultrasonic);
        var lost = ex2.Submit(Sweep().ToPacket(), SerialOrigin.Client);
        ex2.Next();
        _time.Advance(Fast.ReplyTimeout);
        Assert.Equal(CommandCode.Stop, ex2.Next()?.Command ?? AfterGrace(ex2));
        Assert.Equal(RobotReplyKind.Timeout, Done(lost).Kind);
    }

    [Fact]
    public void Classic_DeclaredLetter_EitherCase_MapsToItsCode()
    {
        Assert.True(new ClassicCommand((byte)'O', 0, 0).TryGetDriveCommand(Colour, out var colour));
        Assert.Equal(new DriveCommand((CommandCode)7), colour);
        Assert.True(new ClassicCommand((byte)'w', 35, 0).TryGetDriveCommand(Ultrasonic, out var sweep));
        Assert.Equal(Sweep(35), sweep);
        Assert.False(new ClassicCommand((byte)'o', 0, 0).TryGetDriveCommand(out _));
        Assert.True(new ClassicCommand((byte)'f', 10, 50).TryGetDriveCommand(Colour, out var forward));
        Assert.Equal(CommandCode.Forward, forward.Command);
    }

    [Fact]
    public void Classic_DeclaredReplies_AsDeclared_GoldenBytes()
    {
        var colourCommand = Colour.Commands[0];
        var colour = new SerialPacket(PacketType.Response, 6, [], [310, 120, 95]);
        var bytes = ClassicMessage.ForDeclaredReply(colourCommand, colour).Encode();
        Assert.Equal("04" + "36010000" + "78000000" + "5F000000" + string.Concat(Enumerable.Repeat("00000000", 13)), Convert.ToHexString(bytes));

        var range = new SerialPacket(PacketType.Response, 1, [], [42]);
        Assert.Equal("012A000000", Convert.ToHexString(ClassicMessage.ForDeclaredReply(Ultrasonic.Commands[0], range).Encode())[..10]);
        Assert.Equal("0000", Convert.ToHexString(ClassicMessage.ForDeclaredReply(Ultrasonic.Commands[1], null).Encode()));
    }

    [Fact]
    public void AlexLink_DeclaredReply_RoundTrips()
    {
        var reply = AlexLinkDeclaredReply.From(7, new SerialPacket(PacketType.Response, 6, [], [310, 120, 95]), 1764245227000) with { RequestId = 5 };
        var buffer = new System.Buffers.ReadOnlySequence<byte>(AlexLinkWriter.Encode(reply));

        Assert.Equal(System.Buffers.OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var read, out _));
        Assert.Equal(reply, read);
    }

    [Fact]
    public void Exchange_DeclaredMoveAnsweredLate_GraceRunsPastTheReplyDeadline_NoTimeoutNoStop()
    {
        var turn = ExtensionFile.Parse("""
            { "alexExtensions": 1, "commands": [ { "name": "spin", "code": 20, "roles": ["drive"], "moves": true,
              "params": [ { "name": "degrees", "unit": "deg", "min": 0, "max": 360 } ], "reply": "message" } ] }
            """, out var problems);
        Assert.True(turn is not null, string.Join("; ", problems));
        var ex = Ready(turn);
        var spin = ex.Submit(SerialPacket.ForRawCommand(20, 90), SerialOrigin.Client);
        ex.Next();

        // The reply comes just inside the deadline; the grace for a trailing OK then runs past it.
        _time.Advance(Fast.ReplyTimeout - TimeSpan.FromMilliseconds(100));
        ex.Received(SerialFrame.Encode(SerialPacket.Message("spun")));
        Assert.Equal(RobotReplyKind.Ok, Done(spin).Kind);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Null(ex.Next());

        var events = new List<SerialEvent>();
        ex.TakeEvents(events);
        Assert.DoesNotContain(events, e => e.Note is SerialNoteKind.Timeout or SerialNoteKind.StopAfterTimeout);
        Assert.Equal(0, ex.Counts.Timeouts);

        // After the grace the line is free, and nothing was queued: no STOP goes out.
        _time.Advance(Fast.EffectiveStatsGrace);
        Assert.Null(ex.Next());
        Assert.Equal(0, ex.Waiting);
    }

    [Fact]
    public void Exchange_DeclaredReplyWithin_ItsOwnDeadline_OthersKeepTheLinks()
    {
        var slow = ExtensionFile.Parse("""
            { "alexExtensions": 1, "commands": [
              { "name": "grip", "code": 20, "roles": ["drive"], "reply": "ok", "replyWithinMs": 3000 },
              { "name": "ping", "code": 21, "roles": ["drive", "watch"], "reply": "ok" } ] }
            """, out var problems);
        Assert.True(slow is not null, string.Join("; ", problems));
        Assert.Equal(TimeSpan.FromSeconds(3), slow.Commands[0].ReplyWithin);
        var ex = Ready(slow);

        // The servo answers after 2.5 s: in time for its declared 3 s, though past the link's 1 s.
        var grip = ex.Submit(SerialPacket.ForRawCommand(20), SerialOrigin.Client);
        ex.Next();
        _time.Advance(TimeSpan.FromMilliseconds(2500));
        Assert.Null(ex.Next());
        ex.Received(SerialFrame.Encode(SerialPacket.Ok()));
        Assert.Equal(RobotReply.Ok, Done(grip));

        // A declared command without replyWithinMs still has the link's reply timeout.
        var ping = ex.Submit(SerialPacket.ForRawCommand(21), SerialOrigin.Client);
        ex.Next();
        _time.Advance(Fast.ReplyTimeout);
        Assert.Null(ex.Next());
        var lost = Done(ping);
        Assert.Equal(RobotReplyKind.Timeout, lost.Kind);
        Assert.Contains("within 1000 ms", lost.ToString(), StringComparison.Ordinal);
    }

    private SerialExchange Ready(TeamExtensions extensions)
    {
        var ex = new SerialExchange(Fast with { Extensions = extensions }, _time);
        ex.Opened("test port");
        Assert.Equal(PacketType.Hello, ex.Next()!.Type);
        Assert.Null(ex.Next());
        return ex;
    }

    // The STOP after a timeout waits for the quiet window (a late reply must not be credited to it).
    private CommandCode AfterGrace(SerialExchange ex)
    {
        _time.Advance(Fast.EffectiveStatsGrace);
        return ex.Next()!.Command;
    }

    private static RobotReply Done(SerialJob job)
    {
        job.Deliver();
        Assert.True(job.Reply.IsCompleted, $"{job.Command} has no reply yet");
        return job.Reply.Result;
    }

    private static TeamExtensions Example(string name) =>
        ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", name)), out _)!;
}

/// <summary>What a person types for a declared command (alex send, the drive console's line mode).</summary>
public sealed class DeclaredCommandParseTests
{
    private static readonly TeamExtensions Ultrasonic =
        ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json")), out _)!;

    [Theory]
    [InlineData("range", 8u, 0u)]
    [InlineData("SWEEP 40", 16u, 40u)]
    [InlineData("claw-open", 14u, 0u)]
    public void TryParse_DeclaredName_ItsCodeAndParams(string text, uint code, uint p0)
    {
        Assert.True(DriveCommand.TryParse(text.Split(' '), Ultrasonic, out var command, out var error), error);
        Assert.Equal(new DriveCommand((CommandCode)code, p0), command);
        Assert.Equal(text.ToLowerInvariant(), Ultrasonic.Describe(command.Value));
    }

    [Theory]
    [InlineData("sweep", "'sweep' takes 1 number(s): sweep SPEED(%)")]
    [InlineData("sweep 61", "sweep: speed 61 % is outside its declared range 0–60 %")]
    [InlineData("sweep fast", "sweep: speed must be a whole number of 0 or more, got 'fast'")]
    [InlineData("range 3", "'range' takes no parameters")]
    [InlineData("scan", "unknown command 'scan' (use f, b, l, r, s, g, c or the team's range, claw-open, claw-close, sweep)")]
    public void TryParse_BadDeclaredCommand_Says(string text, string expected)
    {
        Assert.False(DriveCommand.TryParse(text.Split(' '), Ultrasonic, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryParse_CourseCommandsUnchanged()
    {
        Assert.True(DriveCommand.TryParse(["f", "50", "75"], Ultrasonic, out var forward, out _));
        Assert.Equal(new DriveCommand(CommandCode.Forward, 50, 75), forward);
    }
}
