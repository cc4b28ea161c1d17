// What the drive console knows and shows, as a pure model: events from the connection
// (connected, lost, pushed telemetry, command replies, latency) and key presses go in, state comes out.
// No I/O and no clock reads: the caller passes `now`. The interactive screen and the line mode both feed
// it and render from it, so the tests of this file cover what either shows.
using System.Runtime.CompilerServices;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

[assembly: InternalsVisibleTo("Alex.EndToEnd.Tests")]

namespace Alex.Cli.Drive;

internal enum ConnectionPhase
{
    Connecting,
    Connected,
    Reconnecting,

    /// <summary>Gave up (the server refused us, or we do not trust it): retrying would not help.</summary>
    Failed,
}

/// <summary>What the server told us when we connected (AlexLink/1 Welcome; less for classic).</summary>
internal sealed record DriveSessionInfo(
    string Endpoint,
    string Protocol,
    string ClientName,
    string ServerName,
    AlexLinkRole? Role,
    string LeaseHolder,
    long LeaseSinceUnixMs,
    uint MaxSpeedPercent,
    uint MaxDistanceCm,
    uint MaxAngleDegrees,
    string Tls)
{
    public static DriveSessionInfo From(LinkSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var tls = $"{Describe(session.TlsVersion)} {session.CipherSuite}";
        if (session.Welcome is { } w)
        {
            return new(session.Endpoint, "alexlink/1", w.ClientName, w.ServerName, w.Role, w.LeaseHolder, w.LeaseSinceUnixMs, w.MaxSpeedPercent, w.MaxDistanceCm, w.MaxAngleDegrees, tls);
        }

        return new(session.Endpoint, "classic", string.Empty, session.ServerTrust.PeerName ?? session.ServerTrust.Subject ?? session.Endpoint, null, string.Empty, 0, 0, 0, 0, tls);
    }

    public static string Describe(System.Security.Authentication.SslProtocols p) => p switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "TLS 1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "TLS 1.2",
        _ => p.ToString(),
    };
}

internal abstract record DriveEvent;

internal sealed record ConnectingEvent(int Attempt) : DriveEvent;

internal sealed record ConnectedEvent(DriveSessionInfo Session) : DriveEvent;

/// <summary>The connection ended; the link retries after <paramref name="RetryIn"/>.</summary>
internal sealed record ConnectionLostEvent(string Reason, TimeSpan RetryIn) : DriveEvent;

/// <summary>The link gave up for good (refused, not trusted).</summary>
internal sealed record ConnectionFailedEvent(string Reason, string? Hint) : DriveEvent;

/// <summary>A message the server pushed (request id 0): lease, link, Arduino text, safety stop, error.</summary>
internal sealed record PushedEvent(AlexLinkMessage Message) : DriveEvent;

/// <summary>A status (pushed, or a GET_STATS reply) and the pose it puts Alex at; <paramref name="Path"/> when the path changed.</summary>
internal sealed record StatusEvent(StatusCounters Counters, Pose Pose, IReadOnlyList<Pose>? Path) : DriveEvent;

/// <summary>The path starts again here.</summary>
internal sealed record PathResetEvent(Pose Pose, IReadOnlyList<Pose> Path) : DriveEvent;

internal sealed record CommandStartedEvent(string Request) : DriveEvent;

internal sealed record CommandFinishedEvent(CommandReply Reply) : DriveEvent;

/// <summary>A request that never got an answer (the connection went, the reply timed out).</summary>
internal sealed record CommandLostEvent(string Request, string Reason) : DriveEvent;

internal sealed record LatencyEvent(TimeSpan RoundTrip) : DriveEvent;

/// <summary>Something the console itself has to say (a typing error in line mode, a file not saved).</summary>
internal sealed record NoteEvent(DriveLogKind Kind, string Text) : DriveEvent;

internal enum DriveLogKind
{
    Info,
    Sent,
    Ok,
    Problem,
    Arduino,
    Lease,
    Safety,
}

internal sealed record DriveLogLine(long Sequence, DateTimeOffset At, DriveLogKind Kind, string Text);

internal enum DriveIntentKind
{
    None,
    Send,
    Stop,
    TakeLease,
    ReleaseLease,
    ClearPath,
    SettingsChanged,
    Quit,
}

/// <summary>What the console should do for a key: usually nothing, send a command, or quit.</summary>
internal readonly record struct DriveIntent(DriveIntentKind Kind, DriveCommand Command = default)
{
    public static DriveIntent None => new(DriveIntentKind.None);
}

/// <summary>The drive console's state. Not thread-safe: one loop owns it.</summary>
internal sealed class DriveModel
{
    public const int MaxLogLines = 200;

    private readonly List<DriveLogLine> _log = [];
    private long _sequence;

    public DriveModel(string endpoint, DriveSettings settings)
    {
        Endpoint = endpoint;
        Settings = settings;
    }

    public string Endpoint { get; }

    public ConnectionPhase Phase { get; private set; } = ConnectionPhase.Connecting;

    /// <summary>Why we are not connected (the last failure), or empty.</summary>
    public string PhaseDetail { get; private set; } = string.Empty;

    /// <summary>What to do about a failure that ended the session (the connection's hint), if any.</summary>
    public string? FailureHint { get; private set; }

    public int Attempt { get; private set; }

    /// <summary>When the current connection was made (for "connected since").</summary>
    public DateTimeOffset? ConnectedSince { get; private set; }

    /// <summary>How many times the connection came back after a drop.</summary>
    public int Reconnects { get; private set; }

    public DriveSessionInfo? Session { get; private set; }

    /// <summary>A line the screen always shows, whatever scrolls (the web page's URL in `alex demo --web`).</summary>
    public string? Pinned { get; init; }

    /// <summary>The team's declared commands (docs/extensions.md): sent by their keys, their replies named.</summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    /// <summary>The key legend: the console's keys, then each declared command's key and name.</summary>
    public string Help => Extensions.Commands.Any(c => c.Key is not null)
        ? DriveKeys.Help + "  " + string.Join("  ", Extensions.Commands.Where(c => c.Key is not null).Select(c => $"{c.Key} {c.Name}"))
        : DriveKeys.Help;

    /// <summary>The newest reply to a declared command that carried values or text (shown until the next one).</summary>
    public DeclaredReading? LastReading { get; private set; }

    /// <summary>Who holds the driver lease ("" = free; null = unknown, e.g. classic).</summary>
    public string? LeaseHolder { get; private set; }

    public DateTimeOffset? LeaseSince { get; private set; }

    public bool IsDriver => Session is not null && !string.IsNullOrEmpty(LeaseHolder) && LeaseHolder == Session.ClientName;

    /// <summary>The serial link to the Arduino as the server reports it (null: not told yet).</summary>
    public bool? ArduinoUp { get; private set; }

    public string ArduinoDetail { get; private set; } = string.Empty;

    public StatusCounters? Counters { get; private set; }

    public DateTimeOffset? CountersAt { get; private set; }

    /// <summary>Where dead reckoning puts Alex (from the connection's statuses).</summary>
    public Pose Pose { get; private set; }

    /// <summary>The path driven so far, as the connection's dead reckoning last reported it.</summary>
    public IReadOnlyList<Pose> PathPoints { get; private set; } = [default];

    /// <summary>The newest lidar revolution's points within <see cref="LidarRangeCm"/>, in the path's frame (empty: no lidar).</summary>
    public IReadOnlyList<Pose> Lidar { get; private set; } = [];

    /// <summary>Lidar points farther than this are left out of the plot (they would shrink the path to a dot).</summary>
    public const double LidarRangeCm = 600;

    private readonly AlexLinkScanAssembler _scans = new();

    public TimeSpan? Latency { get; private set; }

    public TimeSpan? LastCommandRoundTrip { get; private set; }

    public int CommandsSent { get; private set; }

    public int CommandsOk { get; private set; }

    public int CommandsFailed { get; private set; }

    /// <summary>The request awaiting its reply, if any.</summary>
    public string? InFlight { get; private set; }

    /// <summary>The last safety stop (shown as a banner until the next move).</summary>
    public string? SafetyBanner { get; private set; }

    public DriveSettings Settings { get; private set; }

    public IReadOnlyList<DriveLogLine> Log => _log;

    /// <summary>The sequence number the next log line will get (line mode prints lines from a mark).</summary>
    public long NextSequence => _sequence;

    public void Apply(DriveEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        switch (e)
        {
            case ConnectingEvent c:
                Attempt = c.Attempt;
                Phase = Session is null && Reconnects == 0 && Phase != ConnectionPhase.Reconnecting ? ConnectionPhase.Connecting : ConnectionPhase.Reconnecting;
                break;

            case ConnectedEvent c:
                var wasReconnecting = Phase == ConnectionPhase.Reconnecting;
                if (wasReconnecting)
                {
                    Reconnects++;
                }

                Phase = ConnectionPhase.Connected;
                PhaseDetail = string.Empty;
                Session = c.Session;
                ConnectedSince = now;
                InFlight = null;
                LeaseHolder = c.Session.Role is null ? null : c.Session.LeaseHolder;
                LeaseSince = c.Session.LeaseSinceUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(c.Session.LeaseSinceUnixMs);
                Settings = Settings.Within(c.Session.MaxSpeedPercent, c.Session.MaxDistanceCm, c.Session.MaxAngleDegrees);
                Add(now, DriveLogKind.Info, (wasReconnecting ? "reconnected to " : "connected to ") + DescribeSession(c.Session));
                break;

            case ConnectionLostEvent l:
                Phase = ConnectionPhase.Reconnecting;
                PhaseDetail = l.Reason;
                ConnectedSince = null;
                InFlight = null;
                Latency = null;
                ArduinoUp = null;
                Add(now, DriveLogKind.Problem, $"connection lost: {l.Reason}; reconnecting in {l.RetryIn.TotalSeconds:0.#} s");
                break;

            case ConnectionFailedEvent f:
                Phase = ConnectionPhase.Failed;
                PhaseDetail = f.Reason;
                FailureHint = f.Hint;
                ConnectedSince = null;
                InFlight = null;

                // Not logged: `alex drive` ends with this as its one error line (alex: ... / hint: ...).
                break;

            case PushedEvent p:
                ApplyPushed(p.Message, now);
                break;

            case StatusEvent s:
                TakeCounters(s.Counters, now);
                Pose = s.Pose;
                PathPoints = s.Path ?? PathPoints;
                break;

            case PathResetEvent r:
                Pose = r.Pose;
                PathPoints = r.Path;
                Add(now, DriveLogKind.Info, "path cleared: the plot starts again here");
                break;

            case CommandStartedEvent s:
                CommandsSent++;
                InFlight = s.Request;
                Add(now, DriveLogKind.Sent, s.Request);
                break;

            case CommandFinishedEvent f:
                ApplyReply(f.Reply, now);
                break;

            case CommandLostEvent l:
                CommandsFailed++;
                InFlight = null;
                Add(now, DriveLogKind.Problem, $"{l.Request}: {l.Reason}");
                break;

            case LatencyEvent l:
                Latency = l.RoundTrip;
                break;

            case NoteEvent n:
                Add(now, n.Kind, n.Text);
                break;

            default:
                break;
        }
    }

    /// <summary>Decides what a key press means now; settings and the path change here, sending is the caller's job.</summary>
    public DriveIntent Decide(DriveKey key, DateTimeOffset now)
    {
        switch (key.Action)
        {
            case DriveAction.Forward:
                return Move(new DriveCommand(CommandCode.Forward, Settings.DistanceCm, Settings.SpeedPercent), now);
            case DriveAction.Back:
                return Move(new DriveCommand(CommandCode.Reverse, Settings.DistanceCm, Settings.SpeedPercent), now);
            case DriveAction.Left:
                return Move(new DriveCommand(CommandCode.TurnLeft, Settings.AngleDegrees, Settings.SpeedPercent), now);
            case DriveAction.Right:
                return Move(new DriveCommand(CommandCode.TurnRight, Settings.AngleDegrees, Settings.SpeedPercent), now);
            case DriveAction.Stop:
                if (Phase != ConnectionPhase.Connected)
                {
                    Add(now, DriveLogKind.Problem, "STOP not sent: not connected (the server's dead-man stops Alex by itself when its driver goes silent)");
                    return DriveIntent.None;
                }

                return new(DriveIntentKind.Stop, DriveCommand.Stop);
            case DriveAction.Stats:
                return Request(DriveCommand.GetStats, now);
            case DriveAction.Clear:
                return Request(DriveCommand.ClearStats, now);
            case DriveAction.Quit:
                return new(DriveIntentKind.Quit);
            case DriveAction.SpeedUp:
                return Change(Settings.WithSpeedStep(+1));
            case DriveAction.SpeedDown:
                return Change(Settings.WithSpeedStep(-1));
            case DriveAction.SetSpeed:
                return Change(Settings with { SpeedPercent = key.Digit == 0 ? 100u : (uint)key.Digit * 10 });
            case DriveAction.DistanceUp:
                return Change(Settings.WithDistanceStep(+1));
            case DriveAction.DistanceDown:
                return Change(Settings.WithDistanceStep(-1));
            case DriveAction.AngleUp:
                return Change(Settings.WithAngleStep(+1));
            case DriveAction.AngleDown:
                return Change(Settings.WithAngleStep(-1));
            case DriveAction.TakeLease:
            case DriveAction.ReleaseLease:
                if (!CanRequest(now, "lease request"))
                {
                    return DriveIntent.None;
                }

                if (Session?.Role is null)
                {
                    Add(now, DriveLogKind.Problem, "the classic protocol has no lease: the first move takes the robot");
                    return DriveIntent.None;
                }

                return new(key.Action == DriveAction.TakeLease ? DriveIntentKind.TakeLease : DriveIntentKind.ReleaseLease);
            case DriveAction.ClearPath:
                return new(DriveIntentKind.ClearPath);
            case DriveAction.None when key.Char != '\0' && Extensions.TryGetByKey(key.Char, out var declared):
                return Declared(declared, now);
            default:
                return DriveIntent.None;
        }
    }

    /// <summary>Notes something for the log (e.g. the settings file could not be saved).</summary>
    public void Note(DateTimeOffset now, DriveLogKind kind, string text) => Add(now, kind, text);

    /// <summary>The lease in words, as the status line shows it.</summary>
    public string DescribeLease(DateTimeOffset now)
    {
        if (Session is null)
        {
            return "unknown";
        }

        if (Session.Role is null)
        {
            return "none (classic protocol: whoever sends commands drives)";
        }

        // Say who drives and what the keys do now; the server refuses a take-over while someone drives
        // (docs/protocol.md §3, "The lease"), so never suggest one.
        var watcher = Session.Role != AlexLinkRole.Driver;
        if (string.IsNullOrEmpty(LeaseHolder))
        {
            return watcher ? "free — you watch (STOP only)" : "free — a move or t makes you the driver";
        }

        var since = LeaseSince is { } s ? $" for {Ago(now - s)}" : string.Empty;
        if (IsDriver)
        {
            return $"you drive{since} — u lets go";
        }

        return watcher
            ? $"{LeaseHolder} drives{since} — you watch (STOP only)"
            : $"{LeaseHolder} drives{since} — you may STOP (space); t once it lets go";
    }

    private static string Ago(TimeSpan t) =>
        t < TimeSpan.Zero ? "0 s" : t.TotalSeconds < 60 ? $"{t.TotalSeconds:0} s" : t.TotalMinutes < 60 ? $"{t.TotalMinutes:0} min" : $"{t.TotalHours:0.#} h";

    private static string DescribeSession(DriveSessionInfo s)
    {
        var role = s.Role switch
        {
            AlexLinkRole.Driver => "driver",
            AlexLinkRole.Watcher => "watcher",
            AlexLinkRole.Admin => "admin",
            null => "classic",
            _ => $"role {(byte)s.Role}",
        };
        var who = s.ClientName.Length > 0 ? $" as {s.ClientName} ({role})" : $" ({role})";
        return $"{s.ServerName} at {s.Endpoint}{who}, {s.Protocol}, {s.Tls}";
    }

    private DriveIntent Move(DriveCommand command, DateTimeOffset now)
    {
        if (!CanRequest(now, command.ToString()))
        {
            return DriveIntent.None;
        }

        if (Session?.Role is { } role && role != AlexLinkRole.Driver)
        {
            Add(now, DriveLogKind.Problem, $"{command} not sent: you are a watcher and may only STOP");
            return DriveIntent.None;
        }

        SafetyBanner = null;
        return new(DriveIntentKind.Send, command);
    }

    // A declared command's params come from the console's settings by their unit (a distance, an angle, a speed),
    // kept within the declared range; a param of any other unit is sent as its declared minimum.
    private DriveIntent Declared(DeclaredCommand declared, DateTimeOffset now)
    {
        if (!CanRequest(now, declared.Name))
        {
            return DriveIntent.None;
        }

        if (declared.DriversOnly && Session?.Role is { } role && role != AlexLinkRole.Driver)
        {
            Add(now, DriveLogKind.Problem, $"{declared.Name} not sent: only the driver may send it, and you are a watcher (STOP only)");
            return DriveIntent.None;
        }

        Span<uint> values = stackalloc uint[2];
        for (var i = 0; i < declared.Params.Count; i++)
        {
            var p = declared.Params[i];
            var wanted = p.Meaning switch
            {
                ParamMeaning.Distance => Settings.DistanceCm,
                ParamMeaning.Angle => Settings.AngleDegrees,
                ParamMeaning.Speed => Settings.SpeedPercent,
                _ => p.Min,
            };
            values[i] = Math.Max(p.Min, p.HasMax ? Math.Min(wanted, p.Max) : wanted);
        }

        if (declared.Moves)
        {
            SafetyBanner = null;
        }

        return new(DriveIntentKind.Send, new DriveCommand((CommandCode)declared.Code, values[0], values[1]));
    }

    private DriveIntent Request(DriveCommand command, DateTimeOffset now) =>
        CanRequest(now, command.ToString()) ? new(DriveIntentKind.Send, command) : DriveIntent.None;

    private bool CanRequest(DateTimeOffset now, string what)
    {
        if (Phase == ConnectionPhase.Connected)
        {
            return true;
        }

        // Moves are never queued across a reconnect: a command typed during an outage would run later, by surprise.
        Add(now, DriveLogKind.Problem, $"{what} not sent: {(Phase == ConnectionPhase.Failed ? "not connected" : "not connected yet")}");
        return false;
    }

    private DriveIntent Change(DriveSettings next)
    {
        if (Session is { } s)
        {
            next = next.Within(s.MaxSpeedPercent, s.MaxDistanceCm, s.MaxAngleDegrees);
        }

        if (next == Settings)
        {
            return DriveIntent.None;
        }

        Settings = next;
        return new(DriveIntentKind.SettingsChanged);
    }

    // A lidar angle is clockwise from straight ahead; the path's heading is counter-clockwise.
    private static Pose[] Place(ScanRevolution revolution, Pose at) => revolution.Measured
        .Where(p => p.DistanceMm / 10.0 <= LidarRangeCm)
        .Select(p =>
        {
            var a = (at.HeadingDeg - p.AngleDegrees) * Math.PI / 180;
            var cm = p.DistanceMm / 10.0;
            return new Pose(at.X + (cm * Math.Cos(a)), at.Y + (cm * Math.Sin(a)), 0);
        })
        .ToArray();

    private void ApplyPushed(AlexLinkMessage message, DateTimeOffset now)
    {
        switch (message)
        {
            case AlexLinkLeaseState l:
                LeaseHolder = l.Holder;
                LeaseSince = l.IsFree || l.SinceUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(l.SinceUnixMs);
                if (l.Change != AlexLinkLeaseChange.Current || l.Text.Length > 0)
                {
                    Add(now, DriveLogKind.Lease, l.Text.Length > 0 ? l.Text : l.IsFree ? "the lease is free" : $"{l.Holder} holds the lease");
                }

                break;
            case AlexLinkLinkState k:
                ArduinoUp = k.Status == AlexLinkLinkStatus.Up;
                ArduinoDetail = k.Detail;
                Add(now, ArduinoUp == true ? DriveLogKind.Info : DriveLogKind.Problem, $"Arduino link {(ArduinoUp == true ? "up" : "down")}" + (k.Detail.Length > 0 ? $": {k.Detail}" : string.Empty));
                break;
            case AlexLinkArduinoText t:
                Add(now, DriveLogKind.Arduino, $"Alex says: {t.Text}");
                break;
            case AlexLinkSafetyStop stop:
                SafetyBanner = stop.Text.Length > 0 ? stop.Text : $"safety stop ({stop.Reason})";
                Add(now, DriveLogKind.Safety, $"STOPPED: {SafetyBanner}");
                break;
            case AlexLinkError error:
                Add(now, DriveLogKind.Problem, $"server: {error.Text}");
                break;
            case AlexLinkScan scan when _scans.Offer(scan) is { } revolution:
                Lidar = Place(revolution, Pose);
                break;
            default:
                break;
        }
    }

    private void ApplyReply(CommandReply reply, DateTimeOffset now)
    {
        InFlight = null;
        LastCommandRoundTrip = reply.RoundTrip;
        if (reply.Acknowledged)
        {
            CommandsOk++;
            if (reply.Status is { } counters)
            {
                TakeCounters(counters, now);
                Add(now, DriveLogKind.Ok, $"{reply.Request}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms): {DescribeOdometry(counters)}");
            }
            else if (DeclaredReading.From(Extensions, reply) is { } reading)
            {
                LastReading = reading;
                var swatch = reading.Swatch is { } colour ? $", colour {colour}" : string.Empty;
                Add(now, DriveLogKind.Ok, $"{reply.Request}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms): {reading.Summary}{swatch}");
            }
            else
            {
                Add(now, DriveLogKind.Ok, $"{reply.Request}: OK ({reply.RoundTrip.TotalMilliseconds:0} ms)");
            }

            return;
        }

        CommandsFailed++;
        Add(now, DriveLogKind.Problem, $"{reply.Request}: {reply.Text}");
    }

    /// <summary>The odometry in one line: the two distances and the turn ticks.</summary>
    public static string DescribeOdometry(in StatusCounters c) =>
        $"forward {c.ForwardDistanceCm} cm, reverse {c.ReverseDistanceCm} cm, left turn ticks {c.LeftReverseTurnTicks}, right turn ticks {c.LeftForwardTurnTicks}";

    private void TakeCounters(in StatusCounters counters, DateTimeOffset now)
    {
        Counters = counters;
        CountersAt = now;
    }

    private void Add(DateTimeOffset now, DriveLogKind kind, string text)
    {
        _log.Add(new DriveLogLine(_sequence++, now, kind, text));
        if (_log.Count > MaxLogLines)
        {
            _log.RemoveRange(0, _log.Count - MaxLogLines);
        }
    }
}
