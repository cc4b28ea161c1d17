// Requests to a Slamtec RPLidar (A1/A2/C1, standard mode): docs/lidar.md §1, from Slamtec's
// "RPLIDAR Interface Protocol and Application Notes" (A1 & A2, rev 1.1), "Request Packets' Format".
//
// | offset | size | content                                                          |
// |--------|------|------------------------------------------------------------------|
// | 0      | 1    | start flag A5                                                    |
// | 1      | 1    | command                                                          |
// | 2      | 1    | payload size (only when the request has a payload)               |
// | 3      | n    | payload                                                          |
// | 3 + n  | 1    | checksum: XOR of every byte before it (only with a payload)      |
//
// The commands used here carry no payload, so they are two bytes on the wire.
namespace Alex.Protocol.Lidar;

/// <summary>The request commands the driver and the simulated device speak.</summary>
public enum LidarCommand : byte
{
    Scan = 0x20,
    Stop = 0x25,
    Reset = 0x40,
    GetInfo = 0x50,
    GetHealth = 0x52,
}

/// <summary>Encodes requests.</summary>
public static class LidarRequest
{
    public const byte StartFlag = 0xA5;
    public const int CommandOffset = 1;
    public const int SizeOffset = 2;
    public const int PayloadOffset = 3;
    public const int MaxPayload = 255;

    /// <summary>The encoded length of a request with this payload.</summary>
    public static int LengthOf(int payloadLength) => payloadLength == 0 ? 2 : PayloadOffset + payloadLength + 1;

    /// <summary>Writes a request; returns the bytes written.</summary>
    public static int Write(byte command, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (payload.Length > MaxPayload)
        {
            throw new ArgumentException($"a payload is at most {MaxPayload} bytes", nameof(payload));
        }

        var length = LengthOf(payload.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException($"need {length} bytes", nameof(destination));
        }

        destination[0] = StartFlag;
        destination[CommandOffset] = command;
        if (payload.IsEmpty)
        {
            return length;
        }

        destination[SizeOffset] = (byte)payload.Length;
        payload.CopyTo(destination[PayloadOffset..]);
        byte checksum = 0;
        foreach (var b in destination[..(length - 1)])
        {
            checksum ^= b;
        }

        destination[length - 1] = checksum;
        return length;
    }

    /// <summary>A request without payload as a new array.</summary>
    public static byte[] Encode(LidarCommand command) => [StartFlag, (byte)command];

    /// <summary>
    /// Reads one request from the front of <paramref name="source"/> (the device side: the simulator).
    /// Commands with bit 7 set carry a payload. Returns Done with the bytes consumed, NeedMoreData, or
    /// InvalidData with one byte to skip (not a start flag, or a bad checksum).
    /// </summary>
    public static System.Buffers.OperationStatus TryRead(ReadOnlySpan<byte> source, out byte command, out int consumed)
    {
        command = 0;
        consumed = 0;
        if (source.IsEmpty)
        {
            return System.Buffers.OperationStatus.NeedMoreData;
        }

        if (source[0] != StartFlag)
        {
            consumed = 1;
            return System.Buffers.OperationStatus.InvalidData;
        }

        if (source.Length < 2)
        {
            return System.Buffers.OperationStatus.NeedMoreData;
        }

        command = source[CommandOffset];
        if ((command & 0x80) == 0)
        {
            consumed = 2;
            return System.Buffers.OperationStatus.Done;
        }

        if (source.Length < PayloadOffset)
        {
            return System.Buffers.OperationStatus.NeedMoreData;
        }

        var length = LengthOf(source[SizeOffset]);
        if (source.Length < length)
        {
            return System.Buffers.OperationStatus.NeedMoreData;
        }

        byte checksum = 0;
        foreach (var b in source[..(length - 1)])
        {
            checksum ^= b;
        }

        if (checksum != source[length - 1])
        {
            consumed = 1;
            return System.Buffers.OperationStatus.InvalidData;
        }

        consumed = length;
        return System.Buffers.OperationStatus.Done;
    }
}
