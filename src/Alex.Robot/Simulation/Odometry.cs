// The firmware's odometry arithmetic (docs/course-protocol.md §3), as pure functions. Alex.ino computes in
// `float` (on the AVR, double is float too), so do we: the rounding then matches the robot's.
//
//   distance (cm)      = (unsigned long)((float)leftTicks / COUNTS_PER_REV * WHEEL_CIRC)
//   turn target ticks  = (unsigned long)(angle * π·√(L² + B²) * COUNTS_PER_REV / (360 * WHEEL_CIRC))
//   PWM                = (int)(speed / 100 * 255), speed clamped to 0..100
namespace Alex.Robot.Simulation;

internal static class Odometry
{
    public static uint DistanceCm(long ticks, SimulatorSettings s) =>
        unchecked((uint)(ulong)((float)ticks / s.CountsPerRev * (float)s.WheelCircumferenceCm));

    public static long TurnTicks(uint angleDegrees, SimulatorSettings s)
    {
        var diagonal = MathF.Sqrt((float)((s.BodyLengthCm * s.BodyLengthCm) + (s.BodyBreadthCm * s.BodyBreadthCm)));
        var circumference = MathF.PI * diagonal;
        return (long)(angleDegrees * circumference * s.CountsPerRev / (360f * (float)s.WheelCircumferenceCm));
    }

    public static int Pwm(uint speedPercent) => (int)(Math.Min(speedPercent, 100u) / 100f * 255f);

    public static double TicksPerSecond(uint speedPercent, SimulatorSettings s) =>
        s.TicksPerSecondAtFullSpeed * Pwm(speedPercent) / 255.0;

    /// <summary>
    /// The fewest left-wheel ticks at which the firmware's check `distance > goal` holds: the move
    /// stops on that tick (docs/course-protocol.md §3, "passes start + distance").
    /// </summary>
    public static long TicksToPass(long goalCm, SimulatorSettings s)
    {
        // Distance is monotonic in ticks: binary search, exact under float rounding.
        long lo = 0, hi = 1;
        while (DistanceAsLong(hi, s) <= goalCm)
        {
            hi *= 2;
        }

        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (DistanceAsLong(mid, s) > goalCm)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    private static long DistanceAsLong(long ticks, SimulatorSettings s) =>
        (long)((float)ticks / s.CountsPerRev * (float)s.WheelCircumferenceCm);
}
