using Alex.Protocol.Mapping;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;
using Alex.Robot.Simulation.Mapping;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Mapping;

/// <summary>
/// Mapping in the simulator against its ground truth (docs/BENCHMARKS.md "map-accuracy" measures the same drill):
/// wheel slip and encoder noise on, seeded, a stepped clock. Margins are generous; the figures are the bench's job.
/// </summary>
public sealed class MapDrillTests
{
    private static readonly IReadOnlyList<DrillScan> Drill = MapDrill.Run(new MapDrillSettings());

    [Fact]
    public void Drill_ArenaLoop_ScanMatchingEndsCloserThanOdometryAndTheMapAgrees()
    {
        var end = Drill[^1].Truth;
        var matched = new Mapper();
        var odometryOnly = new Mapper(new MapperSettings { Matching = false });
        foreach (var scan in Drill)
        {
            matched.Add(scan.Odometry, scan.Scan);
            odometryOnly.Add(scan.Odometry, scan.Scan);
        }

        var matchedError = Distance(matched.Pose, end);
        var odometryError = Distance(Drill[^1].Odometry, end);
        Assert.True(odometryError > 10, $"odometry alone ends {odometryError:F1} cm off: slip and noise are not on");
        Assert.True(matchedError < 8 && matchedError * 2 < odometryError, $"matched {matchedError:F1} cm, odometry {odometryError:F1} cm");
        Assert.True(Math.Abs(MapPose.Normalize(matched.Pose.Theta - end.Theta)) < 3 * Math.PI / 180, $"heading {matched.Pose.HeadingDegrees:F1}° vs {end.HeadingDegrees:F1}°");

        var agreement = MapAgreementCheck.Measure(matched.Map, LidarWorld.DefaultArena);
        var unmatched = MapAgreementCheck.Measure(odometryOnly.Map, LidarWorld.DefaultArena);
        Assert.True(agreement.Walls > 0.9 && agreement.Free > 0.9, $"{agreement}");
        Assert.True(agreement.Walls > unmatched.Walls, $"{agreement} vs odometry only {unmatched}");
    }

    [Fact]
    public void Drill_SameSeeds_SameRun()
    {
        var again = MapDrill.Run(new MapDrillSettings());

        Assert.Equal(Drill.Count, again.Count);
        Assert.Equal(Drill[^1].Truth, again[^1].Truth);
        Assert.Equal(Drill[^1].Points, again[^1].Points);
    }

    [Fact]
    public void SimulatedBody_WheelSlip_MovesLessThanTheCountersSay()
    {
        var time = new FakeTimeProvider();
        var settings = new SimulatorSettings { WheelSlip = 0.1 };
        var alex = new SimulatedAlex(settings, time);
        var body = new SimulatedBody(() => alex.Counters, settings, new WorldPose(0, 0, 0));
        var encoders = new SimulatedBody(() => alex.Counters, new SimulatorSettings(), new WorldPose(0, 0, 0));

        alex.Handle(SerialPacket.ForCommand(CommandCode.Forward, 100, 100));
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(MotionKind.Stopped, alex.Motion);
        Assert.InRange(encoders.Pose.X, 100, 101.5);
        Assert.Equal(encoders.Pose.X * 0.9, body.Pose.X, 6);
    }

    [Fact]
    public void SimulatedBody_EncoderNoiseWithASeed_RepeatsAndDiffersFromTheCounters()
    {
        double Run(int seed)
        {
            var time = new FakeTimeProvider();
            var settings = new SimulatorSettings { EncoderNoise = 1, NoiseSeed = seed };
            var alex = new SimulatedAlex(settings, time);
            var body = new SimulatedBody(() => alex.Counters, settings, new WorldPose(0, 0, 0));
            alex.Handle(SerialPacket.ForCommand(CommandCode.TurnLeft, 90, 50));
            for (var i = 0; i < 100; i++)
            {
                time.Advance(TimeSpan.FromMilliseconds(50));
                _ = body.Pose;
            }

            return body.Pose.HeadingDeg;
        }

        Assert.Equal(Run(3), Run(3));
        Assert.NotEqual(Run(3), Run(4));
        Assert.NotEqual(89.9, Run(3), 1);
    }

    [Fact]
    public void SimulatorSettings_SlipOfOneOrMore_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatorSettings { WheelSlip = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatorSettings { EncoderNoise = -1 }.Validate());
    }

    private static double Distance(MapPose a, MapPose b) => Math.Sqrt(((a.X - b.X) * (a.X - b.X)) + ((a.Y - b.Y) * (a.Y - b.Y)));
}
