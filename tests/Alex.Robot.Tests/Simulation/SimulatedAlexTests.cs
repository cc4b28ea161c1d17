using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Simulation;

/// <summary>The firmware behaviour of PROTOCOL.md §3, on a fake clock.</summary>
public sealed class SimulatedAlexTests
{
    private readonly FakeTimeProvider _time = new();

    private SimulatedAlex NewAlex(SimulatorSettings? settings = null) => new(settings ?? new SimulatorSettings(), _time);

    private static byte[] Frame(SerialPacket p) => SerialFrame.Encode(p);

    private static List<SerialPacket> RepliesTo(SimulatedAlex alex, byte[] bytes) =>
        alex.Receive(bytes).SelectMany(e => e.Replies).ToList();

    private static List<SerialPacket> RepliesTo(SimulatedAlex alex, CommandCode c, uint p0 = 0, uint p1 = 0) =>
        RepliesTo(alex, Frame(SerialPacket.ForCommand(c, p0, p1)));

    [Fact]
    public void Receive_RecordedCourseSession_RepliesByteForByte()
    {
        // The course Pi server's frames, in session order, as the Arduino received them (with the
        // uninitialised bytes the real server sends), and the Arduino's recorded replies.
        var alex = NewAlex();
        var v = GoldenVectors.Items;
        (int Sent, int[] Replies)[] session =
        [
            (0, []), (2, [3]), (6, [7]), (10, [11]), (14, [15]), (18, [19]), (22, [23, 25]), (28, [29]),
            (32, [33, 35]), (38, [39]), (45, [46]), (50, [51]), (55, [56]),
        ];

        foreach (var (sent, replies) in session)
        {
            var actual = RepliesTo(alex, v[sent].Bytes).Select(p => Convert.ToHexString(Frame(p))).ToList();

            Assert.Equal(replies.Length, actual.Count);
            for (var i = 0; i < replies.Length; i++)
            {
                var recorded = v[replies[i]];
                if (recorded.Raw.GetProperty("decoded").GetProperty("command").GetInt32() == (int)ResponseCode.Status && replies[i] == 25)
                {
                    // Counters depend on how long the recorded robot moved: the shape must match.
                    Assert.Equal(recorded.Bytes.AsSpan(0, 10).ToArray(), Convert.FromHexString(actual[i]).AsSpan(0, 10).ToArray());
                    continue;
                }

                Assert.Equal(Convert.ToHexString(recorded.Bytes), actual[i]);
            }

            _time.Advance(TimeSpan.FromSeconds(10)); // every move reaches its goal before the next command
        }
    }

    [Fact]
    public void Forward_AdvancesWithTimeAndStopsWhenDistancePassesGoal()
    {
        var alex = NewAlex();

        Assert.Equal([SerialPacket.Ok()], RepliesTo(alex, CommandCode.Forward, 50, 75));
        Assert.Equal(MotionKind.Forward, alex.Motion);

        // 75 % → PWM 191 → 390 × 191 / 255 = 292.1 ticks/s.
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(292u, alex.Counters.LeftForwardTicks);
        Assert.Equal(292u, alex.Counters.RightForwardTicks);
        Assert.Equal(30u, alex.Counters.ForwardDistanceCm); // 292 / 195 × 20.4 = 30.5

        _time.Advance(TimeSpan.FromSeconds(60));
        var c = alex.Counters;
        // The firmware stops when distance > 50: at 51 cm, tick 488 (487 is 50.95 cm).
        Assert.Equal(488u, c.LeftForwardTicks);
        Assert.Equal(488u, c.RightForwardTicks);
        Assert.Equal(51u, c.ForwardDistanceCm);
        Assert.Equal(0u, c.LeftReverseTicks);
        Assert.Equal(MotionKind.Stopped, alex.Motion);
    }

    [Fact]
    public void Reverse_CountsIntoReverseCounters()
    {
        var alex = NewAlex();
        RepliesTo(alex, CommandCode.Reverse, 30, 60);
        _time.Advance(TimeSpan.FromSeconds(30));

        var c = alex.Counters;
        Assert.Equal(297u, c.LeftReverseTicks);
        Assert.Equal(297u, c.RightReverseTicks);
        Assert.Equal(31u, c.ReverseDistanceCm);
        Assert.Equal(0u, c.ForwardDistanceCm);
    }

    [Theory]
    [InlineData(CommandCode.TurnLeft, 90u, 229u)]
    [InlineData(CommandCode.TurnRight, 45u, 114u)]
    [InlineData(CommandCode.TurnLeft, 360u, 916u)]
    public void Turn_StopsWhenTurnTicksReachTarget(CommandCode turn, uint angle, uint expectedTicks)
    {
        // angle × π·√(26² + 16²) × 195 / (360 × 20.4), truncated.
        var alex = NewAlex();
        Assert.Equal([SerialPacket.Ok()], RepliesTo(alex, turn, angle, 80));
        _time.Advance(TimeSpan.FromSeconds(60));

        var c = alex.Counters;
        if (turn == CommandCode.TurnLeft)
        {
            // Left: left wheel back, right wheel forward.
            Assert.Equal((expectedTicks, expectedTicks, 0u, 0u), (c.LeftReverseTurnTicks, c.RightForwardTurnTicks, c.LeftForwardTurnTicks, c.RightReverseTurnTicks));
        }
        else
        {
            Assert.Equal((expectedTicks, expectedTicks, 0u, 0u), (c.LeftForwardTurnTicks, c.RightReverseTurnTicks, c.LeftReverseTurnTicks, c.RightForwardTurnTicks));
        }

        Assert.Equal(0u, c.LeftForwardTicks);
        Assert.Equal(MotionKind.Stopped, alex.Motion);
    }

    [Fact]
    public void Move_DistanceZero_RunsUntilStopped()
    {
        var alex = NewAlex();
        RepliesTo(alex, CommandCode.Forward, 0, 100);
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(MotionKind.Forward, alex.Motion);
        Assert.Equal(39000u, alex.Counters.LeftForwardTicks);

        Assert.Equal([SerialPacket.Ok()], RepliesTo(alex, CommandCode.Stop));
        _time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(MotionKind.Stopped, alex.Motion);
        Assert.Equal(39000u, alex.Counters.LeftForwardTicks);
    }

    [Fact]
    public void Move_GoalIsFromCurrentDistance()
    {
        var alex = NewAlex();
        RepliesTo(alex, CommandCode.Forward, 10, 100);
        _time.Advance(TimeSpan.FromSeconds(10));
        var first = alex.Counters.ForwardDistanceCm;
        RepliesTo(alex, CommandCode.Forward, 10, 100);
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(11u, first);
        Assert.Equal(22u, alex.Counters.ForwardDistanceCm);
    }

    [Fact]
    public void ClearStats_ZeroesEveryCounter()
    {
        var alex = NewAlex();
        RepliesTo(alex, CommandCode.Forward, 20, 100);
        _time.Advance(TimeSpan.FromSeconds(5));
        RepliesTo(alex, CommandCode.TurnLeft, 30, 100);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.NotEqual(default, alex.Counters);

        Assert.Equal([SerialPacket.Ok()], RepliesTo(alex, CommandCode.ClearStats));

        Assert.Equal(default, alex.Counters);
    }

    [Theory]
    [InlineData(GetStatsReplyOrder.StatusOnly, "S")]
    [InlineData(GetStatsReplyOrder.OkThenStatus, "OS")]
    [InlineData(GetStatsReplyOrder.StatusThenOk, "SO")]
    public void GetStats_ReplyOrderIsASetting(GetStatsReplyOrder order, string expected)
    {
        var alex = NewAlex(new() { GetStatsReplyOrder = order });
        RepliesTo(alex, CommandCode.Forward, 5, 50);
        _time.Advance(TimeSpan.FromSeconds(5));

        var replies = RepliesTo(alex, CommandCode.GetStats);

        Assert.Equal(expected, string.Concat(replies.Select(r => r.IsOk ? "O" : r.IsStatus ? "S" : "?")));
        Assert.Equal(alex.Counters, replies.Single(r => r.IsStatus).Status);
    }

    [Theory]
    [InlineData(HelloReply.None, 0)]
    [InlineData(HelloReply.Ok, 1)]
    public void Hello_AnsweredOnlyWhenConfigured(HelloReply setting, int replies)
    {
        var alex = NewAlex(new() { HelloReply = setting });

        var actual = RepliesTo(alex, Frame(SerialPacket.Hello()));

        Assert.Equal(replies, actual.Count);
        Assert.All(actual, r => Assert.Equal(SerialPacket.Ok(), r));
    }

    [Theory]
    [InlineData((byte)7)]
    [InlineData((byte)99)]
    [InlineData((byte)255)]
    public void UnknownCommand_BadCommand(byte code)
    {
        var alex = NewAlex();

        Assert.Equal([SerialPacket.Error(ResponseCode.BadCommand)], RepliesTo(alex, Frame(SerialPacket.ForRawCommand(code, 1, 2))));
    }

    [Fact]
    public void Receive_NonCommandPackets_Ignored()
    {
        var alex = NewAlex();
        byte[] bytes = [.. Frame(SerialPacket.Ok()), .. Frame(SerialPacket.Message("hi")), .. Frame(SerialPacket.Error(ResponseCode.BadPacket))];

        Assert.Empty(RepliesTo(alex, bytes));
    }

    [Theory]
    [InlineData("BAD MAGIC: first", ResponseCode.BadPacket)]
    [InlineData("BAD MAGIC: last", ResponseCode.BadPacket)]
    [InlineData("BAD CHECKSUM: checksum byte", ResponseCode.BadChecksum)]
    [InlineData("BAD CHECKSUM: payload byte", ResponseCode.BadChecksum)]
    public void Receive_CorruptVector_ErrorReply(string vector, ResponseCode expected)
    {
        var alex = NewAlex();
        var v = GoldenVectors.Serial.Single(x => x.Description.StartsWith(vector, StringComparison.Ordinal));

        // A corrupt frame, then a good one: the error, then the good frame's answer.
        var replies = RepliesTo(alex, [.. v.Bytes, .. Frame(SerialPacket.ForCommand(CommandCode.Stop))]);

        Assert.Equal([SerialPacket.Error(expected), SerialPacket.Ok()], replies);
    }

    [Fact]
    public void Receive_StrayByteBeforeFrame_BadPacketThenAnswer()
    {
        var alex = NewAlex();

        var replies = RepliesTo(alex, [0x55, .. Frame(SerialPacket.ForCommand(CommandCode.Stop))]);

        Assert.Equal([SerialPacket.Error(ResponseCode.BadPacket), SerialPacket.Ok()], replies);
    }

    [Fact]
    public void Receive_SplitAtEveryOffset_SameReplies()
    {
        var bytes = Frame(SerialPacket.ForCommand(CommandCode.GetStats));
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var alex = NewAlex();
            var early = RepliesTo(alex, bytes[..cut]);
            var late = RepliesTo(alex, bytes[cut..]);

            Assert.Equal(cut == bytes.Length ? 2 : 0, early.Count);
            Assert.Equal(cut == bytes.Length ? 0 : 2, late.Count);
        }
    }

    [Fact]
    public void Receive_CourseBlocks_StrayByteMisalignsEveryLaterFrame()
    {
        var alex = NewAlex(new() { Receiver = FrameReceiver.CourseBlocks });
        var v = GoldenVectors.Serial.Single(x => x.Description.StartsWith("STREAM: 1 stray byte", StringComparison.Ordinal));

        var replies = RepliesTo(alex, v.Bytes);

        Assert.Equal(Enumerable.Repeat(SerialPacket.Error(ResponseCode.BadPacket), 3), replies);
    }

    [Fact]
    public void Settings_CountsPerRevAndWheel_ChangeDistance()
    {
        var alex = NewAlex(new() { CountsPerRev = 100, WheelCircumferenceCm = 10 });
        RepliesTo(alex, CommandCode.Forward, 10, 100);
        _time.Advance(TimeSpan.FromSeconds(60));

        // Stops at 11 cm = 110 ticks of 0.1 cm.
        Assert.Equal(110u, alex.Counters.LeftForwardTicks);
        Assert.Equal(11u, alex.Counters.ForwardDistanceCm);
    }

    [Fact]
    public void Settings_BodySize_ChangesTurnTicks()
    {
        var alex = NewAlex(new() { BodyLengthCm = 30, BodyBreadthCm = 40 });
        RepliesTo(alex, CommandCode.TurnRight, 360, 100);
        _time.Advance(TimeSpan.FromSeconds(60));

        // 360 × π × 50 × 195 / (360 × 20.4) = 1501.5
        Assert.Equal(1501u, alex.Counters.RightReverseTurnTicks);
    }

    [Fact]
    public void Settings_Nonsense_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NewAlex(new() { CountsPerRev = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => NewAlex(new() { WheelCircumferenceCm = double.NaN }));
    }
}
