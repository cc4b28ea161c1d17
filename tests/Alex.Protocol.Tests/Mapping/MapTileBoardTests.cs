using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.Mapping;

/// <summary>Which map tiles go to whom (docs/protocol.md §4 "MapTiles"): late joiners, slow readers, coalescing.</summary>
public sealed class MapTileBoardTests
{
    private static MapTile Tile(int x, int y, sbyte value) => new((short)x, (short)y, Enumerable.Repeat(value, MapTile.CellCount).ToArray());

    private static MapTile Noise(int x, int y, Random random) =>
        new((short)x, (short)y, Enumerable.Range(0, MapTile.CellCount).Select(_ => (sbyte)random.Next(-100, 100)).ToArray());

    // Everything the reader is owed, taken in turns of one frame, as a client's copy of the map.
    private static Dictionary<(short, short), MapTile> Drain(MapTileBoard board, MapTileReader reader, Dictionary<(short, short), MapTile>? copy = null)
    {
        copy ??= [];
        for (var turns = 0; board.Owes(reader); turns++)
        {
            Assert.True(turns < 10_000, "the board kept owing");
            foreach (var frame in board.Take(reader, 1))
            {
                Assert.Equal(board.Sequence, frame.Sequence);
                foreach (var t in frame.Tiles)
                {
                    copy[(t.TileX, t.TileY)] = t;
                }
            }
        }

        return copy;
    }

    [Fact]
    public void Join_BeforeAnyUpdate_OwedNothing()
    {
        var board = new MapTileBoard(5);

        var reader = board.Join();

        Assert.False(board.Owes(reader));
        Assert.Empty(board.Take(reader, 4));
    }

    [Fact]
    public void Join_Late_OwedEveryTileThatHoldsSomething_ThenOnlyChanges()
    {
        var board = new MapTileBoard(5);
        board.Update(10, new MapPose(1, 2, 0), [Tile(0, 0, 20), Tile(1, 0, -10), Tile(2, 0, 0)]);
        board.Update(20, new MapPose(3, 4, 0), [Tile(0, 1, 40)]);

        var late = board.Join();
        var first = board.Take(late, 4);

        var frame = Assert.Single(first);
        Assert.Equal(2u, frame.Sequence);
        Assert.Equal(20, frame.AtUnixMs);
        Assert.Equal(new[] { (0, 0), (1, 0), (0, 1) }.Order(), frame.Tiles.Select(t => ((int)t.TileX, (int)t.TileY)).Order());
        Assert.False(board.Owes(late));

        board.Update(30, new MapPose(5, 6, 0), [Tile(1, 0, 60)]);
        var next = Assert.Single(board.Take(late, 4));
        Assert.Equal(Tile(1, 0, 60), Assert.Single(next.Tiles));
    }

    [Fact]
    public void Update_PoseOnly_OwedOneFrameWithThePoseAndNoTiles()
    {
        var board = new MapTileBoard(5);
        var reader = board.Join();

        board.Update(10, new MapPose(100, -50, Math.PI / 2), []);

        var frame = Assert.Single(board.Take(reader, 4));
        Assert.Empty(frame.Tiles);
        Assert.Equal(1000, frame.XMm);
        Assert.Equal(-500, frame.YMm);
        Assert.Equal(16384, frame.Heading);
        Assert.Equal(50, frame.CellMm);
        Assert.False(board.Owes(reader));
    }

    [Fact]
    public void SlowReader_TileChangedManyTimes_OwedOnlyItsNewestCopy()
    {
        var board = new MapTileBoard(5);
        var reader = board.Join();

        for (var i = 1; i <= 100; i++)
        {
            board.Update(i, new MapPose(i, 0, 0), [Tile(0, 0, (sbyte)i), Tile(i % 3, 5, (sbyte)-i)]);
        }

        Assert.Equal(4, reader.OwedTiles);
        var frame = Assert.Single(board.Take(reader, 4));
        Assert.Equal(100u, frame.Sequence);
        Assert.Equal(Tile(0, 0, 100), frame.Tiles.Single(t => t.TileY == 0));
        Assert.Equal(Tile(1, 5, -100), frame.Tiles.Single(t => t is { TileX: 1, TileY: 5 }));
    }

    [Fact]
    public void Take_MoreThanTheFramesAllowed_RestStaysOwed_LongestOwedFirst()
    {
        var random = new Random(7);
        var board = new MapTileBoard(5);
        var reader = board.Join();
        var tiles = Enumerable.Range(0, 10).Select(i => Noise(i, 0, random)).ToArray(); // one tile of noise a frame
        board.Update(1, default, tiles);

        var first = board.Take(reader, 3);

        Assert.Equal(3, first.Count);
        Assert.Equal(tiles[..3], first.SelectMany(f => f.Tiles));
        Assert.Equal(7, reader.OwedTiles);
        Assert.All(first, f => Assert.True(AlexLinkWriter.Encode(f).Length <= AlexLinkFrame.HeaderSize + AlexLinkFrame.MaxPayload));
        Assert.Equal(tiles[3..], Drain(board, reader).Values.OrderBy(t => t.TileX));
    }

    [Fact]
    public void Leave_ReaderNoLongerOwed_OthersUnaffected()
    {
        var board = new MapTileBoard(5);
        var gone = board.Join();
        var staying = board.Join();
        board.Leave(gone);

        board.Update(1, default, [Tile(0, 0, 1)]);

        Assert.Equal(1, board.ReaderCount);
        Assert.Equal(1, staying.OwedTiles);
    }

    [Fact]
    public void Property_RandomUpdatesAndTakes_EveryReaderEndsWithTheBoardsMap()
    {
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var board = new MapTileBoard(5);
            var readers = new List<(MapTileReader Reader, Dictionary<(short, short), MapTile> Copy)>();
            for (var step = 0; step < 200; step++)
            {
                switch (random.Next(6))
                {
                    case 0:
                        readers.Add((board.Join(), []));
                        break;
                    case 1 or 2:
                        var changed = Enumerable.Range(0, random.Next(0, 6))
                            .Select(_ => (X: random.Next(-3, 4), Y: random.Next(-3, 4)))
                            .Distinct()
                            .Select(k => random.Next(4) == 0 ? Noise(k.X, k.Y, random) : Tile(k.X, k.Y, (sbyte)random.Next(-127, 128)))
                            .ToArray();
                        board.Update(step, new MapPose(step, -step, 0), changed);
                        break;
                    default:
                        if (readers.Count > 0)
                        {
                            var (reader, copy) = readers[random.Next(readers.Count)];
                            foreach (var t in board.Take(reader, random.Next(1, 3)).SelectMany(f => f.Tiles))
                            {
                                copy[(t.TileX, t.TileY)] = t;
                            }
                        }

                        break;
                }
            }

            var expected = board.Tiles.Where(t => t.Cells.Any(c => c != 0)).OrderBy(t => (t.TileX, t.TileY)).ToArray();
            foreach (var (reader, copy) in readers)
            {
                var seen = Drain(board, reader, copy);
                Assert.Equal(expected, seen.Values.Where(t => t.Cells.Any(c => c != 0)).OrderBy(t => (t.TileX, t.TileY)));
            }
        }
    }
}
