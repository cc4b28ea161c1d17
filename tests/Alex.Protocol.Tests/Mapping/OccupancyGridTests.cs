using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.Mapping;

/// <summary>The log-odds grid (docs/mapping.md §1): Bresenham rays, once per scan, hit wins, tiles.</summary>
public sealed class OccupancyGridTests
{
    private const float F = OccupancyGrid.FreeStep;
    private const float O = OccupancyGrid.OccupiedStep;

    private static string Render(OccupancyGrid grid, int x0, int y0, int width, int height)
    {
        // Top row first, like a picture: '#' occupied, '.' free, ' ' unknown.
        var rows = new List<string>();
        for (var y = y0 + height - 1; y >= y0; y--)
        {
            rows.Add(new string(Enumerable.Range(x0, width).Select(x => grid.LogOdds(x, y) switch { > 0 => '#', < 0 => '.', _ => ' ' }).ToArray()));
        }

        return string.Join('\n', rows);
    }

    [Fact]
    public void Insert_OneHitAlongX_FreeUpToTheHitOccupiedAtIt()
    {
        var grid = new OccupancyGrid(5);

        grid.Insert(new MapPose(2.5, 2.5, 0), new MapScan([new MapRay(20, 0, true)]));

        Assert.Equal([F, F, F, F, O, 0f], Enumerable.Range(0, 6).Select(x => grid.LogOdds(x, 0)));
        Assert.Equal(0f, grid.LogOdds(0, 1));
    }

    [Fact]
    public void Insert_GoldenFan_BresenhamCells()
    {
        var grid = new OccupancyGrid(10);
        // From cell (0, 0): a hit at cell (4, 2), one straight up to (0, 3), and one past the range to (−3, −1).
        var scan = new MapScan([new MapRay(40, 20, true), new MapRay(0, 30, true), new MapRay(-30, -10, false)]);

        grid.Insert(new MapPose(5, 5, 0), scan);

        // Bresenham: (0,0) (1,1) (2,1) (3,2) passed, (4,2) hit; (0,0)…(0,2) passed, (0,3) hit; (−1,0) (−2,−1) (−3,−1) passed, end included.
        Assert.Equal(
            string.Join('\n',
                "    #    ",
                "    .  .#",
                "    ...  ",
                "   ..    ",
                " ..      ",
                "         "),
            Render(grid, -4, -2, 9, 6));
    }

    [Fact]
    public void Insert_RotatedPose_RaysTurnWithTheRobot()
    {
        var grid = new OccupancyGrid(5);

        grid.Insert(new MapPose(2.5, 2.5, Math.PI / 2), new MapScan([new MapRay(20, 0, true)]));

        Assert.Equal(O, grid.LogOdds(0, 4));
        Assert.Equal(F, grid.LogOdds(0, 3));
        Assert.Equal(0f, grid.LogOdds(4, 0));
    }

    [Fact]
    public void Insert_RayPassesACellAnotherRayHits_HitWinsOncePerScan()
    {
        var grid = new OccupancyGrid(5);
        // The first ray ends at cell (2, 0); the second passes through it to (5, 0); the third passes again.
        var scan = new MapScan([new MapRay(10, 0, true), new MapRay(25, 0, true), new MapRay(25, 0, true)]);

        grid.Insert(new MapPose(2.5, 2.5, 0), scan);

        Assert.Equal(O, grid.LogOdds(2, 0));
        Assert.Equal(F, grid.LogOdds(1, 0));
        Assert.Equal(O, grid.LogOdds(5, 0));

        // Passed first, hit after: still one hit, no pass.
        var again = new OccupancyGrid(5);
        again.Insert(new MapPose(2.5, 2.5, 0), new MapScan([new MapRay(25, 0, true), new MapRay(10, 0, true)]));
        Assert.Equal(O, again.LogOdds(2, 0));
    }

    [Fact]
    public void Insert_ManyScans_LogOddsClampedBothWays()
    {
        var grid = new OccupancyGrid(5);
        for (var i = 0; i < 50; i++)
        {
            grid.Insert(new MapPose(2.5, 2.5, 0), new MapScan([new MapRay(20, 0, true)]));
        }

        Assert.Equal(OccupancyGrid.MaxLogOdds, grid.LogOdds(4, 0));
        Assert.Equal(-OccupancyGrid.MaxLogOdds, grid.LogOdds(1, 0));
        Assert.Equal(1 / (1 + Math.Exp(-OccupancyGrid.MaxLogOdds)), grid.Probability(4, 0), 9);
        Assert.Equal(0.5, grid.Probability(40, 40));
    }

    [Fact]
    public void Insert_AcrossTheOrigin_TilesOnBothSidesAndChangedOnce()
    {
        var grid = new OccupancyGrid(5);

        grid.Insert(new MapPose(0, 0, 0), new MapScan([new MapRay(-200, -3, true), new MapRay(200, 3, true)]));

        Assert.Equal(O, grid.LogOdds(-40, -1));
        Assert.Equal(O, grid.LogOdds(40, 0));
        var changed = grid.TakeChanged();
        Assert.Equal(
            new[] { new TileKey(-2, -1), new TileKey(-1, -1), new TileKey(-1, 0), new TileKey(0, 0), new TileKey(1, 0) },
            changed.OrderBy(k => k.TileX).ThenBy(k => k.TileY));
        Assert.Empty(grid.TakeChanged());
        Assert.Equal(5 * 32 * 32 * 8, grid.CellBytes);
        Assert.Equal((-64, -32, 128, 64), grid.Bounds());
    }

    [Fact]
    public void FromPoints_DeviceAnglesClockwise_NoReturnDroppedFarOnlyFrees()
    {
        // 90° clockwise on the device is the robot's right: −y. 0 mm is no return; 8 m is past the 6 m range.
        var scan = MapScan.FromPoints([new ScanPoint(16384, 1000), new ScanPoint(0, 0), new ScanPoint(0, 100), new ScanPoint(32768, 8000)]);

        Assert.Equal(2, scan.Rays.Count);
        Assert.Equal(0, scan.Rays[0].X, 9);
        Assert.Equal(-100, scan.Rays[0].Y, 9);
        Assert.True(scan.Rays[0].Hit);
        Assert.Equal(-600, scan.Rays[1].X, 9);
        Assert.False(scan.Rays[1].Hit);
    }

    [Fact]
    public void SetTile_CopyOfAnotherGrid_SameCells()
    {
        var source = new OccupancyGrid(5);
        source.Insert(new MapPose(10, 10, 0.3), SyntheticRoom.Default.Scan(new MapPose(10, 10, 0.3)));
        var copy = new OccupancyGrid(5);
        var buffer = new float[OccupancyGrid.TileCells * OccupancyGrid.TileCells];

        foreach (var key in source.TakeChanged())
        {
            Assert.True(source.TryCopyTile(key, buffer));
            copy.SetTile(key, buffer);
        }

        var (x, y, w, h) = source.Bounds();
        for (var j = y; j < y + h; j++)
        {
            for (var i = x; i < x + w; i++)
            {
                Assert.Equal(source.LogOdds(i, j), copy.LogOdds(i, j));
            }
        }
    }
}
