using Alex.Protocol.Serial;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Protocol.Tests.Serial;

/// <summary>The serial exchange as a pure decision over a fake clock: every reply order, late and lost replies, STOP at every point, floods.</summary>
public sealed class SerialExchangeTests
{
    private static readonly ArduinoLinkOptions Fast = new() { ResetDelay = TimeSpan.Zero, HelloGrace = TimeSpan.Zero };
    private static readonly StatusCounters Counters = new(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly List<SerialEvent> _events = [];

    private static SerialPacket Cmd(CommandCode c, uint p0 = 0, uint p1 = 0) => SerialPacket.ForCommand(c, p0, p1);

    private static SerialPacket Forward => Cmd(CommandCode.Forward, 10, 50);

    // An exchange on an open port, past a HELLO the firmware did not answer.
    private SerialExchange Ready(ArduinoLinkOptions? options = null)
    {
        var exchange = new SerialExchange(options ?? Fast, _time);
        exchange.Opened("test port");
        Assert.Equal(PacketType.Hello, exchange.Next()!.Type);
        Assert.Null(exchange.Next());
        Assert.True(exchange.IsReady);
        return exchange;
    }

    private static void Arrive(SerialExchange exchange, SerialPacket reply) => exchange.Received(SerialFrame.Encode(reply));

    private static RobotReply Done(SerialJob job)
    {
        Assert.True(job.Reply.IsCompleted || TryDeliver(job), $"{job.Command} has no reply yet");
        return job.Reply.Result;
    }

    private static bool TryDeliver(SerialJob job)
    {
        job.Deliver();
        return job.Reply.IsCompleted;
    }

    private List<SerialEvent> Events(SerialExchange exchange)
    {
        _events.Clear();
        exchange.TakeEvents(_events);
        return _events;
    }

    [Fact]
    public void Submit_Move_WrittenThenAnsweredOk()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);

        Assert.Equal(Forward, ex.Next());
        Assert.Null(ex.Next());
        Arrive(ex, SerialPacket.Ok());

        Assert.Equal(RobotReply.Ok, Done(move));
        Assert.Equal(0, ex.Waiting);
    }

    [Fact]
    public void Submit_BeforeTheFirstOpen_WaitsForThePort_SentAfterHello()
    {
        var ex = new SerialExchange(Fast with { ResetDelay = TimeSpan.FromSeconds(2) }, _time);
        var move = ex.Submit(Forward, SerialOrigin.Client);
        Assert.Null(ex.Next());

        ex.Opened("test port");
        Assert.Null(ex.Next()); // the Uno resets: quiet
        Assert.Equal(_time.GetTimestamp() + (2 * _time.TimestampFrequency), ex.NextDue);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(PacketType.Hello, ex.Next()!.Type);
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));
    }

    [Fact]
    public void Hello_AnsweredWithOk_OkNotTakenForTheFirstCommand()
    {
        var ex = new SerialExchange(Fast with { HelloGrace = TimeSpan.FromMilliseconds(300) }, _time);
        ex.Opened("test port");
        var first = ex.Submit(Forward, SerialOrigin.Client);
        Assert.Equal(PacketType.Hello, ex.Next()!.Type);
        Assert.Null(ex.Next());

        Arrive(ex, SerialPacket.Ok());
        Assert.False(first.Reply.IsCompleted);
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Error(ResponseCode.BadCommand));
        Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadCommand), Done(first));
    }

    [Theory]
    [InlineData("ok,status")]
    [InlineData("status,ok")]
    [InlineData("status")]
    public void GetStats_EveryReplyOrder_StatusToTheCaller_NextCommandGetsItsOwnReply(string order)
    {
        var ex = Ready();
        for (var round = 0; round < 3; round++)
        {
            var stats = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
            Assert.Equal(CommandCode.GetStats, ex.Next()!.Command);
            foreach (var part in order.Split(','))
            {
                Arrive(ex, part == "ok" ? SerialPacket.Ok() : SerialPacket.StatusReply(Counters));
            }

            Assert.Equal(Counters, Done(stats).Status);
            Assert.Equal(_time.GetUtcNow(), Done(stats).ReadAt);

            // The next command must not take a trailing OK for its reply. STATUS only, the first time: the exchange
            // waits out the grace window for an OK that does not come, then writes.
            var next = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
            if (order == "status" && round == 0)
            {
                Assert.Null(ex.Next());
                _time.Advance(Fast.EffectiveStatsGrace);
            }

            Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
            Arrive(ex, SerialPacket.Error(ResponseCode.BadCommand));
            Assert.Equal(RobotReplyKind.ArduinoError, Done(next).Kind);
        }
    }

    [Fact]
    public void GetStats_StatusThenOk_LearntOnce_TheTrailingOkDoesNotWait()
    {
        var ex = Ready();
        var first = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        ex.Next();
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.NotNull(Done(first).Status);
        Assert.Null(ex.Next()); // order unknown: waiting for a possible trailing OK
        Arrive(ex, SerialPacket.Ok());

        var move = ex.Submit(Forward, SerialOrigin.Client);
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));
    }

    [Fact]
    public void Reply_Late_AfterTimeout_DroppedAndCounted_NotCreditedToTheNextRequest()
    {
        var ex = Ready();
        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        ex.Next();
        _time.Advance(Fast.ReplyTimeout);
        Assert.Null(ex.Next());
        Assert.Equal(RobotReplyKind.Timeout, Done(clear).Kind);

        // The reply comes late, while the line is kept quiet: dropped, not given to the next request.
        var next = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        Assert.Null(ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.False(next.Reply.IsCompleted);
        Assert.Equal(1, ex.Counts.LateReplies);
        Assert.Equal(1, ex.Counts.Timeouts);

        _time.Advance(Fast.EffectiveStatsGrace);
        Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Error(ResponseCode.BadChecksum));
        Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadChecksum), Done(next));
    }

    [Fact]
    public void GetStats_StatusJustBeforeTheDeadline_GraceRunsPastIt_NoTimeoutCounted_TrailingOkStillSwallowed()
    {
        var ex = Ready();
        var read = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        ex.Next();
        _time.Advance(Fast.ReplyTimeout - TimeSpan.FromMilliseconds(50));
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.Equal(RobotReplyKind.Ok, Done(read).Kind);

        // Past the reply deadline, inside the grace: the reply came in time, so nothing timed out.
        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Null(ex.Next());
        Assert.DoesNotContain(Events(ex), e => e.Note == SerialNoteKind.Timeout);
        Assert.Equal(0, ex.Counts.Timeouts);

        // The trailing OK still ends the GET_STATS; the CLEAR_STATS goes next and gets its own reply.
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
        Assert.False(clear.Reply.IsCompleted);
        Assert.Equal(0, ex.Counts.LateReplies);
    }

    [Fact]
    public void Move_ReplyLost_TimeoutThenStopWritten()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();

        _time.Advance(Fast.ReplyTimeout);
        Assert.Null(ex.Next());
        Assert.Equal(RobotReplyKind.Timeout, Done(move).Kind);
        Assert.Contains(Events(ex), e => e.Note == SerialNoteKind.StopAfterTimeout);

        _time.Advance(Fast.EffectiveStatsGrace);
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
    }

    [Fact]
    public void Stop_WhileAMoveWaitsForALostReply_TheStopGetsItsOwnOk_TheMoveTimesOut()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        var stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
        Assert.Null(ex.Next()); // one request on the wire: a lone OK could not be told apart

        _time.Advance(Fast.ReplyTimeout);
        Assert.Null(ex.Next());
        Assert.Equal(RobotReplyKind.Timeout, Done(move).Kind);
        _time.Advance(Fast.EffectiveStatsGrace);
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        Assert.Null(ex.Next()); // the STOP that follows the lost move is the client's STOP: one, shared
        Arrive(ex, SerialPacket.Ok());

        Assert.Equal(RobotReply.Ok, Done(stop));
        Assert.Equal(RobotReplyKind.Timeout, Done(move).Kind);
    }

    [Fact]
    public void Stop_WhileAMoveIsOnTheWire_GoesNext_RepliesCreditedInOrder()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        var queued = ex.Submit(Cmd(CommandCode.Reverse, 5, 50), SerialOrigin.Client);
        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        var stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);

        Assert.Equal(RobotReply.Stopped, Done(queued)); // asked for before the STOP: never starts after it
        Arrive(ex, SerialPacket.Error(ResponseCode.BadCommand));
        Assert.Equal(RobotReplyKind.ArduinoError, Done(move).Kind);
        Assert.False(stop.Reply.IsCompleted);
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(stop));
        Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(clear));
    }

    [Fact]
    public void Stop_MoveThatArrivedBeforeIt_AnswersStopped_EvenIfItReachesTheExchangeLater()
    {
        var ex = Ready();
        var epoch = ex.StopEpoch;
        var stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
        var late = ex.Submit(Forward, SerialOrigin.Client, epoch);
        var fresh = ex.Submit(Forward, SerialOrigin.Client, ex.StopEpoch);

        Assert.Equal(RobotReply.Stopped, Done(late));
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(stop));
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(fresh));
    }

    [Theory]
    [InlineData("before-open")]
    [InlineData("during-reset")]
    [InlineData("behind-get-stats")]
    [InlineData("while-stop-on-wire")]
    [InlineData("during-quiet-after-timeout")]
    [InlineData("port-lost")]
    public void Stop_AtEveryPoint_WrittenOnceAndAnswered(string point)
    {
        var ex = point is "before-open" or "during-reset" ? new SerialExchange(Fast with { ResetDelay = TimeSpan.FromSeconds(2) }, _time) : Ready();
        SerialJob stop;
        switch (point)
        {
            case "before-open":
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                ex.Opened("test port");
                _time.Advance(TimeSpan.FromSeconds(2));
                Assert.Equal(PacketType.Hello, ex.Next()!.Type);
                break;
            case "during-reset":
                ex.Opened("test port");
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Null(ex.Next());
                _time.Advance(TimeSpan.FromSeconds(2));
                Assert.Equal(PacketType.Hello, ex.Next()!.Type);
                break;
            case "behind-get-stats":
                var stats = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
                ex.Next();
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Null(ex.Next());
                Arrive(ex, SerialPacket.Ok());
                Arrive(ex, SerialPacket.StatusReply(Counters));
                Assert.NotNull(Done(stats).Status);
                break;
            case "while-stop-on-wire":
                var first = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Same(first, stop);
                Arrive(ex, SerialPacket.Ok());
                Assert.Equal(RobotReply.Ok, Done(stop));
                Assert.Null(ex.Next());
                return;
            case "during-quiet-after-timeout":
                var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
                ex.Next();
                _time.Advance(Fast.ReplyTimeout);
                Assert.Null(ex.Next());
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Null(ex.Next());
                _time.Advance(Fast.EffectiveStatsGrace);
                break;
            default:
                var move = ex.Submit(Forward, SerialOrigin.Client);
                ex.Next();
                ex.Lost("unplugged");
                Assert.Equal(RobotReply.LinkDown("unplugged"), Done(move));
                stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);
                Assert.Equal(RobotReply.LinkDown("unplugged"), Done(stop));
                Assert.Null(ex.Next());
                return;
        }

        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        Assert.Null(ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(stop));
        Assert.Null(ex.Next());
    }

    [Fact]
    public void Stop_Flood_OneStopOnTheLine_AllShareItsReply_StateStaysBounded()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();

        var stops = new List<SerialJob>();
        for (var i = 0; i < 10_000; i++)
        {
            stops.Add(ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client));
            Assert.True(ex.Waiting <= 1);
        }

        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));
        Assert.Equal(CommandCode.Stop, ex.Next()!.Command);
        for (var i = 0; i < 10_000; i++)
        {
            stops.Add(ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client));
        }

        Assert.Equal(0, ex.Waiting);
        Arrive(ex, SerialPacket.Ok());
        Assert.All(stops, s => Assert.Equal(RobotReply.Ok, Done(s)));
        Assert.Single(stops.Distinct());

        // The driver's next move goes straight out.
        var next = ex.Submit(Forward, SerialOrigin.Client, ex.StopEpoch);
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(next));
    }

    [Fact]
    public void GetStats_FanIn_OneExchangeForAll_DriverWaitsBehindAtMostOne()
    {
        var ex = Ready(Fast with { ReadingMaxAge = TimeSpan.Zero });
        var reads = Enumerable.Range(0, 30).Select(_ => ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client)).ToList();
        Assert.Equal(CommandCode.GetStats, ex.Next()!.Command);
        reads.AddRange(Enumerable.Range(0, 30).Select(_ => ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client)));
        Assert.Single(reads.Distinct());

        // The driver's move comes while the watchers keep asking: it goes right after the GET_STATS on the wire.
        var move = ex.Submit(Forward, SerialOrigin.Client);
        Arrive(ex, SerialPacket.Ok());
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.All(reads, r => Assert.Equal(Counters, Done(r).Status));
        var later = Enumerable.Range(0, 30).Select(_ => ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client)).ToList();
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));

        // Then the watchers' next shared GET_STATS, then the driver's next move, in turns.
        var move2 = ex.Submit(Cmd(CommandCode.Reverse, 5, 50), SerialOrigin.Client);
        Assert.Equal(CommandCode.GetStats, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.All(later, r => Assert.NotNull(Done(r).Status));
        Assert.Equal(CommandCode.Reverse, ex.Next()!.Command);
        Assert.False(move2.Reply.IsCompleted);
    }

    [Fact]
    public void GetStats_FreshReading_ReusedWithItsTime_NotAfterACommand()
    {
        var ex = Ready(Fast with { ReadingMaxAge = TimeSpan.FromMilliseconds(200) });
        var first = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        ex.Next();
        var takenAt = _time.GetUtcNow();
        Arrive(ex, SerialPacket.Ok());
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.NotNull(Done(first).Status);

        _time.Advance(TimeSpan.FromMilliseconds(150));
        var reused = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        Assert.True(reused.Reply.IsCompleted);
        Assert.Equal(takenAt, Done(reused).ReadAt);
        Assert.Null(ex.Next());

        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        ex.Next();
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(clear));
        var asked = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        Assert.False(asked.Reply.IsCompleted);
        Assert.Equal(CommandCode.GetStats, ex.Next()!.Command);
    }

    [Fact]
    public void Poll_NeverAheadOfACommand()
    {
        var ex = Ready();
        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        ex.Next();
        var poll = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Poll);
        var move = ex.Submit(Forward, SerialOrigin.Client);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(CommandCode.GetStats, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.NotNull(Done(poll).Status);
        Assert.Equal(RobotReply.Ok, Done(clear));
        Assert.Equal(RobotReply.Ok, Done(move));
    }

    [Fact]
    public void Received_NoiseAndBadChecksum_CountedAndNoted_ReplyAfterThemStillMatched()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        var bad = SerialFrame.Encode(SerialPacket.Ok());
        bad[SerialFrame.ChecksumOffset] ^= 0xFF;
        ex.Received([1, 2, 3]);
        ex.Received(bad);
        Arrive(ex, SerialPacket.Ok());

        Assert.Equal(RobotReply.Ok, Done(move));
        Assert.Equal(1, ex.Counts.BadChecksums);
        Assert.Equal(1, ex.Counts.NoiseRuns);
        var notes = Events(ex).Select(e => e.Note).ToList();
        Assert.Contains(SerialNoteKind.Noise, notes);
        Assert.Contains(SerialNoteKind.BadChecksum, notes);
    }

    [Fact]
    public void Received_ReplySplitAtEveryOffset_StillOneReply()
    {
        var frame = SerialFrame.Encode(SerialPacket.Ok());
        for (var cut = 1; cut < frame.Length; cut++)
        {
            var ex = Ready();
            var move = ex.Submit(Forward, SerialOrigin.Client);
            ex.Next();
            ex.Received(frame.AsSpan(0, cut));
            Assert.False(move.Reply.IsCompleted);
            ex.Received(frame.AsSpan(cut));
            Assert.Equal(RobotReply.Ok, Done(move));
        }
    }

    [Fact]
    public void Unsolicited_MessageStatusAndError_PassedOn_NotTakenAsReplies()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        Arrive(ex, SerialPacket.Message("hi"));
        Arrive(ex, SerialPacket.StatusReply(Counters));
        Assert.False(move.Reply.IsCompleted);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));
        Arrive(ex, SerialPacket.Error(ResponseCode.BadPacket));

        var passed = Events(ex).Where(e => e.Unsolicited is not null).Select(e => e.Unsolicited!.Type).ToList();
        Assert.Equal([PacketType.Message, PacketType.Response, PacketType.Error], passed);
    }

    [Fact]
    public void Lost_EverythingAnswersLinkDown_ThenReopenWorks()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        var clear = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        var stats = ex.Submit(Cmd(CommandCode.GetStats), SerialOrigin.Client);
        var stop = ex.Submit(Cmd(CommandCode.Stop), SerialOrigin.Client);

        ex.Lost("cannot open /dev/ttyACM0: no such port");
        foreach (var job in new[] { move, clear, stats, stop })
        {
            Assert.Equal(RobotReplyKind.LinkDown, Done(job).Kind);
            Assert.Contains("no such port", Done(job).Detail, StringComparison.Ordinal);
        }

        Assert.Equal(0, ex.Waiting);
        Assert.Null(ex.NextDue);
        ex.Opened("reopened");
        Assert.Equal(PacketType.Hello, ex.Next()!.Type);
        var again = ex.Submit(Forward, SerialOrigin.Client);
        Assert.Equal(Forward, ex.Next());
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(again));
        Assert.Equal(2, ex.Counts.Opens);
        Assert.Equal(1, ex.Counts.Losses);
    }

    [Fact]
    public void NextDue_Idle_NothingToWakeFor()
    {
        var ex = Ready();
        Assert.Null(ex.NextDue);
        ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        Assert.Equal(_time.GetTimestamp() + _time.TimestampFrequency, ex.NextDue);
        Arrive(ex, SerialPacket.Ok());
        Assert.Null(ex.NextDue);
    }

    [Fact]
    public void Withdraw_QueuedRequestNobodyShares_NotWritten()
    {
        var ex = Ready();
        var move = ex.Submit(Forward, SerialOrigin.Client);
        ex.Next();
        var doomed = ex.Submit(Cmd(CommandCode.Reverse, 1, 1), SerialOrigin.Client);
        var kept = ex.Submit(Cmd(CommandCode.ClearStats), SerialOrigin.Client);
        ex.Withdraw(doomed);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(move));
        Assert.Equal(CommandCode.ClearStats, ex.Next()!.Command);
        Arrive(ex, SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, Done(kept));
    }
}
