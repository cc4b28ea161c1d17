// The hub between the sessions and the Arduino (issue 4 items 4-5, DESIGN.md M4):
// - one driver at a time holds the lease; others watch; anyone authenticated may STOP;
// - the dead-man: the driver disconnects, or (heartbeating sessions) goes silent past the lease
//   window while the robot may be moving → STOP to the Arduino at once, everyone told why;
// - limits on speed and distance, refused with a clear error before anything reaches the Arduino;
// - telemetry polling (GET_STATS) through the link's low-priority path, so it never delays a command;
// - the Arduino's MESSAGE packets and the link's state fan out to every session.
// The timing rules themselves are pure decisions (Alex.Protocol.Safety) over the injected TimeProvider;
// the hub only gathers their inputs and acts on what they return.
using System.Collections.Concurrent;
using System.Globalization;
using Alex.Pki;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

/// <summary>Limits and timing of the hub.</summary>
public sealed class HubOptions
{
    /// <summary>How long a driver may stay silent (no frame, no heartbeat) before the dead-man acts.</summary>
    public TimeSpan LeaseWindow { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Highest speed a move may ask for, percent (course firmware: 0-100).</summary>
    public uint MaxSpeedPercent { get; init; } = 100;

    /// <summary>Longest distance (cm) or widest angle (degrees) of one move; null: no limit. With a limit, 0 ("until stopped") is refused.</summary>
    public uint? MaxDistanceCm { get; init; }

    /// <summary>Fastest telemetry a client may ask for.</summary>
    public TimeSpan MinTelemetryInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the hub polls while the robot may be moving, to see when it stops (even with no subscriber).</summary>
    public TimeSpan MotionPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>Why the hub refused a command before it reached the Arduino.</summary>
public enum RefusalKind
{
    /// <summary>A watcher asked for something only a driver may do.</summary>
    WatchOnly,

    /// <summary>Another client holds the lease.</summary>
    NotDriver,

    /// <summary>Speed or distance beyond the server's limits.</summary>
    Limit,

    /// <summary>The serial port is down.</summary>
    LinkDown,

    /// <summary>The Arduino did not answer in time.</summary>
    Timeout,
}

/// <summary>The outcome of one command: the Arduino's reply, or the hub's refusal with a reason.</summary>
public sealed record CommandResult(RobotReply? Reply, RefusalKind? Refusal, string Text)
{
    public bool IsOk => Reply is { IsOk: true };

    public static CommandResult Done(RobotReply reply) => reply.Kind switch
    {
        RobotReplyKind.LinkDown => new(reply, RefusalKind.LinkDown, "the Arduino is not connected: " + reply.Detail),
        RobotReplyKind.Timeout => new(reply, RefusalKind.Timeout, "the Arduino did not answer in time"),
        _ => new(reply, null, reply.ToString()),
    };

    public static CommandResult Refused(RefusalKind kind, string text) => new(null, kind, text);

    public override string ToString() => Refusal is { } r ? $"refused ({r}): {Text}" : Text;
}

/// <summary>The lease as everyone sees it.</summary>
public readonly record struct LeaseInfo(string? Holder, DateTimeOffset Since);

/// <summary>Connects sessions to the robot with the lease, dead-man, limits and telemetry.</summary>
public sealed class RobotHub : IAsyncDisposable
{
    private readonly IRobotLink _link;
    private readonly HubOptions _options;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<ClientSession, TelemetryWish> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Task _safetyLoop;
    private readonly Task _telemetryLoop;

    // Lease state, guarded by _gate.
    private ClientSession? _driver;
    private DateTimeOffset _driverSince;
    private DateTimeOffset _driverLastSeen;

    // Motion state, guarded by _gate: the robot "may be moving" from an acknowledged move until a STOP
    // is acknowledged or two polls in a row show the counters unchanged.
    private bool _mayBeMoving;
    private StatusCounters? _lastCounters;
    private int _unchangedPolls;
    private DateTimeOffset _lastCountersAt;

    public RobotHub(IRobotLink link, HubOptions options, AuditLog audit, TimeProvider time)
    {
        _link = link;
        _options = options;
        _audit = audit;
        _time = time;
        _link.Unsolicited += OnUnsolicited;
        _link.StateChanged += OnLinkStateChanged;
        _safetyLoop = SafetyLoopAsync(_stopping.Token);
        _telemetryLoop = TelemetryLoopAsync(_stopping.Token);
    }

    public HubOptions Options => _options;

    public bool LinkUp => _link.IsUp;

    public LeaseInfo Lease
    {
        get
        {
            lock (_gate)
            {
                return new LeaseInfo(_driver?.Identity.Name, _driverSince);
            }
        }
    }

    public bool MayBeMoving
    {
        get
        {
            lock (_gate)
            {
                return _mayBeMoving;
            }
        }
    }

    /// <summary>The last counters seen (a poll or a client's GET_STATS) and when.</summary>
    public (StatusCounters? Counters, DateTimeOffset At) LastCounters
    {
        get
        {
            lock (_gate)
            {
                return (_lastCounters, _lastCountersAt);
            }
        }
    }

    internal void Attach(ClientSession session) => _sessions.TryAdd(session, new TelemetryWish());

    /// <summary>A session ended: if it was driving, the lease is freed and, if the robot may be moving, it is stopped now.</summary>
    internal void Detach(ClientSession session, string reason)
    {
        _sessions.TryRemove(session, out _);
        LoseDriver(session, $"driver {session.Identity.Name} disconnected ({reason})", AlexLinkLeaseChange.DriverLeft);
    }

    /// <summary>A connected client is no longer allowed (revoked, unlisted): stop the robot if it drove, then close it.</summary>
    internal void Revoke(ClientSession session, string reason, AlexLinkRefusalCode code)
    {
        _audit.Write("revoked", ("name", session.Identity.Name), ("peer", session.Identity.Peer), ("reason", reason));
        LoseDriver(session, $"driver {session.Identity.Name} no longer allowed ({reason})", AlexLinkLeaseChange.Revoked);
        session.Refuse(code, reason);
    }

    /// <summary>Any frame from a session counts as a sign of life for the dead-man.</summary>
    internal void Heartbeat(ClientSession session)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_driver, session))
            {
                _driverLastSeen = _time.GetUtcNow();
            }
        }
    }

    /// <summary>The telemetry interval a session wants (null: none).</summary>
    internal TimeSpan? Subscribe(ClientSession session, TimeSpan? interval)
    {
        if (!_sessions.TryGetValue(session, out var wish))
        {
            return null;
        }

        wish.Interval = interval is { } i ? (i < _options.MinTelemetryInterval ? _options.MinTelemetryInterval : i) : null;
        _wake.Release();
        return wish.Interval;
    }

    /// <summary>Explicitly takes the lease (AlexLink/1 "acquire"). Returns null on success, else why not.</summary>
    internal CommandResult? TryAcquire(ClientSession session)
    {
        if (session.Identity.Role != PeerRole.Drive)
        {
            return CommandResult.Refused(RefusalKind.WatchOnly, $"{session.Identity.Name} may only watch");
        }

        LeaseInfo changed;
        lock (_gate)
        {
            if (ReferenceEquals(_driver, session))
            {
                _driverLastSeen = _time.GetUtcNow();
                return null;
            }

            if (_driver is not null)
            {
                return NotDriver();
            }

            var now = _time.GetUtcNow();
            _driver = session;
            _driverSince = now;
            _driverLastSeen = now;
            changed = new LeaseInfo(session.Identity.Name, now);
        }

        AnnounceLease(changed, AlexLinkLeaseChange.Taken, session.Identity.Name);
        return null;
    }

    /// <summary>Gives the lease back (AlexLink/1 "release"). The robot is stopped if it may be moving.</summary>
    internal void Release(ClientSession session) => LoseDriver(session, $"driver {session.Identity.Name} released the lease", AlexLinkLeaseChange.Released);

    /// <summary>
    /// Runs one command for a session: STOP from anyone, GET_STATS from anyone, anything else only
    /// from the lease holder (a driver takes a free lease by moving), within the limits.
    /// </summary>
    internal async Task<CommandResult> ExecuteAsync(ClientSession session, DriveCommand command, CancellationToken cancellationToken)
    {
        var result = await ExecuteCoreAsync(session, command, cancellationToken).ConfigureAwait(false);
        _audit.Write("command", ("name", session.Identity.Name), ("command", command.ToString()), ("result", result.ToString()));
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        _link.Unsolicited -= OnUnsolicited;
        _link.StateChanged -= OnLinkStateChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _wake.Release();
        await Task.WhenAll(_safetyLoop, _telemetryLoop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
        _wake.Dispose();
    }

    private async Task<CommandResult> ExecuteCoreAsync(ClientSession session, DriveCommand command, CancellationToken cancellationToken)
    {
        if (command.IsStop)
        {
            // Anyone authenticated may stop, and STOP jumps the queue in the link.
            var stopped = await _link.ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
            if (stopped.IsOk)
            {
                lock (_gate)
                {
                    _mayBeMoving = false;
                }

                // Every other client learns who stopped the robot.
                var at = _time.GetUtcNow();
                foreach (var s in _sessions.Keys)
                {
                    if (!ReferenceEquals(s, session))
                    {
                        s.OnSafetyStop(AlexLinkStopReason.StopRequested, session.Identity.Name, $"{session.Identity.Name} sent STOP", at);
                    }
                }
            }

            return CommandResult.Done(stopped);
        }

        if (command.Command != CommandCode.GetStats)
        {
            if (session.Identity.Role != PeerRole.Drive)
            {
                return CommandResult.Refused(RefusalKind.WatchOnly, $"{session.Identity.Name} may only watch: only STOP and GET_STATS are allowed");
            }

            if (CheckLimits(command) is { } limit)
            {
                return limit;
            }

            if (TryAcquire(session) is { } notDriver)
            {
                return notDriver;
            }
        }

        if (command.IsMove)
        {
            lock (_gate)
            {
                // Counted as moving from the moment it is sent: a lost reply must not blind the dead-man.
                _mayBeMoving = true;
                _unchangedPolls = 0;
            }

            _wake.Release();
        }

        var reply = await _link.ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
        if (reply.Status is { } status)
        {
            NoteCounters(status);
        }

        return CommandResult.Done(reply);
    }

    private CommandResult? CheckLimits(DriveCommand command)
    {
        if (!command.IsMove)
        {
            return null;
        }

        if (command.Param1 > _options.MaxSpeedPercent)
        {
            return CommandResult.Refused(RefusalKind.Limit, $"speed {command.Param1}% is above this server's limit of {_options.MaxSpeedPercent}%");
        }

        if (_options.MaxDistanceCm is { } max && command.Command is CommandCode.Forward or CommandCode.Reverse)
        {
            if (command.Param0 == 0)
            {
                return CommandResult.Refused(RefusalKind.Limit, $"distance 0 (until stopped) is not allowed with a distance limit of {max} cm");
            }

            if (command.Param0 > max)
            {
                return CommandResult.Refused(RefusalKind.Limit, $"distance {command.Param0} cm is above this server's limit of {max} cm");
            }
        }

        return null;
    }

    private CommandResult NotDriver()
    {
        // Caller holds _gate.
        var since = _driverSince.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        return CommandResult.Refused(RefusalKind.NotDriver, $"not the driver: {_driver!.Identity.Name} holds the lease since {since}");
    }

    // The driver is gone (disconnected, released, revoked): free the lease and stop a robot that may move.
    private void LoseDriver(ClientSession session, string why, AlexLinkLeaseChange change)
    {
        bool stop;
        lock (_gate)
        {
            if (!ReferenceEquals(_driver, session))
            {
                return;
            }

            _driver = null;
            _driverSince = _time.GetUtcNow();
            stop = _mayBeMoving;
        }

        AnnounceLease(new LeaseInfo(null, _driverSince), change, session.Identity.Name);
        if (stop)
        {
            var reason = change switch
            {
                AlexLinkLeaseChange.Revoked => AlexLinkStopReason.DriverRevoked,
                AlexLinkLeaseChange.Expired => AlexLinkStopReason.HeartbeatMissed,
                AlexLinkLeaseChange.Released => AlexLinkStopReason.StopRequested,
                _ => AlexLinkStopReason.DriverLeft,
            };
            SafetyStop(reason, session.Identity.Name, why);
        }
    }

    // STOP to the Arduino at once, on the server's own initiative; every session is told why.
    private void SafetyStop(AlexLinkStopReason reason, string name, string why)
    {
        // The STOP goes out before anyone is told: telling is not what stops the wheels.
        var stopping = StopNowAsync(why);
        _audit.Write("dead-man", ("name", name), ("kind", reason.ToString()), ("reason", why));
        var at = _time.GetUtcNow();
        foreach (var s in _sessions.Keys)
        {
            s.OnSafetyStop(reason, name, why, at);
        }

        _ = stopping;
    }

    private async Task StopNowAsync(string why)
    {
        var reply = await _link.ExecuteAsync(DriveCommand.Stop, CancellationToken.None).ConfigureAwait(false);
        if (reply.IsOk)
        {
            lock (_gate)
            {
                _mayBeMoving = false;
            }
        }

        _audit.Write("command", ("name", "server"), ("command", "s"), ("result", reply.ToString()), ("why", why));
    }

    private void AnnounceLease(LeaseInfo lease, AlexLinkLeaseChange change, string name)
    {
        _audit.Write("lease", ("name", name), ("change", change.ToString().ToLowerInvariant()), ("holder", lease.Holder));
        foreach (var s in _sessions.Keys)
        {
            s.OnLeaseChanged(lease.Holder, lease.Since, change);
        }
    }

    // The dead-man: checks the driver's last sign of life against the lease window.
    private async Task SafetyLoopAsync(CancellationToken cancellationToken)
    {
        var period = _options.LeaseWindow / 10;
        if (period < TimeSpan.FromMilliseconds(10))
        {
            period = TimeSpan.FromMilliseconds(10);
        }

        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                CheckDeadMan();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal void CheckDeadMan()
    {
        ClientSession? silent;
        bool moving;
        TimeSpan silence;
        lock (_gate)
        {
            if (_driver is null)
            {
                return;
            }

            silence = _time.GetUtcNow() - _driverLastSeen;
            if (silence <= _options.LeaseWindow)
            {
                return;
            }

            moving = _mayBeMoving;
            // Classic clients (the course's) send nothing between commands: their lease lapses only
            // while the robot is still, so another driver can take over; their disconnect stops it.
            if (!_driver.SendsHeartbeats && moving)
            {
                return;
            }

            silent = _driver;
            _driver = null;
            _driverSince = _time.GetUtcNow();
        }

        AnnounceLease(new LeaseInfo(null, _driverSince), AlexLinkLeaseChange.Expired, silent.Identity.Name);
        if (moving)
        {
            SafetyStop(AlexLinkStopReason.HeartbeatMissed, silent.Identity.Name, $"dead-man: driver {silent.Identity.Name} silent for {silence.TotalMilliseconds:0} ms (lease {_options.LeaseWindow.TotalMilliseconds:0} ms) while the robot may be moving");
        }
    }

    private async Task TelemetryLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var interval = NextPollInterval();
            try
            {
                if (interval is null)
                {
                    await _wake.WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await Task.Delay(interval.Value, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!_link.IsUp)
            {
                continue;
            }

            RobotReply reply;
            try
            {
                reply = await _link.PollStatsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (reply is { IsOk: true, Status: { } counters })
            {
                NoteCounters(counters);
            }
        }
    }

    private TimeSpan? NextPollInterval()
    {
        TimeSpan? best = null;
        foreach (var wish in _sessions.Values)
        {
            if (wish.Interval is { } i && (best is null || i < best))
            {
                best = i;
            }
        }

        if (MayBeMoving && (best is null || _options.MotionPollInterval < best))
        {
            best = _options.MotionPollInterval;
        }

        return best;
    }

    private void NoteCounters(StatusCounters counters)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_mayBeMoving && _lastCounters is { } previous && previous.Equals(counters))
            {
                // Two polls in a row with nothing moving: the move has finished (no "done" message exists).
                if (++_unchangedPolls >= 2)
                {
                    _mayBeMoving = false;
                }
            }
            else
            {
                _unchangedPolls = 0;
            }

            _lastCounters = counters;
            _lastCountersAt = now;
        }

        foreach (var (session, wish) in _sessions)
        {
            if (wish.Interval is { } interval && now - wish.LastSent >= interval - TimeSpan.FromMilliseconds(5))
            {
                wish.LastSent = now;
                session.OnTelemetry(counters, now);
            }
        }
    }

    private void OnUnsolicited(SerialPacket packet)
    {
        if (packet.Type == PacketType.Message)
        {
            var text = packet.Text;
            var data = packet.Data.ToArray();
            foreach (var s in _sessions.Keys)
            {
                s.OnArduinoMessage(data, text);
            }
        }
        else if (packet.Type == PacketType.Error)
        {
            foreach (var s in _sessions.Keys)
            {
                s.OnArduinoError(packet.Code);
            }
        }
    }

    private void OnLinkStateChanged(bool up, string detail)
    {
        _audit.Write("link", ("state", up ? "up" : "down"), ("detail", detail));
        if (up && MayBeMoving)
        {
            // The port vanished mid-move: an Arduino on battery may still be driving. Opening the port
            // resets an Uno through DTR, but not every board; a STOP costs nothing.
            _ = StopNowAsync("serial port back while the robot may have been moving");
        }

        foreach (var s in _sessions.Keys)
        {
            s.OnLinkState(up, detail);
        }
    }

    private sealed class TelemetryWish
    {
        public TimeSpan? Interval { get; set; }

        public DateTimeOffset LastSent { get; set; }
    }
}
