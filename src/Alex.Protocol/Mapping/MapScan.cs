// A lidar revolution as the mapper uses it (docs/mapping.md §1): rays in the robot's frame (cm, x ahead,
// y to the left), each ending at a hit or, for a return past the usable range, at that range with no hit.
//
// The AlexLink Scan point's angle grows clockwise from ahead (docs/protocol.md §4 "Scan"); the robot
// frame's angle grows counter-clockwise, so a point at device angle a lies at robot angle −a.
using Alex.Protocol.AlexLink;

namespace Alex.Protocol.Mapping;

/// <summary>A pose in the map frame: cm, and radians counter-clockwise from +x.</summary>
public readonly record struct MapPose(double X, double Y, double Theta)
{
    /// <summary>This pose followed by <paramref name="step"/> (a motion in this pose's own frame).</summary>
    public MapPose Compose(MapPose step)
    {
        var (sin, cos) = Math.SinCos(Theta);
        return new(X + (cos * step.X) - (sin * step.Y), Y + (sin * step.X) + (cos * step.Y), Normalize(Theta + step.Theta));
    }

    /// <summary>The motion from this pose to <paramref name="other"/>, in this pose's frame.</summary>
    public MapPose StepTo(MapPose other)
    {
        var (sin, cos) = Math.SinCos(Theta);
        var (dx, dy) = (other.X - X, other.Y - Y);
        return new((cos * dx) + (sin * dy), (-sin * dx) + (cos * dy), Normalize(other.Theta - Theta));
    }

    public double HeadingDegrees => Theta * 180 / Math.PI;

    /// <summary>An angle in (−π, π].</summary>
    public static double Normalize(double radians)
    {
        var a = Math.IEEERemainder(radians, 2 * Math.PI);
        return a <= -Math.PI ? a + (2 * Math.PI) : a;
    }
}

/// <summary>
/// One ray in the robot frame, cm: its end point, whether something was hit there, and when in the revolution it was
/// measured (0 at its start, 1 at its end; the device's angle over 360°).
/// </summary>
public readonly record struct MapRay(double X, double Y, bool Hit, double Phase = 1);

/// <summary>One revolution's rays.</summary>
public sealed class MapScan
{
    /// <summary>Returns nearer than this are the robot itself or too near to trust (the A1 reports none under 15 cm).</summary>
    public const double DefaultMinRangeCm = 15;

    /// <summary>Returns past this only clear the cells they pass, up to this range: far hits are sparse and noisy.</summary>
    public const double DefaultMaxRangeCm = 600;

    public MapScan(IReadOnlyList<MapRay> rays)
    {
        Rays = rays ?? throw new ArgumentNullException(nameof(rays));
    }

    public IReadOnlyList<MapRay> Rays { get; }

    public int Hits => Rays.Count(r => r.Hit);

    /// <summary>
    /// The scan as if measured all at its end: a robot that moved by <paramref name="motion"/> (in the frame of where it
    /// was at the start) during the revolution saw each ray from part of the way along, by the ray's phase. The motion
    /// is taken as even over the turn.
    /// </summary>
    public MapScan Deskew(MapPose motion)
    {
        if (motion == default)
        {
            return this;
        }

        var rays = new MapRay[Rays.Count];
        for (var i = 0; i < rays.Length; i++)
        {
            var r = Rays[i];
            var f = r.Phase;
            var seenFrom = motion.StepTo(new MapPose(motion.X * f, motion.Y * f, motion.Theta * f));
            var end = seenFrom.Compose(new MapPose(r.X, r.Y, 0));
            rays[i] = r with { X = end.X, Y = end.Y };
        }

        return new MapScan(rays);
    }

    /// <summary>From AlexLink scan points: no return (0 mm) and too near are left out; too far frees up to the range.</summary>
    public static MapScan FromPoints(IEnumerable<ScanPoint> points, double minRangeCm = DefaultMinRangeCm, double maxRangeCm = DefaultMaxRangeCm)
    {
        ArgumentNullException.ThrowIfNull(points);
        var rays = new List<MapRay>(400);
        foreach (var p in points)
        {
            var cm = p.DistanceMm / 10.0;
            if (p.DistanceMm == 0 || cm < minRangeCm)
            {
                continue;
            }

            var (sin, cos) = Math.SinCos(-p.AngleDegrees * Math.PI / 180);
            var range = Math.Min(cm, maxRangeCm);
            rays.Add(new MapRay(cos * range, sin * range, cm <= maxRangeCm, p.Angle / 65536.0));
        }

        return new MapScan(rays);
    }
}
