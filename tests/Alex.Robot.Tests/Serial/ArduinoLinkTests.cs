using Alex.Protocol.Serial;
using Alex.Robot.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Serial;

/// <summary>The Pi's side of the serial link over in-memory lines, on a fake clock.</summary>
public sealed class ArduinoLinkTests : IAsyncDisposable
{
    private static readonly ArduinoLinkOptions Fast = new() { ResetDelay = TimeSpan.Zero, HelloGrace = TimeSpan.Zero };

    private readonly FakeTimeProvider _time = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly CancellationTokenSource _cts = new();

    public async ValueTask DisposeAsync()
    {
        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            await d.DisposeAsync().AsTask().Within();
        }

        await _cts.CancelAsync();
        _cts.Dispose();
    }

    private SimulatedArduino Simulated(SimulatorSettings? settings = null) => new(settings ?? new(), _time, _cts.Token);

    private ArduinoLink Link(Func<CancellationToken, ValueTask<Stream>> open, ArduinoLinkOptions? options = null)
    {
        var link = new ArduinoLink(open, options ?? Fast, _time, "test line");
        _cleanup.Add(link);
        return link.Start();
    }

    private static SerialPacket Cmd(CommandCode c, uint p0 = 0, uint p1 = 0) => SerialPacket.ForCommand(c, p0, p1);

    // Drives the fake clock until the task completes (the link arms its timers on its own threads).
    private async Task<T> AdvanceUntil<T>(Task<T> task, TimeSpan step)
    {
        await Bounded.Until(
            () =>
            {
                if (!task.IsCompleted)
                {
                    _time.Advance(step);
                }

                return task.IsCompleted;
            },
            what: "the fake clock to run the task out");
        return await task;
    }

    // A link to an Arduino the test answers frame by frame, past the link's HELLO.
    private async Task<(ArduinoLink Link, ManualArduino Arduino)> ManualLinkAsync()
    {
        var line = new InMemorySerialLine();
        var link = Link(_ => ValueTask.FromResult(line.PiEnd));
        var arduino = new ManualArduino(line.ArduinoEnd);
        await arduino.NextAsync(); // HELLO
        return (link, arduino);
    }

    // The link is back to one request at a time: the next command goes out, is answered OK, and its caller hears it.
    private async Task AssertNextCommandAnsweredAsync(ArduinoLink link, ManualArduino arduino, SerialPacket command)
    {
        var next = link.SendAsync(command, _cts.Token);
        Assert.Equal(command.Command, (await arduino.NextAsync()).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await next.Within());
    }

    [Fact]
    public async Task SendAsync_Move_Ok()
    {
        var arduino = Simulated();
        var link = Link(arduino.Open);
        await link.WaitForStateAsync(ArduinoLinkState.Ready, _cts.Token).Within();

        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Forward, 50, 75), _cts.Token).Within());
        Assert.Equal(MotionKind.Forward, arduino.Alex.Motion);
    }

    [Theory]
    [InlineData(GetStatsReplyOrder.OkThenStatus)]
    [InlineData(GetStatsReplyOrder.StatusThenOk)]
    [InlineData(GetStatsReplyOrder.StatusOnly)]
    public async Task SendAsync_GetStats_AnyReplyOrder_StatusAndNextCommandMatched(GetStatsReplyOrder order)
    {
        var arduino = Simulated(new() { GetStatsReplyOrder = order });
        var link = Link(arduino.Open);
        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Forward, 10, 100), _cts.Token).Within());
        _time.Advance(TimeSpan.FromSeconds(30));

        for (var round = 0; round < 2; round++)
        {
            var stats = await link.SendAsync(Cmd(CommandCode.GetStats), _cts.Token).Within();
            Assert.NotNull(stats.Status);
            Assert.Equal(arduino.Alex.Counters, stats.Status);
            Assert.Equal(11u, stats.Status!.Value.ForwardDistanceCm);

            // The next command must get its own reply, not a trailing OK of GET_STATS. With STATUS
            // only, the first time the link waits out the grace window before sending it.
            var next = link.SendAsync(SerialPacket.ForRawCommand(77), _cts.Token);
            var reply = await AdvanceUntil(next, TimeSpan.FromMilliseconds(20));
            Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadCommand), reply);
        }
    }

    [Fact]
    public async Task SendAsync_UnknownCommand_ErrorBadCommand()
    {
        var link = Link(Simulated().Open);

        var reply = await link.SendAsync(SerialPacket.ForRawCommand(99), _cts.Token).Within();

        Assert.Equal(RobotReplyKind.ArduinoError, reply.Kind);
        Assert.Equal((byte)ResponseCode.BadCommand, reply.Code);
        Assert.False(reply.IsOk);
    }

    [Fact]
    public async Task Open_FirmwareAnswersHello_OkNotTakenForFirstReply()
    {
        var arduino = Simulated(new() { HelloReply = HelloReply.Ok });
        var notes = new List<string>();
        var link = new ArduinoLink(arduino.Open, Fast with { HelloGrace = TimeSpan.FromMilliseconds(300) }, _time, "test line");
        _cleanup.Add(link);
        link.Diagnostic += (_, n) => { lock (notes) { notes.Add(n); } };
        link.Start();

        // Queued before Ready: sent only after the HELLO grace, so it gets its own reply.
        var first = link.SendAsync(SerialPacket.ForRawCommand(42), _cts.Token);
        var reply = await AdvanceUntil(first, TimeSpan.FromMilliseconds(50));

        Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadCommand), reply);
        Assert.Equal(SerialPacket.Hello(), arduino.Received[0]);
        lock (notes)
        {
            Assert.Contains("the Arduino answered HELLO with OK", notes);
        }
    }

    [Fact]
    public async Task SendAsync_MoveReplyLost_TimeoutThenStop_AClientStopGetsItsOwnOk()
    {
        var line = new InMemorySerialLine();
        var link = Link(_ => ValueTask.FromResult(line.PiEnd), Fast with { ReplyTimeout = TimeSpan.FromMilliseconds(500) });
        var arduino = new ManualArduino(line.ArduinoEnd);
        Assert.Equal(PacketType.Hello, (await arduino.NextAsync()).Type);

        var silent = link.SendAsync(Cmd(CommandCode.Forward, 1, 1), _cts.Token);
        Assert.Equal(CommandCode.Forward, (await arduino.NextAsync()).Command);
        var stop = link.SendAsync(Cmd(CommandCode.Stop), _cts.Token);

        // The move's reply never comes: Timeout, and then a STOP (the client's, shared with the one the timeout calls for).
        Assert.Equal(RobotReplyKind.Timeout, (await AdvanceUntil(silent, TimeSpan.FromMilliseconds(50))).Kind);
        Assert.False(stop.IsCompleted);
        Assert.Equal(CommandCode.Stop, (await AdvanceUntil(arduino.NextAsync(), TimeSpan.FromMilliseconds(50))).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await stop.Within());
        Assert.Equal(RobotReplyKind.Timeout, (await silent).Kind);
        Assert.Equal(1, link.Counts.Timeouts);
        Assert.Equal(ArduinoLinkState.Ready, link.State);
    }

    [Fact]
    public async Task SendAsync_Stop_JumpsTheQueueAndDropsQueuedMoves()
    {
        var (link, arduino) = await ManualLinkAsync();

        var inFlight = link.SendAsync(Cmd(CommandCode.Forward, 100, 50), _cts.Token);
        Assert.Equal(CommandCode.Forward, (await arduino.NextAsync()).Command);
        var poll = link.SendAsync(Cmd(CommandCode.GetStats), SerialOrigin.Poll, null, _cts.Token);
        var queued = link.SendAsync(Cmd(CommandCode.Reverse, 100, 50), _cts.Token);
        var turn = link.SendAsync(Cmd(CommandCode.TurnLeft, 90, 50), _cts.Token);
        var clear = link.SendAsync(Cmd(CommandCode.ClearStats), _cts.Token);
        var stop = link.SendAsync(Cmd(CommandCode.Stop), _cts.Token);

        // The moves asked for before the STOP are dropped at once: they must never start after it.
        Assert.Equal(RobotReply.Stopped, await queued.Within());
        Assert.Equal(RobotReply.Stopped, await turn.Within());

        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await inFlight.Within());
        Assert.Equal(CommandCode.Stop, (await arduino.NextAsync()).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await stop.Within());

        // What does not move the robot still goes, in order: CLEAR_STATS, then the background poll.
        Assert.Equal(CommandCode.ClearStats, (await arduino.NextAsync()).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await clear.Within());
        Assert.Equal(CommandCode.GetStats, (await arduino.NextAsync()).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        await arduino.ReplyAsync(SerialPacket.StatusReply(new(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)));
        Assert.Equal(10u, (await poll.Within()).Status!.Value.ReverseDistanceCm);

        // A move asked for after the STOP is sent as usual.
        await AssertNextCommandAnsweredAsync(link, arduino, Cmd(CommandCode.Forward, 10, 50));
    }

    [Fact]
    public async Task SendAsync_StopWhileAMoveIsOnTheWire_WrittenRightAfterItsReply_RepliesCreditedInOrder()
    {
        var (link, arduino) = await ManualLinkAsync();

        var move = link.SendAsync(Cmd(CommandCode.Forward, 100, 50), _cts.Token);
        Assert.Equal(CommandCode.Forward, (await arduino.NextAsync()).Command);

        // One request on the wire at a time: replies carry no id, so the STOP goes out as soon as the move is answered.
        var stop = link.SendAsync(Cmd(CommandCode.Stop), _cts.Token);
        var stopWritten = arduino.NextAsync();
        Assert.False(stopWritten.IsCompleted);
        await arduino.ReplyAsync(SerialPacket.Error(ResponseCode.BadCommand));
        Assert.Equal(RobotReply.ArduinoError((byte)ResponseCode.BadCommand), await move.Within());
        Assert.Equal(CommandCode.Stop, (await stopWritten).Command);
        Assert.False(stop.IsCompleted);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await stop.Within());

        await AssertNextCommandAnsweredAsync(link, arduino, Cmd(CommandCode.ClearStats));
    }

    [Fact]
    public async Task SendAsync_SilentArduino_MoveAndStopTimeOut_ThenTheLinkWorks()
    {
        var (link, arduino) = await ManualLinkAsync();

        var move = link.SendAsync(Cmd(CommandCode.Forward, 100, 50), _cts.Token);
        Assert.Equal(CommandCode.Forward, (await arduino.NextAsync()).Command);
        var stop = link.SendAsync(Cmd(CommandCode.Stop), _cts.Token);

        // Nothing answers: each times out in turn, and the link goes on.
        Assert.Equal(RobotReplyKind.Timeout, (await AdvanceUntil(move, TimeSpan.FromMilliseconds(100))).Kind);
        Assert.Equal(CommandCode.Stop, (await AdvanceUntil(arduino.NextAsync(), TimeSpan.FromMilliseconds(100))).Command);
        Assert.Equal(RobotReplyKind.Timeout, (await AdvanceUntil(stop, TimeSpan.FromMilliseconds(100))).Kind);
        var next = link.SendAsync(Cmd(CommandCode.ClearStats), _cts.Token);
        Assert.Equal(CommandCode.ClearStats, (await AdvanceUntil(arduino.NextAsync(), TimeSpan.FromMilliseconds(100))).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await next.Within());
    }

    [Fact]
    public async Task SendAsync_CancelledWhileQueued_RemovedOthersProceed()
    {
        var (link, arduino) = await ManualLinkAsync();

        var inFlight = link.SendAsync(Cmd(CommandCode.Forward, 1, 1), _cts.Token);
        await arduino.NextAsync();
        using var cancel = new CancellationTokenSource();
        var doomed = link.SendAsync(Cmd(CommandCode.Reverse, 1, 1), cancel.Token);
        var kept = link.SendAsync(Cmd(CommandCode.ClearStats), _cts.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => doomed.Within());
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await inFlight.Within());
        Assert.Equal(CommandCode.ClearStats, (await arduino.NextAsync()).Command);
        await arduino.ReplyAsync(SerialPacket.Ok());
        Assert.Equal(RobotReply.Ok, await kept.Within());
    }

    [Fact]
    public async Task Unsolicited_MessageAndStatusSurfaced_NoiseNoted()
    {
        var arduino = Simulated();
        var link = new ArduinoLink(arduino.Open, Fast, _time, "test line");
        _cleanup.Add(link);
        var seen = new List<SerialPacket>();
        var notes = new List<string>();
        var got = new TaskCompletionSource();
        link.Unsolicited += p => { lock (seen) { seen.Add(p); if (seen.Count == 2) { got.TrySetResult(); } } };
        link.Diagnostic += (_, n) => { lock (notes) { notes.Add(n); } };
        link.Start();
        await link.WaitForStateAsync(ArduinoLinkState.Ready, _cts.Token).Within();

        arduino.Pump.SendMessage("Hello from Alex");
        arduino.Pump.Send(SerialPacket.StatusReply(new(95, 95, 0, 0, 0, 0, 0, 0, 9, 0)));
        await got.Task.Within();

        lock (seen)
        {
            Assert.Equal("Hello from Alex", seen[0].Text);
            Assert.Equal(9u, seen[1].Status.ForwardDistanceCm);
        }

        // A command still gets its reply after them.
        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Stop), _cts.Token).Within());
    }

    [Fact]
    public async Task PortVanishes_InFlightAndQueuedGetLinkDown_ReopensAndWorksAgain()
    {
        var line = new InMemorySerialLine();
        var arduino = Simulated();
        var opens = 0;
        var link = new ArduinoLink(
            ct =>
            {
                // First open: a line we control by hand; later: the simulator.
                return Interlocked.Increment(ref opens) == 1 ? ValueTask.FromResult(line.PiEnd) : arduino.Open(ct);
            },
            Fast with { ReopenDelay = TimeSpan.FromMilliseconds(100) },
            _time,
            "test line");
        _cleanup.Add(link);
        var states = new List<ArduinoLinkState>();
        link.StateChanged += (s, _) => { lock (states) { states.Add(s); } };
        link.Start();
        var manual = new ManualArduino(line.ArduinoEnd);
        await manual.NextAsync(); // HELLO

        var inFlight = link.SendAsync(Cmd(CommandCode.Forward, 1, 1), _cts.Token);
        await manual.NextAsync();
        var queued = link.SendAsync(Cmd(CommandCode.Reverse, 1, 1), _cts.Token);
        var reopening = link.WaitForStateAsync(ArduinoLinkState.Reopening, _cts.Token);
        line.Sever();

        Assert.Equal(RobotReplyKind.LinkDown, (await inFlight.Within()).Kind);
        Assert.Equal(RobotReplyKind.LinkDown, (await queued.Within()).Kind);
        await reopening.Within();
        Assert.Equal(RobotReplyKind.LinkDown, (await link.SendAsync(Cmd(CommandCode.Stop), _cts.Token).Within()).Kind);

        var ready = link.WaitForStateAsync(ArduinoLinkState.Ready, _cts.Token);
        await AdvanceUntil(ready.ContinueWith(_ => true, TaskScheduler.Default), TimeSpan.FromMilliseconds(20));
        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Stop), _cts.Token).Within());
        lock (states)
        {
            Assert.Equal([ArduinoLinkState.Ready, ArduinoLinkState.Lost, ArduinoLinkState.Reopening, ArduinoLinkState.Opening, ArduinoLinkState.Ready], states);
        }
    }

    [Fact]
    public async Task Open_PortMissing_ReopeningWithReasonUntilItAppears()
    {
        var arduino = Simulated();
        var attempts = 0;
        string? reason = null;
        var link = new ArduinoLink(
            ct => Interlocked.Increment(ref attempts) < 3 ? throw new FileNotFoundException("no such port /dev/ttyACM0") : arduino.Open(ct),
            Fast,
            _time,
            "/dev/ttyACM0");
        _cleanup.Add(link);
        link.StateChanged += (s, r) => { if (s == ArduinoLinkState.Reopening) { Volatile.Write(ref reason, r); } };
        link.Start();
        await link.WaitForStateAsync(ArduinoLinkState.Reopening, _cts.Token).Within();

        var ready = link.WaitForStateAsync(ArduinoLinkState.Ready, _cts.Token);
        await AdvanceUntil(ready.ContinueWith(_ => true, TaskScheduler.Default), TimeSpan.FromMilliseconds(100));

        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.Equal("cannot open /dev/ttyACM0: no such port /dev/ttyACM0", Volatile.Read(ref reason));
    }

    [Fact]
    public async Task Dispose_FailsQueuedAndCloses()
    {
        var line = new InMemorySerialLine();
        var link = new ArduinoLink(_ => ValueTask.FromResult(line.PiEnd), Fast, _time, "test line").Start();
        var manual = new ManualArduino(line.ArduinoEnd);
        await manual.NextAsync();
        var pending = link.SendAsync(Cmd(CommandCode.Forward, 1, 1), _cts.Token);
        await manual.NextAsync();

        await link.DisposeAsync().AsTask().Within();

        Assert.Equal(RobotReplyKind.LinkDown, (await pending.Within()).Kind);
        Assert.Equal(ArduinoLinkState.Closed, link.State);
        Assert.Equal(RobotReplyKind.LinkDown, (await link.SendAsync(Cmd(CommandCode.Stop), _cts.Token).Within()).Kind);
    }

    [Fact]
    public void SendAsync_NotACommand_Refused()
    {
        var link = new ArduinoLink(_ => throw new IOException("unused"), Fast, _time, "unused");

        Assert.Throws<ArgumentException>(() => { _ = link.SendAsync(SerialPacket.Hello(), CancellationToken.None); });
    }
}
