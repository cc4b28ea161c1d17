// The Pi's side of the serial exchange with the Arduino as a pure decision (docs/course-protocol.md §2-3;
// docs/protocol.md "Serial link"): no I/O, no clock but the TimeProvider given. The link's loop
// feeds it what happens (a request, bytes read, the port opened or lost, a deadline reached) and
// asks what to write next; it hands back the replies to deliver, the packets nobody asked for and
// one-line diagnostics, and keeps counts of the line's trouble.
//
//   opened ─► quiet for ResetDelay (the Uno resets on open) ─► HELLO (an OK to it within HelloGrace
//   is its reply; silence is fine) ─► Ready: one frame on the wire at a time
//   lost ─► every request waiting or on the wire answers LinkDown; requests answer LinkDown until opened
//
// Rules:
// - Replies carry no request id, so exactly one request is on the wire at a time, and every reply
//   is credited to it or to nobody. With two on the wire a lone OK could not be told apart.
// - STOP goes next, ahead of everything queued; it drops the moves still queued (they answer Stopped:
//   a move asked for before a STOP must never start after it), also a move that arrived before the
//   STOP but reached the exchange after it (the stop epoch a session noted on arrival). There is at
//   most one STOP on the wire or waiting: every STOP asked for meanwhile shares its reply, so a flood
//   of STOPs costs the line one STOP.
// - GET_STATS are shared: all that arrive while one is waiting or on the wire (before its STATUS) get
//   its reading. A reading no older than ReadingMaxAge, with no command written since, answers at
//   once. The reply says when the reading was taken.
// - Fairness: commands (moves, CLEAR_STATS: the driver's, the lease allows no one else) and a shared
//   GET_STATS some client waits for take turns, so a command waits behind at most one GET_STATS.
//   A telemetry poll nobody else waits for goes only when no command waits.
// - GET_STATS ends on its STATUS whatever the firmware's order (STATUS only, OK then STATUS, STATUS
//   then OK, §3): the caller has the STATUS at once; the order is learnt from the first exchange on
//   each opening so that a trailing OK is never taken for the next command's reply.
// - A reply not in time (ReplyTimeout, or a declared command's own replyWithinMs): the request answers Timeout; the
//   line stays quiet for StatsGrace so that a late reply is dropped (and counted), not credited to the next request;
//   a move that timed out is followed by a STOP (the move may have reached the Arduino even if its reply did not
//   come back). A reply in time ends the deadline: the grace for a trailing OK may run past it.
// - A team's declared command (docs/extensions.md) that replies with values ends on its declared packet (a RESPONSE
//   of its type, a STATUS-shaped RESPONSE, or a MESSAGE), with or without an OK before it; with no OK before it, the
//   line waits StatsGrace for a trailing OK, as for GET_STATS. Declared moving commands are moves: STOP drops them,
//   a lost reply is followed by a STOP.
using Alex.Protocol.Extensions;

namespace Alex.Protocol.Serial;

/// <summary>Who asked: a client (through the hub), the hub's telemetry poll, or the exchange itself.</summary>
public enum SerialOrigin
{
    Client,
    Poll,
    Server,
}

/// <summary>What the exchange has to say about the line, for the log and the counts.</summary>
public enum SerialNoteKind
{
    Noise,
    BadChecksum,
    Timeout,
    LateReply,
    StopAfterTimeout,
    Opened,
    Lost,
    Info,
}

/// <summary>One request on its way to the Arduino, shared by every request that joined it.</summary>
public sealed class SerialJob
{
    // Synchronous continuations: whoever awaits the reply carries on on the thread that delivered it. The
    // exchange never completes a job itself: the link's loop does, outside its lock (see SerialEvent).
    private readonly TaskCompletionSource<RobotReply> _done = new();
    private RobotReply? _result;

    internal SerialJob(SerialPacket command, SerialOrigin origin)
    {
        Command = command;
        Origin = origin;
    }

    public SerialPacket Command { get; }

    public SerialOrigin Origin { get; }

    /// <summary>The reply, shared by every request that joined this job.</summary>
    public Task<RobotReply> Reply => _done.Task;

    /// <summary>How many requests wait for this job's reply.</summary>
    public int Waiters { get; internal set; }

    internal bool HasResult => _result is not null;

    internal bool ClientWaits { get; set; }

    // On the wire:
    internal long Deadline { get; set; }

    internal long? GraceUntil { get; set; }

    internal bool SawOk { get; set; }

    internal bool SawStatus { get; set; }

    /// <summary>Delivers the reply the exchange decided (call outside any lock).</summary>
    public void Deliver()
    {
        if (_result is { } r)
        {
            _done.TrySetResult(r);
        }
    }

    internal bool SetResult(RobotReply reply)
    {
        if (_result is not null)
        {
            return false;
        }

        _result = reply;
        return true;
    }

    internal static SerialJob Done(SerialPacket command, RobotReply reply)
    {
        var job = new SerialJob(command, SerialOrigin.Client) { Waiters = 1 };
        job._result = reply;
        job._done.TrySetResult(reply);
        return job;
    }
}

/// <summary>Something for the link's loop to do after a call: deliver a reply, pass on a packet, log a note.</summary>
public readonly record struct SerialEvent(SerialJob? Answered, SerialPacket? Unsolicited, SerialNoteKind Note, string? Text);

/// <summary>Counts of the line's trouble since the server started.</summary>
public readonly record struct SerialLineCounts(long NoiseRuns, long BadChecksums, long Timeouts, long LateReplies, long Opens, long Losses)
{
    public override string ToString() =>
        $"noise {NoiseRuns}, bad checksum {BadChecksums}, timeouts {Timeouts}, late replies {LateReplies}, opened {Opens}, lost {Losses}";
}

/// <summary>The serial exchange. Not thread-safe: the link calls it under one lock.</summary>
public sealed class SerialExchange
{
    private readonly ArduinoLinkOptions _options;
    private readonly TimeProvider _time;
    private readonly SerialFrameDecoder _decoder = new();
    private readonly Queue<SerialJob> _commands = new();
    private readonly List<SerialEvent> _events = [];
    private SerialJob? _stop;
    private SerialJob? _read;
    private SerialJob? _onWire;
    private bool _up;
    private bool _accepting = true; // from the start until the first open fails: requests wait for the port
    private bool _helloDone;
    private string _downReason = "not connected yet";
    private long _quietUntil;
    private bool _lastWasCommand;
    private bool _commandSinceReading = true;
    private StatsOrder _statsOrder;
    private RobotReply? _reading;
    private long _readingAt;
    private long _stopEpoch;
    private SerialLineCounts _counts;

    public SerialExchange(ArduinoLinkOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        _options = options;
        _time = time;
    }

    private enum StatsOrder
    {
        Unknown,
        StatusOnly,
        OkThenStatus,
        StatusThenOk,
    }

    /// <summary>True once HELLO is done on an open port (until the port is lost).</summary>
    public bool IsReady => _up && _helloDone;

    /// <summary>How many STOPs have been asked for: a session notes it when a command arrives (see <see cref="Submit"/>).</summary>
    public long StopEpoch => _stopEpoch;

    public SerialLineCounts Counts => _counts;

    /// <summary>Requests waiting for the line (not on the wire); bounded by one STOP, one GET_STATS and the commands queued.</summary>
    public int Waiting => _commands.Count + (_stop is null ? 0 : 1) + (_read is null ? 0 : 1);

    /// <summary>
    /// A request. Returns its job (shared with others, or already answered: Stopped, LinkDown, a fresh reading).
    /// <paramref name="stopEpoch"/> is <see cref="StopEpoch"/> when the command arrived: a move that arrived before a
    /// STOP that has since been asked for answers Stopped.
    /// </summary>
    public SerialJob Submit(SerialPacket command, SerialOrigin origin, long? stopEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Type != PacketType.Command)
        {
            throw new ArgumentException($"only COMMAND packets are sent as requests, not {command.Type}", nameof(command));
        }

        var isMove = IsMove(command);
        if (isMove && stopEpoch is { } epoch && epoch != _stopEpoch)
        {
            return SerialJob.Done(command, RobotReply.Stopped);
        }

        if (!_accepting)
        {
            return SerialJob.Done(command, RobotReply.LinkDown(_downReason));
        }

        switch (command.Command)
        {
            case CommandCode.Stop:
                return Join(StopJob(origin));
            case CommandCode.GetStats:
                return ReadJob(origin);
            default:
                var job = new SerialJob(command, origin);
                _commands.Enqueue(job);
                return Join(job);
        }
    }

    /// <summary>A caller gave up on its request (cancelled): a job nobody else waits for leaves the queue.</summary>
    public void Withdraw(SerialJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.HasResult || ReferenceEquals(job, _onWire) || --job.Waiters > 0)
        {
            return;
        }

        if (ReferenceEquals(job, _stop))
        {
            _stop = null;
        }
        else if (ReferenceEquals(job, _read))
        {
            _read = null;
        }
        else if (_commands.Contains(job))
        {
            var kept = _commands.Where(j => !ReferenceEquals(j, job)).ToArray();
            _commands.Clear();
            foreach (var j in kept)
            {
                _commands.Enqueue(j);
            }
        }
    }

    /// <summary>The port is open: stay quiet for the reset delay, then HELLO.</summary>
    public void Opened(string detail)
    {
        _up = true;
        _accepting = true;
        _helloDone = false;
        _onWire = null;
        _decoder.Reset();
        _statsOrder = StatsOrder.Unknown;
        _quietUntil = _time.GetTimestamp() + Ticks(_options.ResetDelay);
        _counts = _counts with { Opens = _counts.Opens + 1 };
        _events.Add(new(null, null, SerialNoteKind.Opened, detail));
    }

    /// <summary>The port failed, vanished or could not be opened: everything asked answers LinkDown with the reason.</summary>
    public void Lost(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (_up)
        {
            _counts = _counts with { Losses = _counts.Losses + 1 };
            _events.Add(new(null, null, SerialNoteKind.Lost, reason));
        }

        _up = false;
        _accepting = false;
        _helloDone = false;
        _downReason = reason;
        var down = RobotReply.LinkDown(reason);
        if (_onWire is { } wire)
        {
            Answer(wire, down);
        }

        _onWire = null;
        if (_stop is { } stop)
        {
            Answer(stop, down);
            _stop = null;
        }

        if (_read is { } read)
        {
            Answer(read, down);
            _read = null;
        }

        while (_commands.TryDequeue(out var job))
        {
            Answer(job, down);
        }
    }

    /// <summary>Bytes read from the port.</summary>
    public void Received(ReadOnlySpan<byte> bytes)
    {
        _decoder.Append(bytes);
        while (_decoder.TryRead(out var r))
        {
            switch (r.Kind)
            {
                case SerialReadKind.Frame:
                    OnPacket(r.Packet!);
                    break;
                case SerialReadKind.BadChecksum:
                    _counts = _counts with { BadChecksums = _counts.BadChecksums + 1 };
                    _events.Add(new(null, null, SerialNoteKind.BadChecksum, "from the Arduino: a frame with a bad checksum"));
                    break;
                default:
                    _counts = _counts with { NoiseRuns = _counts.NoiseRuns + 1 };
                    _events.Add(new(null, null, SerialNoteKind.Noise, $"from the Arduino: {r.ByteCount} bytes of noise (resynchronised on the next frame)"));
                    break;
            }
        }
    }

    /// <summary>Acts on the deadlines that have passed (a reply not in time, a grace window over).</summary>
    public void Tick()
    {
        if (_onWire is not { } wire)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (wire.GraceUntil is { } grace)
        {
            // The reply came in time; only a trailing OK is awaited, so the reply deadline no longer applies.
            if (now >= grace)
            {
                if (wire.Command.Command == CommandCode.GetStats)
                {
                    _statsOrder = StatsOrder.StatusOnly; // STATUS came and no OK followed it
                }

                _onWire = null;
            }

            return;
        }

        if (now < wire.Deadline)
        {
            return;
        }

        _onWire = null;
        if (wire.Command.Type == PacketType.Hello)
        {
            _helloDone = true; // firmware that does not answer HELLO: fine
            return;
        }

        _counts = _counts with { Timeouts = _counts.Timeouts + 1 };
        _quietUntil = now + Ticks(_options.EffectiveStatsGrace);
        var text = $"no reply to {wire.Command} within {ReplyTimeoutFor(wire.Command).TotalMilliseconds:0} ms";
        _events.Add(new(null, null, SerialNoteKind.Timeout, text));
        Answer(wire, RobotReply.Timeout(text));
        if (IsMove(wire.Command))
        {
            _events.Add(new(null, null, SerialNoteKind.StopAfterTimeout, $"STOP sent: the reply to {wire.Command} was lost, the robot may be moving"));
            StopJob(SerialOrigin.Server);
        }
    }

    /// <summary>Acts on the deadlines passed (<see cref="Tick"/>), then returns the frame to write now, if any: it is on the wire from this call.</summary>
    public SerialPacket? Next()
    {
        Tick();
        return NextWrite();
    }

    private SerialPacket? NextWrite()
    {
        if (!_up || _onWire is not null || _time.GetTimestamp() < _quietUntil)
        {
            return null;
        }

        var job = _helloDone ? TakeNext() : new SerialJob(SerialPacket.Hello(), SerialOrigin.Server);
        if (job is null)
        {
            return null;
        }

        var now = _time.GetTimestamp();
        job.Deadline = now + Ticks(_helloDone ? ReplyTimeoutFor(job.Command) : _options.EffectiveHelloGrace);
        _onWire = job;
        if (job.Command.Command != CommandCode.GetStats && job.Command.Type == PacketType.Command)
        {
            _commandSinceReading = true;
        }

        return job.Command;
    }

    /// <summary>When <see cref="Next"/> next has something to do without any input; null: nothing.</summary>
    public long? NextDue
    {
        get
        {
            if (!_up)
            {
                return null;
            }

            if (_onWire is { } wire)
            {
                return wire.GraceUntil ?? wire.Deadline;
            }

            var waiting = !_helloDone || Waiting > 0;
            return waiting && _quietUntil > _time.GetTimestamp() ? _quietUntil : null;
        }
    }

    /// <summary>Moves what the last calls produced into <paramref name="into"/>: replies to deliver, packets, notes.</summary>
    public void TakeEvents(List<SerialEvent> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        into.AddRange(_events);
        _events.Clear();
    }

    private static SerialJob Join(SerialJob job)
    {
        job.Waiters++;
        return job;
    }

    private SerialJob StopJob(SerialOrigin origin)
    {
        _stopEpoch++;
        if (_commands.Any(j => IsMove(j.Command)))
        {
            var kept = new List<SerialJob>(_commands.Count);
            var dropped = 0;
            while (_commands.TryDequeue(out var j))
            {
                if (IsMove(j.Command))
                {
                    Answer(j, RobotReply.Stopped);
                    dropped++;
                }
                else
                {
                    kept.Add(j);
                }
            }

            kept.ForEach(_commands.Enqueue);
            _events.Add(new(null, null, SerialNoteKind.Info, $"STOP dropped {dropped} queued move(s) before they were sent"));
        }

        if (_onWire is { HasResult: false } wire && wire.Command.Command == CommandCode.Stop)
        {
            return wire;
        }

        return _stop ??= new SerialJob(DriveCommand.Stop.ToPacket(), origin);
    }

    private SerialJob ReadJob(SerialOrigin origin)
    {
        var now = _time.GetTimestamp();
        if (origin == SerialOrigin.Client && _reading is { } reading && !_commandSinceReading && _options.ReadingMaxAge > TimeSpan.Zero && now - _readingAt <= Ticks(_options.ReadingMaxAge))
        {
            return SerialJob.Done(DriveCommand.GetStats.ToPacket(), reading);
        }

        var job = _onWire is { HasResult: false, SawStatus: false } wire && wire.Command.Command == CommandCode.GetStats
            ? wire
            : _read ??= new SerialJob(DriveCommand.GetStats.ToPacket(), origin);
        job.ClientWaits |= origin == SerialOrigin.Client;
        return Join(job);
    }

    private SerialJob? TakeNext()
    {
        SerialJob? job;
        if (_stop is not null)
        {
            (job, _stop) = (_stop, null);
            return job;
        }

        var readTurn = _read is { ClientWaits: true } && (_lastWasCommand || _commands.Count == 0);
        if (!readTurn && _commands.TryDequeue(out job))
        {
            _lastWasCommand = true;
            return job;
        }

        (job, _read) = (_read, null);
        _lastWasCommand = false;
        return job;
    }

    private void OnPacket(SerialPacket p)
    {
        if (_onWire is { Command.Type: PacketType.Command } declaredWire && _options.Extensions.TryGetByCode(declaredWire.Command.Code, out var declared) && declared.Reply != DeclaredReplyKind.Ok)
        {
            OnDeclaredReply(declaredWire, declared, p);
            return;
        }

        if (p.Type == PacketType.Message)
        {
            _events.Add(new(null, p, SerialNoteKind.Info, null));
            return;
        }

        if (_onWire is not { } wire)
        {
            Stray(p, "with nothing on the wire");
            return;
        }

        if (wire.Command.Type == PacketType.Hello)
        {
            _onWire = null;
            _helloDone = true;
            _events.Add(new(null, null, SerialNoteKind.Info, $"the Arduino answered HELLO with {(p.IsOk ? "OK" : p.ToString())}"));
            return;
        }

        if (wire.Command.Command == CommandCode.GetStats)
        {
            OnStatsReply(wire, p);
            return;
        }

        if (p.IsStatus)
        {
            Stray(p, $"while waiting for the reply to {wire.Command}");
            return;
        }

        _onWire = null;
        Answer(wire, p.IsOk ? RobotReply.Ok : RobotReply.ArduinoError(p.Code));
    }

    private void OnStatsReply(SerialJob wire, SerialPacket p)
    {
        if (p.Type == PacketType.Error)
        {
            _onWire = null;
            Answer(wire, RobotReply.ArduinoError(p.Code));
            return;
        }

        if (p.IsOk)
        {
            if (wire.SawStatus)
            {
                _statsOrder = StatsOrder.StatusThenOk;
                _onWire = null;
            }
            else if (wire.SawOk)
            {
                Stray(p, "while waiting for a STATUS");
            }
            else
            {
                wire.SawOk = true;
            }

            return;
        }

        if (!p.IsStatus || wire.SawStatus)
        {
            Stray(p, "while waiting for a STATUS");
            return;
        }

        wire.SawStatus = true;
        var now = _time.GetTimestamp();
        _reading = RobotReply.Reading(p.Status, _time.GetUtcNow());
        _readingAt = now;
        _commandSinceReading = false;
        Answer(wire, _reading);
        if (wire.SawOk)
        {
            _statsOrder = StatsOrder.OkThenStatus;
            _onWire = null;
        }
        else if (_statsOrder == StatsOrder.StatusOnly)
        {
            _onWire = null;
        }
        else if (_statsOrder == StatsOrder.Unknown)
        {
            // Not known yet: give a trailing OK a moment before anything else is written.
            wire.GraceUntil = now + Ticks(_options.EffectiveStatsGrace);
        }
    }

    // The reply to a declared command with values: its declared packet, an OK before or after it, or an ERROR.
    private void OnDeclaredReply(SerialJob wire, DeclaredCommand declared, SerialPacket p)
    {
        var isValues = declared.Reply == DeclaredReplyKind.Message
            ? p.Type == PacketType.Message
            : declared.Response!.StatusShaped ? p.IsStatus : p.Type == PacketType.Response && p.Code == declared.Response.Code;
        if (isValues && !wire.SawStatus)
        {
            wire.SawStatus = true;
            Answer(wire, RobotReply.Declared(p, _time.GetUtcNow()));
            if (wire.SawOk)
            {
                _onWire = null;
            }
            else
            {
                wire.GraceUntil = _time.GetTimestamp() + Ticks(_options.EffectiveStatsGrace);
            }

            return;
        }

        if (p.Type == PacketType.Message)
        {
            _events.Add(new(null, p, SerialNoteKind.Info, null));
            return;
        }

        if (p.Type == PacketType.Error && !wire.SawStatus)
        {
            _onWire = null;
            Answer(wire, RobotReply.ArduinoError(p.Code));
            return;
        }

        if (p.IsOk && wire.SawStatus)
        {
            _onWire = null; // the trailing OK
            return;
        }

        if (p.IsOk && !wire.SawOk)
        {
            wire.SawOk = true;
            return;
        }

        Stray(p, $"while waiting for the reply to {wire.Command}");
    }

    // A declared command may have its own (longer) time to answer; everything else has the link's.
    private TimeSpan ReplyTimeoutFor(SerialPacket command) =>
        command.Type == PacketType.Command && _options.Extensions.TryGetByCode(command.Code, out var declared) && declared.ReplyWithin is { } within
            ? within
            : _options.ReplyTimeout;

    private bool IsMove(SerialPacket command) => command.Type == PacketType.Command && _options.Extensions.IsMove(command.Command);

    // A reply nobody asked for: STATUS and ERROR are passed on (the firmware may send them on its own), an OK is late.
    private void Stray(SerialPacket p, string when)
    {
        if (p.IsStatus || p.Type == PacketType.Error)
        {
            _events.Add(new(null, p, SerialNoteKind.Info, null));
            return;
        }

        _counts = _counts with { LateReplies = _counts.LateReplies + 1 };
        _events.Add(new(null, null, SerialNoteKind.LateReply, $"ignored {p} {when} (a late reply?)"));
    }

    private void Answer(SerialJob job, RobotReply reply)
    {
        if (job.SetResult(reply))
        {
            _events.Add(new(job, null, SerialNoteKind.Info, null));
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
