// The Scan push (type 0x19): one lidar revolution, or one part of it: docs/protocol.md §4 "Scan".
//
// | offset | size | field                                                                   |
// |--------|------|-------------------------------------------------------------------------|
// | 0      | 4    | u32 revolution sequence (gaps: revolutions this client did not get)     |
// | 4      | 8    | time the revolution completed at the device (server clock)              |
// | 12     | 1    | part (0-based)                                                          |
// | 13     | 1    | parts in this revolution (1 unless it has more than MaxPointsPerPart)   |
// | 14     | 2    | u16 point count n                                                       |
// | 16     | 4n   | points: u16 angle (360°/65536 units, clockwise from ahead), u16 mm (0: no return) |
//
// Budget: 16 + 4n bytes; an RPLidar A1 turn (≈360 points) is ≈1,456 bytes in one frame, ≈8 kB/s per
// client at 5.5 rev/s.
using Alex.Protocol.Lidar;

namespace Alex.Protocol.AlexLink;

/// <summary>One lidar sample on the wire: angle in 1/65536 of a turn, distance in whole millimetres.</summary>
public readonly record struct ScanPoint(ushort Angle, ushort DistanceMm)
{
    public double AngleDegrees => Angle * 360.0 / 65536;

    /// <summary>From a device node: angle_q6 (1/64°) to 1/65536 turn, distance_q2 (¼ mm) to mm.</summary>
    public static ScanPoint From(in LidarScanNode node) =>
        new((ushort)((node.AngleQ6 * 65536L / LidarScanNode.FullTurnQ6) & 0xFFFF), (ushort)((node.DistanceQ2 + 2) / 4));
}

/// <summary>Server → client push: a lidar revolution (or part of one), for clients subscribed to <see cref="AlexLinkTopics.Lidar"/>.</summary>
public sealed record AlexLinkScan(uint Sequence, long CompletedUnixMs, byte Part, byte Parts, IReadOnlyList<ScanPoint> Points) : AlexLinkMessage
{
    public const int HeaderSize = 16;
    public const int PointSize = 4;
    public const int MaxPointsPerPart = (AlexLinkFrame.MaxPayload - HeaderSize) / PointSize;

    public override AlexLinkMessageType Type => AlexLinkMessageType.Scan;

    internal override int PayloadLength => HeaderSize + (PointSize * Points.Count);

    /// <summary>A revolution as the frames that carry it (one for any device turning fewer than 1,020 samples).</summary>
    public static IReadOnlyList<AlexLinkScan> Split(uint sequence, long completedUnixMs, LidarRevolution revolution)
    {
        ArgumentNullException.ThrowIfNull(revolution);
        var points = revolution.Nodes.Select(n => ScanPoint.From(n)).ToArray();
        var parts = Math.Max(1, (points.Length + MaxPointsPerPart - 1) / MaxPointsPerPart);
        if (parts > byte.MaxValue)
        {
            throw new ArgumentException("a revolution of more than 255 parts", nameof(revolution));
        }

        return Enumerable.Range(0, parts)
            .Select(p => new AlexLinkScan(sequence, completedUnixMs, (byte)p, (byte)parts, points.Skip(p * MaxPointsPerPart).Take(MaxPointsPerPart).ToArray()))
            .ToArray();
    }

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt32(Sequence);
        w.WriteInt64(CompletedUnixMs);
        w.WriteByte(Part);
        w.WriteByte(Parts);
        w.WriteUInt16((ushort)Points.Count);
        foreach (var p in Points)
        {
            w.WriteUInt16(p.Angle);
            w.WriteUInt16(p.DistanceMm);
        }
    }

    internal static AlexLinkScan? Read(ref PayloadReader r)
    {
        if (!r.TryReadUInt32(out var sequence) || !r.TryReadInt64(out var at) || !r.TryReadByte(out var part) || !r.TryReadByte(out var parts)
            || !r.TryReadUInt16(out var count) || parts == 0 || part >= parts || r.Remaining < count * PointSize)
        {
            return null;
        }

        var points = new ScanPoint[count];
        for (var i = 0; i < count; i++)
        {
            r.TryReadUInt16(out var angle);
            r.TryReadUInt16(out var mm);
            points[i] = new ScanPoint(angle, mm);
        }

        return new AlexLinkScan(sequence, at, part, parts, points);
    }

    /// <summary>Equal when the bytes on the wire are (the points are a list).</summary>
    public bool Equals(AlexLinkScan? other) =>
        other is not null && AlexLinkWriter.Encode(this).AsSpan().SequenceEqual(AlexLinkWriter.Encode(other));

    public override int GetHashCode() => HashCode.Combine(Sequence, Part, Points.Count);

    public override string ToString() => $"Scan #{Sequence} part {Part + 1}/{Parts}, {Points.Count} points";
}
