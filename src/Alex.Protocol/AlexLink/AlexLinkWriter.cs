// Writes AlexLink/1 frames: docs/protocol.md §2 (header) and §4 (payloads).
using System.Buffers;
using System.Buffers.Binary;

namespace Alex.Protocol.AlexLink;

public static class AlexLinkWriter
{
    /// <summary>Appends one frame to <paramref name="writer"/>; returns the bytes written.</summary>
    public static int Write(IBufferWriter<byte> writer, AlexLinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        var size = FrameSize(message);
        var frame = writer.GetSpan(size)[..size];
        WriteFrame(message, frame);
        writer.Advance(size);
        return size;
    }

    /// <summary>One frame's bytes.</summary>
    public static byte[] Encode(AlexLinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Encode(message, message.RequestId);
    }

    /// <summary>One frame's bytes, with <paramref name="requestId"/> in the header instead of the message's own (a reply, without a copy of the message).</summary>
    public static byte[] Encode(AlexLinkMessage message, uint requestId)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bytes = new byte[FrameSize(message)];
        WriteFrame(message, bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(AlexLinkFrame.RequestIdOffset), requestId);
        return bytes;
    }

    /// <summary>Header plus payload.</summary>
    public static int FrameSize(AlexLinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var payload = message.PayloadLength;
        if (payload > ushort.MaxValue)
        {
            throw new ArgumentException($"a {message.Type} payload of {payload} bytes does not fit a frame", nameof(message));
        }

        return AlexLinkFrame.HeaderSize + payload;
    }

    private static void WriteFrame(AlexLinkMessage message, Span<byte> frame)
    {
        var payloadLength = frame.Length - AlexLinkFrame.HeaderSize;
        BinaryPrimitives.WriteUInt16LittleEndian(frame[AlexLinkFrame.LengthOffset..], (ushort)payloadLength);
        frame[AlexLinkFrame.TypeOffset] = message is AlexLinkUnknown u ? u.RawType : (byte)message.Type;
        frame[AlexLinkFrame.FlagsOffset] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(frame[AlexLinkFrame.RequestIdOffset..], message.RequestId);
        var w = new PayloadWriter(frame[AlexLinkFrame.HeaderSize..]);
        message.WritePayload(ref w);
        if (w.Written != payloadLength)
        {
            throw new InvalidOperationException($"{message.Type} wrote {w.Written} bytes, declared {payloadLength}");
        }
    }
}
