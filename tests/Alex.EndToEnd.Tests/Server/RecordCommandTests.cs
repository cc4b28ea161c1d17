using System.Diagnostics;
using System.Text.Json;
using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mcap;
using Alex.Protocol.Serial;
using Alex.Robot.Lidar;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// `alex record` against the simulated Alex with its lidar over real TLS (certificates minted per run), the file read
/// back by the reference reader (docs/recording.md); `alex replay` of that file and of broken ones.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RecordCommandTests : IClassFixture<TestPki>
{
    private static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(120);
    private static readonly string[] Allow = ["laptop=drive", "tutor=admin"];
    private readonly TestPki _pki;

    public RecordCommandTests(TestPki pki)
    {
        _pki = pki;
    }

    private string[] Tutor(TestServer server) =>
        [$"127.0.0.1:{server.EndPoint.Port}", "--cert", _pki.Path("tutor.crt"), "--key", _pki.Path("tutor.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName];

    private static string NewPath(string name) => Path.Combine(Directory.CreateTempSubdirectory("alex-record-").FullName, name);

    // Records while a driver drives: returns the file once `alex record --duration` has ended it.
    private async Task<string> RecordDrivenRunAsync()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow, handshakeTimeout: TimeSpan.FromSeconds(60));
        await using var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), server.Host.Hub, server.Robot.Alex, TimeProvider.System, _ => { })!;
        var path = NewPath("run.mcap");
        var following = AuditEvent(server, "audit-followed");

        var start = AlexCli.StartInfo(["record", .. Tutor(server), "-o", path, "--duration", "10"]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var record = Process.Start(start)!;
        var stderr = record.StandardError.ReadToEndAsync();
        try
        {
            // Once the recorder follows the audit log, a driver drives.
            await following.Within(ProcessLimit, "alex record to follow the audit log");
            await using var driver = await server.ConnectAlexLinkAsync("laptop");
            await driver.ReadAsync();
            await DriveTenCentimetresAsync(driver);
            await record.WaitForExitAsync().Within(ProcessLimit, "alex record --duration 10 to end");
        }
        finally
        {
            if (!record.HasExited)
            {
                record.Kill(entireProcessTree: true);
            }
        }

        var said = await stderr.Within();
        Assert.True(record.ExitCode == 0, said);
        Assert.Contains($"recorded ", said, StringComparison.Ordinal);
        return path;
    }

    // A move of 10 cm, GET_STATS every 50 ms until the odometry shows it (the recorder samples the pose meanwhile), then
    // a STOP. The polls are paced as a page's are: each is an audit record the recorder follows, and a loop without
    // pause makes thousands a second, more than a recorder slowed by a loaded machine reads, so the server rightly
    // disconnects it as not reading.
    private static async Task DriveTenCentimetresAsync(AlexLinkTestClient driver)
    {
        var before = Assert.IsType<AlexLinkStatus>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0))).Counters.ForwardDistanceCm;
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 10, 50)));
        var deadline = DateTime.UtcNow + ProcessLimit;
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (Assert.IsType<AlexLinkStatus>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0))).Counters.ForwardDistanceCm < before + 10)
        {
            Assert.True(DateTime.UtcNow < deadline, "the simulated Alex did not move 10 cm");
            await pace.WaitForNextTickAsync();
        }

        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop()));
    }

    private string[] ServeArgs(string audit, params string[] more) =>
        ["serve", "--pki", _pki.Dir, "--allow", "laptop", "--listen", "127.0.0.1:0", "--audit", audit, "--quiet", "--simulate", "--lidar", "simulated", .. more];

    private static Task<AuditRecord> AuditEvent(TestServer server, string name)
    {
        var seen = new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Host.Audit.Written += r =>
        {
            if (r.Event == name)
            {
                seen.TrySetResult(r);
            }
        };
        return seen.Task;
    }

    // A foxglove.Grid of the default arena seen from Alex's start (its (40, 40) cm, facing +x: the odometry's origin):
    // the wall x = 90 cm is 50 cm ahead, the bottom wall 40 cm to the right, free floor between.
    private static void AssertArenaMap(JsonElement grid)
    {
        Assert.Equal("odom", grid.GetProperty("frame_id").GetString());
        var data = Convert.FromBase64String(grid.GetProperty("data").GetString()!);
        var stride = grid.GetProperty("row_stride").GetInt32();
        Assert.Equal(grid.GetProperty("column_count").GetInt32(), stride);
        Assert.Equal(1, grid.GetProperty("cell_stride").GetInt32());
        Assert.Equal(0, data.Length % stride);
        Assert.Equal(data.Length, stride * (data.Length / stride));
        var field = Assert.Single(grid.GetProperty("fields").EnumerateArray());
        Assert.Equal(("occupancy", 0, 1), (field.GetProperty("name").GetString(), field.GetProperty("offset").GetInt32(), field.GetProperty("type").GetInt32()));

        int Cell(double x, double y)
        {
            var size = grid.GetProperty("cell_size").GetProperty("x").GetDouble();
            var origin = grid.GetProperty("pose").GetProperty("position");
            var column = (int)Math.Floor((x - origin.GetProperty("x").GetDouble()) / size);
            var row = (int)Math.Floor((y - origin.GetProperty("y").GetDouble()) / size);
            return data[(row * stride) + column];
        }

        // A wall lies on a cell boundary: the hits land on one side of it or the other (and 255, unknown, is no hit).
        bool Occupied(params int[] cells) => cells.Any(c => c is > 65 and <= 100);
        Assert.True(Occupied(Cell(0.49, 0), Cell(0.51, 0)), $"the wall ahead: {Cell(0.49, 0)}, {Cell(0.51, 0)}");
        Assert.True(Occupied(Cell(0, -0.39), Cell(0, -0.41)), $"the bottom wall: {Cell(0, -0.39)}, {Cell(0, -0.41)}");
        Assert.InRange(Cell(0.25, 0), 0, 49);
    }

    [McapReferenceFact]
    public async Task RecordThenReplay_DrivenRunWithLidar_ReferenceReaderReadsEveryRecord()
    {
        var path = await RecordDrivenRunAsync();

        var read = await McapReferenceReader.ReadAsync(path);
        Assert.Equal("checked", read.GetProperty("summaryCrc").GetString());
        Assert.Equal("checked", read.GetProperty("dataSectionCrc").GetString());
        Assert.Equal(["foxglove.LaserScan", "foxglove.PoseInFrame", "foxglove.Log", "foxglove.Grid"], read.GetProperty("schemas").EnumerateArray().Select(s => s.GetProperty("title").GetString()));
        var indexed = read.GetProperty("messages").GetProperty("indexed");
        var streamed = read.GetProperty("messages").GetProperty("streamed");
        Assert.Equal(indexed.GetRawText(), streamed.GetRawText());
        Assert.InRange(streamed.GetProperty(RunRecorder.ScanTopic).GetInt32(), 5, 1000); // ≈5.5 revolutions a second
        Assert.InRange(streamed.GetProperty(RunRecorder.PoseTopic).GetInt32(), 2, 1000); // the start, and after the move
        var total = streamed.EnumerateObject().Sum(p => p.Value.GetInt32());
        Assert.Equal(total, read.GetProperty("statistics").GetProperty("messageCount").GetInt32());
        Assert.Equal(total, read.GetProperty("records").GetProperty("Message").GetInt32());

        // The scan is the arena seen from Alex: the bottom wall 40 cm to its right (90° clockwise).
        var scan = read.GetProperty("first").GetProperty(RunRecorder.ScanTopic);
        Assert.Equal("odom", scan.GetProperty("frame_id").GetString());
        var ranges = scan.GetProperty("ranges").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        Assert.Equal(720, ranges.Length);
        Assert.InRange(ranges[180], 0.35, 0.45);

        // The map (at most every 2 s, and at the end): the walls of the arena around Alex's start.
        Assert.InRange(streamed.GetProperty(RunRecorder.MapTopic).GetInt32(), 1, 100); // written only when it changed
        AssertArenaMap(read.GetProperty("last").GetProperty(RunRecorder.MapTopic));

        // The log has the driver's commands with their replies, from the audit log (the recorder is an admin).
        Assert.True(McapReader.TryRead(await File.ReadAllBytesAsync(path), out var contents, out var error), error?.ToString());
        var logs = contents!.Messages.Where(m => contents.Channels.Single(c => c.Id == m.ChannelId).Topic == RunRecorder.LogTopic)
            .Select(m => RecordedMessage.Describe(RunRecorder.LogTopic, m.Data)).ToList();
        Assert.Contains(logs, l => l.StartsWith("info recorder: recording 127.0.0.1:", StringComparison.Ordinal) && l.Contains("every client's commands", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("info laptop: f 10 50 -> ", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("info laptop: s -> ", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("info laptop: lease taken", StringComparison.Ordinal));

        // alex replay plays it all back, in order.
        var run = await AlexCli.RunAsync(ProcessLimit, "replay", path, "--speed", "1000");
        Assert.True(run.Code == 0, run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(contents.Messages.Count, lines.Length);
        Assert.Matches(@"^ +0\.000 /alex/", lines[0]);
        Assert.Contains(lines, l => l.Contains(" /alex/scan scan: ", StringComparison.Ordinal) && l.Contains(" returns, nearest ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" /alex/pose pose x ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" /alex/log info laptop: f 10 50 -> ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" /alex/map map: ", StringComparison.Ordinal) && l.Contains(" occupied, ", StringComparison.Ordinal));
        var times = lines.Select(l => double.Parse(l.AsSpan(0, 8), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);
        Assert.StartsWith($"played {lines.Length} messages", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_KilledMidRun_ChunksOnDiskSalvaged()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow, handshakeTimeout: TimeSpan.FromSeconds(60));
        await using var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), server.Host.Hub, server.Robot.Alex, TimeProvider.System, _ => { })!;
        var path = NewPath("cut.mcap");
        var start = AlexCli.StartInfo(["record", .. Tutor(server), "-o", path]);
        start.RedirectStandardError = true;
        using var record = Process.Start(start)!;
        try
        {
            // A chunk closes every 2 s of messages: wait for one on disk (past the header, schemas and channels), then kill -9.
            await Bounded.Until(() => File.Exists(path) && new FileInfo(path).Length > 20_000, ProcessLimit, "a chunk on disk");
        }
        finally
        {
            record.Kill(entireProcessTree: true);
            await record.WaitForExitAsync().Within();
        }

        var plain = await AlexCli.RunAsync(ProcessLimit, "replay", path);
        Assert.Equal(2, plain.Code);
        Assert.Matches($@"^alex: {System.Text.RegularExpressions.Regex.Escape(path)} at offset \d+: truncated: ", plain.Stderr);
        Assert.Contains("hint: --salvage plays the ", plain.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", plain.Stderr, StringComparison.Ordinal);

        var salvaged = await AlexCli.RunAsync(ProcessLimit, "replay", path, "--salvage", "--speed", "1000");
        Assert.True(salvaged.Code == 0, salvaged.Stderr);
        Assert.Contains(" /alex/scan scan: ", salvaged.Stdout, StringComparison.Ordinal);
        Assert.Contains(" /alex/map map: ", salvaged.Stdout, StringComparison.Ordinal); // the map of the first chunk's scans
        Assert.Contains("played the ", salvaged.Stderr, StringComparison.Ordinal);
    }

    [McapReferenceFact]
    public async Task Record_CtrlC_Exit0_FileFinishedAndReadWholeWithCrcs()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow, handshakeTimeout: TimeSpan.FromSeconds(60));
        await using var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), server.Host.Hub, server.Robot.Alex, TimeProvider.System, _ => { })!;
        var path = NewPath("ctrl-c.mcap");
        var start = AlexCli.StartInfo(["record", .. Tutor(server), "-o", path]);
        start.RedirectStandardError = true;
        using var record = Process.Start(AlexCli.WithDefaultSigint(start))!;
        var stderr = record.StandardError.ReadToEndAsync();
        try
        {
            // A chunk of scans on disk (past the header, schemas and channels), then Ctrl+C as a terminal sends it.
            await Bounded.Until(() => File.Exists(path) && new FileInfo(path).Length > 20_000, ProcessLimit, "a chunk on disk");
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", record.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
            {
                await kill.WaitForExitAsync().Within();
            }

            await record.WaitForExitAsync().Within(ProcessLimit, "alex record to finish the file after SIGINT");
        }
        finally
        {
            if (!record.HasExited)
            {
                record.Kill(entireProcessTree: true);
            }
        }

        var said = await stderr.Within();
        Assert.True(record.ExitCode == 0, $"exit {record.ExitCode}: {said}");
        var recorded = System.Text.RegularExpressions.Regex.Match(said, $@"^recorded (\d+) messages to {System.Text.RegularExpressions.Regex.Escape(path)}$", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(recorded.Success, said);
        Assert.DoesNotContain("alex:", said, StringComparison.Ordinal);

        var read = await McapReferenceReader.ReadAsync(path);
        Assert.Equal("checked", read.GetProperty("summaryCrc").GetString());
        Assert.Equal("checked", read.GetProperty("dataSectionCrc").GetString());
        var streamed = read.GetProperty("messages").GetProperty("streamed");
        Assert.Equal(streamed.GetRawText(), read.GetProperty("messages").GetProperty("indexed").GetRawText());
        var total = streamed.EnumerateObject().Sum(p => p.Value.GetInt32());
        Assert.Equal(int.Parse(recorded.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), total);
        Assert.Equal(total, read.GetProperty("statistics").GetProperty("messageCount").GetInt32());
        Assert.InRange(streamed.GetProperty(RunRecorder.ScanTopic).GetInt32(), 2, 100_000);
        Assert.InRange(streamed.GetProperty(RunRecorder.MapTopic).GetInt32(), 1, 100_000);
    }

    [McapReferenceFact]
    public async Task ServeRecord_RunRecordedByTheServer_OneFileReadBackWhole()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("alex-serve-record-").FullName, "runs");
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeCommandTests.ServeProcess.StartWithAsync(_pki, ServeArgs(audit, "--record", dir));
        Assert.Contains(serve.Preamble, l => l.StartsWith("alex serve: recording to " + dir, StringComparison.Ordinal));
        await using (var driver = await ServeCommandTests.ConnectAsync(serve))
        {
            Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
            await DriveTenCentimetresAsync(driver);
        }

        serve.Signal("INT");
        Assert.Equal(0, await serve.WaitForExitAsync());

        var file = Assert.Single(Directory.GetFiles(dir));
        Assert.Matches(@"/run-\d{8}T\d{6}Z-001\.mcap$", file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var read = await McapReferenceReader.ReadAsync(file);
        var streamed = read.GetProperty("messages").GetProperty("streamed");
        Assert.Equal(streamed.GetRawText(), read.GetProperty("messages").GetProperty("indexed").GetRawText());
        Assert.InRange(streamed.GetProperty(RunRecorder.ScanTopic).GetInt32(), 1, 10_000);
        Assert.InRange(streamed.GetProperty(RunRecorder.PoseTopic).GetInt32(), 2, 10_000);
        Assert.Contains(read.GetProperty("schemas").EnumerateArray(), s => s.GetProperty("title").GetString() == "foxglove.Grid");
        AssertArenaMap(read.GetProperty("last").GetProperty(RunRecorder.MapTopic));

        Assert.True(McapReader.TryRead(await File.ReadAllBytesAsync(file), out var contents, out var error), error?.ToString());
        var logs = contents!.Messages.Where(m => contents.Channels.Single(c => c.Id == m.ChannelId).Topic == RunRecorder.LogTopic)
            .Select(m => RecordedMessage.Describe(RunRecorder.LogTopic, m.Data)).ToList();
        Assert.Contains(logs, l => l.StartsWith("info laptop: connected (drive, alexlink/1)", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("info laptop: f 10 50 -> ok", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("info laptop: s -> ok", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ServeRecord_DiskFull_RecordingStopsTheRobotServes()
    {
        using var disk = new Tmpfs("256k");
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeCommandTests.ServeProcess.StartWithAsync(_pki, ServeArgs(audit, "--record", disk.Dir));
        Tmpfs.Fill(disk.Path("filler"));

        // The first chunk cannot be written (2 s of scans and poses): the recording stops, said once; the robot goes on.
        await using var driver = await ServeCommandTests.ConnectAsync(serve);
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
        await DriveTenCentimetresAsync(driver);
        await Bounded.Until(() => serve.Stderr.Any(l => l.StartsWith("alex serve: recording stopped: ", StringComparison.Ordinal)), ProcessLimit, "the recording to say it stopped");
        Assert.Single(serve.Stderr, l => l.StartsWith("alex serve: recording stopped: ", StringComparison.Ordinal));
        await DriveTenCentimetresAsync(driver);
    }

    [Fact]
    public async Task Record_FileExists_RefusedExit2()
    {
        var path = NewPath("run.mcap");
        await File.WriteAllTextAsync(path, "precious");

        var run = await AlexCli.RunAsync(ProcessLimit, "record", "127.0.0.1:1", "--pki", _pki.Dir, "-o", path);

        Assert.Equal(2, run.Code);
        Assert.Equal($"alex: {path} exists\nhint: choose a new file name; a recording never overwrites one\n", run.Stderr);
        Assert.Equal("precious", await File.ReadAllTextAsync(path));
    }

    // A file cut off after one chunk, one with a damaged chunk, one that is not MCAP, an empty one, one that is not there.
    [Theory]
    [InlineData("cut", "truncated: the file ends without a footer (cut off while recording?)", "hint: --salvage plays the 3 messages before it")]
    [InlineData("crc", "corrupt: chunk CRC is 0x", "hint: is it a recording from alex record?")]
    [InlineData("text", "not an MCAP file (no MCAP magic at the start)", "hint: is it a recording from alex record?")]
    [InlineData("empty", "the file is empty", "hint: is it a recording from alex record?")]
    public async Task Replay_BadFile_OneLineWithOffsetExit2(string kind, string what, string hint)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new McapWriter(output);
        var recorder = new RunRecorder(writer);
        var at = DateTimeOffset.UnixEpoch.AddYears(56);
        var chunkAt = (int)writer.Position; // the chunk comes right after the schemas and channels
        recorder.Note(at, Alex.Protocol.Recording.FoxgloveLogLevel.Info, "one");
        recorder.Note(at.AddSeconds(1), Alex.Protocol.Recording.FoxgloveLogLevel.Info, "two");
        recorder.Note(at.AddSeconds(2), Alex.Protocol.Recording.FoxgloveLogLevel.Info, "three");
        recorder.CloseChunk();
        var bytes = output.WrittenSpan.ToArray();
        if (kind == "crc")
        {
            recorder.Finish(at);
            bytes = output.WrittenSpan.ToArray();
            bytes[chunkAt + 9 + 40 + 30] ^= 0x01; // past the chunk's own fields, inside its first message
        }
        else if (kind == "text")
        {
            bytes = "{\"not\": \"mcap\"}\n"u8.ToArray();
        }
        else if (kind == "empty")
        {
            bytes = [];
        }

        var path = NewPath(kind + ".mcap");
        await File.WriteAllBytesAsync(path, bytes);
        var run = await AlexCli.RunAsync(ProcessLimit, "replay", path);

        Assert.Equal(2, run.Code);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^alex: {System.Text.RegularExpressions.Regex.Escape(path)} at offset \d+: ", lines[0]);
        Assert.Contains(what, lines[0], StringComparison.Ordinal);
        Assert.StartsWith(hint, lines[1], StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Replay_NoSuchFile_OneLineExit2()
    {
        var path = NewPath("missing.mcap");
        var run = await AlexCli.RunAsync(ProcessLimit, "replay", path);
        Assert.Equal(2, run.Code);
        Assert.StartsWith($"alex: {path}: Could not find file", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("hint: give the .mcap file alex record wrote", run.Stderr, StringComparison.Ordinal);
    }
}
