// The 140-byte serial frame around a packet: docs/course-protocol.md §2.
//
// | offset | size | content                                                         |
// |--------|------|-----------------------------------------------------------------|
// | 0      | 4    | magic: uint32 0xFCFDFEFF little-endian, bytes FF FE FD FC       |
// | 4      | 4    | data size: uint32, always 100                                   |
// | 8      | 100  | the packet (SerialPacket)                                       |
// | 108    | 28   | unused, not checksummed                                         |
// | 136    | 1    | checksum: XOR of bytes 8 .. 8 + dataSize - 1                    |
// | 137    | 3    | unused                                                          |
//
// The course receiver checksums and copies only the first `data size` bytes (a size of 99 is
// still "OK", vector "dataSize field changed to 99"); we do the same for sizes 1..100.
using System.Buffers.Binary;

namespace Alex.Protocol.Serial;

/// <summary>What a 140-byte block decodes to (the course's PACKET_OK / PACKET_BAD / PACKET_CHECKSUM_BAD).</summary>
public enum FrameStatus
{
    Ok,
    BadMagic,
    BadSize,
    BadChecksum,
}

/// <summary>Encodes and decodes whole 140-byte frames.</summary>
public static class SerialFrame
{
    public const int Size = 140;
    public const uint Magic = 0xFCFDFEFF;
    public const int MagicOffset = 0;
    public const int DataSizeOffset = 4;
    public const int PayloadOffset = 8;
    public const int ChecksumOffset = 136;
    public const int DataSize = SerialPacket.Size;

    /// <summary>The magic as it appears on the wire.</summary>
    public static ReadOnlySpan<byte> MagicBytes => [0xFF, 0xFE, 0xFD, 0xFC];

    /// <summary>Writes a frame with zeros in every unused byte.</summary>
    public static void Write(SerialPacket packet, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(packet);
        if (destination.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(destination));
        }

        var frame = destination[..Size];
        frame.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(frame[MagicOffset..], Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[DataSizeOffset..], DataSize);
        packet.WriteTo(frame.Slice(PayloadOffset, SerialPacket.Size));
        frame[ChecksumOffset] = Checksum(frame.Slice(PayloadOffset, DataSize));
    }

    public static byte[] Encode(SerialPacket packet)
    {
        var bytes = new byte[Size];
        Write(packet, bytes);
        return bytes;
    }

    /// <summary>XOR of the bytes.</summary>
    public static byte Checksum(ReadOnlySpan<byte> payload)
    {
        byte c = 0;
        foreach (var b in payload)
        {
            c ^= b;
        }

        return c;
    }

    /// <summary>
    /// Decodes one 140-byte block as the course receiver would (no resynchronisation).
    /// Bytes outside the checksummed payload are never examined.
    /// </summary>
    public static FrameStatus TryDecode(ReadOnlySpan<byte> frame, out SerialPacket? packet)
    {
        packet = null;
        if (frame.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(frame));
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(frame[MagicOffset..]) != Magic)
        {
            return FrameStatus.BadMagic;
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(frame[DataSizeOffset..]);
        if (size is 0 or > DataSize)
        {
            return FrameStatus.BadSize;
        }

        var payload = frame.Slice(PayloadOffset, (int)size);
        if (Checksum(payload) != frame[ChecksumOffset])
        {
            return FrameStatus.BadChecksum;
        }

        if (size == DataSize)
        {
            packet = SerialPacket.Read(payload);
        }
        else
        {
            Span<byte> padded = stackalloc byte[SerialPacket.Size];
            padded.Clear();
            payload.CopyTo(padded);
            packet = SerialPacket.Read(padded);
        }

        return FrameStatus.Ok;
    }
}
