// The hub between the sessions and the Arduino (docs/security.md, "While connected"):
// - one driver at a time holds the lease; others watch; anyone authenticated may STOP;
// - the dead-man: the driver disconnects, or (heartbeating sessions) goes silent past the lease
//   window while the robot may be moving, or (classic sessions) goes silent past the silent-move limit
//   during a move without end → STOP to the Arduino at once, everyone told why;
// - limits on speed and distance, refused with a clear error before anything reaches the Arduino;
// - telemetry polling (GET_STATS) through the link's low-priority path, so it never delays a command;
// - the Arduino's MESSAGE packets and the link's state fan out to every session.
// Telling everyone never holds up the requester: the hub posts a Broadcast (one object, encoded once per protocol)
// and one fan-out task hands it to each session's push queue (ClientSession.Push), so the driver's reply does not
// wait for fifty watchers' TLS writes. Telemetry is paced per session there, at the interval each one asked for.
// The lease, the dead-man and the limits are pure decisions (Alex.Protocol.Safety.DriverLease) over the
// injected TimeProvider; the hub feeds them events (commands, frames, departures, the lease's deadline)
// and acts on what they return: refuse, tell everyone about the lease, send STOP now.
using System.Globalization;
using System.Threading.Channels;
using Alex.Pki;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Safety;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

/// <summary>Limits and timing of the hub.</summary>
public sealed class HubOptions
{
    /// <summary>How long a driver may stay silent (no frame, no heartbeat) before the dead-man acts.</summary>
    public TimeSpan LeaseWindow { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Highest speed a move may ask for, percent (course firmware: 0-100).</summary>
    public uint MaxSpeedPercent { get; init; } = 100;

    /// <summary>Longest distance (cm) of one move; null: no limit. With a limit, 0 ("until stopped") is refused.</summary>
    public uint? MaxDistanceCm { get; init; }

    /// <summary>Widest turn (degrees) of one move; null: no limit.</summary>
    public uint? MaxAngleDegrees { get; init; }

    /// <summary>How long a classic driver (no heartbeats) may stay silent while a move without end runs (DriverLease).</summary>
    public TimeSpan SilentMoveLimit { get; init; } = DriverLease.DefaultSilentMoveLimit;

    /// <summary>Fastest telemetry a client may ask for.</summary>
    public TimeSpan MinTelemetryInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The team's declared commands (docs/extensions.md): relayed with the same lease, limits and dead-man.</summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    /// <summary>Status polled at least this often for <see cref="RobotHub.Published"/> (a recording's pose), whoever else asks; null: only for clients.</summary>
    public TimeSpan? ObserverStatusInterval { get; init; }

    internal DriveLimits Limits => new(MaxSpeedPercent >= 100 ? 0 : MaxSpeedPercent, MaxDistanceCm ?? 0, MaxAngleDegrees ?? 0);
}

/// <summary>The outcome of one command: the Arduino's reply, or an error (the hub's refusal, or the link's trouble) with its text.</summary>
public sealed record CommandResult(RobotReply? Reply, AlexLinkErrorCode? Error, string Text)
{
    private static readonly CommandResult s_ok = new(RobotReply.Ok, null, RobotReply.Ok.ToString());

    public bool IsOk => Reply is { IsOk: true };

    public static CommandResult Done(RobotReply reply) => reply.Kind switch
    {
        _ when ReferenceEquals(reply, RobotReply.Ok) => s_ok,
        RobotReplyKind.LinkDown => new(reply, AlexLinkErrorCode.LinkDown, "the Arduino is not connected: " + reply.Detail),
        RobotReplyKind.Timeout => new(reply, AlexLinkErrorCode.Timeout, "the Arduino did not answer in time"),
        RobotReplyKind.Stopped => new(reply, AlexLinkErrorCode.Stopped, "not sent: a STOP came while this move was still queued"),
        _ => new(reply, null, reply.ToString()),
    };

    public static CommandResult Refused(AlexLinkErrorCode error, string text) => new(null, error, text);

    public override string ToString() => Reply is null ? $"refused ({Error}): {Text}" : Text;
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
    private readonly DriverLease _lease;
    private readonly Lock _gate = new();
    // The connected sessions, copied on attach and detach (rare) so that telling everyone (every STOP, every telemetry
    // sample) is a walk over an array: a concurrent dictionary's enumerator is an allocation and a lock each time.
    private readonly Lock _attaching = new();
    private volatile Attached[] _sessions = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly DeadManTimer _deadMan;
    private readonly Task _telemetryLoop;
    private readonly Channel<Broadcast> _broadcasts = Channel.CreateUnbounded<Broadcast>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly Task _broadcastLoop;
    private StatusCounters? _lastCounters;
    private long _scansPublished;
    private ServerMapper? _mapper;
    private DateTimeOffset _lastCountersAt;

    // The last STOP exchange whose OK was told to the other clients: STOPs asked for together share one exchange (one
    // reply task), and the others hear about it once.
    private Task<RobotReply>? _toldStop;

    // The last thing the link said about its state (e.g. "cannot open /dev/ttyACM0: no such port").
    private string? _linkDetail;

    // The server's own latest STOP (dead-man, revocation, a driver gone, the port back): disposing waits for it, so that
    // closing the serial link right after (`alex serve` on Ctrl+C) cannot leave it unsent behind a slow request.
    private Task _serverStop = Task.CompletedTask;

    // How long disposing waits for the server's last STOP: a request already on a 9600-baud line and the STOP's own
    // exchange take well under a second; a dead port answers LinkDown at once or times out within the link's reply timeout.
    private static readonly TimeSpan ShutdownStopWait = TimeSpan.FromSeconds(3);

    public RobotHub(IRobotLink link, HubOptions options, AuditLog audit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(time);
        _link = link;
        _options = options;
        _audit = audit;
        _time = time;
        _lease = new DriverLease(time, options.LeaseWindow, options.Limits, options.SilentMoveLimit, options.Extensions);
        _link.Unsolicited += OnUnsolicited;
        _link.StateChanged += OnLinkStateChanged;
        _link.Diagnostic += OnSerialNote;
        _deadMan = new DeadManTimer(_lease, time, (holder, decision) => Act(holder?.Name ?? "", decision));
        _telemetryLoop = TelemetryLoopAsync(_stopping.Token);
        _broadcastLoop = Task.Run(BroadcastLoopAsync);
    }

    public HubOptions Options => _options;

    public TeamExtensions Extensions => _options.Extensions;

    public bool LinkUp => _link.IsUp;

    /// <summary>
    /// Every broadcast as it is handed to the sessions (each part of a Scan; every status poll): for an observer in this
    /// process, the server's own recording. Raised on the fan-out task, never on a command's path: a handler must return
    /// at once (queue, never wait) and must not throw.
    /// </summary>
    public event Action<AlexLinkMessage>? Published;

    /// <summary>The server's map, while it maps (alex serve --map): clients subscribed to Map are sent its tiles.</summary>
    public ServerMapper? Mapper
    {
        get => Volatile.Read(ref _mapper);
        internal set => Volatile.Write(ref _mapper, value);
    }

    /// <summary>Revolutions published so far (the lidar's, if the server has one).</summary>
    public long ScansPublished => Interlocked.Read(ref _scansPublished);

    /// <summary>
    /// Tells every session subscribed to Lidar about a revolution. Returns at once: the fan-out task encodes it once
    /// and each session keeps only its newest unsent revolution (ClientSession.Push), so scans never delay a reply.
    /// </summary>
    public void PublishScan(Lidar.LidarScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        Interlocked.Increment(ref _scansPublished);
        Post(Broadcast.Scan(AlexLinkScan.Split((uint)scan.Sequence, scan.CompletedUtc.ToUnixTimeMilliseconds(), scan.Revolution), scan.CompletedUtc));
    }

    /// <summary>The Arduino link as it describes itself, and its counters (for `alex status`).</summary>
    public IRobotLink Link => _link;

    /// <summary>
    /// The link's state for people and clients (AlexLink/1 LinkState detail, docs/protocol.md): up or why not, and the counts of
    /// the serial line's trouble since the server started.
    /// </summary>
    public string LinkSummary
    {
        get
        {
            var up = _link.IsUp;
            var detail = _link.Problem ?? Volatile.Read(ref _linkDetail);
            var state = up ? "connected" : detail is null ? "the Arduino is not connected" : "the Arduino is not connected: " + detail;
            return $"{state}; serial line: {_link.Counts}";
        }
    }

    public LeaseInfo Lease
    {
        get
        {
            var holder = _lease.Holder;
            return new LeaseInfo(holder?.Name, holder is null ? default : _lease.Since);
        }
    }

    /// <summary>How many STOPs have been asked for so far: a session notes it when a command arrives (see ExecuteAsync).</summary>
    public long StopCount => _link.StopEpoch;

    /// <summary>Counts of the serial line's trouble (noise, bad checksums, timeouts, late replies, opens, losses).</summary>
    public SerialLineCounts SerialCounts => _link.Counts;

    /// <summary>True from an accepted move until a STOP goes out (there is no "move finished" message).</summary>
    public bool MayBeMoving => _lease.MayBeMoving;

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

    internal void Attach(ClientSession session)
    {
        lock (_attaching)
        {
            if (Find(session) is null)
            {
                _sessions = [.. _sessions, new Attached(session, new TelemetryWish())];
            }
        }
    }

    /// <summary>A session ended: if it was driving, the robot is stopped now and the lease freed.</summary>
    internal void Detach(ClientSession session, string reason)
    {
        lock (_attaching)
        {
            _sessions = Array.FindAll(_sessions, a => !ReferenceEquals(a.Session, session));
        }

        Act(session.Identity.Name, _lease.Departed(session.LeaseClient));
    }

    /// <summary>A connected client is no longer allowed (revoked, unlisted): stop the robot if it drove, then close it with the reason.</summary>
    internal void Revoke(ClientSession session, string reason, AlexLinkRefusalCode code)
    {
        _audit.Write("revoked", ("name", session.Identity.Name), ("peer", session.Identity.Peer), ("reason", reason));
        Act(session.Identity.Name, _lease.Departed(session.LeaseClient, revoked: true));
        session.Refuse(code, reason);
    }

    /// <summary>Any frame from a session counts as a sign of life for the dead-man.</summary>
    internal void Heartbeat(ClientSession session) => _lease.Heard(session.LeaseClient);

    /// <summary>The telemetry interval a session wants (null: none).</summary>
    internal TimeSpan? Subscribe(ClientSession session, TimeSpan? interval)
    {
        if (Find(session) is not { } wish)
        {
            return null;
        }

        wish.Interval = interval is { } i ? (i < _options.MinTelemetryInterval ? _options.MinTelemetryInterval : i) : null;
        _wake.Release();
        return wish.Interval;
    }

    /// <summary>Explicitly takes the lease (AlexLink/1 TakeLease). Null on success, else why not.</summary>
    internal CommandResult? TryAcquire(ClientSession session)
    {
        var decision = _lease.Take(session.LeaseClient);
        Act(session.Identity.Name, decision);
        return decision.IsAllowed ? null : CommandResult.Refused(decision.Error, decision.Text);
    }

    /// <summary>Gives the lease back (AlexLink/1 ReleaseLease). The robot is stopped if it may be moving.</summary>
    internal CommandResult? Release(ClientSession session)
    {
        var decision = _lease.Release(session.LeaseClient);
        Act(session.Identity.Name, decision);
        return decision.IsAllowed ? null : CommandResult.Refused(decision.Error, decision.Text);
    }

    /// <summary>
    /// Runs one command for a session: STOP from anyone, GET_STATS from anyone, anything else only
    /// from the lease holder (a driver takes a free lease by moving), within the limits. The client hears the result
    /// (<paramref name="reply"/>) before it is audited: the audit record is not on the command's path.
    /// <paramref name="stopsWhenReceived"/> is <see cref="StopCount"/> when the command arrived: a move that waited
    /// in a queue while a STOP went out is answered "Stopped" and never sent.
    /// </summary>
    internal async Task ExecuteAsync(ClientSession session, DriveCommand command, long stopsWhenReceived, Action<CommandResult> reply, CancellationToken cancellationToken)
    {
        var result = await ExecuteCoreAsync(session, command, stopsWhenReceived, cancellationToken).ConfigureAwait(false);
        reply(result);
        _audit.Write("command", ("name", session.Identity.Name), ("command", Describe(command)), ("result", result));
    }

    /// <summary>
    /// Stops telemetry and the dead-man. A STOP the server has sent is waited for (bounded), and one is sent if the robot
    /// may still be moving: call this before closing the link, after the sessions are gone.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var stopping = MayBeMoving ? StopNowAsync("server shutting down") : Volatile.Read(ref _serverStop);
        await stopping.WaitAsync(ShutdownStopWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _link.Unsolicited -= OnUnsolicited;
        _link.StateChanged -= OnLinkStateChanged;
        _link.Diagnostic -= OnSerialNote;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _wake.Release();
        _deadMan.Dispose();
        await _telemetryLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _broadcasts.Writer.TryComplete();
        await _broadcastLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
        _wake.Dispose();
    }

    private async ValueTask<CommandResult> ExecuteCoreAsync(ClientSession session, DriveCommand command, long stopsWhenReceived, CancellationToken cancellationToken)
    {
        var decision = _lease.Authorize(session.LeaseClient, command);
        if (!decision.IsAllowed)
        {
            return CommandResult.Refused(decision.Error, decision.Text);
        }

        Act(session.Identity.Name, decision);
        if (!session.SendsHeartbeats && !command.IsStop)
        {
            // A classic driver's move without end brings a deadline (the silent-move limit) the timer must be armed for.
            _deadMan.Rearm();
        }

        var sending = _link.ExecuteAsync(command, stopsWhenReceived, cancellationToken);
        var reply = await sending.ConfigureAwait(false);
        if (reply.Status is { } status)
        {
            NoteCounters(status);
        }

        if (command.IsStop && reply.IsOk && Interlocked.Exchange(ref _toldStop, sending) != sending)
        {
            // Every other client learns who stopped the robot.
            var who = session.Identity.Name;
            Post(Broadcast.SafetyStop(AlexLinkStopReason.StopRequested, who, who + " sent STOP", _time.GetUtcNow(), except: session));
        }

        return CommandResult.Done(reply);
    }

    /// <summary>
    /// A STOP from the fleet broker's instructor (docs/fleet.md): the same STOP to the Arduino as the dead-man's,
    /// then every client is told who and why (a SafetyStop, as when a client stops the robot). Returns the STOP's exchange.
    /// </summary>
    public Task FleetStopAsync(string who, string text)
    {
        var order = _lease.Stopped(AlexLinkStopReason.StopRequested, who, text);
        var stopping = StopNowAsync(text);
        _audit.Write("fleet-stop", ("name", who), ("reason", text));
        Post(Broadcast.SafetyStop(order.Reason, order.Who, order.Text, order.At));
        return stopping;
    }

    // The command as the audit log names it: the course's letter form, or a declared command's name and params.
    private string Describe(DriveCommand command) =>
        Extensions.TryGetByCode(command.Command, out var declared) ? $"{declared.Name} {command.Param0} {command.Param1}" : command.ToString();

    // Carries out what the lease decided: STOP first (telling is not what stops the wheels), then the notices.
    private void Act(string name, LeaseDecision decision)
    {
        if (decision.Stop is { } stop)
        {
            var stopping = StopNowAsync(stop.Text);
            _audit.Write("dead-man", ("name", stop.Who), ("kind", stop.Reason.ToString()), ("reason", stop.Text));
            Post(Broadcast.SafetyStop(stop.Reason, stop.Who, stop.Text, stop.At));
            _ = stopping;
        }

        if (decision.Notice is { } notice)
        {
            _audit.Write("lease", ("name", name), ("change", notice.Change.ToString().ToLowerInvariant()), ("holder", notice.Holder.Length == 0 ? null : notice.Holder), ("text", notice.Text));
            Post(Broadcast.Lease(notice.Holder.Length == 0 ? null : notice.Holder, notice.Since ?? _time.GetUtcNow(), notice.Change));

            // A lease taken brings a deadline the dead-man timer must be armed for.
            _deadMan.Rearm();
        }
    }

    private Task StopNowAsync(string why)
    {
        var stopping = StopAndAuditAsync(why);
        Volatile.Write(ref _serverStop, stopping);
        return stopping;
    }

    private async Task StopAndAuditAsync(string why)
    {
        var reply = await _link.ExecuteAsync(DriveCommand.Stop, CancellationToken.None).ConfigureAwait(false);
        _audit.Write("command", ("name", "server"), ("command", "s"), ("result", reply.ToString()), ("why", why));
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
                // A poll: it never goes ahead of a command, and shares a GET_STATS a client asked for.
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
        var best = _options.ObserverStatusInterval;
        foreach (var (_, wish) in _sessions)
        {
            if (wish.Interval is { } i && (best is null || i < best))
            {
                best = i;
            }
        }

        return best;
    }

    private void NoteCounters(StatusCounters counters)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _lastCounters = counters;
            _lastCountersAt = now;
        }

        Post(Broadcast.Status(counters, now));
    }

    private void OnUnsolicited(SerialPacket packet)
    {
        if (packet.Type == PacketType.Message)
        {
            Post(Broadcast.ArduinoText(packet.Data.ToArray(), packet.Text, _time.GetUtcNow()));
        }
        else if (packet.Type == PacketType.Error)
        {
            Post(Broadcast.ArduinoError(packet.Code, _time.GetUtcNow()));
        }
    }

    // The serial line's trouble (noise, bad checksums, timeouts, late replies, a lost port) goes to the log; the counts are in SerialCounts.
    private void OnSerialNote(string kind, string text) => _audit.Write("serial", ("kind", kind), ("detail", text));

    private void OnLinkStateChanged(bool up, string detail)
    {
        Volatile.Write(ref _linkDetail, detail);
        _audit.Write("link", ("state", up ? "up" : "down"), ("detail", detail));
        if (up && MayBeMoving)
        {
            // The port vanished mid-move: an Arduino on battery may still be driving. Opening the port
            // resets an Uno through DTR, but not every board; a STOP costs nothing.
            _ = StopNowAsync("serial port back while the robot may have been moving");
        }

        Post(Broadcast.LinkState(up, detail, _time.GetUtcNow()));
    }

    private void Post(Broadcast broadcast) => _broadcasts.Writer.TryWrite(broadcast);

    // The one fan-out task: each broadcast to every session that is attached when it is handed out, telemetry at each
    // session's own pace (a few ms early is on time: the polls themselves jitter).
    private async Task BroadcastLoopAsync()
    {
        var slack = TimeSpan.FromMilliseconds(5);
        await foreach (var broadcast in _broadcasts.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (Published is { } observer)
            {
                foreach (var message in broadcast.Parts ?? [broadcast.Message])
                {
                    observer(message);
                }
            }

            foreach (var (session, wish) in _sessions)
            {
                if (ReferenceEquals(session, broadcast.Except))
                {
                    continue;
                }

                if (broadcast.Kind == BroadcastKind.Status)
                {
                    if (wish.Interval is not { } interval || broadcast.At - wish.LastSent < interval - slack)
                    {
                        continue;
                    }

                    wish.LastSent = broadcast.At;
                }

                session.Push(broadcast);
            }
        }
    }

    private TelemetryWish? Find(ClientSession session)
    {
        foreach (var (s, wish) in _sessions)
        {
            if (ReferenceEquals(s, session))
            {
                return wish;
            }
        }

        return null;
    }

    private sealed record Attached(ClientSession Session, TelemetryWish Wish);

    private sealed class TelemetryWish
    {
        public TimeSpan? Interval { get; set; }

        public DateTimeOffset LastSent { get; set; }
    }
}
