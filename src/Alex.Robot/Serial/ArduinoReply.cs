// What a command sent to the Arduino came back with (docs/course-protocol.md §3): a small closed set of
// outcomes as a value, so callers switch on Kind instead of catching exceptions.
using Alex.Protocol.Serial;

namespace Alex.Robot.Serial;

public enum ArduinoReplyKind
{
    /// <summary>RESPONSE OK.</summary>
    Ok,

    /// <summary>RESPONSE STATUS (the answer to GET_STATS), in <see cref="ArduinoReply.Status"/>.</summary>
    Status,

    /// <summary>An ERROR packet; its code is in <see cref="ArduinoReply.Code"/> (BAD_PACKET, BAD_COMMAND, ...).</summary>
    Error,

    /// <summary>A RESPONSE with another code (students add codes from 6 up), in <see cref="ArduinoReply.Packet"/>.</summary>
    Response,

    /// <summary>No reply within the reply timeout: the Arduino is silent (resetting, hung, unplugged).</summary>
    TimedOut,

    /// <summary>The serial link is not up (port missing, lost mid-request, or the link was closed).</summary>
    LinkDown,

    /// <summary>A move that was still queued when a STOP came: never sent, so it cannot start after the STOP.</summary>
    Superseded,
}

/// <summary>The outcome of <see cref="ArduinoLink.SendAsync(SerialPacket, CancellationToken)"/>.</summary>
public readonly record struct ArduinoReply(ArduinoReplyKind Kind, ResponseCode Code, StatusCounters Status, SerialPacket? Packet)
{
    public static ArduinoReply Ok { get; } = new(ArduinoReplyKind.Ok, ResponseCode.Ok, default, null);

    public static ArduinoReply TimedOut { get; } = new(ArduinoReplyKind.TimedOut, default, default, null);

    public static ArduinoReply LinkDown { get; } = new(ArduinoReplyKind.LinkDown, default, default, null);

    public static ArduinoReply Superseded { get; } = new(ArduinoReplyKind.Superseded, default, default, null);

    public static ArduinoReply StatusOf(StatusCounters status) => new(ArduinoReplyKind.Status, ResponseCode.Status, status, null);

    public static ArduinoReply ErrorOf(ResponseCode code) => new(ArduinoReplyKind.Error, code, default, null);

    public static ArduinoReply ResponseOf(SerialPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        return new(ArduinoReplyKind.Response, packet.Response, default, packet);
    }

    /// <summary>True when the Arduino accepted the command (OK, or the STATUS a GET_STATS asked for).</summary>
    public bool IsSuccess => Kind is ArduinoReplyKind.Ok or ArduinoReplyKind.Status;

    public override string ToString() => Kind switch
    {
        ArduinoReplyKind.Status => $"STATUS [{string.Join(",", Status.ToArray())}]",
        ArduinoReplyKind.Error => $"ERROR {Code}",
        ArduinoReplyKind.Response => $"RESPONSE #{(byte)Code}",
        _ => Kind.ToString(),
    };
}
