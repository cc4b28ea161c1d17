using System.Buffers;
using System.Text.Json;
using Alex.Client;
using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;

namespace Alex.Client.Tests.Recording;

/// <summary>What a recording holds (RunRecorder) and how it is cut into files (RecordingFile, RecordingFolder), with real files.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RecordingFileTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    private static McapContents ReadWhole(string path)
    {
        Assert.True(McapReader.TryRead(File.ReadAllBytes(path), out var contents, out var error), $"{path}: {error}");
        return contents!;
    }

    private static List<string> Lines(McapContents contents, string topic) =>
        contents.Messages.Where(m => contents.Channels.Single(c => c.Id == m.ChannelId).Topic == topic)
            .Select(m => RecordedMessage.Describe(topic, m.Data)).ToList();

    [Fact]
    public void Record_StatusScanEvents_PoseOnlyWhenMoved_ScanAtThePose_EventsAsLogLines()
    {
        var output = new ArrayBufferWriter<byte>();
        var recorder = new RunRecorder(new McapWriter(output));
        var still = new StatusCounters();
        var moved = still with { ForwardDistanceCm = 50 };

        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds(), still), T0);
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds() + 200, still), T0.AddMilliseconds(200));
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds() + 400, moved), T0.AddMilliseconds(400));
        recorder.Record(new AlexLinkScan(7, T0.ToUnixTimeMilliseconds() + 500, 0, 1, [new ScanPoint(16384, 400)]), T0.AddMilliseconds(500));
        recorder.Record(new AlexLinkSafetyStop(AlexLinkStopReason.HeartbeatMissed, T0.ToUnixTimeMilliseconds(), "laptop", "no heartbeat for 1.5 s"), T0.AddSeconds(1));
        recorder.Record(new AlexLinkError(AlexLinkErrorCode.ArduinoError, 3, "the Arduino reported error BAD_CHECKSUM") { RequestId = 0 }, T0.AddSeconds(1));
        recorder.RecordAudit("""{"time":"x","event":"command","name":"laptop","command":"f 50 75","result":"ok"}""", T0.AddSeconds(2));
        recorder.RecordAudit("""{"time":"x","event":"command","name":"laptop","command":"g","result":"ok+status"}""", T0.AddSeconds(2));
        recorder.RecordAudit("""{"time":"x","event":"command","name":"tutor","command":"f 10 10","result":"refused (Forbidden): watchers may not drive"}""", T0.AddSeconds(2));
        recorder.RecordAudit("not json", T0.AddSeconds(3));
        recorder.Finish(T0.AddSeconds(3));

        var contents = McapReader.Read(output.WrittenMemory, out var error);
        Assert.Null(error);
        Assert.Equal(["pose x 0.00 m, y 0.00 m, heading 0°", "pose x 0.50 m, y 0.00 m, heading 0°"], Lines(contents, RunRecorder.PoseTopic));
        Assert.Equal(["scan: 1 returns, nearest 0.40 m at 90° (from pose x 0.50 m, y 0.00 m, heading 0°)"], Lines(contents, RunRecorder.ScanTopic));
        Assert.Equal(
            [
                "warning laptop: safety stop (HeartbeatMissed): no heartbeat for 1.5 s",
                "error arduino: ArduinoError: the Arduino reported error BAD_CHECKSUM",
                "info laptop: f 50 75 -> ok",
                "warning tutor: f 10 10 -> refused (Forbidden): watchers may not drive",
            ],
            Lines(contents, RunRecorder.LogTopic));

        // The scan's timestamp is when the revolution completed; the message's log time when it arrived.
        var scan = contents.Messages.Single(m => m.ChannelId == 1);
        using var json = JsonDocument.Parse(scan.Data);
        Assert.Equal(500_000_000, json.RootElement.GetProperty("timestamp").GetProperty("nsec").GetInt64());
        Assert.Equal(FoxgloveMessages.Nanos(T0.AddMilliseconds(500)), scan.LogTime);
    }

    // One revolution of the default arena's walls, a point a degree clockwise from ahead, seen by Alex facing +x at y cm
    // in the world while it drives from x = fromX to toX (as evenly as the mapper's deskew takes it).
    private static AlexLinkScan ArenaScan(uint seq, DateTimeOffset at, double fromX, double toX, double y)
    {
        var world = Alex.Robot.Simulation.Lidar.LidarWorld.DefaultArena;
        var points = new List<ScanPoint>();
        for (var degree = 0; degree < 360; degree++)
        {
            var cm = world.Cast(fromX + ((toX - fromX) * degree / 360.0), y, -degree) ?? 0;
            points.Add(new ScanPoint((ushort)(degree * 65536 / 360), (ushort)Math.Round(cm * 10)));
        }

        return new AlexLinkScan(seq, at.ToUnixTimeMilliseconds(), 0, 1, points);
    }

    // The cell of a foxglove.Grid at (x, y) metres in its frame; -1 outside it.
    internal static int GridCell(JsonElement grid, double x, double y)
    {
        var data = Convert.FromBase64String(grid.GetProperty("data").GetString()!);
        var stride = grid.GetProperty("row_stride").GetInt32();
        var columns = grid.GetProperty("column_count").GetInt32();
        var size = grid.GetProperty("cell_size").GetProperty("x").GetDouble();
        var origin = grid.GetProperty("pose").GetProperty("position");
        var column = (int)Math.Floor((x - origin.GetProperty("x").GetDouble()) / size);
        var row = (int)Math.Floor((y - origin.GetProperty("y").GetDouble()) / size);
        return column < 0 || column >= columns || row < 0 || row >= data.Length / stride ? -1 : data[(row * stride) + column];
    }

    [Fact]
    public void Record_ScansWhileDriving_MapAtMostEvery2sAndAtTheEnd_WallsOccupied()
    {
        // Alex starts at the arena's (40, 40) cm facing +x: odometry's origin. The wall x = 90 is 50 cm ahead, the
        // bottom wall 40 cm to the right.
        var output = new ArrayBufferWriter<byte>();
        var recorder = new RunRecorder(new McapWriter(output));
        var still = new StatusCounters();
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds(), still), T0);
        recorder.Record(ArenaScan(1, T0, 40, 40, 40), T0); // sets where the odometry starts: no map yet
        recorder.Record(ArenaScan(2, T0.AddSeconds(0.5), 40, 40, 40), T0.AddSeconds(0.5)); // the first map
        recorder.Record(ArenaScan(3, T0.AddSeconds(1), 40, 40, 40), T0.AddSeconds(1)); // nothing new: not inserted
        recorder.Record(new AlexLinkStatus(T0.ToUnixTimeMilliseconds() + 1200, still with { ForwardDistanceCm = 20 }), T0.AddSeconds(1.2));
        recorder.Record(ArenaScan(4, T0.AddSeconds(1.5), 40, 60, 40), T0.AddSeconds(1.5)); // moved 20 cm meanwhile: changed, 1 s after the last: held back
        recorder.Record(ArenaScan(5, T0.AddSeconds(2), 60, 60, 40), T0.AddSeconds(2));
        recorder.Finish(T0.AddSeconds(3)); // the held-back change

        var contents = McapReader.Read(output.WrittenMemory, out var error);
        Assert.Null(error);
        var channel = contents.Channels.Single(c => c.Topic == RunRecorder.MapTopic);
        Assert.Equal("json", channel.MessageEncoding);
        Assert.Equal("foxglove.Grid", contents.Schemas.Single(s => s.Id == channel.SchemaId).Name);
        var maps = contents.Messages.Where(m => m.ChannelId == channel.Id).ToList();
        Assert.Equal([FoxgloveMessages.Nanos(T0.AddSeconds(0.5)), FoxgloveMessages.Nanos(T0.AddSeconds(3))], maps.Select(m => m.LogTime));

        using var doc = JsonDocument.Parse(maps[^1].Data);
        var grid = doc.RootElement;
        Assert.Equal("odom", grid.GetProperty("frame_id").GetString());
        Assert.Equal(0.05, grid.GetProperty("cell_size").GetProperty("x").GetDouble());
        Assert.Equal(1, grid.GetProperty("cell_stride").GetInt32());
        var field = Assert.Single(grid.GetProperty("fields").EnumerateArray());
        Assert.Equal("occupancy", field.GetProperty("name").GetString());
        Assert.Equal(1, field.GetProperty("type").GetInt32()); // UINT8
        var columns = grid.GetProperty("column_count").GetInt32();
        Assert.Equal(columns, grid.GetProperty("row_stride").GetInt32());
        Assert.Equal(0, Convert.FromBase64String(grid.GetProperty("data").GetString()!).Length % columns);
        // A wall on a cell boundary: its hits land on one side or the other (255, unknown, is no hit).
        Assert.Contains(new[] { GridCell(grid, 0.49, 0), GridCell(grid, 0.51, 0) }, c => c is > 65 and <= 100); // the wall ahead
        Assert.Contains(new[] { GridCell(grid, 0, -0.39), GridCell(grid, 0, -0.41) }, c => c is > 65 and <= 100); // the bottom wall
        Assert.InRange(GridCell(grid, 0.25, 0), 0, 40); // between Alex and the wall: free
        Assert.Equal(FoxgloveMessages.GridUnknown, GridCell(grid, 0.70, 0)); // behind the wall: never seen
        Assert.Equal("map: " + columns, RecordedMessage.Describe(RunRecorder.MapTopic, maps[^1].Data)[..(5 + columns.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)]);
    }

    [Theory]
    [InlineData("""{"column_count":4,"row_stride":4,"cell_size":{"x":0.05},"data":"AAAAAAA="}""")] // 5 bytes: not whole rows
    [InlineData("""{"column_count":0,"row_stride":0,"cell_size":{"x":0.05},"data":""}""")]
    [InlineData("""{"column_count":4,"row_stride":4,"cell_size":{"x":0.05},"data":"not base64!"}""")]
    [InlineData("""{"column_count":4}""")]
    public void Describe_GridNotInItsShape_SaidBySize(string json)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        Assert.Equal($"{bytes.Length} bytes (not the JSON its schema says)", RecordedMessage.Describe(RunRecorder.MapTopic, bytes));
    }

    [Fact]
    public async Task Start_PastMaxFileBytes_NextFileEachWholeNoMessageLost_PoseCarriesOn()
    {
        var dir = Directory.CreateTempSubdirectory("alex-recording-").FullName;
        var n = 0;
        var finished = new List<string>();
        var options = new RecordingFileOptions { MaxFileBytes = 32 * 1024, Writer = new McapWriterOptions { ChunkBytes = 8 * 1024 } };
        await using (var file = RecordingFile.Start(() => Path.Combine(dir, $"part-{++n}.mcap"), TimeProvider.System, options, finished.Add))
        {
            Assert.True(file.Post(new AlexLinkStatus(0, new StatusCounters())));
            Assert.True(file.Post(new AlexLinkStatus(0, new StatusCounters { ForwardDistanceCm = 100 })));
            for (var i = 0; i < 400; i++)
            {
                while (!file.Post(new AlexLinkArduinoText($"line {i}: " + new string('x', 150))))
                {
                    await Task.Yield(); // the queue is full: this test wants every line, the server would drop it
                }
            }
        }

        var files = Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToList();
        Assert.InRange(files.Count, 3, 10);
        Assert.Equal(files, finished.Order(StringComparer.Ordinal));
        var lines = files.SelectMany(f => Lines(ReadWhole(f), RunRecorder.LogTopic)).ToList();
        Assert.Equal(Enumerable.Range(0, 400).Select(i => $"info arduino: line {i}: " + new string('x', 150)), lines);
        Assert.All(files.SkipLast(1), f => Assert.InRange(new FileInfo(f).Length, 32 * 1024, 64 * 1024));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files[0]));
    }

    [Fact]
    public void Folder_ToDelete_OldestRunsBeyondKeep_OthersUntouched()
    {
        string[] names = ["run-20261202T060000Z-002.mcap", "notes.txt", "run-20261201T230000Z-001.mcap", "run-20261202T060000Z-001.mcap", "other.mcap"];
        Assert.Equal(["run-20261201T230000Z-001.mcap", "run-20261202T060000Z-001.mcap"], RecordingFolder.ToDelete(names, 1));
        Assert.Empty(RecordingFolder.ToDelete(names, 3));
    }

    [Fact]
    public async Task Folder_Start_KeepsAtMostKeepRuns()
    {
        var dir = Directory.CreateTempSubdirectory("alex-runs-").FullName;
        foreach (var old in new[] { "run-20200101T000000Z-001.mcap", "run-20200101T000000Z-002.mcap", "run-20200102T000000Z-001.mcap" })
        {
            await File.WriteAllTextAsync(Path.Combine(dir, old), "old");
        }

        await using (var file = RecordingFolder.Start(dir, null, keep: 2, TimeProvider.System))
        {
            Assert.Matches(@"/run-\d{8}T\d{6}Z-001\.mcap$", file.Path);
        }

        Assert.Equal(["run-20200102T000000Z-001.mcap", Path.GetFileName(Directory.GetFiles(dir).Max())!], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
