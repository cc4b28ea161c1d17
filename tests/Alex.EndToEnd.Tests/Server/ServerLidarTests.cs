using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Lidar;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// The lidar on the wire (docs/protocol.md §4 "Scan"): the simulated lidar riding on the simulated Alex,
/// through the real driver, pushed to subscribed AlexLink/1 clients only; commands and STOP unaffected.
/// </summary>
public sealed class ServerLidarTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerLidarTests(TestPki pki)
    {
        _pki = pki;
    }

    private static async Task<LidarHost> StartLidarAsync(TestServer server)
    {
        var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), server.Host.Hub, server.Robot.Alex, TimeProvider.System, _ => { })!;
        await Bounded.Until(() => server.Host.Hub.ScansPublished > 0, what: "the simulated lidar's first revolution");
        return lidar;
    }

    [Fact]
    public async Task Subscribed_WatcherGetsWholeRevolutions_UnsubscribedGetsNone()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var lidar = await StartLidarAsync(server);
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await watcher.ReadAsync();
        await driver.ReadAsync();

        Assert.IsType<AlexLinkOk>(await watcher.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Default | AlexLinkTopics.Lidar, 0)));
        var first = Assert.IsType<AlexLinkScan>(await watcher.ReadUntilAsync(m => m is AlexLinkScan));
        var second = Assert.IsType<AlexLinkScan>(await watcher.ReadUntilAsync(m => m is AlexLinkScan));

        Assert.Equal((byte)1, first.Parts);
        Assert.InRange(first.Points.Count, 340, 380);
        Assert.True(second.Sequence > first.Sequence);
        // The arena's bottom wall is 40 cm to Alex's right (90° clockwise from ahead).
        var right = first.Points.Where(p => p.DistanceMm != 0).MinBy(p => Math.Abs(p.AngleDegrees - 90));
        Assert.InRange(right.DistanceMm, 370, 430);

        // The driver did not ask for the lidar: its replies come, and no scan among what it reads.
        Assert.IsType<AlexLinkStatus>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop()));
    }

    [Fact]
    public async Task Driving_TheRobotTurns_TheWallsTurnInTheScan()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var lidar = await StartLidarAsync(server);
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Lidar, 0)));
        var before = Assert.IsType<AlexLinkScan>(await driver.ReadUntilAsync(m => m is AlexLinkScan));

        // Behind Alex the left wall is 40 cm away; turn right 90° and behind is the box 130 cm up the room.
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.TurnRight, 90, 100)));
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, TimeSpan.FromSeconds(20), "the turn to finish");
        var seen = server.Host.Hub.ScansPublished;
        await Bounded.Until(() => server.Host.Hub.ScansPublished > seen + 1, what: "a revolution after the turn");
        var after = Assert.IsType<AlexLinkScan>(await driver.ReadUntilAsync(m => m is AlexLinkScan s && s.Sequence > seen + 1));

        static double Behind(AlexLinkScan s) => s.Points.Where(p => p.DistanceMm != 0).MinBy(p => Math.Abs(p.AngleDegrees - 180)).DistanceMm;
        Assert.InRange(Behind(before), 360, 440);
        Assert.InRange(Behind(after), 1200, 1400);
    }

    [Fact]
    public async Task TwentyWatchers_StreamingScans_DriverCommandsAndStopStillAnswered()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var lidar = await StartLidarAsync(server);
        var watchers = new List<AlexLinkTestClient>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var w = await server.ConnectAlexLinkAsync("tutor");
                watchers.Add(w);
                await w.ReadAsync();
                Assert.IsType<AlexLinkOk>(await w.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Lidar, 0)));
            }

            // Nobody reads the watchers' scans from here on.
            await using var driver = await server.ConnectAlexLinkAsync("laptop");
            await driver.ReadAsync();
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));
            for (var i = 0; i < 10; i++)
            {
                Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 40)));
                Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop()));
            }

            Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        }
        finally
        {
            foreach (var w in watchers)
            {
                await w.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SlowWatcher_FallsBehind_OldRevolutionsSkipped_DriverUnaffected_ThenCatchesUpAtTheNewest()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var (ssl, tcp) = await server.ConnectWithSocketAsync("tutor", alexLink: true);
        tcp.ReceiveBufferSize = 64 * 1024; // the laptop's side holds little; the server's send buffer holds the rest
        await using var slow = new AlexLinkTestClient(ssl, tcp);
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await slow.ReadAsync();
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await slow.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Lidar, 0)));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));

        // Eight revolutions of 4,000 points (about 16 kB on the wire each) published for each of the driver's round
        // trips, while the watcher reads one: the driver's commands are answered all the same. The sockets fill, the
        // watcher falls behind and old revolutions are replaced unsent, so it sees a gap in the sequence (with a queue it
        // would get every one, and the minute would run out). It keeps reading a little: a peer that reads nothing for
        // 2 s is cut by the server's TCP_USER_TIMEOUT.
        var nodes = Enumerable.Range(0, 4000).Select(i => new Alex.Protocol.Lidar.LidarScanNode(i == 0, 40, (ushort)(i * 5), (ushort)(4000 + i))).ToArray();
        var revolution = new Alex.Protocol.Lidar.LidarRevolution(nodes);
        var published = 0u;
        var received = new List<uint>();
        var moves = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (moves < 5 || !received.Zip(received.Skip(1)).Any(p => p.Second > p.First + 1))
        {
            Assert.True(DateTime.UtcNow < deadline, $"after 60 s the slow watcher had skipped no revolution ({received.Count} read of {published})");
            for (var i = 0; i < 8; i++)
            {
                server.Host.Hub.PublishScan(new LidarScan(++published, 0, DateTimeOffset.UtcNow, revolution));
            }

            var command = moves++ % 2 == 0 ? (AlexLinkMessage)new AlexLinkCommand(CommandCode.Forward, 0, 40) : new AlexLinkStop();
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(command));
            received.Add(Assert.IsType<AlexLinkScan>(await slow.ReadUntilAsync(m => m is AlexLinkScan, TimeSpan.FromSeconds(60))).Sequence);
        }

        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop()));
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);

        // Reading on, the watcher is still connected and gets the newest revolution, in order.
        while (received[^1] != published)
        {
            var scan = Assert.IsType<AlexLinkScan>(await slow.ReadUntilAsync(m => m is AlexLinkScan, TimeSpan.FromSeconds(60)));
            received.Add(scan.Sequence);
        }

        Assert.True(received.Distinct().Count() < published, $"the slow watcher got {received.Distinct().Count()} of {published} revolutions");
        Assert.Equal(received.Order(), received);
    }

    [Fact]
    public async Task ScanCommand_CsvJsonAndPicture_OneRevolution()
    {
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromSeconds(60)); // a loaded machine starts dotnet slowly
        await using var lidar = await StartLidarAsync(server);
        string[] laptop = ["scan", $"127.0.0.1:{server.EndPoint.Port}", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName];

        var csv = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), [.. laptop, "--csv"]);
        Assert.True(csv.Code == 0, csv.Stderr);
        var lines = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("angle_deg,distance_mm", lines[0]);
        Assert.InRange(lines.Length - 1, 340, 380);
        Assert.Matches(@"^\d+\.\d\d,\d+$", lines[1]);

        var json = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), [.. laptop, "--json"]);
        Assert.True(json.Code == 0, json.Stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
        Assert.InRange(doc.RootElement.GetProperty("scan").GetArrayLength(), 340, 380);

        // Output redirected: the picture is plain text, one '#' per cell with a return, 'A' for Alex.
        var picture = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), laptop);
        Assert.True(picture.Code == 0, picture.Stderr);
        Assert.StartsWith("revolution #", picture.Stdout, StringComparison.Ordinal);
        Assert.Contains('A', picture.Stdout);
        Assert.Contains('#', picture.Stdout);
        Assert.DoesNotContain('\u2800', picture.Stdout);
    }

    [Fact]
    public async Task SimLidarPty_ServeLidarPath_ScanCommand_OneRevolutionThroughTheRealDriver()
    {
        var dir = Directory.CreateTempSubdirectory("alex-lidar-cli-").FullName;
        var start = AlexCli.StartInfo(["sim", "--pty", "--link", Path.Combine(dir, "ttyALEX"), "--lidar-pty", "--lidar-link", Path.Combine(dir, "ttyLIDAR"), "--quiet"]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var sim = System.Diagnostics.Process.Start(start)!;
        try
        {
            // The device paths on stdout, the Alex's first.
            var alexPath = await sim.StandardOutput.ReadLineAsync().Within(TimeSpan.FromSeconds(60), "alex sim to print the Alex's device");
            var lidarPath = await sim.StandardOutput.ReadLineAsync().Within(TimeSpan.FromSeconds(60), "alex sim to print the lidar's device");
            Assert.StartsWith("/dev/pts/", alexPath, StringComparison.Ordinal);
            Assert.StartsWith("/dev/pts/", lidarPath, StringComparison.Ordinal);
            Assert.Equal(lidarPath, new FileInfo(Path.Combine(dir, "ttyLIDAR")).LinkTarget);

            await using var serve = await ServeCommandTests.ServeProcess.StartWithAsync(_pki, [
                "serve", "--pki", _pki.Dir, "--allow", "laptop", "--listen", "127.0.0.1:0", "--quiet",
                "--serial", Path.Combine(dir, "ttyALEX"), "--lidar", Path.Combine(dir, "ttyLIDAR")]);
            var json = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "scan", $"127.0.0.1:{serve.Port}", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--json");
            Assert.True(json.Code == 0, json.Stderr);
            using var doc = System.Text.Json.JsonDocument.Parse(json.Stdout);
            Assert.InRange(doc.RootElement.GetProperty("scan").GetArrayLength(), 340, 380);
        }
        finally
        {
            sim.Kill(entireProcessTree: true);
            await sim.WaitForExitAsync().Within(what: "alex sim to die");
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ScanCommand_ServerWithoutLidar_OneLineErrorExit1()
    {
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromSeconds(60));

        var run = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "scan", $"127.0.0.1:{server.EndPoint.Port}", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--timeout", "5");

        Assert.Equal(1, run.Code);
        Assert.StartsWith($"alex: no lidar revolution from 127.0.0.1:{server.EndPoint.Port} within 5 s", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("hint: is the server started with --lidar PATH", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task MapCommand_PngAndPgmWithYaml_FromTheSimulatedLidar()
    {
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromSeconds(60));
        await using var lidar = await StartLidarAsync(server);
        var dir = Directory.CreateTempSubdirectory("alex-map-").FullName;
        string[] laptop = ["map", $"127.0.0.1:{server.EndPoint.Port}", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--seconds", "1"];

        var png = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), [.. laptop, "-o", Path.Combine(dir, "map.png")]);
        var pgm = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), [.. laptop, "-o", Path.Combine(dir, "room.pgm")]);

        Assert.True(png.Code == 0, png.Stderr);
        Assert.StartsWith("saved ", png.Stdout, StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, "map.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.True(pgm.Code == 0, pgm.Stderr);
        Assert.StartsWith("P5\n", await File.ReadAllTextAsync(Path.Combine(dir, "room.pgm")), StringComparison.Ordinal);
        var yaml = await File.ReadAllTextAsync(Path.Combine(dir, "room.yaml"));
        Assert.StartsWith("image: room.pgm\nresolution: 0.05\norigin: [", yaml, StringComparison.Ordinal);
        Assert.Contains(MapImageOccupied, await File.ReadAllBytesAsync(Path.Combine(dir, "room.pgm")));
    }

    private const byte MapImageOccupied = 0;

    [Fact]
    public async Task MapCommand_ServerWithoutLidar_OneLineErrorExit1AndNoFile()
    {
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromSeconds(60));
        var dir = Directory.CreateTempSubdirectory("alex-map-").FullName;

        var run = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "map", $"127.0.0.1:{server.EndPoint.Port}", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--timeout", "5", "-o", Path.Combine(dir, "map.png"));
        var badName = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "map", "127.0.0.1:1", "-o", "map.jpg");

        Assert.Equal(1, run.Code);
        Assert.StartsWith($"alex: no lidar scan from 127.0.0.1:{server.EndPoint.Port} within 5 s: nothing to map", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("hint: is the server started with --lidar PATH", run.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "map.png")));
        Assert.Equal(2, badName.Code);
        Assert.StartsWith("alex: -o map.jpg: the map is saved as .png or .pgm", badName.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_BadWorldOrLidarBaud_OneLineErrorExit2()
    {
        var dir = Directory.CreateTempSubdirectory("alex-world-").FullName;
        var world = Path.Combine(dir, "room.json");
        File.WriteAllText(world, """{ "walls": [[0, 0, 100]] }""");

        var bad = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "serve", "--lidar", "simulated", "--world", world);
        var baud = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "serve", "--lidar", "/dev/ttyUSB0", "--lidar-baud", "9600");
        var orphan = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "serve", "--world", world);

        Assert.Equal(2, bad.Code);
        Assert.StartsWith("alex: --world room.json: each of \"walls\" is [4 numbers]", bad.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, baud.Code);
        Assert.StartsWith("alex: --lidar-baud 9600: not a speed an RPLidar uses", baud.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, orphan.Code);
        Assert.StartsWith("alex: --world is for the simulated lidar", orphan.Stderr, StringComparison.Ordinal);
        Assert.All(new[] { bad, baud, orphan }, r => Assert.Contains("hint: ", r.Stderr, StringComparison.Ordinal));
    }
}
