// Cuts a byte stream into classic messages (docs/course-protocol.md §4) by the length the type byte fixes:
// 0 → 2 bytes, 1 → 65, 2 → 33, 3 → 10, and a team's declared classic type (docs/extensions.md) → 65. Never trusts read or record boundaries: a message split
// over two reads waits for the rest, two messages in one read both come out.
using System.Buffers;
using Alex.Protocol.Extensions;

namespace Alex.Protocol.Classic;

/// <summary>Pure reader: no state, no I/O. The caller keeps the unread bytes.</summary>
public static class ClassicReader
{
    /// <summary>
    /// Reads one message from the front of <paramref name="buffer"/>.
    /// Done: <paramref name="message"/> is set and <paramref name="buffer"/> is sliced past it.
    /// NeedMoreData: nothing consumed (empty, or a message not complete yet).
    /// InvalidData: the first byte is no message type; nothing consumed. The stream cannot be
    /// resynchronised (there is no length prefix or magic), so the connection is broken.
    /// </summary>
    public static OperationStatus TryRead(ref ReadOnlySequence<byte> buffer, out ClassicMessage? message)
    {
        message = null;
        if (buffer.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        // The first segment can be empty (a pipe may hand over such a sequence): peek past it.
        var type = new SequenceReader<byte>(buffer).TryPeek(out var first) ? first : (byte)0;
        if (!ClassicMessage.TryGetSize(type, out var size))
        {
            return OperationStatus.InvalidData;
        }

        if (buffer.Length < size)
        {
            return OperationStatus.NeedMoreData;
        }

        var whole = buffer.Slice(0, size);
        Span<byte> bytes = stackalloc byte[ClassicMessage.MaxSize];
        whole.CopyTo(bytes);
        message = Decode(bytes[..size]);
        buffer = buffer.Slice(size);
        return OperationStatus.Done;
    }

    /// <summary>Span form of <see cref="TryRead(ref ReadOnlySequence{byte}, out ClassicMessage?)"/>; <paramref name="consumed"/> is 0 unless Done.</summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ClassicMessage? message, out int consumed) =>
        TryRead(source, TeamExtensions.None, out message, out consumed);

    /// <summary>
    /// As <see cref="TryRead(ReadOnlySpan{byte}, out ClassicMessage?, out int)"/>, with the classic packet types a team
    /// declared (a <see cref="ClassicTeamPacket"/>, 65 bytes); any other type byte is still InvalidData.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, TeamExtensions extensions, out ClassicMessage? message, out int consumed)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        message = null;
        consumed = 0;
        if (source.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        var team = extensions.ResponseByClassicType(source[0]) is not null;
        var size = ClassicTeamPacket.Size;
        if (!team && !ClassicMessage.TryGetSize(source[0], out size))
        {
            return OperationStatus.InvalidData;
        }

        if (source.Length < size)
        {
            return OperationStatus.NeedMoreData;
        }

        message = team ? ClassicTeamPacket.Read(source[..size]) : Decode(source[..size]);
        consumed = size;
        return OperationStatus.Done;
    }

    private static ClassicMessage Decode(ReadOnlySpan<byte> m) => (ClassicMessageType)m[ClassicMessage.TypeOffset] switch
    {
        ClassicMessageType.Response => ClassicResponse.Read(m),
        ClassicMessageType.Status => ClassicStatus.Read(m),
        ClassicMessageType.Message => ClassicText.Read(m),
        _ => ClassicCommand.Read(m),
    };
}
