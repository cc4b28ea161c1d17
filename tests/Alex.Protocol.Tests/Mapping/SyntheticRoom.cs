using Alex.Protocol.Mapping;

namespace Alex.Protocol.Tests.Mapping;

/// <summary>A room of wall segments (cm) and an exact ray caster, to make scans whose true pose is known.</summary>
internal sealed class SyntheticRoom
{
    public SyntheticRoom(params (double X1, double Y1, double X2, double Y2)[] walls)
    {
        Walls = walls;
    }

    public IReadOnlyList<(double X1, double Y1, double X2, double Y2)> Walls { get; }

    /// <summary>
    /// A 4 m × 3 m room around the origin with a box and a wall stub: no symmetry to slide along. Shifted off the
    /// 5 cm cell boundaries, as real walls are: exact ranges to a wall on a boundary all round the same way.
    /// </summary>
    public static SyntheticRoom Default { get; } = Shifted(1.3, 2.1,
        (-100, -100, 300, -100), (300, -100, 300, 200), (300, 200, -100, 200), (-100, 200, -100, -100),
        (150, 40, 190, 40), (190, 40, 190, 80), (190, 80, 150, 80), (150, 80, 150, 40),
        (60, 200, 60, 140));

    private static SyntheticRoom Shifted(double dx, double dy, params (double X1, double Y1, double X2, double Y2)[] walls) =>
        new(walls.Select(w => (w.X1 + dx, w.Y1 + dy, w.X2 + dx, w.Y2 + dy)).ToArray());

    /// <summary>A scan of <paramref name="rays"/> evenly spaced rays from the pose, exact ranges.</summary>
    public MapScan Scan(MapPose pose, int rays = 360, double maxRangeCm = MapScan.DefaultMaxRangeCm)
    {
        var list = new List<MapRay>();
        for (var k = 0; k < rays; k++)
        {
            var a = k * 2 * Math.PI / rays;
            if (Cast(pose.X, pose.Y, pose.Theta + a) is { } d && d >= MapScan.DefaultMinRangeCm)
            {
                var r = Math.Min(d, maxRangeCm);
                list.Add(new MapRay(r * Math.Cos(a), r * Math.Sin(a), d <= maxRangeCm));
            }
        }

        return new MapScan(list);
    }

    public double? Cast(double x, double y, double angle)
    {
        var (dx, dy) = (Math.Cos(angle), Math.Sin(angle));
        double? nearest = null;
        foreach (var (x1, y1, x2, y2) in Walls)
        {
            var (ex, ey) = (x2 - x1, y2 - y1);
            var denom = (dx * ey) - (dy * ex);
            if (Math.Abs(denom) < 1e-12)
            {
                continue;
            }

            var (wx, wy) = (x1 - x, y1 - y);
            var t = ((wx * ey) - (wy * ex)) / denom;
            var u = ((wx * dy) - (wy * dx)) / denom;
            if (t > 0 && u >= 0 && u <= 1 && (nearest is null || t < nearest))
            {
                nearest = t;
            }
        }

        return nearest;
    }
}
