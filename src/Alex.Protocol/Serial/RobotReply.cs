// How one command sent to the Arduino ended (docs/course-protocol.md §3): the one outcome that travels from the
// serial exchange to the hub, the client's reply (AlexLink/1 or classic) and the audit record.
namespace Alex.Protocol.Serial;

/// <summary>How a command ended at the Arduino.</summary>
public enum RobotReplyKind
{
    /// <summary>RESPONSE OK (and for GET_STATS the STATUS too).</summary>
    Ok,

    /// <summary>ERROR with a response code (BAD_PACKET, BAD_CHECKSUM, BAD_COMMAND, BAD_RESPONSE), or a RESPONSE with a code students added.</summary>
    ArduinoError,

    /// <summary>No reply in time.</summary>
    Timeout,

    /// <summary>The serial port is not there (missing, held by another program, unplugged, not reopened yet).</summary>
    LinkDown,

    /// <summary>A move still waiting for the serial line when a STOP came: dropped, never sent to the Arduino.</summary>
    Stopped,
}

/// <summary>
/// The Arduino's answer to one command. For GET_STATS, <see cref="Status"/> holds the counters and <see cref="ReadAt"/>
/// when the Arduino reported them (a reading shared by several requests, or reused while fresh, is older than the request).
/// For a team's declared command (docs/extensions.md) that replies with values, <see cref="Packet"/> is the packet that
/// answered it (a RESPONSE of the declared type, a STATUS-shaped RESPONSE, or a MESSAGE) and <see cref="ReadAt"/> when.
/// </summary>
public sealed record RobotReply(RobotReplyKind Kind, byte Code = 0, StatusCounters? Status = null, string Detail = "", DateTimeOffset ReadAt = default, SerialPacket? Packet = null)
{
    /// <summary>A plain OK (the same instance every time: immutable, and the reply to most commands).</summary>
    public static RobotReply Ok { get; } = new(RobotReplyKind.Ok);

    public static RobotReply Stopped { get; } = new(RobotReplyKind.Stopped);

    public bool IsOk => Kind == RobotReplyKind.Ok;

    public static RobotReply Reading(in StatusCounters counters, DateTimeOffset at) => new(RobotReplyKind.Ok, 0, counters, "", at);

    public static RobotReply Declared(SerialPacket packet, DateTimeOffset at) => new(RobotReplyKind.Ok, packet.Code, null, "", at, packet);

    public static RobotReply ArduinoError(byte code) => new(RobotReplyKind.ArduinoError, code);

    public static RobotReply Timeout(string detail) => new(RobotReplyKind.Timeout, Detail: detail);

    public static RobotReply LinkDown(string detail) => new(RobotReplyKind.LinkDown, Detail: detail);

    public override string ToString() => Kind switch
    {
        RobotReplyKind.Ok when Status is not null => "ok+status",
        RobotReplyKind.Ok when Packet is { Type: PacketType.Message } m => $"ok \"{m.Text}\"",
        RobotReplyKind.Ok when Packet is { } p => $"ok [{string.Join(",", p.Params[..Math.Max(1, p.Params.LastIndexOfAnyExcept(0u) + 1)].ToArray())}]",
        RobotReplyKind.Ok => "ok",
        RobotReplyKind.ArduinoError => Enum.IsDefined((ResponseCode)Code) ? $"arduino error {(ResponseCode)Code}" : $"arduino error #{Code}",
        RobotReplyKind.Timeout => "timeout" + (Detail.Length > 0 ? ": " + Detail : ""),
        RobotReplyKind.Stopped => "not sent: a STOP came first",
        _ => "link down" + (Detail.Length > 0 ? ": " + Detail : ""),
    };
}
