// Writes classic messages (docs/course-protocol.md §4). The course client reads one message per TLS record, so
// a sender must hand each message to its own write call: WriteTo(IBufferWriter) is for building one
// record's bytes, never for batching two messages into one write.
using System.Buffers;

namespace Alex.Protocol.Classic;

public static class ClassicWriter
{
    /// <summary>Appends one message's bytes to <paramref name="writer"/>; returns the count.</summary>
    public static int Write(IBufferWriter<byte> writer, ClassicMessage message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        var span = writer.GetSpan(message.ByteCount);
        var n = message.WriteTo(span);
        writer.Advance(n);
        return n;
    }
}
