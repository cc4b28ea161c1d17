using Alex.Protocol;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

/// <summary>
/// What the hub needs from the Arduino side: run one command and get its reply, STOP ahead of the
/// queue, a low-priority stats poll, and the packets nobody asked for. Implemented over ArduinoLink
/// (a real serial port, a pty, or the in-process simulator through an in-memory stream).
/// </summary>
public interface IRobotLink
{
    /// <summary>True while the serial port is open and answering.</summary>
    bool IsUp { get; }

    /// <summary>Sends one command and waits for its reply; STOP goes ahead of anything queued.</summary>
    Task<RobotReply> ExecuteAsync(DriveCommand command, CancellationToken cancellationToken);

    /// <summary>GET_STATS for telemetry: issued only when no command waits, so it never delays one.</summary>
    Task<RobotReply> PollStatsAsync(CancellationToken cancellationToken);

    /// <summary>MESSAGE packets and errors that answer no request.</summary>
    event Action<SerialPacket>? Unsolicited;

    /// <summary>The port went away (false) or came back (true), with a detail for people.</summary>
    event Action<bool, string>? StateChanged;

    /// <summary>For `alex status`: which port, or why it is down.</summary>
    string Detail => IsUp ? "connected" : "not connected";

    /// <summary>For `alex status`: the link's own counters (errors, timeouts, reconnects), by name; none unless the link keeps some.</summary>
    IReadOnlyList<KeyValuePair<string, long>> Counters => [];
}

/// <summary>How a command ended at the Arduino.</summary>
public enum RobotReplyKind
{
    /// <summary>RESPONSE OK (and for GET_STATS the STATUS too).</summary>
    Ok,

    /// <summary>ERROR with a response code (BAD_PACKET, BAD_CHECKSUM, BAD_COMMAND, BAD_RESPONSE, or students' codes).</summary>
    ArduinoError,

    /// <summary>No reply in time.</summary>
    Timeout,

    /// <summary>The serial port is not there (unplugged, not reopened yet).</summary>
    LinkDown,

    /// <summary>A move still waiting for the serial line when a STOP came: dropped, never sent to the Arduino.</summary>
    Stopped,
}

/// <summary>The Arduino's answer to one command.</summary>
public sealed record RobotReply(RobotReplyKind Kind, byte Code = 0, StatusCounters? Status = null, string Detail = "")
{
    /// <summary>A plain OK (the same instance every time: immutable, and the reply to most commands).</summary>
    public static RobotReply Ok { get; } = new(RobotReplyKind.Ok);

    public bool IsOk => Kind == RobotReplyKind.Ok;

    public override string ToString() => Kind switch
    {
        RobotReplyKind.Ok when Status is not null => "ok+status",
        RobotReplyKind.Ok => "ok",
        RobotReplyKind.ArduinoError => Enum.IsDefined((ResponseCode)Code) ? $"arduino error {(ResponseCode)Code}" : $"arduino error #{Code}",
        RobotReplyKind.Timeout => "timeout" + (Detail.Length > 0 ? ": " + Detail : ""),
        RobotReplyKind.Stopped => "not sent: a STOP came first",
        _ => "link down" + (Detail.Length > 0 ? ": " + Detail : ""),
    };
}
