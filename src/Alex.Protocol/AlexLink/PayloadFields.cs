// Field readers and writers for AlexLink/1 payloads (docs/protocol.md §3): fixed-size integers
// little-endian, strings as a uint16 byte count then UTF-8. Readers report short input as false,
// never an exception: a truncated payload is a malformed frame, answered, not a crash.
using System.Buffers.Binary;
using System.Text;

namespace Alex.Protocol.AlexLink;

internal ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _offset;

    public PayloadReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _offset = 0;
    }

    public readonly int Remaining => _payload.Length - _offset;

    public bool TryReadByte(out byte value)
    {
        if (Remaining < 1)
        {
            value = 0;
            return false;
        }

        value = _payload[_offset++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (Remaining < 2)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16LittleEndian(_payload[_offset..]);
        _offset += 2;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> value)
    {
        if (Remaining < count)
        {
            value = default;
            return false;
        }

        value = _payload.Slice(_offset, count);
        _offset += count;
        return true;
    }

    public bool TryReadUInt32(out uint value)
    {
        if (Remaining < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(_payload[_offset..]);
        _offset += 4;
        return true;
    }

    public bool TryReadInt64(out long value)
    {
        if (Remaining < 8)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadInt64LittleEndian(_payload[_offset..]);
        _offset += 8;
        return true;
    }

    public bool TrySkip(int count)
    {
        if (Remaining < count)
        {
            return false;
        }

        _offset += count;
        return true;
    }

    public bool TryReadString(out string value) => TryReadString(AlexLinkFrame.MaxStringBytes, out value);

    /// <summary>A string field that may be longer than MaxStringBytes (up to <paramref name="maxBytes"/>), e.g. an audit line.</summary>
    public bool TryReadString(int maxBytes, out string value)
    {
        value = "";
        if (!TryReadUInt16(out var length) || length > maxBytes || Remaining < length)
        {
            return false;
        }

        // Invalid UTF-8 becomes U+FFFD: text is for people, never parsed further.
        value = Encoding.UTF8.GetString(_payload.Slice(_offset, length));
        _offset += length;
        return true;
    }
}

internal ref struct PayloadWriter
{
    private readonly Span<byte> _payload;
    private int _offset;

    public PayloadWriter(Span<byte> payload)
    {
        _payload = payload;
        _offset = 0;
    }

    public readonly int Written => _offset;

    public void WriteByte(byte value) => _payload[_offset++] = value;

    public void WriteZeros(int count)
    {
        _payload.Slice(_offset, count).Clear();
        _offset += count;
    }

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_payload[_offset..], value);
        _offset += 2;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_payload[_offset..], value);
        _offset += 4;
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_payload[_offset..], value);
        _offset += 8;
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_payload[_offset..]);
        _offset += value.Length;
    }

    public void WriteString(string value) => WriteString(value, AlexLinkFrame.MaxStringBytes);

    public void WriteString(string value, int maxBytes)
    {
        var length = StringSize(value, maxBytes) - 2;
        WriteUInt16((ushort)length);
        var written = Encoding.UTF8.GetBytes(Cut(value, length), _payload.Slice(_offset, length));
        _offset += written;
    }

    /// <summary>Bytes a string field takes: the uint16 count plus the UTF-8, cut to MaxStringBytes.</summary>
    public static int StringSize(string value) => StringSize(value, AlexLinkFrame.MaxStringBytes);

    /// <summary>Bytes a string field takes when cut to <paramref name="maxBytes"/>.</summary>
    public static int StringSize(string value, int maxBytes)
    {
        var full = Encoding.UTF8.GetByteCount(value);
        return 2 + (full <= maxBytes ? full : Encoding.UTF8.GetByteCount(Cut(value, maxBytes)));
    }

    // The longest prefix of value whose UTF-8 fits in maxBytes, never splitting a surrogate pair.
    private static string Cut(string value, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(value) <= maxBytes)
        {
            return value;
        }

        var bytes = 0;
        var i = 0;
        while (i < value.Length)
        {
            var step = char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(value.AsSpan(i, step));
            if (bytes + size > maxBytes)
            {
                break;
            }

            bytes += size;
            i += step;
        }

        return value[..i];
    }
}
