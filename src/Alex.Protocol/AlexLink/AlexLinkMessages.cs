// AlexLink/1 messages and their payload layouts: docs/protocol.md §4 (the tables there and the
// WritePayload/Read pairs here say the same thing; the golden-byte tests hold them together).
// Readers accept payloads longer than they know (later minor versions append fields); shorter is
// malformed.
using Alex.Protocol.Serial;

namespace Alex.Protocol.AlexLink;

/// <summary>One AlexLink/1 message: the frame's type and request id, and the payload's fields.</summary>
public abstract record AlexLinkMessage
{
    /// <summary>Set by the client on requests, echoed by the server on replies, 0 on pushed messages.</summary>
    public uint RequestId { get; init; }

    public abstract AlexLinkMessageType Type { get; }

    /// <summary>Bytes of payload this message writes.</summary>
    internal abstract int PayloadLength { get; }

    internal abstract void WritePayload(ref PayloadWriter writer);

    /// <summary>Decodes a payload of a known type; false when it is too short or out of range.</summary>
    internal static bool TryDecode(AlexLinkMessageType type, uint requestId, ReadOnlySpan<byte> payload, out AlexLinkMessage? message)
    {
        var r = new PayloadReader(payload);
        message = type switch
        {
            AlexLinkMessageType.Welcome => AlexLinkWelcome.Read(ref r),
            AlexLinkMessageType.Refusal => AlexLinkRefusal.Read(ref r),
            AlexLinkMessageType.Ok => new AlexLinkOk(),
            AlexLinkMessageType.Error => AlexLinkError.Read(ref r),
            AlexLinkMessageType.Status => AlexLinkStatus.Read(ref r),
            AlexLinkMessageType.LeaseState => AlexLinkLeaseState.Read(ref r),
            AlexLinkMessageType.LinkState => AlexLinkLinkState.Read(ref r),
            AlexLinkMessageType.ArduinoText => AlexLinkArduinoText.Read(ref r),
            AlexLinkMessageType.SafetyStop => AlexLinkSafetyStop.Read(ref r),
            AlexLinkMessageType.Command => AlexLinkCommand.Read(ref r),
            AlexLinkMessageType.Stop => new AlexLinkStop(),
            AlexLinkMessageType.Heartbeat => AlexLinkHeartbeat.Read(ref r),
            AlexLinkMessageType.Subscribe => AlexLinkSubscribe.Read(ref r),
            AlexLinkMessageType.TakeLease => new AlexLinkTakeLease(),
            AlexLinkMessageType.ReleaseLease => new AlexLinkReleaseLease(),
            AlexLinkMessageType.ServerStatus => AlexLinkServerStatus.Read(ref r),
            AlexLinkMessageType.AuditLine => AlexLinkAuditLine.Read(ref r),
            AlexLinkMessageType.DeclaredReply => AlexLinkDeclaredReply.Read(ref r),
            AlexLinkMessageType.GetServerStatus => new AlexLinkGetServerStatus(),
            AlexLinkMessageType.FollowAudit => AlexLinkFollowAudit.Read(ref r),
            AlexLinkMessageType.Scan => AlexLinkScan.Read(ref r),
            AlexLinkMessageType.MapTiles => AlexLinkMapTiles.Read(ref r),
            _ => null,
        };
        if (message is null)
        {
            return false;
        }

        message = message with { RequestId = requestId };
        return true;
    }

    /// <summary>True for the types a client sends and the server answers.</summary>
    public static bool IsRequest(byte type) => type is >= 0x20 and <= 0x3F;
}

/// <summary>
/// Server → client, first frame after the handshake: who the server thinks the client is, its role,
/// and the lease terms. Limits of 0 mean "no limit".
/// </summary>
public sealed record AlexLinkWelcome(
    AlexLinkRole Role,
    uint LeaseWindowMs,
    uint HeartbeatIntervalMs,
    uint MaxSpeedPercent,
    uint MaxDistanceCm,
    uint MaxAngleDegrees,
    uint MinTelemetryIntervalMs,
    uint MaxPayload,
    long ServerTimeUnixMs,
    long LeaseSinceUnixMs,
    string ClientName,
    string ServerName,
    string LeaseHolder) : AlexLinkMessage
{
    public const int FixedSize = 48;

    public byte VersionMajor { get; init; } = AlexLinkFrame.VersionMajor;

    public byte VersionMinor { get; init; } = AlexLinkFrame.VersionMinor;

    public override AlexLinkMessageType Type => AlexLinkMessageType.Welcome;

    internal override int PayloadLength => FixedSize + PayloadWriter.StringSize(ClientName) + PayloadWriter.StringSize(ServerName) + PayloadWriter.StringSize(LeaseHolder);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte(VersionMajor);
        w.WriteByte(VersionMinor);
        w.WriteByte((byte)Role);
        w.WriteZeros(1);
        w.WriteUInt32(LeaseWindowMs);
        w.WriteUInt32(HeartbeatIntervalMs);
        w.WriteUInt32(MaxSpeedPercent);
        w.WriteUInt32(MaxDistanceCm);
        w.WriteUInt32(MaxAngleDegrees);
        w.WriteUInt32(MinTelemetryIntervalMs);
        w.WriteUInt32(MaxPayload);
        w.WriteInt64(ServerTimeUnixMs);
        w.WriteInt64(LeaseSinceUnixMs);
        w.WriteString(ClientName);
        w.WriteString(ServerName);
        w.WriteString(LeaseHolder);
    }

    internal static AlexLinkWelcome? Read(ref PayloadReader r) =>
        r.TryReadByte(out var major) && r.TryReadByte(out var minor) && r.TryReadByte(out var role) && r.TrySkip(1) &&
        r.TryReadUInt32(out var lease) && r.TryReadUInt32(out var heartbeat) && r.TryReadUInt32(out var speed) &&
        r.TryReadUInt32(out var distance) && r.TryReadUInt32(out var angle) && r.TryReadUInt32(out var telemetry) &&
        r.TryReadUInt32(out var maxPayload) && r.TryReadInt64(out var now) && r.TryReadInt64(out var since) &&
        r.TryReadString(out var client) && r.TryReadString(out var server) && r.TryReadString(out var holder)
            ? new AlexLinkWelcome((AlexLinkRole)role, lease, heartbeat, speed, distance, angle, telemetry, maxPayload, now, since, client, server, holder)
            {
                VersionMajor = major,
                VersionMinor = minor,
            }
            : null;
}

/// <summary>Server → client, instead of Welcome: why the connection is refused. The server closes after it.</summary>
public sealed record AlexLinkRefusal(AlexLinkRefusalCode Code, string Text) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Refusal;

    internal override int PayloadLength => 2 + PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt16((ushort)Code);
        w.WriteString(Text);
    }

    internal static AlexLinkRefusal? Read(ref PayloadReader r) =>
        r.TryReadUInt16(out var code) && r.TryReadString(out var text) ? new((AlexLinkRefusalCode)code, text) : null;
}

/// <summary>Server → client: the request succeeded (a move was accepted by the Arduino, a lease taken, ...).</summary>
public sealed record AlexLinkOk : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Ok;

    internal override int PayloadLength => 0;

    internal override void WritePayload(ref PayloadWriter w)
    {
    }
}

/// <summary>
/// Server → client: the request failed (request id set) or the connection broke a rule (request id 0).
/// Detail is code-specific: the Arduino's response code for ArduinoError, else 0.
/// </summary>
public sealed record AlexLinkError(AlexLinkErrorCode Code, ushort Detail, string Text) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Error;

    internal override int PayloadLength => 4 + PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt16((ushort)Code);
        w.WriteUInt16(Detail);
        w.WriteString(Text);
    }

    internal static AlexLinkError? Read(ref PayloadReader r) =>
        r.TryReadUInt16(out var code) && r.TryReadUInt16(out var detail) && r.TryReadString(out var text) ? new((AlexLinkErrorCode)code, detail, text) : null;
}

/// <summary>
/// Server → client: the Arduino's STATUS params (all 16; 0-9 are the odometry counters) and when the
/// server read them. The reply to GET_STATS (request id set) and pushed telemetry (request id 0).
/// </summary>
public sealed record AlexLinkStatus : AlexLinkMessage
{
    public const int Size = 8 + (4 * SerialPacket.ParamCount);

    private readonly uint[] _params = new uint[SerialPacket.ParamCount];

    public AlexLinkStatus(long readAtUnixMs, ReadOnlySpan<uint> parameters)
    {
        if (parameters.Length > SerialPacket.ParamCount)
        {
            throw new ArgumentException($"at most {SerialPacket.ParamCount} params", nameof(parameters));
        }

        ReadAtUnixMs = readAtUnixMs;
        parameters.CopyTo(_params);
    }

    public AlexLinkStatus(long readAtUnixMs, in StatusCounters counters)
    {
        ReadAtUnixMs = readAtUnixMs;
        counters.CopyTo(_params);
    }

    public long ReadAtUnixMs { get; }

    public ReadOnlySpan<uint> Params => _params;

    public StatusCounters Counters => StatusCounters.FromParams(_params);

    public override AlexLinkMessageType Type => AlexLinkMessageType.Status;

    internal override int PayloadLength => Size;

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteInt64(ReadAtUnixMs);
        foreach (var p in _params)
        {
            w.WriteUInt32(p);
        }
    }

    internal static AlexLinkStatus? Read(ref PayloadReader r)
    {
        if (!r.TryReadInt64(out var at) || r.Remaining < 4 * SerialPacket.ParamCount)
        {
            return null;
        }

        Span<uint> p = stackalloc uint[SerialPacket.ParamCount];
        for (var i = 0; i < p.Length; i++)
        {
            r.TryReadUInt32(out p[i]);
        }

        return new AlexLinkStatus(at, p);
    }

    public bool Equals(AlexLinkStatus? other) =>
        other is not null && RequestId == other.RequestId && ReadAtUnixMs == other.ReadAtUnixMs && _params.AsSpan().SequenceEqual(other._params);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(RequestId);
        h.Add(ReadAtUnixMs);
        foreach (var p in _params)
        {
            h.Add(p);
        }

        return h.ToHashCode();
    }

    public override string ToString() => $"status #{RequestId} [{string.Join(",", _params[..StatusCounters.Count])}]";
}

/// <summary>
/// Server → client, the reply to a team's declared command that answers with values (docs/extensions.md): the packet
/// the Arduino answered with, as it came (a RESPONSE of the declared code, a STATUS-shaped RESPONSE, or a MESSAGE), and
/// when the server read it. The client names the values from the same declaration file.
/// <code>
/// | offset | size | field                                         |
/// | 0      | 1    | command code the request carried              |
/// | 1      | 1    | packet type: 1 RESPONSE, 3 MESSAGE            |
/// | 2      | 1    | response code (RESPONSE)                      |
/// | 3      | 1    | reserved                                      |
/// | 4      | 8    | time read                                     |
/// | 12     | 64   | 16 × u32 params                               |
/// | 76     | …    | string: a MESSAGE's text ("" otherwise)       |
/// </code>
/// </summary>
public sealed record AlexLinkDeclaredReply : AlexLinkMessage
{
    public const int FixedSize = 12 + (4 * SerialPacket.ParamCount);

    private readonly uint[] _params = new uint[SerialPacket.ParamCount];

    public AlexLinkDeclaredReply(byte command, PacketType packetType, byte code, long readAtUnixMs, ReadOnlySpan<uint> parameters, string text)
    {
        if (parameters.Length > SerialPacket.ParamCount)
        {
            throw new ArgumentException($"at most {SerialPacket.ParamCount} params", nameof(parameters));
        }

        Command = command;
        PacketType = packetType;
        Code = code;
        ReadAtUnixMs = readAtUnixMs;
        parameters.CopyTo(_params);
        Text = text ?? throw new ArgumentNullException(nameof(text));
    }

    /// <summary>The reply for the packet that answered a declared command.</summary>
    public static AlexLinkDeclaredReply From(byte command, SerialPacket packet, long readAtUnixMs)
    {
        ArgumentNullException.ThrowIfNull(packet);
        return new(command, packet.Type, packet.Code, readAtUnixMs, packet.Params, packet.Type == PacketType.Message ? packet.Text : "");
    }

    public byte Command { get; }

    public PacketType PacketType { get; }

    public byte Code { get; }

    public long ReadAtUnixMs { get; }

    public ReadOnlySpan<uint> Params => _params;

    public string Text { get; }

    public override AlexLinkMessageType Type => AlexLinkMessageType.DeclaredReply;

    internal override int PayloadLength => FixedSize + PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte(Command);
        w.WriteByte((byte)PacketType);
        w.WriteByte(Code);
        w.WriteZeros(1);
        w.WriteInt64(ReadAtUnixMs);
        foreach (var p in _params)
        {
            w.WriteUInt32(p);
        }

        w.WriteString(Text);
    }

    internal static AlexLinkDeclaredReply? Read(ref PayloadReader r)
    {
        if (!(r.TryReadByte(out var command) && r.TryReadByte(out var type) && r.TryReadByte(out var code) && r.TrySkip(1) && r.TryReadInt64(out var at)) || r.Remaining < 4 * SerialPacket.ParamCount)
        {
            return null;
        }

        Span<uint> p = stackalloc uint[SerialPacket.ParamCount];
        for (var i = 0; i < p.Length; i++)
        {
            r.TryReadUInt32(out p[i]);
        }

        return r.TryReadString(out var text) ? new AlexLinkDeclaredReply(command, (PacketType)type, code, at, p, text) : null;
    }

    public bool Equals(AlexLinkDeclaredReply? other) =>
        other is not null && RequestId == other.RequestId && Command == other.Command && PacketType == other.PacketType && Code == other.Code &&
        ReadAtUnixMs == other.ReadAtUnixMs && Text == other.Text && _params.AsSpan().SequenceEqual(other._params);

    public override int GetHashCode() => HashCode.Combine(RequestId, Command, Code, ReadAtUnixMs, Text);

    public override string ToString() => $"declared reply #{RequestId} to code {Command}: {PacketType} {Code} [{string.Join(",", _params)}] \"{Text}\"";
}

/// <summary>Server → client: who holds the lease (empty holder: nobody), since when, and why it changed.</summary>
public sealed record AlexLinkLeaseState(AlexLinkLeaseChange Change, long SinceUnixMs, string Holder, string Text) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.LeaseState;

    public bool IsFree => Holder.Length == 0;

    internal override int PayloadLength => 12 + PayloadWriter.StringSize(Holder) + PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte((byte)Change);
        w.WriteZeros(3);
        w.WriteInt64(SinceUnixMs);
        w.WriteString(Holder);
        w.WriteString(Text);
    }

    internal static AlexLinkLeaseState? Read(ref PayloadReader r) =>
        r.TryReadByte(out var change) && r.TrySkip(3) && r.TryReadInt64(out var since) && r.TryReadString(out var holder) && r.TryReadString(out var text)
            ? new((AlexLinkLeaseChange)change, since, holder, text)
            : null;
}

/// <summary>Server → client: the serial link to the Arduino went up or down; detail says what happened.</summary>
public sealed record AlexLinkLinkState(AlexLinkLinkStatus Status, string Detail) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.LinkState;

    internal override int PayloadLength => 4 + PayloadWriter.StringSize(Detail);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte((byte)Status);
        w.WriteZeros(3);
        w.WriteString(Detail);
    }

    internal static AlexLinkLinkState? Read(ref PayloadReader r) =>
        r.TryReadByte(out var status) && r.TrySkip(3) && r.TryReadString(out var detail) ? new((AlexLinkLinkStatus)status, detail) : null;
}

/// <summary>Server → client: a MESSAGE packet from the Arduino (its debug prints), as text.</summary>
public sealed record AlexLinkArduinoText(string Text) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.ArduinoText;

    internal override int PayloadLength => PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w) => w.WriteString(Text);

    internal static AlexLinkArduinoText? Read(ref PayloadReader r) => r.TryReadString(out var text) ? new(text) : null;
}

/// <summary>Server → client: the server stopped the robot (or relayed a STOP): why, when, whose lease, in words.</summary>
public sealed record AlexLinkSafetyStop(AlexLinkStopReason Reason, long AtUnixMs, string Who, string Text) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.SafetyStop;

    internal override int PayloadLength => 12 + PayloadWriter.StringSize(Who) + PayloadWriter.StringSize(Text);

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte((byte)Reason);
        w.WriteZeros(3);
        w.WriteInt64(AtUnixMs);
        w.WriteString(Who);
        w.WriteString(Text);
    }

    internal static AlexLinkSafetyStop? Read(ref PayloadReader r) =>
        r.TryReadByte(out var reason) && r.TrySkip(3) && r.TryReadInt64(out var at) && r.TryReadString(out var who) && r.TryReadString(out var text)
            ? new((AlexLinkStopReason)reason, at, who, text)
            : null;
}

/// <summary>Client → server: a command for the Arduino (docs/course-protocol.md §1 codes and params).</summary>
public sealed record AlexLinkCommand(CommandCode Command, uint Param0, uint Param1) : AlexLinkMessage
{
    public const int Size = 12;

    public AlexLinkCommand(DriveCommand command)
        : this(command.Command, command.Param0, command.Param1)
    {
    }

    public DriveCommand Drive => new(Command, Param0, Param1);

    public override AlexLinkMessageType Type => AlexLinkMessageType.Command;

    internal override int PayloadLength => Size;

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteByte((byte)Command);
        w.WriteZeros(3);
        w.WriteUInt32(Param0);
        w.WriteUInt32(Param1);
    }

    internal static AlexLinkCommand? Read(ref PayloadReader r) =>
        r.TryReadByte(out var code) && r.TrySkip(3) && r.TryReadUInt32(out var p0) && r.TryReadUInt32(out var p1) ? new((CommandCode)code, p0, p1) : null;
}

/// <summary>Client → server: stop now. Any authenticated client may send it; it goes ahead of anything queued.</summary>
public sealed record AlexLinkStop : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Stop;

    internal override int PayloadLength => 0;

    internal override void WritePayload(ref PayloadWriter w)
    {
    }
}

/// <summary>
/// Both ways: the client says it is alive; the server echoes the frame (same id, same value), so the
/// client measures the round trip. The value is the client's own, opaque to the server.
/// </summary>
public sealed record AlexLinkHeartbeat(long Value) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Heartbeat;

    internal override int PayloadLength => 8;

    internal override void WritePayload(ref PayloadWriter w) => w.WriteInt64(Value);

    internal static AlexLinkHeartbeat? Read(ref PayloadReader r) => r.TryReadInt64(out var value) ? new(value) : null;
}

/// <summary>Client → server: which telemetry to push, and how often to push status (0: no status).</summary>
public sealed record AlexLinkSubscribe(AlexLinkTopics Topics, uint StatusIntervalMs) : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.Subscribe;

    internal override int PayloadLength => 8;

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt32((uint)Topics);
        w.WriteUInt32(StatusIntervalMs);
    }

    internal static AlexLinkSubscribe? Read(ref PayloadReader r) =>
        r.TryReadUInt32(out var topics) && r.TryReadUInt32(out var interval) ? new((AlexLinkTopics)topics, interval) : null;
}

/// <summary>Client → server: take the driver lease (a driver-role client only; refused while another holds it).</summary>
public sealed record AlexLinkTakeLease : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.TakeLease;

    internal override int PayloadLength => 0;

    internal override void WritePayload(ref PayloadWriter w)
    {
    }
}

/// <summary>Client → server: give the lease up (the server stops the robot if it may be moving).</summary>
public sealed record AlexLinkReleaseLease : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.ReleaseLease;

    internal override int PayloadLength => 0;

    internal override void WritePayload(ref PayloadWriter w)
    {
    }
}

/// <summary>
/// A frame of a type this version does not know, kept whole: a receiver skips it (and a server
/// answers an unknown request with Error UnknownMessage).
/// </summary>
public sealed record AlexLinkUnknown : AlexLinkMessage
{
    private readonly byte[] _payload;

    public AlexLinkUnknown(byte rawType, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > ushort.MaxValue)
        {
            throw new ArgumentException("payload too long for a frame", nameof(payload));
        }

        RawType = rawType;
        _payload = payload.ToArray();
    }

    public byte RawType { get; }

    public ReadOnlySpan<byte> Payload => _payload;

    public override AlexLinkMessageType Type => (AlexLinkMessageType)RawType;

    internal override int PayloadLength => _payload.Length;

    internal override void WritePayload(ref PayloadWriter w)
    {
        foreach (var b in _payload)
        {
            w.WriteByte(b);
        }
    }

    public bool Equals(AlexLinkUnknown? other) =>
        other is not null && RequestId == other.RequestId && RawType == other.RawType && _payload.AsSpan().SequenceEqual(other._payload);

    public override int GetHashCode() => HashCode.Combine(RequestId, RawType, _payload.Length);

    public override string ToString() => $"unknown type 0x{RawType:X2} #{RequestId} ({_payload.Length} bytes)";
}
