// What the hub tells every session (Arduino text and errors, link state, lease changes, safety stops, telemetry),
// sent off the requester's path: the hub posts a Broadcast and returns; one fan-out task hands it to each session's
// push queue (ClientSession.Push). Each broadcast is encoded at most once per protocol, however many sessions get it:
// the bytes are the same for every session of a protocol (what differs, the topics a client asked for, is checked
// before, in ClientSession.Wants).
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

/// <summary>What a broadcast is about (which sessions want it is up to each protocol).</summary>
internal enum BroadcastKind
{
    ArduinoText,
    ArduinoError,
    LinkState,
    Lease,
    SafetyStop,
    Status,
    Scan,
}

/// <summary>One message for every session (but <see cref="Except"/>), with its encodings cached per protocol.</summary>
internal sealed class Broadcast
{
    private ReadOnlyMemory<byte>? _alexLink;
    private ReadOnlyMemory<byte>? _classic;

    private Broadcast(BroadcastKind kind, AlexLinkMessage message, AlexLinkTopics topic, DateTimeOffset at)
    {
        Kind = kind;
        Message = message;
        Topic = topic;
        At = at;
    }

    public BroadcastKind Kind { get; }

    /// <summary>The AlexLink/1 push (request id 0).</summary>
    public AlexLinkMessage Message { get; }

    /// <summary>The AlexLink/1 topic a client must have subscribed to.</summary>
    public AlexLinkTopics Topic { get; }

    public DateTimeOffset At { get; }

    /// <summary>The Arduino's MESSAGE payload as it came (classic clients get it as it is).</summary>
    public ReadOnlyMemory<byte> ArduinoData { get; private init; }

    /// <summary>A session that is told otherwise (the one whose STOP this is), or null.</summary>
    public ClientSession? Except { get; private init; }

    public static Broadcast ArduinoText(ReadOnlyMemory<byte> data, string text, DateTimeOffset at) =>
        new(BroadcastKind.ArduinoText, new AlexLinkArduinoText(text), AlexLinkTopics.ArduinoText, at) { ArduinoData = data };

    public static Broadcast ArduinoError(byte code, DateTimeOffset at) =>
        new(BroadcastKind.ArduinoError, new AlexLinkError(AlexLinkErrorCode.ArduinoError, code, $"the Arduino reported error {AlexLinkSession.DescribeArduinoCode(code)}"), AlexLinkTopics.ArduinoText, at);

    public static Broadcast LinkState(bool up, string detail, DateTimeOffset at) =>
        new(BroadcastKind.LinkState, new AlexLinkLinkState(up ? AlexLinkLinkStatus.Up : AlexLinkLinkStatus.Down, detail), AlexLinkTopics.Link, at);

    public static Broadcast Lease(string? holder, DateTimeOffset since, AlexLinkLeaseChange change) =>
        new(BroadcastKind.Lease, AlexLinkSession.LeaseState(holder, since, change), AlexLinkTopics.Lease, since);

    public static Broadcast SafetyStop(AlexLinkStopReason reason, string who, string text, DateTimeOffset at, ClientSession? except = null) =>
        new(BroadcastKind.SafetyStop, new AlexLinkSafetyStop(reason, at.ToUnixTimeMilliseconds(), who, text), AlexLinkTopics.Safety, at) { Except = except };

    /// <summary>A lidar revolution, in as many Scan frames as it needs; a session keeps only the newest one unsent (ClientSession.Push).</summary>
    public static Broadcast Scan(IReadOnlyList<AlexLinkScan> parts, DateTimeOffset at) =>
        new(BroadcastKind.Scan, parts[0], AlexLinkTopics.Lidar, at) { Parts = parts };

    /// <summary>Every frame of a broadcast that needs more than one (a Scan); null for the rest.</summary>
    public IReadOnlyList<AlexLinkMessage>? Parts { get; private init; }

    public static Broadcast Status(in StatusCounters counters, DateTimeOffset at) =>
        new(BroadcastKind.Status, new AlexLinkStatus(at.ToUnixTimeMilliseconds(), counters), AlexLinkTopics.Status, at);

    /// <summary>The bytes for sessions of <paramref name="protocol"/>, rendered once. Called by the fan-out task only.</summary>
    public ReadOnlyMemory<byte> EncodedFor(SessionProtocol protocol, Func<Broadcast, ReadOnlyMemory<byte>> render) => protocol == SessionProtocol.AlexLink1
        ? _alexLink ??= render(this)
        : _classic ??= render(this);
}
