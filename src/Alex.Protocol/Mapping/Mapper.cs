// The mapper (docs/mapping.md): odometry pose and lidar revolution in, corrected pose and map out.
//
// For each scan: predict the pose by adding the odometry's motion since the last scan to the last
// corrected pose; match the scan to the map coarse to fine (grids of 4c, 2c and c, as Hector SLAM's
// multi-resolution maps, so a prediction off by a few cells still finds the walls); then, when the robot
// moved or turned enough since the last insertion, insert the scan at the matched pose into every grid.
// Waiting for motion keeps a standing robot from pressing its own error into the map.
namespace Alex.Protocol.Mapping;

/// <summary>How the mapper works.</summary>
public sealed record MapperSettings
{
    /// <summary>The finest grid's cell side, cm.</summary>
    public double CellCm { get; init; } = 5;

    /// <summary>Grids, each with cells twice the size of the one before (1: the finest only).</summary>
    public int Levels { get; init; } = 3;

    /// <summary>Gauss-Newton iterations per grid.</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>Off: the map is built at the odometry pose (for comparison).</summary>
    public bool Matching { get; init; } = true;

    /// <summary>
    /// Undo the motion within a revolution: each ray is moved to where the robot was when it was measured, by the
    /// odometry's motion since the last scan (MapScan.Deskew). Right when scans arrive one revolution apart.
    /// </summary>
    public bool Deskew { get; init; } = true;

    /// <summary>Pull towards the odometry prediction, in hits' worth (ScanMatcher.Match).</summary>
    public double PriorWeight { get; init; } = 8;

    /// <summary>Insert the scan once the robot moved this far since the last insertion (cm)…</summary>
    public double InsertDistanceCm { get; init; } = 10;

    /// <summary>…or turned this much (degrees).</summary>
    public double InsertTurnDegrees { get; init; } = 5;

    /// <summary>Scans with fewer hits are not matched or inserted (a covered or failing lidar).</summary>
    public int MinHits { get; init; } = 20;

    public double MinRangeCm { get; init; } = MapScan.DefaultMinRangeCm;

    public double MaxRangeCm { get; init; } = MapScan.DefaultMaxRangeCm;

    public void Validate()
    {
        if (!(CellCm is >= 0.5 and <= 100) || Levels is < 1 or > 5 || Iterations is < 1 or > 100 || !(PriorWeight >= 0)
            || !(InsertDistanceCm >= 0) || !(InsertTurnDegrees >= 0) || MinHits < 3 || !(MaxRangeCm > MinRangeCm))
        {
            throw new ArgumentOutOfRangeException(nameof(CellCm), "mapper settings out of range");
        }
    }
}

/// <summary>What one scan did.</summary>
public readonly record struct MapUpdate(MapPose Pose, bool Matched, bool Inserted);

/// <summary>Builds the map and corrects the pose, scan by scan. Pure and not thread-safe: one loop owns it.</summary>
public sealed class Mapper
{
    private readonly OccupancyGrid[] _levels;
    private MapPose? _lastOdometry;
    private MapPose _lastInserted;
    private bool _inserted;

    public Mapper(MapperSettings? settings = null)
    {
        Settings = settings ?? new MapperSettings();
        Settings.Validate();
        _levels = Enumerable.Range(0, Settings.Levels).Select(i => new OccupancyGrid(Settings.CellCm * (1 << i))).ToArray();
    }

    public MapperSettings Settings { get; }

    /// <summary>The finest grid: the map.</summary>
    public OccupancyGrid Map => _levels[0];

    /// <summary>The corrected pose after the last scan (the odometry frame's origin before any).</summary>
    public MapPose Pose { get; private set; }

    public int Scans { get; private set; }

    /// <summary>Bytes held by every grid's cells.</summary>
    public long CellBytes => _levels.Sum(l => l.CellBytes);

    /// <summary>Takes the odometry pose at the scan's end and the scan; returns the corrected pose. The first scan only sets the odometry's start.</summary>
    public MapUpdate Add(MapPose odometry, MapScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        Scans++;
        if (_lastOdometry is not { } last)
        {
            // The first scan: how the robot moved while taking it is unknown, so it only sets where odometry starts.
            _lastOdometry = odometry;
            Pose = odometry;
            return new MapUpdate(Pose, false, false);
        }

        var step = last.StepTo(odometry);
        var predicted = Pose.Compose(step);
        if (Settings.Deskew)
        {
            scan = scan.Deskew(step);
        }

        _lastOdometry = odometry;
        Pose = predicted;
        if (scan.Hits < Settings.MinHits)
        {
            return new MapUpdate(Pose, false, false);
        }

        var matched = false;
        if (Settings.Matching && _inserted)
        {
            var pose = predicted;
            for (var level = _levels.Length - 1; level >= 0; level--)
            {
                pose = ScanMatcher.Match(_levels[level], scan, pose, Settings.Iterations, predicted, Settings.PriorWeight);
            }

            Pose = pose;
            matched = true;
        }

        var sinceInsert = _lastInserted.StepTo(Pose);
        var moved = !_inserted || Math.Sqrt((sinceInsert.X * sinceInsert.X) + (sinceInsert.Y * sinceInsert.Y)) >= Settings.InsertDistanceCm
            || Math.Abs(sinceInsert.HeadingDegrees) >= Settings.InsertTurnDegrees;
        if (moved)
        {
            foreach (var grid in _levels)
            {
                grid.Insert(Pose, scan);
            }

            _lastInserted = Pose;
            _inserted = true;
        }

        return new MapUpdate(Pose, matched, moved);
    }
}
