using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.Mapping;

/// <summary>Scan-to-map matching (docs/mapping.md §2) on a synthetic room with exact scans.</summary>
public sealed class ScanMatcherTests
{
    private static readonly SyntheticRoom Room = SyntheticRoom.Default;

    // Scans taken standing still: nothing to deskew. The odometry here is off on purpose, by more than a real step's
    // error: a light prior, so the test is of the matching (the default prior suits odometry errors of a scan's step).
    private static readonly MapperSettings Standing = new() { Deskew = false, PriorWeight = 0.5 };

    private static OccupancyGrid MapFrom(params MapPose[] poses)
    {
        var grid = new OccupancyGrid(5);
        foreach (var p in poses)
        {
            grid.Insert(p, Room.Scan(p));
        }

        return grid;
    }

    // The map holds a wall at its cell's centre, so even a perfect guess settles up to half a cell from the truth
    // (1.2 cm here); what matching must do is reach that same optimum from where odometry puts it.
    [Theory]
    [InlineData(6, -4, 3)]
    [InlineData(-10, 8, -5)]
    [InlineData(12, -8, 4)]
    [InlineData(-18, 10, 2)]
    [InlineData(-15, -15, -4)]
    public void Mapper_OdometryOffByAKnownStep_MatchingRecoversTheTruePose(double dx, double dy, double dDeg)
    {
        var truth = new MapPose(40, 20, 0.2);
        var odometry = new MapPose(truth.X + dx, truth.Y + dy, truth.Theta + (dDeg * Math.PI / 180));

        var exact = SecondScan(Standing, truth, truth);
        var update = SecondScan(Standing, odometry, truth);

        Assert.True(update.Matched);
        Assert.True(Distance(update.Pose, exact.Pose) < 0.5, $"position {update.Pose} vs {exact.Pose}");
        Assert.True(Math.Abs(MapPose.Normalize(update.Pose.Theta - exact.Pose.Theta)) < 0.2 * Math.PI / 180, $"heading {update.Pose.HeadingDegrees} vs {exact.Pose.HeadingDegrees}");
        Assert.True(Distance(update.Pose, truth) < 2.5, $"position {update.Pose} vs {truth}");
    }

    [Fact]
    public void Mapper_FinestGridOnly_LosesAnOffsetTheCoarseGridsRecover()
    {
        var truth = new MapPose(40, 20, 0.2);
        var odometry = new MapPose(truth.X - 15, truth.Y - 15, truth.Theta - (4 * Math.PI / 180));

        var single = SecondScan(Standing with { Levels = 1 }, odometry, truth);
        var multi = SecondScan(Standing with { Levels = 3 }, odometry, truth);

        Assert.True(Distance(single.Pose, truth) > 5, $"{single.Pose}");
        Assert.True(Distance(multi.Pose, truth) < 2.5, $"{multi.Pose}");
    }

    private static MapUpdate SecondScan(MapperSettings settings, MapPose odometry, MapPose truth)
    {
        var start = new MapPose(0, 0, 0);
        var mapper = new Mapper(settings);
        Assert.False(mapper.Add(start, Room.Scan(start)).Inserted); // the first scan sets odometry's start
        Assert.True(mapper.Add(start, Room.Scan(start)).Inserted);
        return mapper.Add(odometry, Room.Scan(truth));
    }

    [Fact]
    public void Match_FinestGridOnly_PullsAnOffsetOfACellBack()
    {
        var map = MapFrom(new MapPose(0, 0, 0), new MapPose(80, 50, 1));
        var truth = new MapPose(30, 10, 0.1);
        var guess = new MapPose(33, 7, 0.13);

        var matched = ScanMatcher.Match(map, Room.Scan(truth), guess, 20, guess);

        Assert.True(Distance(matched, truth) < 2.5, $"{matched}");
        Assert.True(Distance(guess, truth) > 4);
    }

    [Fact]
    public void Match_EmptyMap_KeepsTheGuess()
    {
        var guess = new MapPose(3, 4, 0.5);

        Assert.Equal(guess, ScanMatcher.Match(new OccupancyGrid(5), Room.Scan(guess), guess, 10, guess));
    }

    [Fact]
    public void Interpolate_BetweenCellCentres_ValueAndSlope()
    {
        var grid = new OccupancyGrid(5);
        grid.SetTile(new TileKey(0, 0), Enumerable.Range(0, 32 * 32).Select(i => i == 1 ? (float)Math.Log(3) : 0f).ToArray()); // cell (1, 0): p = 0.75

        var (value, du, dv) = ScanMatcher.Interpolate(grid, 1.25, 0.5); // three quarters of the way from (0,0) to (1,0)'s centres

        Assert.Equal(0.5 + (0.75 * 0.25), value, 6);
        Assert.Equal(0.25, du, 6);
        Assert.Equal(0.75 * (0.5 - 0.75), dv, 6); // the row above is unknown
    }

    [Fact]
    public void Mapper_ScansBelowMinHits_NeitherMatchedNorInserted()
    {
        var mapper = new Mapper();

        mapper.Add(new MapPose(1, 2, 0), new MapScan([new MapRay(100, 0, true)]));
        var update = mapper.Add(new MapPose(1, 2, 0), new MapScan([new MapRay(100, 0, true)]));

        Assert.False(update.Inserted);
        Assert.Equal(new MapPose(1, 2, 0), update.Pose);
        Assert.Equal(0, mapper.Map.TileCount);
    }

    [Fact]
    public void Mapper_Standing_InsertsOnlyOnce()
    {
        var mapper = new Mapper();
        var pose = new MapPose(0, 0, 0);

        Assert.False(mapper.Add(pose, Room.Scan(pose)).Inserted);
        Assert.True(mapper.Add(pose, Room.Scan(pose)).Inserted);
        Assert.False(mapper.Add(pose, Room.Scan(pose)).Inserted);
        Assert.Equal(1, mapper.Map.Scans);
    }

    [Fact]
    public void Deskew_TurningWhileScanning_EachRayFromWhereItWasSeen()
    {
        // Turning left 10° over the revolution: a ray measured at its start was seen 10° back (clockwise) from the end pose.
        var scan = new MapScan([new MapRay(100, 0, true, 0), new MapRay(100, 0, true, 0.5), new MapRay(100, 0, true, 1)]);

        var deskewed = scan.Deskew(new MapPose(0, 0, 10 * Math.PI / 180));

        Assert.Equal(-10, Math.Atan2(deskewed.Rays[0].Y, deskewed.Rays[0].X) * 180 / Math.PI, 6);
        Assert.Equal(-5, Math.Atan2(deskewed.Rays[1].Y, deskewed.Rays[1].X) * 180 / Math.PI, 6);
        Assert.Equal(100, deskewed.Rays[2].X, 6);

        // Driving 10 cm ahead: a wall 100 cm ahead at the start is 90 cm ahead at the end.
        Assert.Equal(90, scan.Deskew(new MapPose(10, 0, 0)).Rays[0].X, 6);
    }

    private static double Distance(MapPose a, MapPose b) => Math.Sqrt(((a.X - b.X) * (a.X - b.X)) + ((a.Y - b.Y) * (a.Y - b.Y)));
}
