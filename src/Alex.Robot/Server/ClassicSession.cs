// A session in the course's own protocol (no ALPN): docs/course-protocol.md §4, byte-compatible with the course's
// C client. Every message is exactly one write, so one TLS record (the course client reads one
// message per record). Replies:
//   move / stop / clear          → 00 00                      (or 00 c for the Arduino's error c)
//   g                            → 00 00, then 01 + 16 params (two records in one socket write)
//   a team's declared letter     → what its declaration says (docs/extensions.md): 00 00, the team's packet type,
//                                  the status packet (STATUS-shaped) or 02 + text (MESSAGE)
//   unknown letter               → 00 04 (BAD_COMMAND): the course server stays silent, we do not
//   refused by the hub           → 02 "<why, cut to 32 bytes>", then 00 04 (watcher, not the driver, limits)
//   Arduino not there / no reply → 02 "<why>", then 00 05 (BAD_RESPONSE)
//   a message the laptop never sends (types 0-2) → 00 02 (BAD_PACKET), the stream stays in step
//   a byte that is no message type → 00 02, then close (no length prefix: we cannot find the next message)
// Arduino MESSAGE packets are forwarded as 02 + 32 bytes to every classic client, as the course server does.
using System.Buffers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

internal sealed class ClassicSession : ClientSession
{
    private static readonly byte[] AckOk = ClassicResponse.Ok.Encode();
    private static readonly byte[] BadPacket = new ClassicResponse((byte)ResponseCode.BadPacket).Encode();
    private static readonly byte[] BadCommand = new ClassicResponse((byte)ResponseCode.BadCommand).Encode();
    private static readonly byte[] BadResponse = new ClassicResponse((byte)ResponseCode.BadResponse).Encode();

    public ClassicSession(SslStream stream, RecordBatchingStream wire, ClientIdentity identity, X509Certificate2 certificate, X509Certificate2Collection extraCertificates, RobotHub hub, TimeProvider time)
        : base(stream, wire, identity, certificate, extraCertificates, hub, time, sendsHeartbeats: false)
    {
    }

    public override SessionProtocol Protocol => SessionProtocol.Classic;

    // Arduino MESSAGE packets as the course server forwards them; a safety stop is worth a line in the course client's
    // output (it prints every message it gets). The rest has no way to be said in the classic protocol.
    protected override bool Wants(Broadcast broadcast) =>
        broadcast.Kind == BroadcastKind.ArduinoText
        || (broadcast.Kind == BroadcastKind.SafetyStop && broadcast.Message is AlexLinkSafetyStop { Reason: not AlexLinkStopReason.StopRequested });

    protected override ReadOnlyMemory<byte> Render(Broadcast broadcast) => broadcast.Message switch
    {
        AlexLinkSafetyStop stop => new ClassicText(Cut("STOPPED: " + stop.Text)).Encode(),
        _ => new ClassicText(broadcast.ArduinoData.Span).Encode(),
    };

    protected override async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var held = 0;
        while (true)
        {
            var n = await Stream.ReadAsync(buffer.AsMemory(held), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (held > 0)
                {
                    throw new ProtocolViolationException($"connection closed in the middle of a message ({held} bytes)");
                }

                return;
            }

            held += n;
            Hub.Heartbeat(this);
            var consumed = 0;
            while (true)
            {
                var status = ClassicReader.TryRead(buffer.AsSpan(consumed, held - consumed), out var message, out var used);
                if (status == OperationStatus.NeedMoreData)
                {
                    break;
                }

                if (status == OperationStatus.InvalidData)
                {
                    Send(BadPacket);
                    throw new ProtocolViolationException($"byte 0x{buffer[consumed]:X2} is no classic message type");
                }

                consumed += used;
                await HandleAsync(message!, cancellationToken).ConfigureAwait(false);
            }

            // Keep the tail (a message split over records) at the front.
            buffer.AsSpan(consumed, held - consumed).CopyTo(buffer);
            held -= consumed;
        }
    }

    private async Task HandleAsync(ClassicMessage message, CancellationToken cancellationToken)
    {
        if (message is not ClassicCommand command)
        {
            Send(BadPacket);
            return;
        }

        if (!command.TryGetDriveCommand(Hub.Extensions, out var drive))
        {
            Send(BadCommand);
            return;
        }

        await SubmitAsync(drive, result => Reply(drive, result), cancellationToken).ConfigureAwait(false);
    }

    private void Reply(DriveCommand command, CommandResult result)
    {
        if (result.Reply is { Kind: RobotReplyKind.Ok } declaredOk && Hub.Extensions.TryGetByCode(command.Command, out var declared))
        {
            Send(ClassicMessage.ForDeclaredReply(declared, declaredOk.Packet).Encode());
            return;
        }

        if (result.Reply is { Kind: RobotReplyKind.Ok } ok)
        {
            if (ok.Status is { } counters)
            {
                Send(AckOk, new ClassicStatus(counters).Encode());
                return;
            }

            Send(AckOk);
            return;
        }

        if (result.Reply is { Kind: RobotReplyKind.ArduinoError } error)
        {
            Send(new ClassicResponse(error.Code).Encode());
            return;
        }

        Send(new ClassicText(Cut(result.Text)).Encode(), result.Error is AlexLinkErrorCode.LinkDown or AlexLinkErrorCode.Timeout ? BadResponse : BadCommand);
    }

    private static string Cut(string text) => text.Length <= ClassicText.DataLength ? text : text[..ClassicText.DataLength];
}
