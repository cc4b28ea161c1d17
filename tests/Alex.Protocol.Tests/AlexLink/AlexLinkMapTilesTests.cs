using System.Buffers;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.AlexLink;

/// <summary>The MapTiles push (docs/protocol.md §4 "MapTiles"): runs, quantisation, packing into frames, hostile payloads.</summary>
public sealed class AlexLinkMapTilesTests
{
    private static OccupancyGrid Room()
    {
        var grid = new OccupancyGrid(5);
        var rays = Enumerable.Range(0, 360).Select(k => k * Math.PI / 180).Select(a => new MapRay(150 * Math.Cos(a), 90 * Math.Sin(a), true)).ToArray();
        grid.Insert(new MapPose(0, 0, 0), new MapScan(rays));
        return grid;
    }

    [Fact]
    public void Pack_GridTiles_RoundTripThroughBytesToTheSameCells()
    {
        var grid = Room();
        var tiles = grid.TakeChanged().Select(k => MapTile.From(grid, k)!).ToArray();

        var frames = AlexLinkMapTiles.Pack(3, 1000, new MapPose(12.34, -5.6, Math.PI / 2), 5, tiles);
        var copy = new OccupancyGrid(5);
        foreach (var frame in frames)
        {
            var buffer = new ReadOnlySequence<byte>(AlexLinkWriter.Encode(frame));
            Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var message, out _));
            var read = Assert.IsType<AlexLinkMapTiles>(message);
            Assert.Equal(new MapPose(12.3, -5.6, Math.PI / 2), read.Pose with { X = Math.Round(read.Pose.X, 1), Y = Math.Round(read.Pose.Y, 1) });
            foreach (var tile in read.Tiles)
            {
                tile.ApplyTo(copy);
            }
        }

        Assert.Equal(tiles.Length, frames.Sum(f => f.Tiles.Count));
        var (x, y, w, h) = grid.Bounds();
        for (var j = y; j < y + h; j++)
        {
            for (var i = x; i < x + w; i++)
            {
                Assert.Equal(Math.Round(grid.LogOdds(i, j) * 32) / 32, copy.LogOdds(i, j), 5);
            }
        }
    }

    [Fact]
    public void Pack_TilesOfNoiseOverAFrame_SplitIntoFramesThatFit()
    {
        var random = new Random(5);
        var tiles = Enumerable.Range(0, 5).Select(i => new MapTile((short)i, 0, Enumerable.Range(0, MapTile.CellCount).Select(_ => (sbyte)random.Next(-100, 100)).ToArray())).ToArray();

        var frames = AlexLinkMapTiles.Pack(1, 1, default, 5, tiles);

        Assert.Equal(5, frames.Count); // 2,054 bytes a tile of noise: one a frame
        Assert.All(frames, f => Assert.True(AlexLinkWriter.Encode(f).Length <= AlexLinkFrame.HeaderSize + AlexLinkFrame.MaxPayload));
        Assert.Equal(tiles, frames.SelectMany(f => f.Tiles));
    }

    [Fact]
    public void Pack_NoTiles_OneFrameWithThePose()
    {
        var frame = Assert.Single(AlexLinkMapTiles.Pack(9, 1, new MapPose(1, 2, 0), 5, []));

        Assert.Empty(frame.Tiles);
        Assert.Equal(AlexLinkFrame.HeaderSize + AlexLinkMapTiles.HeaderSize, AlexLinkWriter.Encode(frame).Length);
    }

    [Fact]
    public void Runs_UnknownTile_TenBytes()
    {
        Assert.Equal(new byte[] { 255, 0, 255, 0, 255, 0, 255, 0, 4, 0 }, new MapTile(0, 0, new sbyte[MapTile.CellCount]).Runs());
    }

    [Theory]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00403200010000000000ffff0e00ff00ff00ff00ea0003f3011b1400", "runs cover 1,023 cells")]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00403200010000000000ffff0e00ff00ff00ff00eb0003f3011b1500", "runs cover 1,025 cells")]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00403200010000000000ffff0e00ff00ff00ff00eb0003f3001b1500", "an empty run")]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00403200010000000000ffff0f00ff00ff00ff00eb0003f3011b1400", "odd run bytes, past the payload")]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00403200020000000000ffff0e00ff00ff00ff00eb0003f3011b1400", "two tiles declared, one sent")]
    [InlineData("30001a000000000005000000a4d335c59a010000d2040000d0fdffff00400000010000000000ffff0e00ff00ff00ff00eb0003f3011b1400", "a cell of 0 mm")]
    public void TryRead_HostileMapTiles_BadFrameNotACrash(string hex, string why)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(hex));

        Assert.True(AlexLinkReader.TryRead(ref buffer, out _, out var error) == OperationStatus.InvalidData, why);
        Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
    }
}
