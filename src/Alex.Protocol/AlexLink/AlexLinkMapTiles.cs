// The MapTiles push (type 0x1A): changed tiles of the server's map and the corrected pose, docs/protocol.md §4 "MapTiles".
//
// | offset | size | field                                                                           |
// |--------|------|---------------------------------------------------------------------------------|
// | 0      | 4    | u32 map sequence (the map's updates so far; a newer copy of a tile has a higher one) |
// | 4      | 8    | time of the scan that made this update                                          |
// | 12     | 4    | i32 pose x, mm, map frame                                                       |
// | 16     | 4    | i32 pose y, mm                                                                  |
// | 20     | 2    | u16 heading, 1/65536 turn counter-clockwise from the map's +x                  |
// | 22     | 2    | u16 cell side, mm                                                               |
// | 24     | 1    | u8 tile count k                                                                 |
// | 25     | 3    | reserved                                                                        |
// | 28     | …    | k tiles: i16 tile x, i16 tile y, u16 byte count m, m bytes of runs              |
//
// A tile is 32 × 32 cells, row by row from its bottom row (docs/mapping.md §1), each an i8: the log-odds × 32
// (0 unknown, positive occupied). Runs: pairs of u8 count (1–255) and i8 value, covering exactly 1,024 cells.
// Budget: 28 + Σ (6 + m) bytes; a seen tile is typically 100–400 bytes of runs, at most 2,048.
using System.Buffers;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.AlexLink;

/// <summary>One tile of the map on the wire: its place and its cells (log-odds × 32, clamped to ±127).</summary>
public sealed record MapTile(short TileX, short TileY, sbyte[] Cells)
{
    public const int CellCount = OccupancyGrid.TileCells * OccupancyGrid.TileCells;

    /// <summary>Log-odds to the wire's i8.</summary>
    public const float Scale = 32;

    /// <summary>Bytes of a tile before its runs.</summary>
    public const int HeaderSize = 6;

    /// <summary>A tile of a grid; null when the grid never touched it or it lies beyond ±32,767 tiles.</summary>
    public static MapTile? From(OccupancyGrid grid, TileKey key)
    {
        ArgumentNullException.ThrowIfNull(grid);
        Span<float> logOdds = stackalloc float[CellCount];
        if (key.TileX is < short.MinValue or > short.MaxValue || key.TileY is < short.MinValue or > short.MaxValue || !grid.TryCopyTile(key, logOdds))
        {
            return null;
        }

        var cells = new sbyte[CellCount];
        for (var i = 0; i < CellCount; i++)
        {
            cells[i] = (sbyte)Math.Clamp(MathF.Round(logOdds[i] * Scale), -127, 127);
        }

        return new MapTile((short)key.TileX, (short)key.TileY, cells);
    }

    /// <summary>Writes the tile's cells into a grid (a client's copy of the server's map).</summary>
    public void ApplyTo(OccupancyGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        Span<float> logOdds = stackalloc float[CellCount];
        for (var i = 0; i < CellCount; i++)
        {
            logOdds[i] = Cells[i] / Scale;
        }

        grid.SetTile(new TileKey(TileX, TileY), logOdds);
    }

    /// <summary>The cells as runs of (count, value).</summary>
    public byte[] Runs()
    {
        var runs = new List<byte>(64);
        var i = 0;
        while (i < Cells.Length)
        {
            var value = Cells[i];
            var n = 1;
            while (i + n < Cells.Length && n < 255 && Cells[i + n] == value)
            {
                n++;
            }

            runs.Add((byte)n);
            runs.Add(unchecked((byte)value));
            i += n;
        }

        return [.. runs];
    }

    public int WireSize => HeaderSize + Runs().Length;

    /// <summary>Cells from runs; null unless the runs cover exactly 1,024 cells with no empty run.</summary>
    public static sbyte[]? FromRuns(ReadOnlySpan<byte> runs)
    {
        if (runs.Length % 2 != 0)
        {
            return null;
        }

        var cells = new sbyte[CellCount];
        var at = 0;
        for (var i = 0; i < runs.Length; i += 2)
        {
            var n = runs[i];
            if (n == 0 || at + n > CellCount)
            {
                return null;
            }

            cells.AsSpan(at, n).Fill(unchecked((sbyte)runs[i + 1]));
            at += n;
        }

        return at == CellCount ? cells : null;
    }

    public bool Equals(MapTile? other) => other is not null && TileX == other.TileX && TileY == other.TileY && Cells.AsSpan().SequenceEqual(other.Cells);

    public override int GetHashCode() => HashCode.Combine(TileX, TileY);
}

/// <summary>Server → client push: map tiles that changed and the pose after the scan, for clients subscribed to <see cref="AlexLinkTopics.Map"/>.</summary>
public sealed record AlexLinkMapTiles(uint Sequence, long AtUnixMs, int XMm, int YMm, ushort Heading, ushort CellMm, IReadOnlyList<MapTile> Tiles) : AlexLinkMessage
{
    public const int HeaderSize = 28;

    public override AlexLinkMessageType Type => AlexLinkMessageType.MapTiles;

    internal override int PayloadLength => HeaderSize + Tiles.Sum(t => t.WireSize);

    /// <summary>The pose in the map frame (cm, radians).</summary>
    public MapPose Pose => new(XMm / 10.0, YMm / 10.0, MapPose.Normalize(Heading * 2 * Math.PI / 65536));

    /// <summary>An update as the frames that carry it: tiles packed in order, as many as fit a frame; always at least one frame (the pose).</summary>
    public static IReadOnlyList<AlexLinkMapTiles> Pack(uint sequence, long atUnixMs, MapPose pose, double cellCm, IEnumerable<MapTile> tiles)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        var x = (int)Math.Clamp(Math.Round(pose.X * 10), int.MinValue, int.MaxValue);
        var y = (int)Math.Clamp(Math.Round(pose.Y * 10), int.MinValue, int.MaxValue);
        var heading = (ushort)((long)Math.Round(pose.Theta / (2 * Math.PI) * 65536) & 0xFFFF);
        var cellMm = (ushort)Math.Round(cellCm * 10);
        var frames = new List<AlexLinkMapTiles>();
        var current = new List<MapTile>();
        var size = HeaderSize;
        foreach (var tile in tiles)
        {
            var wire = tile.WireSize;
            if (current.Count > 0 && (size + wire > AlexLinkFrame.MaxPayload || current.Count == byte.MaxValue))
            {
                frames.Add(new AlexLinkMapTiles(sequence, atUnixMs, x, y, heading, cellMm, current));
                current = [];
                size = HeaderSize;
            }

            current.Add(tile);
            size += wire;
        }

        frames.Add(new AlexLinkMapTiles(sequence, atUnixMs, x, y, heading, cellMm, current));
        return frames;
    }

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt32(Sequence);
        w.WriteInt64(AtUnixMs);
        w.WriteUInt32(unchecked((uint)XMm));
        w.WriteUInt32(unchecked((uint)YMm));
        w.WriteUInt16(Heading);
        w.WriteUInt16(CellMm);
        w.WriteByte((byte)Tiles.Count);
        w.WriteZeros(3);
        foreach (var t in Tiles)
        {
            var runs = t.Runs();
            w.WriteUInt16(unchecked((ushort)t.TileX));
            w.WriteUInt16(unchecked((ushort)t.TileY));
            w.WriteUInt16((ushort)runs.Length);
            w.WriteBytes(runs);
        }
    }

    internal static AlexLinkMapTiles? Read(ref PayloadReader r)
    {
        if (!r.TryReadUInt32(out var sequence) || !r.TryReadInt64(out var at) || !r.TryReadUInt32(out var x) || !r.TryReadUInt32(out var y)
            || !r.TryReadUInt16(out var heading) || !r.TryReadUInt16(out var cellMm) || !r.TryReadByte(out var count) || !r.TryReadBytes(3, out _) || cellMm == 0)
        {
            return null;
        }

        var tiles = new MapTile[count];
        for (var i = 0; i < count; i++)
        {
            if (!r.TryReadUInt16(out var tx) || !r.TryReadUInt16(out var ty) || !r.TryReadUInt16(out var length) || !r.TryReadBytes(length, out var runs)
                || MapTile.FromRuns(runs) is not { } cells)
            {
                return null;
            }

            tiles[i] = new MapTile(unchecked((short)tx), unchecked((short)ty), cells);
        }

        return new AlexLinkMapTiles(sequence, at, unchecked((int)x), unchecked((int)y), heading, cellMm, tiles);
    }

    /// <summary>Equal when the bytes on the wire are (the tiles are a list).</summary>
    public bool Equals(AlexLinkMapTiles? other) =>
        other is not null && AlexLinkWriter.Encode(this).AsSpan().SequenceEqual(AlexLinkWriter.Encode(other));

    public override int GetHashCode() => HashCode.Combine(Sequence, Tiles.Count);

    public override string ToString() => $"MapTiles #{Sequence}, {Tiles.Count} tiles, pose ({XMm} mm, {YMm} mm)";
}
