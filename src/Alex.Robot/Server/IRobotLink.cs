using Alex.Protocol;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

/// <summary>
/// What the hub needs from the Arduino side: run one command and get its reply, a telemetry poll, and
/// the packets nobody asked for. Implemented over ArduinoLink (a real serial port, a pty, or the
/// in-process simulator through an in-memory stream), whose SerialExchange holds the rules: STOP
/// first and shared, GET_STATS shared, moves dropped by a later STOP.
/// </summary>
public interface IRobotLink
{
    /// <summary>True while the serial port is open and answering.</summary>
    bool IsUp { get; }

    /// <summary>Why the link is down (e.g. "cannot open /dev/ttyACM0: no such port"), or null when up or not known.</summary>
    string? Problem => null;

    /// <summary>How many STOPs have been asked for so far: a session notes it when a command arrives.</summary>
    long StopEpoch => 0;

    /// <summary>Counts of the serial line's trouble, for the server's status and log.</summary>
    SerialLineCounts Counts => default;

    /// <summary>Sends one command and waits for its reply; STOP goes ahead of anything queued.</summary>
    Task<RobotReply> ExecuteAsync(DriveCommand command, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ExecuteAsync(DriveCommand, CancellationToken)"/>, for a command that arrived when <see cref="StopEpoch"/>
    /// was <paramref name="stopEpoch"/>: a move answers Stopped if a STOP has been asked for since.
    /// </summary>
    Task<RobotReply> ExecuteAsync(DriveCommand command, long stopEpoch, CancellationToken cancellationToken) => ExecuteAsync(command, cancellationToken);

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

    /// <summary>The serial line's trouble for the log: a kind (noise, bad-checksum, timeout, late-reply, lost, ...) and a line of text.</summary>
    event Action<string, string>? Diagnostic
    {
        add
        {
        }

        remove
        {
        }
    }
}
