using System.Diagnostics;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;
using Alex.Robot.Pty;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// A team's declared commands through the server (docs/extensions.md), with the shipped example files: a course-style C
/// client's extension letter through `alex serve` to a simulated Arduino on a pty; roles; the dead-man; a bad file.
/// </summary>
public sealed class TeamExtensionsTests : IClassFixture<TestPki>, IClassFixture<CourseClientInteropTests.Binary>
{
    private static readonly string ColourFile = Path.Combine(AppContext.BaseDirectory, "examples", "colour-sensor.json");
    private static readonly string UltrasonicFile = Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json");

    private readonly TestPki _pki;
    private readonly CourseClientInteropTests.Binary _client;

    public TeamExtensionsTests(TestPki pki, CourseClientInteropTests.Binary client)
    {
        _pki = pki;
        _client = client;
    }

    private static TeamExtensions Load(string path) => ExtensionFile.Parse(File.ReadAllText(path), out _)!;

    [Fact]
    public async Task CourseClient_ExtensionLetter_ThroughServeToPtyArduino_GetsTheDeclaredPacket()
    {
        var settings = new SimulatorSettings
        {
            Extensions = Load(ColourFile),
            Answers = new Dictionary<string, IReadOnlyList<string[]>> { ["colour"] = [["310", "120", "95"]] },
        };
        await using var pty = PtySimulator.Start(settings, new SerialLinePacing(9600), null, TimeProvider.System, null);
        var hello = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var line = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        pty.Pump.Exchanged += e =>
        {
            line.Enqueue($"{clock.ElapsedMilliseconds,6} ms  {e}");
            if (e.Received.Packet is { Type: PacketType.Hello })
            {
                hello.TrySetResult();
            }
        };
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeCommandTests.ServeProcess.StartWithAsync(_pki, [
            "serve", "--pki", _pki.Dir, "--allow", "course-laptop", "--legacy-certs", "--listen", "127.0.0.1:0", "--audit", audit, "--quiet",
            "--serial", pty.DevicePath, "--extensions", ColourFile]);
        await hello.Task.Within(TimeSpan.FromSeconds(15), "the server's HELLO on the pty");

        // 'o' is the colour sensor's letter; 'O' the same in upper case; 'f' still the course's forward.
        var run = await _client.RunAsync(_pki, serve.Port, "o\no\nf\n10 60\nq\n", "o");

        // On failure: what the simulated Arduino saw, when, and what the server recorded.
        string Trace() => $"\n--- the simulator's line:\n{string.Join('\n', line)}\n--- the server's audit:\n{(File.Exists(audit) ? File.ReadAllText(audit) : "(none)")}";
        Assert.True(run.Code == 0, $"course client failed ({run.Code}):\n{run.Stdout}\n{run.Stderr}{Trace()}");
        var records = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l["record ".Length..]).ToList();
        var colour = "04" + "36010000" + "78000000" + "5F000000" + string.Concat(Enumerable.Repeat("00000000", 13));
        Assert.True(records.SequenceEqual([colour, colour, "0000"]), $"records: {string.Join(' ', records)}{Trace()}");
    }

    [Fact]
    public async Task Watcher_DeclaredRead_Answered_DeclaredMove_Forbidden()
    {
        await using var server = await TestServer.StartAsync(_pki, extensions: Load(UltrasonicFile));
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        Assert.IsType<AlexLinkWelcome>(await watcher.ReadAsync());

        var range = Assert.IsType<AlexLinkDeclaredReply>(await watcher.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)8))));
        Assert.Equal((byte)8, range.Command);
        Assert.Equal((byte)ResponseCode.Status, range.Code);
        Assert.Equal(50u, range.Params[0]); // the simulator's fixed reading: half of the default 100

        var sweep = Assert.IsType<AlexLinkError>(await watcher.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)16, 30))));
        Assert.Equal(AlexLinkErrorCode.Forbidden, sweep.Code);
        var claw = Assert.IsType<AlexLinkError>(await watcher.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)14))));
        Assert.Equal(AlexLinkErrorCode.Forbidden, claw.Code);
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);

        var undeclared = Assert.IsType<AlexLinkError>(await watcher.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)9))));
        Assert.Equal(AlexLinkErrorCode.UnknownCommand, undeclared.Code);
        Assert.Contains("declared: range 8, claw-open 14, claw-close 15, sweep 16", undeclared.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Driver_UnboundedDeclaredMove_ThenSilent_StoppedByTheDeadMan()
    {
        await using var server = await TestServer.StartAsync(_pki, lease: TimeSpan.FromMilliseconds(1000), extensions: Load(UltrasonicFile));
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());

        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)16, 40))));
        Assert.Equal(MotionKind.Declared, server.Robot.Alex.Motion);

        // No heartbeat: after the lease window the server stops the robot and says why.
        var stop = Assert.IsType<AlexLinkSafetyStop>(await driver.ReadUntilAsync(m => m is AlexLinkSafetyStop, TimeSpan.FromSeconds(15)));
        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, stop.Reason);
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, what: "the declared move to be stopped");
        var record = await server.WaitForAuditAsync("command", r => r.Field("command") == "sweep 40 0");
        Assert.Equal("ok", record.Field("result"));
    }

    [Fact]
    public async Task Driver_DeclaredMoveOverTheLimits_Refused()
    {
        await using var server = await TestServer.StartAsync(_pki, maxDistance: 200, extensions: Load(UltrasonicFile));
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());

        var fast = Assert.IsType<AlexLinkError>(await driver.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)16, 90))));
        Assert.Equal((AlexLinkErrorCode.LimitExceeded, "sweep: speed 90 % is outside its declared range 0–60 %"), (fast.Code, fast.Text));
        var endless = Assert.IsType<AlexLinkError>(await driver.RequestAsync(new AlexLinkCommand(new DriveCommand((CommandCode)16, 30))));
        Assert.Equal((AlexLinkErrorCode.LimitExceeded, "sweep runs until stopped, which the distance limit of 200 cm does not allow"), (endless.Code, endless.Text));
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
    }

    [Fact]
    public async Task Serve_BadDeclaration_RefusedWithFileLineAndReason_Exit2()
    {
        var bad = _pki.Path($"bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(bad, """
            {
              "alexExtensions": 1,
              "commands": [
                { "name": "spin", "code": 9, "roles": ["drive"], "moves": true, "reply": "ok",
                  "params": [ { "name": "speed", "unit": "%" } ] }
              ]
            }
            """);

        var (code, _, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(30), "serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0", "--extensions", bad);

        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"alex: {bad} line 5: command \"spin\": param \"speed\" is a speed in %: its \"max\" must be 100 or less", lines[0]);
        Assert.StartsWith("hint: fix the declaration", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_DeclaredRead_OverAlexLink_JsonNamesTheValues_TextShowsThem()
    {
        await using var server = await TestServer.StartAsync(_pki, extensions: Load(ColourFile));
        string[] laptop = ["--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--extensions", ColourFile];
        var target = $"127.0.0.1:{server.EndPoint.Port}";

        var (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["send", target, "colour", "--json", .. laptop]);

        Assert.True(code == 0, stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var result = doc.RootElement.GetProperty("results")[0];
        Assert.Equal("colour", result.GetProperty("command").GetString());
        var values = result.GetProperty("values");
        // The simulator's fixed reading for three fields with max 1000: 750, 500, 250; the swatch scales each by its max.
        Assert.Equal((750u, 500u, 250u), (values.GetProperty("red").GetUInt32(), values.GetProperty("green").GetUInt32(), values.GetProperty("blue").GetUInt32()));
        Assert.Equal("#bf7f3f", result.GetProperty("swatch").GetString());

        var text = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["send", target, "colour", .. laptop]);
        Assert.True(text.Code == 0, text.Stderr);
        Assert.Matches(@"^colour\s+OK", text.Stdout);
        Assert.Matches(@"red\s+750 Hz", text.Stdout);
    }

    [Fact]
    public async Task Send_Classic_DeclaredReads_ByTheirLetters_RepliesNamedFromTheDeclaredPackets()
    {
        // Colour: the team's classic packet type 4. Range: the course's status packet (STATUS-shaped).
        foreach (var (file, name, key, value) in new[] { (ColourFile, "colour", "red", 750u), (UltrasonicFile, "range", "distance", 50u) })
        {
            await using var server = await TestServer.StartAsync(_pki, extensions: Load(file));
            string[] laptop = ["--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName, "--extensions", file, "--classic"];

            var (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["send", $"127.0.0.1:{server.EndPoint.Port}", name, "--json", .. laptop]);

            Assert.True(code == 0, stderr + stdout);
            using var doc = System.Text.Json.JsonDocument.Parse(stdout);
            Assert.Equal("classic", doc.RootElement.GetProperty("protocol").GetString());
            var result = doc.RootElement.GetProperty("results")[0];
            Assert.Equal(name, result.GetProperty("command").GetString());
            Assert.Equal(value, result.GetProperty("values").GetProperty(key).GetUInt32());
            Assert.Equal(name == "colour" ? "#bf7f3f" : null, result.TryGetProperty("swatch", out var swatch) ? swatch.GetString() : null);
            Assert.False(result.TryGetProperty("status", out _));
        }
    }

    [Fact]
    public async Task Send_Classic_DeclaredWithoutALetter_RefusedBeforeSending()
    {
        var file = _pki.Path($"no-letter-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{ \"alexExtensions\": 1, \"commands\": [ { \"name\": \"beep\", \"code\": 9, \"roles\": [\"drive\", \"watch\"], \"reply\": \"ok\" } ] }");
        await using var server = await TestServer.StartAsync(_pki, extensions: Load(file));

        var (code, _, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), [
            "send", $"127.0.0.1:{server.EndPoint.Port}", "beep", "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath,
            "--name", TestPki.ServerName, "--extensions", file, "--classic"]);

        Assert.Equal(1, code);
        Assert.StartsWith("alex: beep: no classic letter is declared for it (add \"letter\" to its declaration, or use AlexLink/1)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_BadDeclarationOrUnknownName_OneLineExit2()
    {
        var bad = _pki.Path($"bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(bad, "{ \"alexExtensions\": 1, \"commands\": [ { \"name\": \"x\", \"code\": 5, \"roles\": [\"drive\"], \"reply\": \"ok\" } ] }");

        var refused = await AlexCli.RunAsync(TimeSpan.FromSeconds(30), "send", "127.0.0.1:9", "--extensions", bad, "x");
        Assert.Equal(2, refused.Code);
        Assert.StartsWith($"alex: {bad} line 1: command \"x\": code 5 is the course's GET_STATS", refused.Stderr, StringComparison.Ordinal);

        var unknown = await AlexCli.RunAsync(TimeSpan.FromSeconds(30), "send", "127.0.0.1:9", "--extensions", ColourFile, "color");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("unknown command 'color' (use f, b, l, r, s, g, c or the team's colour)", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sim_AnswerForAnUndeclaredCommand_OneLineExit2()
    {
        var run = await AlexCli.RunAsync(TimeSpan.FromSeconds(30), "sim", "--pty", "--extensions", ColourFile, "--answer", "colour=1,2");
        Assert.Equal(2, run.Code);
        Assert.StartsWith("alex: --answer colour=1,2: colour answers 3 whole number(s) (red, green, blue), got '1,2'", run.Stderr, StringComparison.Ordinal);
    }
}
