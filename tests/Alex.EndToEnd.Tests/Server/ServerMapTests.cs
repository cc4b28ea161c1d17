using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Serial;
using Alex.Robot.Lidar;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// The server's map on the wire (docs/protocol.md §4 "MapTiles", docs/mapping.md §4): the simulated lidar on the simulated
/// Alex, mapped in the server, its tiles pushed over real TLS to clients subscribed to Map; late subscribers, slow readers;
/// and `alex serve --map` / `alex map` as users run them.
/// </summary>
public sealed class ServerMapTests : IClassFixture<TestPki>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private readonly TestPki _pki;

    public ServerMapTests(TestPki pki)
    {
        _pki = pki;
    }

    private sealed record Mapping(TestServer Server, LidarHost Lidar, ServerMapper Mapper) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Lidar.DisposeAsync();
            await Mapper.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    private async Task<Mapping> StartAsync()
    {
        var server = await TestServer.StartAsync(_pki, handshakeTimeout: Long, observerStatus: ServerMapper.StatusInterval);
        var mapper = ServerMapper.Start(server.Host.Hub);
        var lidar = LidarHost.Start(new LidarSpec(Path: null, Simulate: true), server.Host.Hub, server.Robot.Alex, TimeProvider.System, _ => { })!;
        await Bounded.Until(() => mapper.Read(m => m.Map.Scans) > 0, Long, "the server's first map insertion");
        return new Mapping(server, lidar, mapper);
    }

    // Drives a turn and a short run, then waits until the robot stands and the mapper has mapped a few revolutions since.
    private static async Task DriveAsync(Mapping m, AlexLinkTestClient driver)
    {
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.TurnLeft, 90, 100)));
        await Bounded.Until(() => m.Server.Robot.Alex.Motion == MotionKind.Stopped, Long, "the turn to finish");
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 40, 60)));
        await Bounded.Until(() => m.Server.Robot.Alex.Motion == MotionKind.Stopped, Long, "the run to finish");
        await SettledAsync(m);
    }

    // The robot stands: once the mapper has taken revolutions after that, its map no longer changes (it inserts on motion).
    private static async Task SettledAsync(Mapping m)
    {
        var now = m.Mapper.Sequence;
        await Bounded.Until(() => m.Mapper.Sequence > now + 3, Long, "three map updates after the robot stopped");
    }

    // Reads the client's messages one at a time until the condition holds (the lidar's revolutions keep them coming),
    // keeping the tiles of each map frame in the client's copy: the server sends a tile again only when it changes.
    private static async Task ReadOneByOneUntilAsync(AlexLinkTestClient client, Dictionary<(short, short), MapTile> copy, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Long;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {Long.TotalSeconds} s waiting for {what}");
            var message = await client.ReadAsync(Long);
            Assert.NotNull(message);
            if (message is AlexLinkMapTiles frame)
            {
                foreach (var t in frame.Tiles)
                {
                    copy[(t.TileX, t.TileY)] = t;
                }
            }
        }
    }

    private static Dictionary<(short, short), MapTile> ServerTiles(ServerMapper mapper) => mapper.Read(m =>
        m.Map.Tiles.Select(k => MapTile.From(m.Map, k)!).Where(t => t.Cells.Any(c => c != 0)).ToDictionary(t => (t.TileX, t.TileY)));

    // Reads map frames until the client has every update up to the server's current one; returns its copy.
    private static async Task<Dictionary<(short, short), MapTile>> ReadMapAsync(AlexLinkTestClient client, ServerMapper mapper, Dictionary<(short, short), MapTile>? copy = null)
    {
        copy ??= [];
        var target = mapper.Sequence;
        var deadline = DateTime.UtcNow + Long;
        var frame = await client.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long);
        while (true)
        {
            Assert.True(DateTime.UtcNow < deadline, $"after {Long.TotalSeconds} s of map frames the client still lacks {ServerTiles(mapper).Keys.Count(k => !copy.ContainsKey(k))} of the server's tiles (frame {((AlexLinkMapTiles)frame).Sequence}, server at {target})");
            var tiles = (AlexLinkMapTiles)frame;
            foreach (var t in tiles.Tiles)
            {
                copy[(t.TileX, t.TileY)] = t;
            }

            if (tiles.Sequence >= target && ServerTiles(mapper).Keys.All(copy.ContainsKey))
            {
                return copy;
            }

            frame = await client.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long);
        }
    }

    private static void AssertSameMap(Dictionary<(short, short), MapTile> expected, Dictionary<(short, short), MapTile> copy)
    {
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Order(), copy.Where(kv => kv.Value.Cells.Any(c => c != 0)).Select(kv => kv.Key).Order());
        foreach (var (key, tile) in expected)
        {
            Assert.True(tile.Cells.AsSpan().SequenceEqual(copy[key].Cells), $"tile {key} differs from the server's");
        }
    }

    [Fact]
    public async Task Subscribed_WhileDriving_TilesAssembleToTheServersMap_AndThePoseFollows()
    {
        await using var m = await StartAsync();
        await using var watcher = await m.Server.ConnectAlexLinkAsync("tutor");
        await using var driver = await m.Server.ConnectAlexLinkAsync("laptop");
        await watcher.ReadAsync();
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await watcher.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Map, 0)));

        var before = await ReadMapAsync(watcher, m.Mapper);
        await DriveAsync(m, driver);
        var after = await ReadMapAsync(watcher, m.Mapper, new(before));

        AssertSameMap(ServerTiles(m.Mapper), after);
        Assert.True(after.Count >= before.Count);
        // The last frame's pose is the mapper's: it turned left by about a quarter turn.
        var last = Assert.IsType<AlexLinkMapTiles>(await watcher.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long));
        var heading = last.Pose.HeadingDegrees;
        Assert.InRange(heading, 70, 110);
        var pose = m.Mapper.Read(x => x.Pose);
        Assert.InRange(Math.Abs(pose.X - last.Pose.X), 0, 10);
        Assert.InRange(Math.Abs(pose.Y - last.Pose.Y), 0, 10);
    }

    [Fact]
    public async Task LateSubscriber_FirstGetsTheWholeMap()
    {
        await using var m = await StartAsync();
        await using var driver = await m.Server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        await DriveAsync(m, driver);

        await using var late = await m.Server.ConnectAlexLinkAsync("tutor");
        await late.ReadAsync();
        Assert.IsType<AlexLinkOk>(await late.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Map, 0)));
        var expected = ServerTiles(m.Mapper);
        var first = Assert.IsType<AlexLinkMapTiles>(await late.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long));

        // The map of a standing robot does not change: the first frames hold all of it.
        var copy = first.Tiles.ToDictionary(t => (t.TileX, t.TileY));
        while (copy.Count < expected.Count)
        {
            var next = Assert.IsType<AlexLinkMapTiles>(await late.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long));
            Assert.NotEmpty(next.Tiles);
            foreach (var t in next.Tiles)
            {
                copy[(t.TileX, t.TileY)] = t;
            }
        }

        AssertSameMap(expected, copy);
    }

    [Fact]
    public async Task SubscribeAndUnsubscribe_MapFramesOnlyBetweenTheOks()
    {
        await using var m = await StartAsync();
        await using var client = await m.Server.ConnectAlexLinkAsync("tutor");
        await client.ReadAsync();

        // Revolutions stream all the while (Lidar stays subscribed), so pushes are queued around every Ok.
        for (var round = 0; round < 20; round++)
        {
            var on = client.NextId();
            await client.SendAsync(new AlexLinkSubscribe(AlexLinkTopics.Map | AlexLinkTopics.Lidar, 0) { RequestId = on });
            var beforeOk = await ReadThroughAsync(client, on);
            Assert.DoesNotContain(beforeOk, msg => msg is AlexLinkMapTiles);
            await client.ReadUntilAsync(msg => msg is AlexLinkMapTiles, Long);

            var off = client.NextId();
            await client.SendAsync(new AlexLinkSubscribe(AlexLinkTopics.Lidar, 0) { RequestId = off });
            await ReadThroughAsync(client, off);

            // After the Ok nothing of the map comes, while revolutions do; the next request's reply closes the window.
            var scans = 0;
            var afterOk = new List<AlexLinkMessage>();
            while (scans < 2)
            {
                var message = await client.ReadAsync(Long);
                Assert.NotNull(message);
                afterOk.Add(message);
                scans += message is AlexLinkScan ? 1 : 0;
            }

            Assert.DoesNotContain(afterOk, msg => msg is AlexLinkMapTiles);
        }
    }

    // Reads every message up to and including the reply to request <paramref name="id"/> (an Ok; pushes carry id 0); returns those before it.
    private static async Task<List<AlexLinkMessage>> ReadThroughAsync(AlexLinkTestClient client, uint id)
    {
        var before = new List<AlexLinkMessage>();
        while (true)
        {
            var message = await client.ReadAsync(Long);
            Assert.NotNull(message);
            if (message.RequestId == id)
            {
                Assert.IsType<AlexLinkOk>(message);
                return before;
            }

            before.Add(message);
        }
    }

    [Fact]
    public async Task SlowReader_StopStillAnswered_ThenCatchesUpToTheServersMap()
    {
        await using var m = await StartAsync();
        var (ssl, tcp) = await m.Server.ConnectWithSocketAsync("tutor", alexLink: true);
        tcp.ReceiveBufferSize = 4 * 1024;
        await using var slow = new AlexLinkTestClient(ssl, tcp);
        await using var driver = await m.Server.ConnectAlexLinkAsync("laptop");
        await slow.ReadAsync();
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await slow.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.Map | AlexLinkTopics.Lidar, 0)));
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));

        // The slow watcher lags behind while Alex turns on the spot (every few degrees a new insertion changes the tiles
        // around it): each move and STOP is answered all the same. It reads one message at a time while it waits, never
        // nothing at all: with its small buffer full, a peer that reads nothing for 2 s is cut by the server's
        // TCP_USER_TIMEOUT, which a loaded machine's waits reach. Like any client it keeps the tiles it is sent: a tile
        // that does not change again is not sent again (docs/protocol.md §4 "MapTiles").
        var copy = new Dictionary<(short, short), MapTile>();
        for (var i = 0; i < 12; i++)
        {
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.TurnRight, 0, 80)));
            var turning = m.Mapper.Sequence;
            await ReadOneByOneUntilAsync(slow, copy, () => m.Mapper.Sequence > turning + 1, $"map updates while turning (at {m.Mapper.Sequence}; {m.Mapper.Failed} failed: {m.Mapper.LastFailure}; {m.Mapper.Dropped} dropped)");
            Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop(), Long));
            Assert.Equal(MotionKind.Stopped, m.Server.Robot.Alex.Motion);
        }

        var stood = m.Mapper.Sequence;
        await ReadOneByOneUntilAsync(slow, copy, () => m.Mapper.Sequence > stood + 3, "three map updates after the robot stopped");

        // Reading on, the slow watcher ends with the server's map: a change it was behind on was sent, not lost.
        AssertSameMap(ServerTiles(m.Mapper), await ReadMapAsync(slow, m.Mapper, copy));
    }

    [Fact]
    public async Task ServeMap_WithoutLidar_OneLineUsageErrorExit2()
    {
        var run = await AlexCli.RunAsync(Long, "serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", "--map");
        var both = await AlexCli.RunAsync(Long, "serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", "--lidar", "simulated", "--map", "--no-map");

        Assert.Equal(2, run.Code);
        Assert.StartsWith("alex: --map needs a lidar: the map is built from its scans", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("hint: add --lidar", run.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, both.Code);
        Assert.StartsWith("alex: --map and --no-map: pick one", both.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeSimulatedLidar_MapsByDefault_MapCommandSavesTheServersMap_NoMapBuildsItLocally()
    {
        var dir = Directory.CreateTempSubdirectory("alex-server-map-").FullName;
        try
        {
            string[] laptop = ["--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--seconds", "1"];
            await using (var serve = await ServeCommandTests.ServeProcess.StartAsync(_pki, Path.Combine(dir, "audit.jsonl"), "--simulate", "--lidar", "simulated"))
            {
                Assert.Contains(serve.Preamble, l => l.Contains(", simulated lidar, mapping)", StringComparison.Ordinal));
                var png = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), ["map", $"127.0.0.1:{serve.Port}", .. laptop, "-o", Path.Combine(dir, "map.png")]);
                Assert.True(png.Code == 0, png.Stderr);
                Assert.Matches(@"^saved .*map\.png: \d+ × \d+ cells of 5 cm from the server's map \(update \d+\)\n$", png.Stdout);
                var bytes = await File.ReadAllBytesAsync(Path.Combine(dir, "map.png"));
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            }

            await using (var local = await ServeCommandTests.ServeProcess.StartAsync(_pki, Path.Combine(dir, "audit2.jsonl"), "--simulate", "--lidar", "simulated", "--no-map"))
            {
                Assert.DoesNotContain(local.Preamble, l => l.Contains("mapping", StringComparison.Ordinal));
                var pgm = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), ["map", $"127.0.0.1:{local.Port}", .. laptop, "-o", Path.Combine(dir, "room.pgm")]);
                Assert.True(pgm.Code == 0, pgm.Stderr);
                Assert.Matches(@"^saved .*room\.pgm and .*room\.yaml: \d+ × \d+ cells of 5 cm from \d+ revolutions\n$", pgm.Stdout);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
