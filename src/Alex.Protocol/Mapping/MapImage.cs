// The map as a picture (docs/mapping.md §3): 8-bit grey, one pixel a cell, north (the map's +y) up.
// Occupied (log-odds > 0) black 0, free (< 0) white 254, unknown 205: the values ROS's map_saver writes,
// so map_server reads our files as its own.
//
// - PNG (RFC 2083 / ISO 15948): signature, IHDR (8-bit greyscale, no interlace), one IDAT of zlib data
//   (filter byte 0 before each row), IEND; each chunk's CRC-32 over its type and data.
// - PGM (netpbm "P5", maxval 255) and the map_server YAML beside it: image, resolution (m/pixel), origin
//   (the lower-left pixel's corner in the map frame, m, and yaw 0), negate 0, occupied_thresh 0.65,
//   free_thresh 0.196 (wiki.ros.org/map_server, "YAML format").
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Alex.Protocol.Mapping;

/// <summary>A grid's cells as grey pixels, top row first.</summary>
public sealed record MapImage(int Width, int Height, byte[] Pixels, double CellCm, double OriginXCm, double OriginYCm)
{
    public const byte Occupied = 0;
    public const byte Free = 254;
    public const byte Unknown = 205;

    /// <summary>The tiles' bounding rectangle of a grid; null for a grid that has seen nothing.</summary>
    public static MapImage? From(OccupancyGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var (x0, y0, w, h) = grid.Bounds();
        if (w == 0)
        {
            return null;
        }

        var pixels = new byte[w * h];
        for (var row = 0; row < h; row++)
        {
            var j = y0 + h - 1 - row;
            for (var i = 0; i < w; i++)
            {
                var l = grid.LogOdds(x0 + i, j);
                pixels[(row * w) + i] = l > 0 ? Occupied : l < 0 ? Free : Unknown;
            }
        }

        return new MapImage(w, h, pixels, grid.CellCm, x0 * grid.CellCm, y0 * grid.CellCm);
    }

    /// <summary>A greyscale PNG.</summary>
    public byte[] ToPng()
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Height);
        header[8] = 8; // bit depth
        header[9] = 0; // colour type: greyscale
        Chunk(png, "IHDR", header);
        using (var raw = new MemoryStream())
        {
            using (var zlib = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (var row = 0; row < Height; row++)
                {
                    zlib.WriteByte(0); // filter: none
                    zlib.Write(Pixels, row * Width, Width);
                }
            }

            Chunk(png, "IDAT", raw.ToArray());
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>A binary PGM (P5).</summary>
    public byte[] ToPgm()
    {
        var header = Encoding.ASCII.GetBytes($"P5\n# AlexLink map, {CellCm.ToString(CultureInfo.InvariantCulture)} cm cells\n{Width} {Height}\n255\n");
        return [.. header, .. Pixels];
    }

    /// <summary>The map_server YAML for the PGM named <paramref name="imageFile"/> (a name beside the YAML).</summary>
    public string ToMapServerYaml(string imageFile)
    {
        ArgumentNullException.ThrowIfNull(imageFile);
        static string M(double cm) => (cm / 100).ToString("0.####", CultureInfo.InvariantCulture);
        return $"image: {imageFile}\nresolution: {M(CellCm)}\norigin: [{M(OriginXCm)}, {M(OriginYCm)}, 0.0]\nnegate: 0\noccupied_thresh: 0.65\nfree_thresh: 0.196\n";
    }

    // CRC-32 as PNG defines it (ISO 3309, reflected polynomial 0xEDB88320; RFC 2083 §15): start all ones, invert at the end.
    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++)
        {
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return c;
    }).ToArray();

    /// <summary>Runs CRC-32 over <paramref name="bytes"/> from <paramref name="crc"/> (start with all ones; the check value is the result inverted).</summary>
    public static uint Crc32(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        png.Write(four);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        png.Write(typeBytes);
        png.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32(Crc32(uint.MaxValue, typeBytes), data) ^ uint.MaxValue);
        png.Write(four);
    }
}
