// One standard-scan measurement (type 0x81, 5 bytes): docs/lidar.md §5, from Slamtec's "RPLIDAR
// Interface Protocol and Application Notes" (A1 & A2, rev 1.1), "SCAN", figure "Format of a RPLIDAR
// Measurement Result Data Response Packet".
//
// | offset | bits | content                                                               |
// |--------|------|-----------------------------------------------------------------------|
// | 0      | 0    | S: the first sample of a new 360° revolution                          |
// | 0      | 1    | !S: always the inverse of S                                           |
// | 0      | 2-7  | quality (signal strength)                                             |
// | 1      | 0    | C: check bit, always 1                                                |
// | 1-2    | 1-15 | angle_q6: uint16 little-endian >> 1, degrees × 64                     |
// | 3-4    | all  | distance_q2: uint16 little-endian, millimetres × 4 (0: no measurement) |
using System.Buffers.Binary;

namespace Alex.Protocol.Lidar;

/// <summary>A decoded measurement. Angle in 1/64 degree, distance in 1/4 mm, as the device sends them.</summary>
public readonly record struct LidarScanNode(bool Start, byte Quality, ushort AngleQ6, ushort DistanceQ2)
{
    public const int Size = 5;
    public const int AngleOffset = 1;
    public const int DistanceOffset = 3;

    /// <summary>One full turn in angle_q6 units; a larger angle is not a measurement.</summary>
    public const int FullTurnQ6 = 360 * 64;

    public const int MaxQuality = 63;

    public double AngleDegrees => AngleQ6 / 64.0;

    public double DistanceMillimetres => DistanceQ2 / 4.0;

    /// <summary>Distance 0 is how the device says "no return at this angle".</summary>
    public bool HasDistance => DistanceQ2 != 0;

    public void Write(Span<byte> destination)
    {
        if (Quality > MaxQuality || AngleQ6 >= 1 << 15)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), "quality is 6 bits and angle_q6 15 bits");
        }

        destination[0] = (byte)((Quality << 2) | (Start ? 0b01 : 0b10));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[AngleOffset..], (ushort)((AngleQ6 << 1) | 1));
        BinaryPrimitives.WriteUInt16LittleEndian(destination[DistanceOffset..], DistanceQ2);
    }

    /// <summary>
    /// Decodes 5 bytes. False when S and !S are equal, the check bit is clear or the angle is beyond a
    /// full turn: those bytes are not a node boundary (noise, or a node cut short on the line).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out LidarScanNode node)
    {
        node = default;
        if (source.Length < Size)
        {
            return false;
        }

        var flags = source[0] & 0b11;
        if (flags is 0b00 or 0b11 || (source[AngleOffset] & 1) == 0)
        {
            return false;
        }

        var angle = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(source[AngleOffset..]) >> 1);
        if (angle >= FullTurnQ6)
        {
            return false;
        }

        node = new LidarScanNode(flags == 0b01, (byte)(source[0] >> 2), angle, BinaryPrimitives.ReadUInt16LittleEndian(source[DistanceOffset..]));
        return true;
    }

    /// <summary>The node nearest to an angle in degrees and a distance in millimetres (what the simulator sends).</summary>
    public static LidarScanNode From(bool start, byte quality, double angleDegrees, double distanceMillimetres)
    {
        var angle = (int)Math.Round(angleDegrees * 64) % FullTurnQ6;
        var distance = Math.Clamp((int)Math.Round(distanceMillimetres * 4), 0, ushort.MaxValue);
        return new LidarScanNode(start, Math.Min(quality, (byte)MaxQuality), (ushort)(angle < 0 ? angle + FullTurnQ6 : angle), (ushort)distance);
    }

    public override string ToString() => $"{(Start ? "S " : "")}{AngleDegrees:0.00}° {DistanceMillimetres:0.00} mm q{Quality}";
}
