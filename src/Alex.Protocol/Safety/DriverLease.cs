// The driver lease and the dead-man, as pure decisions (docs/protocol.md §3).
// No timers and no I/O inside: the server's loop calls in when something happens (a command, a frame,
// a disconnect) or when NextCheckAt comes (it arms its own timer on the same TimeProvider), and acts
// on what comes back: a reply, a lease notice for every client, and "send STOP now".
//
// Rules:
// - Any authenticated client may STOP; GET_STATS is watching, open to all.
// - Other commands need the lease. A driver-role client takes a free lease with TakeLease or with its
//   first such command; a watcher never holds it.
// - The holder keeps it until it releases it, leaves (STOP at once), is revoked (STOP at once), or —
//   for clients that promise heartbeats (AlexLink/1) — is silent past the lease window: then the lease
//   expires, with a STOP if the robot may be moving. Classic clients send no heartbeats (docs/course-protocol.md §4),
//   so for them only leaving ends the lease.
// - A holder without heartbeats (classic) that started a move without end (distance or angle 0, "until
//   stopped", or a command code the course firmware does not define) and then says nothing for longer
//   than the silent-move limit gets a STOP; it keeps the lease. A bounded move runs to its end, as the
//   firmware does. A dead network under a silent client is the server's TCP keepalive's job
//   (NetworkLiveness): its connection closes and leaving stops the robot.
// - A team's declared commands (docs/extensions.md): a read that watchers may send is open to all, as GET_STATS; any
//   other needs the lease; a declared moving command is a move (limits, "may be moving", the dead-man), without end
//   when it has no distance or angle parameter or that parameter is 0.
// - "May be moving": from an accepted move until a STOP goes out. There is no "move finished" message
//   (docs/course-protocol.md §3), so a finished move still counts; a needless STOP is harmless.
using System.Globalization;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Safety;

/// <summary>One connected client as the lease sees it. The connection id tells two sessions of one certificate apart.</summary>
public sealed record LeaseClient(long ConnectionId, string Name, AlexLinkRole Role, bool SendsHeartbeats);

/// <summary>The lease changed hands: tell every client (AlexLink LeaseState).</summary>
public sealed record LeaseNotice(AlexLinkLeaseChange Change, string Holder, DateTimeOffset? Since, string Text)
{
    public AlexLinkLeaseState ToMessage() => new(Change, Since?.ToUnixTimeMilliseconds() ?? 0, Holder, Text);
}

/// <summary>Send STOP to the Arduino now, ahead of anything queued; then tell every client why (AlexLink SafetyStop).</summary>
public sealed record StopOrder(AlexLinkStopReason Reason, string Who, DateTimeOffset At, string Text)
{
    public AlexLinkSafetyStop ToMessage() => new(Reason, At.ToUnixTimeMilliseconds(), Who, Text);
}

/// <summary>What the lease decided. For requests: allowed, or the error to answer. Plus what to do and tell.</summary>
public sealed record LeaseDecision(bool IsAllowed, AlexLinkErrorCode Error, string Text, LeaseNotice? Notice, StopOrder? Stop)
{
    public static LeaseDecision Nothing { get; } = new(true, 0, "", null, null);

    internal static LeaseDecision Allow(LeaseNotice? notice = null, StopOrder? stop = null) => new(true, 0, "", notice, stop);

    internal static LeaseDecision Refuse(AlexLinkErrorCode error, string text) => new(false, error, text, null, null);
}

/// <summary>
/// The driver lease and the dead-man for one robot. Thread-safe (one lock); decisions read the clock
/// from the TimeProvider given, never from anywhere else.
/// </summary>
public sealed class DriverLease
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private LeaseClient? _holder;
    private DateTimeOffset _since;
    private DateTimeOffset _lastHeard;
    private bool _mayBeMoving;
    private bool _movingWithoutEnd;

    public DriverLease(TimeProvider time, TimeSpan window, DriveLimits? limits = null, TimeSpan? silentMoveLimit = null, TeamExtensions? extensions = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(window), "the lease window must be positive");
        }

        if (silentMoveLimit is { } limit && limit <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(silentMoveLimit), "the silent-move limit must be positive");
        }

        _time = time;
        Window = window;
        Limits = limits ?? DriveLimits.None;
        SilentMoveLimit = silentMoveLimit ?? DefaultSilentMoveLimit;
        Extensions = extensions ?? TeamExtensions.None;
    }

    /// <summary>A few seconds: longer than a student takes to type the next command, short enough to catch the robot in a lab.</summary>
    public static TimeSpan DefaultSilentMoveLimit { get; } = TimeSpan.FromSeconds(3);

    /// <summary>How long a heartbeat-sending driver may be silent.</summary>
    public TimeSpan Window { get; }

    /// <summary>How long a driver without heartbeats may be silent while a move without end runs.</summary>
    public TimeSpan SilentMoveLimit { get; }

    public DriveLimits Limits { get; }

    /// <summary>The team's declared commands (none by default).</summary>
    public TeamExtensions Extensions { get; }

    /// <summary>The client holding the lease, or null.</summary>
    public LeaseClient? Holder
    {
        get
        {
            lock (_lock)
            {
                return _holder;
            }
        }
    }

    /// <summary>When the current holder took the lease (meaningless when free).</summary>
    public DateTimeOffset Since
    {
        get
        {
            lock (_lock)
            {
                return _since;
            }
        }
    }

    /// <summary>True from an accepted move until a STOP goes out.</summary>
    public bool MayBeMoving
    {
        get
        {
            lock (_lock)
            {
                return _mayBeMoving;
            }
        }
    }

    /// <summary>When the server should call <see cref="Evaluate"/> next, or null when nothing can expire.</summary>
    public DateTimeOffset? NextCheckAt
    {
        get
        {
            lock (_lock)
            {
                return _holder switch
                {
                    { SendsHeartbeats: true } => _lastHeard + Window,
                    not null when _mayBeMoving && _movingWithoutEnd => _lastHeard + SilentMoveLimit,
                    _ => null,
                };
            }
        }
    }

    /// <summary>The lease as a notice (for a Welcome or a client that just subscribed).</summary>
    public LeaseNotice Current()
    {
        lock (_lock)
        {
            return _holder is null
                ? new LeaseNotice(AlexLinkLeaseChange.Current, "", null, "nobody holds the lease")
                : new LeaseNotice(AlexLinkLeaseChange.Current, _holder.Name, _since, $"{_holder.Name} holds the lease since {Clock(_since)}");
        }
    }

    /// <summary>Any frame from a client is a sign of life (docs/protocol.md §3).</summary>
    public void Heard(LeaseClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            if (IsHolder(client))
            {
                _lastHeard = _time.GetUtcNow();
            }
        }
    }

    /// <summary>
    /// May this client send this command now? Counts as a sign of life. Allowed moves mark the robot as
    /// maybe moving; STOP clears it. A driver's first lease-needing command takes a free lease (Notice set).
    /// </summary>
    public LeaseDecision Authorize(LeaseClient client, DriveCommand command)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (IsHolder(client))
            {
                _lastHeard = now;
            }

            if (command.IsStop)
            {
                // Anyone authenticated may stop the robot.
                _mayBeMoving = false;
                _movingWithoutEnd = false;
                return LeaseDecision.Nothing;
            }

            var declared = Extensions.TryGetByCode(command.Command, out var d) ? d : null;
            if (command.Command == CommandCode.GetStats || declared is { DriversOnly: false })
            {
                return LeaseDecision.Nothing;
            }

            if (client.Role != AlexLinkRole.Driver)
            {
                return LeaseDecision.Refuse(AlexLinkErrorCode.Forbidden, $"{client.Name} may only watch and STOP (its role on the server's allow-list is {RoleName(client.Role)}, not drive)");
            }

            if (_holder is not null && !IsHolder(client))
            {
                return LeaseDecision.Refuse(AlexLinkErrorCode.NotDriver, NotDriverText());
            }

            if (Limits.Check(command, Extensions) is { } limit)
            {
                return LeaseDecision.Refuse(AlexLinkErrorCode.LimitExceeded, limit);
            }

            LeaseNotice? notice = null;
            if (_holder is null)
            {
                notice = TakeLocked(client, now);
            }

            if (Extensions.IsMove(command.Command) || !Extensions.Relays(command.Command))
            {
                // A code nobody declared may move the wheels too, for as long as it likes: assume it does.
                // A new move replaces the one running (the firmware takes the latest target).
                _mayBeMoving = true;
                _movingWithoutEnd = declared?.RunsUntilStopped(command) ?? (!command.IsMove || command.Param0 == 0);
            }

            return LeaseDecision.Allow(notice);
        }
    }

    /// <summary>
    /// A STOP the server was told to make from outside its sessions (the fleet broker's STOP, docs/fleet.md): always
    /// made, and the robot counts as still from here on, as after any STOP. The lease is kept: its holder may drive on.
    /// </summary>
    public StopOrder Stopped(AlexLinkStopReason reason, string who, string text)
    {
        lock (_lock)
        {
            _mayBeMoving = false;
            _movingWithoutEnd = false;
            return new StopOrder(reason, who, _time.GetUtcNow(), text);
        }
    }

    /// <summary>Explicit TakeLease.</summary>
    public LeaseDecision Take(LeaseClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (client.Role != AlexLinkRole.Driver)
            {
                return LeaseDecision.Refuse(AlexLinkErrorCode.Forbidden, $"{client.Name} may only watch and STOP, so it cannot take the lease");
            }

            if (IsHolder(client))
            {
                _lastHeard = now;
                return LeaseDecision.Nothing;
            }

            return _holder is not null
                ? LeaseDecision.Refuse(AlexLinkErrorCode.NotDriver, NotDriverText())
                : LeaseDecision.Allow(TakeLocked(client, now));
        }
    }

    /// <summary>Explicit ReleaseLease: frees the lease, with a STOP if the robot may be moving.</summary>
    public LeaseDecision Release(LeaseClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            if (!IsHolder(client))
            {
                return _holder is null
                    ? LeaseDecision.Nothing
                    : LeaseDecision.Refuse(AlexLinkErrorCode.NotDriver, NotDriverText());
            }

            var now = _time.GetUtcNow();
            var stop = _mayBeMoving ? StopLocked(AlexLinkStopReason.DriverLeft, client, now, $"{client.Name} released the lease while Alex may be moving: stopped") : null;
            return LeaseDecision.Allow(FreeLocked(AlexLinkLeaseChange.Released, $"{client.Name} released the lease"), stop);
        }
    }

    /// <summary>
    /// The client's connection closed (or its certificate was revoked): if it held the lease, STOP at
    /// once — whether or not a move is known to be running — and free the lease.
    /// </summary>
    public LeaseDecision Departed(LeaseClient client, bool revoked = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_lock)
        {
            if (!IsHolder(client))
            {
                return LeaseDecision.Nothing;
            }

            var now = _time.GetUtcNow();
            var stop = revoked
                ? StopLocked(AlexLinkStopReason.DriverRevoked, client, now, $"{client.Name}'s certificate is no longer accepted: stopped Alex and ended its lease")
                : StopLocked(AlexLinkStopReason.DriverLeft, client, now, $"{client.Name} disconnected while driving: stopped Alex");
            var notice = revoked
                ? FreeLocked(AlexLinkLeaseChange.Revoked, $"{client.Name} lost the lease: its certificate is no longer accepted")
                : FreeLocked(AlexLinkLeaseChange.DriverLeft, $"{client.Name} disconnected; the lease is free");
            return LeaseDecision.Allow(notice, stop);
        }
    }

    /// <summary>
    /// The dead-man: a heartbeat-sending holder silent for longer than the window loses the lease, and
    /// the robot is stopped if it may be moving; a holder without heartbeats silent for longer than the
    /// silent-move limit while a move without end runs gets a STOP and keeps the lease.
    /// Call at <see cref="NextCheckAt"/> (and whenever convenient).
    /// </summary>
    public LeaseDecision Evaluate()
    {
        lock (_lock)
        {
            if (_holder is null)
            {
                return LeaseDecision.Nothing;
            }

            var now = _time.GetUtcNow();
            var silent = now - _lastHeard;
            var holder = _holder;
            if (!holder.SendsHeartbeats)
            {
                if (!_mayBeMoving || !_movingWithoutEnd || silent < SilentMoveLimit)
                {
                    return LeaseDecision.Nothing;
                }

                var quiet = (long)silent.TotalMilliseconds;
                return LeaseDecision.Allow(stop: StopLocked(
                    AlexLinkStopReason.HeartbeatMissed,
                    holder,
                    now,
                    $"{holder.Name} sent nothing for {quiet} ms during a move without end (limit {(long)SilentMoveLimit.TotalMilliseconds} ms): stopped"));
            }

            if (silent < Window)
            {
                return LeaseDecision.Nothing;
            }

            var ms = (long)silent.TotalMilliseconds;
            var stop = _mayBeMoving
                ? StopLocked(AlexLinkStopReason.HeartbeatMissed, holder, now, $"{holder.Name} sent nothing for {ms} ms (lease window {(long)Window.TotalMilliseconds} ms) while Alex may be moving: stopped")
                : null;
            var notice = FreeLocked(AlexLinkLeaseChange.Expired, $"{holder.Name}'s lease expired: nothing heard for {ms} ms");
            return LeaseDecision.Allow(notice, stop);
        }
    }

    private bool IsHolder(LeaseClient client) => _holder is not null && _holder.ConnectionId == client.ConnectionId;

    private LeaseNotice TakeLocked(LeaseClient client, DateTimeOffset now)
    {
        _holder = client;
        _since = now;
        _lastHeard = now;
        return new LeaseNotice(AlexLinkLeaseChange.Taken, client.Name, now, $"{client.Name} took the lease");
    }

    private LeaseNotice FreeLocked(AlexLinkLeaseChange change, string text)
    {
        _holder = null;
        return new LeaseNotice(change, "", null, text);
    }

    private StopOrder StopLocked(AlexLinkStopReason reason, LeaseClient who, DateTimeOffset now, string text)
    {
        _mayBeMoving = false;
        _movingWithoutEnd = false;
        return new StopOrder(reason, who.Name, now, text);
    }

    private static string RoleName(AlexLinkRole role) => role == AlexLinkRole.Admin ? "admin" : "watch";

    private string NotDriverText() => $"not the driver: {_holder!.Name} holds the lease since {Clock(_since)}";

    // Wall-clock time as the people at the robot read it (the server's local zone).
    private string Clock(DateTimeOffset at) =>
        TimeZoneInfo.ConvertTime(at, _time.LocalTimeZone).ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
