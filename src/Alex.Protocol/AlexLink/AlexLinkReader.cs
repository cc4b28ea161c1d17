// Cuts a byte stream into AlexLink/1 messages: docs/protocol.md §2. The declared length is checked
// against the maximum as soon as the 8-byte header is in, before waiting for the body, so a peer
// cannot make us buffer a 64 KiB frame we would refuse anyway.
using System.Buffers;
using System.Buffers.Binary;

namespace Alex.Protocol.AlexLink;

/// <summary>Why a frame was not a message, for the Error the receiver answers with.</summary>
public readonly record struct AlexLinkReadError(AlexLinkErrorCode Code, byte Type, uint RequestId, string Text)
{
    /// <summary>True when the stream is out of step and the connection must close (nothing was consumed).</summary>
    public bool IsFatal => Code == AlexLinkErrorCode.FrameTooLarge;
}

/// <summary>Pure reader: no state, no I/O. The caller keeps the unread bytes.</summary>
public static class AlexLinkReader
{
    /// <summary>
    /// Reads one message from the front of <paramref name="buffer"/>.
    /// Done: <paramref name="message"/> is set (an <see cref="AlexLinkUnknown"/> for a type this version
    /// does not know) and <paramref name="buffer"/> is sliced past the frame.
    /// NeedMoreData: nothing consumed.
    /// InvalidData: <paramref name="error"/> says why. FrameTooLarge: nothing consumed, the stream cannot
    /// continue. BadFrame (a payload too short for its type): the frame was consumed, the stream is in step.
    /// </summary>
    public static OperationStatus TryRead(
        ref ReadOnlySequence<byte> buffer,
        out AlexLinkMessage? message,
        out AlexLinkReadError error,
        int maxPayload = AlexLinkFrame.MaxPayload)
    {
        message = null;
        error = default;
        if (buffer.Length < AlexLinkFrame.HeaderSize)
        {
            return OperationStatus.NeedMoreData;
        }

        Span<byte> header = stackalloc byte[AlexLinkFrame.HeaderSize];
        buffer.Slice(0, AlexLinkFrame.HeaderSize).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt16LittleEndian(header[AlexLinkFrame.LengthOffset..]);
        var type = header[AlexLinkFrame.TypeOffset];
        var requestId = BinaryPrimitives.ReadUInt32LittleEndian(header[AlexLinkFrame.RequestIdOffset..]);
        if (length > maxPayload)
        {
            error = new AlexLinkReadError(AlexLinkErrorCode.FrameTooLarge, type, requestId, $"frame of {length} bytes is over the limit of {maxPayload}");
            return OperationStatus.InvalidData;
        }

        if (buffer.Length < AlexLinkFrame.HeaderSize + length)
        {
            return OperationStatus.NeedMoreData;
        }

        var payloadSequence = buffer.Slice(AlexLinkFrame.HeaderSize, length);
        var rest = buffer.Slice(AlexLinkFrame.HeaderSize + length);
        var payload = payloadSequence.IsSingleSegment ? payloadSequence.FirstSpan : payloadSequence.ToArray();
        if (!Enum.IsDefined((AlexLinkMessageType)type))
        {
            message = new AlexLinkUnknown(type, payload) { RequestId = requestId };
            buffer = rest;
            return OperationStatus.Done;
        }

        buffer = rest;
        if (!AlexLinkMessage.TryDecode((AlexLinkMessageType)type, requestId, payload, out message))
        {
            error = new AlexLinkReadError(AlexLinkErrorCode.BadFrame, type, requestId, $"{(AlexLinkMessageType)type} payload of {length} bytes is malformed");
            return OperationStatus.InvalidData;
        }

        return OperationStatus.Done;
    }
}
