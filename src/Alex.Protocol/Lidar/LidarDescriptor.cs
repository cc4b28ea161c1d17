// The response descriptor and the single-response packets: docs/lidar.md §2-§4, from Slamtec's
// "RPLIDAR Interface Protocol and Application Notes" (A1 & A2, rev 1.1), "Response Packets' Format",
// "GET_INFO" and "GET_HEALTH".
//
// Descriptor (7 bytes):
// | offset | size | content                                                                 |
// |--------|------|-------------------------------------------------------------------------|
// | 0      | 2    | start flags A5 5A                                                       |
// | 2      | 4    | uint32 little-endian: bits 0-29 response length, bits 30-31 send mode   |
// | 6      | 1    | data type (0x04 info, 0x06 health, 0x81 scan node)                      |
//
// Device info (type 0x04, 20 bytes): model, firmware minor, firmware major, hardware, serial[16].
// Health (type 0x06, 3 bytes): status (0 good, 1 warning, 2 error), error code uint16 little-endian.
using System.Buffers.Binary;

namespace Alex.Protocol.Lidar;

/// <summary>OneResponse: one packet follows ("single response" mode). Stream: packets follow until the next request ("multiple response").</summary>
public enum LidarSendMode : byte
{
    OneResponse = 0,
    Stream = 1,
}

/// <summary>The data types this codec knows.</summary>
public static class LidarDataType
{
    public const byte DeviceInfo = 0x04;
    public const byte Health = 0x06;
    public const byte ScanNode = 0x81;
}

/// <summary>A response descriptor: what the packets after it are.</summary>
public readonly record struct LidarDescriptor(int Length, LidarSendMode Mode, byte DataType)
{
    public const int Size = 7;
    public const int LengthModeOffset = 2;
    public const int DataTypeOffset = 6;

    /// <summary>No response this driver accepts is longer; a longer declared length is noise, not a wait.</summary>
    public const int MaxLength = 64;

    public static ReadOnlySpan<byte> StartFlags => [0xA5, 0x5A];

    public static LidarDescriptor ForScan => new(LidarScanNode.Size, LidarSendMode.Stream, LidarDataType.ScanNode);

    public static LidarDescriptor ForInfo => new(LidarDeviceInfo.Size, LidarSendMode.OneResponse, LidarDataType.DeviceInfo);

    public static LidarDescriptor ForHealth => new(LidarHealth.Size, LidarSendMode.OneResponse, LidarDataType.Health);

    public void Write(Span<byte> destination)
    {
        StartFlags.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[LengthModeOffset..], ((uint)Length & 0x3FFF_FFFF) | ((uint)Mode << 30));
        destination[DataTypeOffset] = DataType;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    /// <summary>Reads a descriptor from 7 bytes that start with A5 5A; false when the flags are not there.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out LidarDescriptor descriptor)
    {
        descriptor = default;
        if (source.Length < Size || !source.StartsWith(StartFlags))
        {
            return false;
        }

        var word = BinaryPrimitives.ReadUInt32LittleEndian(source[LengthModeOffset..]);
        descriptor = new LidarDescriptor((int)(word & 0x3FFF_FFFF), (LidarSendMode)(word >> 30), source[DataTypeOffset]);
        return true;
    }
}

/// <summary>The GET_INFO answer.</summary>
public sealed record LidarDeviceInfo(byte Model, byte FirmwareMajor, byte FirmwareMinor, byte Hardware, string SerialNumber)
{
    public const int Size = 20;
    public const int SerialOffset = 4;
    public const int SerialLength = 16;

    public static LidarDeviceInfo Read(ReadOnlySpan<byte> source) =>
        new(source[0], source[2], source[1], source[3], Convert.ToHexString(source.Slice(SerialOffset, SerialLength)));

    /// <summary>Writes the packet; the serial number is 32 hex digits, least significant byte first as the device prints it.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Model;
        destination[1] = FirmwareMinor;
        destination[2] = FirmwareMajor;
        destination[3] = Hardware;
        Convert.FromHexString(SerialNumber).AsSpan(0, SerialLength).CopyTo(destination[SerialOffset..]);
    }

    public override string ToString() => $"model {Model}, firmware {FirmwareMajor}.{FirmwareMinor:00}, hardware {Hardware}, serial {SerialNumber}";
}

/// <summary>The GET_HEALTH answer.</summary>
public readonly record struct LidarHealth(LidarHealthStatus Status, ushort ErrorCode)
{
    public const int Size = 3;

    public static LidarHealth Read(ReadOnlySpan<byte> source) =>
        new((LidarHealthStatus)source[0], BinaryPrimitives.ReadUInt16LittleEndian(source[1..]));

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Status;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], ErrorCode);
    }

    public override string ToString() => ErrorCode == 0 ? Status.ToString().ToLowerInvariant() : $"{Status.ToString().ToLowerInvariant()} (error code 0x{ErrorCode:X4})";
}

public enum LidarHealthStatus : byte
{
    Good = 0,
    Warning = 1,
    Error = 2,
}
