// Dead reckoning from the firmware's odometry (docs/course-protocol.md §1 STATUS params, §3 odometry),
// shared by the drive console, the web gateway, recordings and the server's mapper:
//
// | counter (STATUS param)            | what moved                                        |
// |-----------------------------------|---------------------------------------------------|
// | 8 forward distance (cm)           | straight ahead                                    |
// | 9 reverse distance (cm)           | straight back                                     |
// | 6 left reverse turn ticks         | turn left (left wheel back, right wheel forward)  |
// | 4 left forward turn ticks         | turn right (left wheel forward, right wheel back) |
//
// Turn ticks to degrees inverts the firmware's target: ticks = angle × π·√(L² + B²) × CPR / (360 × C).
// Like the firmware's distance, turns are counted on the left wheel.
using Alex.Protocol.Serial;

namespace Alex.Protocol.Odometry;

/// <summary>The robot's size and wheels, for turning tick counts into degrees (simulator defaults).</summary>
public sealed record RobotGeometry(double CountsPerRev = 195, double WheelCircumferenceCm = 20.4, double LengthCm = 26, double BreadthCm = 16)
{
    public double DegreesPerTurnTick =>
        360.0 * WheelCircumferenceCm / (Math.PI * Math.Sqrt((LengthCm * LengthCm) + (BreadthCm * BreadthCm)) * CountsPerRev);
}

/// <summary>Where the robot is, in cm from where the gateway first saw it; heading in degrees, 0 = the start direction, counter-clockwise positive.</summary>
public readonly record struct Pose(double X, double Y, double HeadingDeg);

/// <summary>
/// Integrates successive STATUS counters into a path. Pure: no clock, no I/O; the gateway feeds it
/// every status it sees, from its own commands or anyone else's, so a watcher's plot is right too.
/// </summary>
public sealed class DeadReckoning
{
    /// <summary>Points closer than this (cm) to the last one are not stored: a long session stays small.</summary>
    private const double MinStepCm = 0.5;
    private const int MaxPoints = 5000;

    private readonly RobotGeometry _geometry;
    private readonly List<Pose> _path = [new Pose(0, 0, 0)];
    private StatusCounters? _last;

    public DeadReckoning(RobotGeometry? geometry = null)
    {
        _geometry = geometry ?? new RobotGeometry();
    }

    public Pose Current { get; private set; } = new(0, 0, 0);

    public IReadOnlyList<Pose> Path => _path;

    /// <summary>Takes the next counters; returns true when the pose changed.</summary>
    public bool Update(in StatusCounters counters)
    {
        if (_last is not { } last || WentBackwards(last, counters))
        {
            // First sight, or CLEAR_STATS / a firmware reset: counters restart from here, the pose stays.
            _last = counters;
            return false;
        }

        _last = counters;
        double forward = (double)counters.ForwardDistanceCm - last.ForwardDistanceCm;
        double reverse = (double)counters.ReverseDistanceCm - last.ReverseDistanceCm;
        double leftTurn = ((double)counters.LeftReverseTurnTicks - last.LeftReverseTurnTicks) * _geometry.DegreesPerTurnTick;
        double rightTurn = ((double)counters.LeftForwardTurnTicks - last.LeftForwardTurnTicks) * _geometry.DegreesPerTurnTick;

        var distance = forward - reverse;
        var turn = leftTurn - rightTurn;
        if (distance == 0 && turn == 0)
        {
            return false;
        }

        // Within one sample a move and a turn can both have happened; integrate at the mean heading.
        var p = Current;
        var mid = (p.HeadingDeg + (turn / 2)) * Math.PI / 180;
        Current = new Pose(p.X + (distance * Math.Cos(mid)), p.Y + (distance * Math.Sin(mid)), Normalize(p.HeadingDeg + turn));
        Record(Current);
        return true;
    }

    /// <summary>Starts a fresh path at the origin (the page's "clear path").</summary>
    public void Reset()
    {
        Current = new Pose(0, 0, 0);
        _path.Clear();
        _path.Add(Current);
    }

    private void Record(Pose pose)
    {
        var tail = _path[^1];
        var moved = Math.Abs(pose.X - tail.X) + Math.Abs(pose.Y - tail.Y);
        if (moved < MinStepCm && _path.Count > 1)
        {
            _path[^1] = pose;
            return;
        }

        if (_path.Count >= MaxPoints)
        {
            // Keep the shape: drop every other point of the older half.
            var keep = new List<Pose>(MaxPoints);
            for (var i = 0; i < _path.Count; i++)
            {
                if (i >= _path.Count / 2 || i % 2 == 0)
                {
                    keep.Add(_path[i]);
                }
            }

            _path.Clear();
            _path.AddRange(keep);
        }

        _path.Add(pose);
    }

    private static bool WentBackwards(in StatusCounters a, in StatusCounters b) =>
        b.ForwardDistanceCm < a.ForwardDistanceCm || b.ReverseDistanceCm < a.ReverseDistanceCm ||
        b.LeftReverseTurnTicks < a.LeftReverseTurnTicks || b.LeftForwardTurnTicks < a.LeftForwardTurnTicks;

    private static double Normalize(double deg)
    {
        deg %= 360;
        return deg > 180 ? deg - 360 : deg <= -180 ? deg + 360 : deg;
    }
}
