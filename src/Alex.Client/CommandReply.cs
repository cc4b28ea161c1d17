using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>The answer to one request: acknowledged (with the status for GET_STATS) or refused with a code and text.</summary>
public sealed record CommandReply(string Request, bool Acknowledged, AlexLinkErrorCode? Error, ushort Detail, string Text, StatusCounters? Status, TimeSpan RoundTrip)
{
    /// <summary>The server's health, for a status request (admin role).</summary>
    public AlexLinkServerStatus? ServerStatus { get; init; }

    /// <summary>The reply to a team's declared command that answers with values (docs/extensions.md); see <see cref="DeclaredReading"/>.</summary>
    public AlexLinkDeclaredReply? Declared { get; init; }

    internal static CommandReply Ok(string request, TimeSpan roundTrip, StatusCounters? status = null) =>
        new(request, true, null, 0, "OK", status, roundTrip);

    internal static CommandReply Failed(string request, AlexLinkErrorCode code, ushort detail, string text, TimeSpan roundTrip) =>
        new(request, false, code, detail, text, null, roundTrip);

    /// <summary>The Arduino's error (docs/course-protocol.md §1 response codes) in words.</summary>
    public static string DescribeArduinoError(byte code) => code switch
    {
        (byte)ResponseCode.BadPacket => "the Arduino answered BAD_PACKET (the frame's magic was wrong: noise on the serial line?)",
        (byte)ResponseCode.BadChecksum => "the Arduino answered BAD_CHECKSUM (the frame was damaged on the serial line)",
        (byte)ResponseCode.BadCommand => "the Arduino answered BAD_COMMAND (its firmware does not know this command)",
        (byte)ResponseCode.BadResponse => "the Arduino answered BAD_RESPONSE",
        _ => $"the Arduino answered error {code}",
    };

    public override string ToString() => Acknowledged
        ? $"{Request}: OK ({RoundTrip.TotalMilliseconds:0} ms)"
        : $"{Request}: {Text}";

    internal static string Describe(DriveCommand command) => command.ToString();
}
