using System.Diagnostics;
using System.Text;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.Mapping;

/// <summary>The map as PNG, and as PGM + YAML for ROS's map_server (docs/mapping.md §3); the PNG read back by python3's zlib.</summary>
public sealed class MapImageTests
{
    private static OccupancyGrid OneRay()
    {
        var grid = new OccupancyGrid(5);
        grid.Insert(new MapPose(2.5, 2.5, 0), new MapScan([new MapRay(20, 0, true)]));
        return grid;
    }

    [Fact]
    public void From_OneRay_TileBoundsNorthUpWithRosGreys()
    {
        var image = MapImage.From(OneRay())!;

        Assert.Equal((32, 32), (image.Width, image.Height));
        var bottom = image.Pixels.AsSpan(31 * 32, 32).ToArray();
        Assert.Equal(new byte[] { 254, 254, 254, 254, 0, 205 }, bottom[..6]);
        Assert.All(image.Pixels.AsSpan(0, 31 * 32).ToArray(), p => Assert.Equal(MapImage.Unknown, p));
    }

    [Fact]
    public void From_EmptyGrid_Null() => Assert.Null(MapImage.From(new OccupancyGrid(5)));

    [Fact]
    public void ToPgmAndYaml_MapServerFormat()
    {
        var grid = OneRay();
        grid.Insert(new MapPose(-2.5, -2.5, 0), new MapScan([new MapRay(-10, 0, true)])); // reaches tile (−1, −1)
        var image = MapImage.From(grid)!;

        var pgm = image.ToPgm();
        var header = "P5\n# AlexLink map, 5 cm cells\n64 64\n255\n";
        Assert.Equal(header, Encoding.ASCII.GetString(pgm, 0, header.Length));
        Assert.Equal(header.Length + (64 * 64), pgm.Length);
        Assert.Equal(
            "image: map.pgm\nresolution: 0.05\norigin: [-1.6, -1.6, 0.0]\nnegate: 0\noccupied_thresh: 0.65\nfree_thresh: 0.196\n",
            image.ToMapServerYaml("map.pgm"));
    }

    [Fact]
    public void Crc32_CheckValue() =>
        Assert.Equal(0xCBF43926u, MapImage.Crc32(uint.MaxValue, "123456789"u8) ^ uint.MaxValue); // the CRC-32 catalogue's check

    [Fact]
    public async Task ToPng_ReadBackByPython_SizeCrcsAndPixels()
    {
        var image = MapImage.From(OneRay())!;
        var path = Path.Combine(Path.GetTempPath(), $"alex-map-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(path, image.ToPng());
        try
        {
            // A PNG reader in a few lines of python3's standard library: every chunk's CRC, IHDR, the inflated rows.
            const string Reader = """
                import struct, sys, zlib
                data = open(sys.argv[1], 'rb').read()
                assert data[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
                pos, idat, ihdr = 8, b'', None
                while pos < len(data):
                    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
                    body = data[pos + 8:pos + 8 + n]
                    crc, = struct.unpack('>I', data[pos + 8 + n:pos + 12 + n])
                    assert zlib.crc32(kind + body) == crc, 'crc of ' + kind.decode()
                    if kind == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
                    if kind == b'IDAT': idat += body
                    pos += 12 + n
                w, h, depth, colour, _, _, interlace = ihdr
                raw = zlib.decompress(idat)
                rows = [raw[r * (w + 1):(r + 1) * (w + 1)] for r in range(h)]
                assert all(r[0] == 0 for r in rows), 'filter'
                print(w, h, depth, colour, interlace, list(rows[-1][1:7]), len(set(b for r in rows[:-1] for b in r[1:])))
                """;
            var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(Reader);
            start.ArgumentList.Add(path);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.True(process.ExitCode == 0, await stderr);
            Assert.Equal("32 32 8 0 0 [254, 254, 254, 254, 0, 205] 1", (await stdout).Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
