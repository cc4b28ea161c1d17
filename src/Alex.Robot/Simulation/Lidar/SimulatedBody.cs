// Where the simulated Alex really is in its world, for the lidar to look from: the simulator's wheel
// counters integrated with the firmware's geometry (docs/course-protocol.md §3), from the world's
// start pose. Straight moves count on the left wheel's forward/reverse ticks; turns on its turn ticks
// (left turn: left wheel back), degrees per tick inverting the firmware's turn target. With wheel slip
// and encoder noise set (SimulatorSettings), the body moves less and less regularly than the counters
// say: the counters are what the robot reports, the body is where it is.
using Alex.Protocol.Serial;

namespace Alex.Robot.Simulation.Lidar;

/// <summary>Tracks the simulated Alex's pose in the world. Thread-safe.</summary>
public sealed class SimulatedBody
{
    private readonly Lock _gate = new();
    private readonly Func<StatusCounters> _counters;
    private readonly double _cmPerTick;
    private readonly double _degreesPerTurnTick;
    private readonly SimulatorSettings _settings;
    private readonly Random _noise;
    private StatusCounters _last;
    private WorldPose _pose;

    public SimulatedBody(Func<StatusCounters> counters, SimulatorSettings settings, WorldPose start)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(settings);
        _counters = counters;
        _cmPerTick = settings.WheelCircumferenceCm / settings.CountsPerRev;
        var diagonal = Math.Sqrt((settings.BodyLengthCm * settings.BodyLengthCm) + (settings.BodyBreadthCm * settings.BodyBreadthCm));
        _degreesPerTurnTick = 360.0 * settings.WheelCircumferenceCm / (Math.PI * diagonal * settings.CountsPerRev);
        _settings = settings;
#pragma warning disable CA5394 // simulated wheel noise, not security
        _noise = new Random(settings.NoiseSeed);
#pragma warning restore CA5394
        _last = counters();
        _pose = start;
    }

    /// <summary>A body that never moves (a lidar with no robot under it).</summary>
    public static SimulatedBody Fixed(WorldPose pose) => new(() => default, new SimulatorSettings(), pose);

    /// <summary>The pose now (reads the counters).</summary>
    public WorldPose Pose
    {
        get
        {
            lock (_gate)
            {
                var now = _counters();
                // CLEAR_STATS sets every counter to zero: the robot did not move, start counting again.
                var forward = Delta(now.LeftForwardTicks, _last.LeftForwardTicks) - Delta(now.LeftReverseTicks, _last.LeftReverseTicks);
                var turn = Delta(now.LeftReverseTurnTicks, _last.LeftReverseTurnTicks) - Delta(now.LeftForwardTurnTicks, _last.LeftForwardTurnTicks);
                _last = now;
                var distance = Actual(forward, _settings.WheelSlip) * _cmPerTick;
                var degrees = Actual(turn, _settings.TurnSlip) * _degreesPerTurnTick;
                var mid = (_pose.HeadingDeg + (degrees / 2)) * Math.PI / 180;
                _pose = new WorldPose(_pose.X + (distance * Math.Cos(mid)), _pose.Y + (distance * Math.Sin(mid)), (_pose.HeadingDeg + degrees) % 360);
                return _pose;
            }
        }
    }

    // The ticks the wheels really made good, for `counted` ticks counted.
    private double Actual(double counted, double slip)
    {
        if (counted == 0 || (slip == 0 && _settings.EncoderNoise == 0))
        {
            return counted;
        }

#pragma warning disable CA5394 // simulated wheel noise
        var gauss = Math.Sqrt(-2 * Math.Log(1 - _noise.NextDouble())) * Math.Cos(2 * Math.PI * _noise.NextDouble());
#pragma warning restore CA5394
        return (counted * (1 - slip)) + (gauss * _settings.EncoderNoise * Math.Sqrt(Math.Abs(counted)));
    }

    private static double Delta(uint now, uint before) => now >= before ? now - before : 0;
}
