// The mapping drill (docs/BENCHMARKS.md "map-accuracy"): the simulated Alex drives a scripted loop through
// a world with wheel slip and encoder noise, its simulated lidar scanning, all on a stepped clock, so a seed
// gives the same run every time. What comes out is what a mapper gets (each revolution with the odometry
// pose the encoders give) and what only the simulator knows (the true pose), both in the map frame: the
// robot's start pose is the origin, heading 0 along its start direction.
using Alex.Protocol.AlexLink;
using Alex.Protocol.Lidar;
using Alex.Protocol.Mapping;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Robot.Simulation.Mapping;

/// <summary>One revolution as the drill saw it.</summary>
public sealed record DrillScan(MapScan Scan, IReadOnlyList<ScanPoint> Points, MapPose Odometry, MapPose Truth);

/// <summary>How the drill drives.</summary>
public sealed record MapDrillSettings
{
    /// <summary>The default arena's loop: out from the start through the maze to the far side and back, about 11 m.</summary>
    public static IReadOnlyList<(double X, double Y)> ArenaLoop { get; } =
    [
        (40, 40), (40, 130), (70, 130), (70, 215), (165, 215), (165, 60), (260, 60),
        (165, 60), (165, 215), (70, 215), (70, 130), (40, 130), (40, 40),
    ];

    public LidarWorld World { get; init; } = LidarWorld.DefaultArena;

    /// <summary>Waypoints in world cm, the first the world's start; the robot ends facing its start heading.</summary>
    public IReadOnlyList<(double X, double Y)> Waypoints { get; init; } = ArenaLoop;

    /// <summary>Wheel slip and encoder noise on (3 % straight, 5 % turning, 0.5 tick·√tick).</summary>
    public SimulatorSettings Robot { get; init; } = new() { WheelSlip = 0.03, TurnSlip = 0.05, EncoderNoise = 0.5, NoiseSeed = 7 };

    public LidarSimSettings Lidar { get; init; } = new() { Seed = 11 };

    /// <summary>Motor speed in percent for straight moves and turns.</summary>
    public uint DriveSpeed { get; init; } = 40;

    public uint TurnSpeed { get; init; } = 30;

    /// <summary>The simulation's time step.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>Runs the drill. Pure: a stepped clock, seeded noise, no I/O.</summary>
public static class MapDrill
{
    public static IReadOnlyList<DrillScan> Run(MapDrillSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var clock = new SteppedClock();
        var alex = new SimulatedAlex(settings.Robot, clock);
        var start = settings.World.Start;
        var truth = new SimulatedBody(() => alex.Counters, settings.Robot, start);
        var encoders = new SimulatedBody(() => alex.Counters, settings.Robot with { WheelSlip = 0, TurnSlip = 0, EncoderNoise = 0 }, start);
        var lidar = new SimulatedLidar(settings.World, truth, settings.Lidar, clock);
        var decoder = new LidarStreamDecoder();
        var assembler = new LidarRevolutionAssembler();
        var scans = new List<DrillScan>();

        decoder.ExpectResponse();
        decoder.Append(lidar.Receive(LidarRequest.Encode(LidarCommand.Scan)));

        void Tick()
        {
            clock.Advance(settings.Step);
            decoder.Append(lidar.TakeDue());
            while (decoder.TryRead(out var read))
            {
                if (read.Kind == LidarReadKind.Node && assembler.Add(read.Node) is { } revolution)
                {
                    var points = revolution.Nodes.Select(n => ScanPoint.From(n)).ToArray();
                    scans.Add(new DrillScan(MapScan.FromPoints(points), points, InMapFrame(encoders.Pose, start), InMapFrame(truth.Pose, start)));
                }
            }
        }

        void Drive(CommandCode command, uint amount, uint speed)
        {
            if (amount == 0)
            {
                return;
            }

            alex.Handle(SerialPacket.ForCommand(command, amount, speed));
            while (alex.Motion != MotionKind.Stopped)
            {
                Tick();
            }

            // A pause between moves, as a student's script has, gives the lidar a turn standing still.
            for (var i = 0; i < 20; i++)
            {
                Tick();
            }
        }

        void Face(double fromDeg, double toDeg)
        {
            var turn = (int)Math.Round(MapPose.Normalize((toDeg - fromDeg) * Math.PI / 180) * 180 / Math.PI);
            Drive(turn > 0 ? CommandCode.TurnLeft : CommandCode.TurnRight, (uint)Math.Abs(turn), settings.TurnSpeed);
        }

        // The lidar spins up while Alex stands at the start, as it does when a run begins.
        for (var i = 0; i < 50; i++)
        {
            Tick();
        }

        var heading = start.HeadingDeg;
        for (var i = 1; i < settings.Waypoints.Count; i++)
        {
            var (x0, y0) = settings.Waypoints[i - 1];
            var (x1, y1) = settings.Waypoints[i];
            var want = Math.Atan2(y1 - y0, x1 - x0) * 180 / Math.PI;
            Face(heading, want);
            heading = want;
            Drive(CommandCode.Forward, (uint)Math.Round(Math.Sqrt(((x1 - x0) * (x1 - x0)) + ((y1 - y0) * (y1 - y0)))), settings.DriveSpeed);
        }

        Face(heading, start.HeadingDeg);
        return scans;
    }

    /// <summary>A world pose in the map frame whose origin is <paramref name="origin"/>.</summary>
    public static MapPose InMapFrame(WorldPose pose, WorldPose origin)
    {
        var o = new MapPose(origin.X, origin.Y, origin.HeadingDeg * Math.PI / 180);
        return o.StepTo(new MapPose(pose.X, pose.Y, pose.HeadingDeg * Math.PI / 180));
    }

    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan step) => _ticks += step.Ticks;
    }
}
