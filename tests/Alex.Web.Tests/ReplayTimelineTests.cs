using System.Buffers;
using System.Text;
using Alex.Client;
using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;
using Alex.Protocol.Serial;
using Alex.Web.Replay;
using Alex.Web.Robot;

namespace Alex.Web.Tests;

/// <summary>A recording as the web page is shown it (ReplayTimeline), and the page messages a replay adds.</summary>
public sealed class ReplayTimelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 6, 15, 0, TimeSpan.Zero);

    [Fact]
    public void From_RecordedRun_PosesScansAndLogInOrder_InPageUnits()
    {
        var output = new ArrayBufferWriter<byte>();
        var recorder = new RunRecorder(new McapWriter(output));
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds(), new StatusCounters()), T0);
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds() + 500, new StatusCounters { ForwardDistanceCm = 30 }), T0.AddSeconds(0.5));
        // One return 40 cm away at 90° clockwise (Alex's right), one with no return.
        recorder.Record(new AlexLinkScan(1, T0.ToUnixTimeMilliseconds() + 1000, 0, 1, [new ScanPoint(16384, 400), new ScanPoint(0, 0)]), T0.AddSeconds(1));
        recorder.RecordAudit("""{"time":"x","event":"command","name":"laptop","command":"f 30 50","result":"ok"}""", T0.AddSeconds(1.5));
        recorder.Finish(T0.AddSeconds(2));

        var timeline = ReplayTimeline.From(McapReader.Read(output.WrittenMemory, out var error));

        Assert.Null(error);
        Assert.Equal(T0, timeline.Start);
        Assert.Equal(TimeSpan.FromSeconds(1.5), timeline.Duration);
        Assert.Equal(0, timeline.Unreadable);
        Assert.Equal(
            [
                new ReplayFrame(TimeSpan.Zero, new ReplayPose(new Pose(0, 0, 0))),
                new ReplayFrame(TimeSpan.FromSeconds(0.5), new ReplayPose(new Pose(30, 0, 0))),
                new ReplayFrame(TimeSpan.FromSeconds(1), new ReplayPose(new Pose(30, 0, 0))),
            ],
            timeline.Frames.Take(3));
        var scan = Assert.IsType<ReplayScan>(timeline.Frames[3].Event);
        Assert.Equal([(900, 400)], scan.Points);
        Assert.Equal(new ReplayFrame(TimeSpan.FromSeconds(1.5), new ReplayLog(FoxgloveLogLevel.Info, "laptop", "f 30 50 -> ok")), timeline.Frames[4]);
        Assert.Equal(5, timeline.Frames.Count);
    }

    [Fact]
    public void From_RecordedMap_TheRecordersTilesWithinTheCellsRounding()
    {
        var output = new ArrayBufferWriter<byte>();
        var recorder = new RunRecorder(new McapWriter(output));
        var world = Alex.Robot.Simulation.Lidar.LidarWorld.DefaultArena;
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds(), new StatusCounters()), T0);
        for (var n = 0; n < 3; n++)
        {
            var points = Enumerable.Range(0, 360)
                .Select(degree => new ScanPoint((ushort)(degree * 65536 / 360), (ushort)Math.Round((world.Cast(world.Start.X, world.Start.Y, -degree) ?? 0) * 10)))
                .ToList();
            recorder.Record(new AlexLinkScan((uint)n, T0.ToUnixTimeMilliseconds(), 0, 1, points), T0.AddSeconds(n * 0.5));
        }

        recorder.Finish(T0.AddSeconds(2));

        var timeline = ReplayTimeline.From(McapReader.Read(output.WrittenMemory, out _));

        Assert.Equal(0, timeline.Unreadable);
        var map = Assert.IsType<ReplayMap>(Assert.Single(timeline.Frames, f => f.Event is ReplayMap).Event);
        Assert.Equal(5, map.CellCm);
        Assert.Equal(recorder.Map.Tiles.Select(k => (k.TileX, k.TileY)).Order(), map.Tiles.Select(t => ((int)t.TileX, (int)t.TileY)).Order());
        foreach (var tile in map.Tiles)
        {
            var recorded = MapTile.From(recorder.Map, new Alex.Protocol.Mapping.TileKey(tile.TileX, tile.TileY))!;
            for (var i = 0; i < MapTile.CellCount; i++)
            {
                // A cell recorded as a whole percent comes back within a few 32nds of its log-odds; unknown stays unknown.
                Assert.True(recorded.Cells[i] == 0 ? tile.Cells[i] == 0 : Math.Abs(recorded.Cells[i] - tile.Cells[i]) <= 3 && Math.Sign(recorded.Cells[i]) == Math.Sign(tile.Cells[i]), $"tile {tile.TileX},{tile.TileY} cell {i}: {recorded.Cells[i]} recorded, {tile.Cells[i]} replayed");
            }
        }
    }

    [Fact]
    public void From_MessageNotInItsSchemasShape_LeftOutAndCounted()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new McapWriter(output);
        writer.Start();
        var log = writer.AddChannel(writer.AddSchema(FoxgloveMessages.LogSchema, "jsonschema", FoxgloveMessages.Schema(FoxgloveMessages.LogSchema)), "/alex/log", "json");
        writer.AddMessage(log, 1_000, Encoding.UTF8.GetBytes("""{"level":"loud"}"""));
        writer.AddMessage(log, 2_000, FoxgloveMessages.Log(2_000, FoxgloveLogLevel.Warning, "server", "still here"));
        writer.Finish();

        var timeline = ReplayTimeline.From(McapReader.Read(output.WrittenMemory, out _));

        Assert.Equal(1, timeline.Unreadable);
        Assert.Equal([new ReplayFrame(TimeSpan.FromTicks(10), new ReplayLog(FoxgloveLogLevel.Warning, "server", "still here"))], timeline.Frames);
    }

    [Fact]
    public void PageMessages_ReplayHelloPoseAndClock()
    {
        var hello = PageMessages.Hello("replay of run.mcap", "1.0.0", new RobotGeometry(), new ReplayInfo("run.mcap", T0, TimeSpan.FromSeconds(42.25), 2));
        Assert.EndsWith("""
            "commands":[],"replay":{"file":"run.mcap","start":"2026-12-02T06:15:00Z","duration":42.25,"speed":2}}
            """, Encoding.UTF8.GetString(hello), StringComparison.Ordinal);
        Assert.Equal("""{"type":"pose","pose":{"x":12.3,"y":-4,"heading":90}}""", Encoding.UTF8.GetString(PageMessages.Pose(new Pose(12.34, -4, 90))));
        Assert.Equal("""{"type":"replay","at":12.5,"ended":false}""", Encoding.UTF8.GetString(PageMessages.Replay(TimeSpan.FromSeconds(12.46), false)));
        Assert.Equal("""{"type":"scan","seq":3,"points":[[900,400]]}""", Encoding.UTF8.GetString(PageMessages.Scan(3, [(900, 400)])));
    }
}
