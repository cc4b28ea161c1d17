using Alex.Protocol.Lidar;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Lidar;

/// <summary>The world file, the ray cast and the simulated RPLidar's bytes (docs/lidar.md §7), on a fake clock.</summary>
public sealed class SimulatedLidarTests
{
    // A 4 m square room around the origin.
    private const string Square = """{ "name": "square", "start": { "x": 0, "y": 0, "heading": 0 }, "walls": [[-200, -200, 200, -200], [200, -200, 200, 200], [200, 200, -200, 200], [-200, 200, -200, -200]] }""";

    private readonly FakeTimeProvider _time = new();

    private static readonly LidarSimSettings Exact = new() { NoiseFraction = 0, AngleJitterDeg = 0, Seed = 1 };

    private SimulatedLidar Lidar(LidarWorld world, SimulatedBody? body = null, LidarSimSettings? settings = null) =>
        new(world, body ?? SimulatedBody.Fixed(world.Start), settings ?? Exact, _time);

    private static List<LidarReadResult> Decode(byte[] bytes)
    {
        var decoder = new LidarStreamDecoder();
        decoder.Append(bytes);
        var results = new List<LidarReadResult>();
        while (decoder.TryRead(out var r))
        {
            results.Add(r);
        }

        return results;
    }

    [Fact]
    public void DefaultArena_Loads_WallsAndBoxesAsSegments()
    {
        var arena = LidarWorld.DefaultArena;

        Assert.Equal(9 + (2 * 4), arena.Segments.Count);
        Assert.Equal(new WorldPose(40, 40, 0), arena.Start);
    }

    [Fact]
    public void Cast_SquareRoom_DistanceToEachWall()
    {
        var world = LidarWorld.Parse(Square, "square");

        Assert.Equal(200, world.Cast(0, 0, 0)!.Value, 6);
        Assert.Equal(150, world.Cast(50, 0, 0)!.Value, 6);
        Assert.Equal(250, world.Cast(50, 0, 180)!.Value, 6);
        Assert.Equal(200 * Math.Sqrt(2), world.Cast(0, 0, 45)!.Value, 6);
        Assert.Null(LidarWorld.Parse("""{ "walls": [[10, 10, 20, 10]] }""", "w").Cast(0, 0, 180));
    }

    [Theory]
    [InlineData("[1, 2]", "w.json: a world is a JSON object with \"walls\" and \"boxes\"")]
    [InlineData("{ \"walls\": [[1, 2, 3]] }", "w.json: each of \"walls\" is [4 numbers]")]
    [InlineData("{ \"walls\": [[1, 2, 3, \"x\"]] }", "w.json: \"walls\" has a value that is not a number within ±100000 cm")]
    [InlineData("{ \"boxes\": [[1, 2, 0, 5]] }", "w.json: a box needs a positive width and height")]
    [InlineData("{ }", "w.json: no walls or boxes")]
    [InlineData("{ \"walls\": [[1, 2, 3, 4]", "w.json: not JSON (Expected depth to be zero at the end of the JSON payload)")]
    public void Parse_BadWorld_OneLineReason(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => LidarWorld.Parse(json, "w.json"));
        Assert.StartsWith(message.Split('(')[0], e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Receive_InfoAndHealth_AnsweredWithTheDocumentsDescriptors()
    {
        var lidar = Lidar(LidarWorld.DefaultArena);

        var info = lidar.Receive([0xA5, 0x50]);
        var health = lidar.Receive([0xA5, 0x52]);

        Assert.Equal(new byte[] { 0xA5, 0x5A, 0x14, 0x00, 0x00, 0x00, 0x04 }, info[..7]);
        Assert.Equal(27, info.Length);
        Assert.Equal(new byte[] { 0xA5, 0x5A, 0x03, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00 }, health);
    }

    [Fact]
    public void TakeDue_OneSecondOfScan_FiveAndAHalfRevolutionsOf360()
    {
        var lidar = Lidar(LidarWorld.Parse(Square, "square"));
        Assert.Equal(LidarDescriptor.ForScan.ToArray(), lidar.Receive([0xA5, 0x20]));

        var bytes = new List<byte>(LidarDescriptor.ForScan.ToArray());
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(0.1));
            bytes.AddRange(lidar.TakeDue());
        }

        var nodes = Decode([.. bytes]).Where(r => r.Kind == LidarReadKind.Node).Select(r => r.Node).ToList();
        Assert.Equal(1980, nodes.Count);
        Assert.Equal(6, nodes.Count(n => n.Start));
        var assembler = new LidarRevolutionAssembler();
        var turns = nodes.Select(assembler.Add).OfType<LidarRevolution>().ToList();
        Assert.Equal(5, turns.Count);
        Assert.All(turns, t => Assert.Equal(360, t.Nodes.Count));

        // Straight ahead and to each side the wall is 2 m away; at 45° it is 2√2 m.
        var turn = turns[0].Nodes;
        Assert.Equal(2000, turn[0].DistanceMillimetres, 0);
        Assert.Equal(2000, turn[90].DistanceMillimetres, 0);
        Assert.Equal(2828.25, turn[45].DistanceMillimetres, 0);
    }

    [Fact]
    public void TakeDue_Stop_NoMoreNodes()
    {
        var lidar = Lidar(LidarWorld.DefaultArena);
        lidar.Receive([0xA5, 0x20]);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.NotEmpty(lidar.TakeDue());

        Assert.Empty(lidar.Receive([0xA5, 0x25]));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Empty(lidar.TakeDue());
        Assert.False(lidar.Scanning);
    }

    [Fact]
    public void TakeDue_LongStall_AtMostOneRevolutionCatchUp()
    {
        var lidar = Lidar(LidarWorld.DefaultArena);
        lidar.Receive([0xA5, 0x20]);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        var before = lidar.TakeDue();
        _time.Advance(TimeSpan.FromMinutes(5));
        var after = lidar.TakeDue();

        Assert.Equal(360 * LidarScanNode.Size, after.Length);
        // The stream carries on where it stopped: the node after the stall is the next angle, not a jump.
        var nodes = Decode([.. LidarDescriptor.ForScan.ToArray(), .. before, .. after]).Where(r => r.Kind == LidarReadKind.Node).Select(r => r.Node).ToList();
        var last = nodes[before.Length / LidarScanNode.Size - 1];
        var next = nodes[before.Length / LidarScanNode.Size];
        Assert.Equal(last.AngleDegrees + 1, next.AngleDegrees, 0);
    }

    [Fact]
    public void TakeDue_RobotTurnsLeft_WallAheadComesFromTheOtherSide()
    {
        // Alex at (100, 0) facing +x in the square: 1 m to the wall ahead, 3 m behind.
        var alex = new SimulatedAlex(new SimulatorSettings(), _time);
        var world = LidarWorld.Parse(Square.Replace("\"x\": 0", "\"x\": 100", StringComparison.Ordinal), "square");
        var body = new SimulatedBody(() => alex.Counters, alex.Settings, world.Start);
        var lidar = Lidar(world, body);
        lidar.Receive([0xA5, 0x20]);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        var before = Decode([.. LidarDescriptor.ForScan.ToArray(), .. lidar.TakeDue()]).First(r => r.Kind == LidarReadKind.Node).Node;

        // Turn left 180° and let the move finish.
        alex.Handle(SerialPacket.ForCommand(CommandCode.TurnLeft, 180, 100));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(MotionKind.Stopped, alex.Motion);
        lidar.Receive([0xA5, 0x20]);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        var after = Decode([.. LidarDescriptor.ForScan.ToArray(), .. lidar.TakeDue()]).First(r => r.Kind == LidarReadKind.Node).Node;

        Assert.Equal(1000, before.DistanceMillimetres, 0);
        Assert.InRange(after.DistanceMillimetres, 2900, 3100);
    }

    [Fact]
    public void Receive_NoiseAndSplitRequests_NoiseCountedRequestsAnswered()
    {
        var lidar = Lidar(LidarWorld.DefaultArena);

        Assert.Empty(lidar.Receive([0x00, 0x13, 0xA5]));
        var answer = lidar.Receive([0x52]);

        Assert.Equal(10, answer.Length);
        Assert.Equal((1, 2), (lidar.Requests, lidar.Noise));
    }
}
