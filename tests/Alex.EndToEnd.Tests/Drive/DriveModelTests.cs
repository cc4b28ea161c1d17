using Alex.Cli.Drive;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>The drive console's pure model: what the screen and the line mode show for each event and key.</summary>
public sealed class DriveModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static DriveSessionInfo Session(AlexLinkRole? role = AlexLinkRole.Driver, string holder = "", uint maxSpeed = 100, uint maxDistance = 300, uint maxAngle = 360) =>
        new("127.0.0.1:5000", role is null ? "classic" : "alexlink/1", role is null ? "" : "laptop", "alex.epp.com", role, holder, holder.Length == 0 ? 0 : T0.ToUnixTimeMilliseconds(), maxSpeed, maxDistance, maxAngle, "TLS 1.3 TLS_AES_128_GCM_SHA256");

    private static DriveModel Connected(DriveSessionInfo? session = null, DriveSettings? settings = null)
    {
        var model = new DriveModel("127.0.0.1:5000", settings ?? new DriveSettings());
        model.Apply(new ConnectingEvent(1), T0);
        model.Apply(new ConnectedEvent(session ?? Session()), T0);
        return model;
    }

    private static StatusCounters Counters(uint forwardCm = 0, uint reverseCm = 0, uint leftTurnTicks = 0, uint rightTurnTicks = 0) =>
        new(0, 0, 0, 0, rightTurnTicks, 0, leftTurnTicks, 0, forwardCm, reverseCm);

    [Fact]
    public void Model_BeforeConnecting_IsConnectingAndRefusesMoves()
    {
        var model = new DriveModel("127.0.0.1:5000", new DriveSettings());
        model.Apply(new ConnectingEvent(1), T0);

        Assert.Equal(ConnectionPhase.Connecting, model.Phase);
        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.Forward), T0).Kind);
        Assert.Contains("not sent", model.Log[^1].Text, StringComparison.Ordinal);
        Assert.Equal(DriveLogKind.Problem, model.Log[^1].Kind);
    }

    [Fact]
    public void Connected_Driver_MovesWithTheSettings()
    {
        var model = Connected(settings: new DriveSettings(50, 90, 75));

        Assert.Equal(ConnectionPhase.Connected, model.Phase);
        Assert.Equal(new DriveIntent(DriveIntentKind.Send, new DriveCommand(CommandCode.Forward, 50, 75)), model.Decide(new DriveKey(DriveAction.Forward), T0));
        Assert.Equal(new DriveCommand(CommandCode.Reverse, 50, 75), model.Decide(new DriveKey(DriveAction.Back), T0).Command);
        Assert.Equal(new DriveCommand(CommandCode.TurnLeft, 90, 75), model.Decide(new DriveKey(DriveAction.Left), T0).Command);
        Assert.Equal(new DriveCommand(CommandCode.TurnRight, 90, 75), model.Decide(new DriveKey(DriveAction.Right), T0).Command);
        Assert.Equal(DriveIntentKind.Stop, model.Decide(new DriveKey(DriveAction.Stop), T0).Kind);
        Assert.Equal(DriveCommand.GetStats, model.Decide(new DriveKey(DriveAction.Stats), T0).Command);
        Assert.Equal(DriveCommand.ClearStats, model.Decide(new DriveKey(DriveAction.Clear), T0).Command);
        Assert.Equal(DriveIntentKind.Quit, model.Decide(new DriveKey(DriveAction.Quit), T0).Kind);
        Assert.StartsWith("connected to alex.epp.com at 127.0.0.1:5000 as laptop (driver)", model.Log[^1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Watcher_MayStopButNotMove()
    {
        var model = Connected(Session(AlexLinkRole.Watcher));

        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.Forward), T0).Kind);
        Assert.Contains("watcher", model.Log[^1].Text, StringComparison.Ordinal);
        Assert.Equal(DriveIntentKind.Stop, model.Decide(new DriveKey(DriveAction.Stop), T0).Kind);
        Assert.Equal("free — you watch (STOP only)", model.DescribeLease(T0));
    }

    [Fact]
    public void Lease_PushedStates_ShowWhoDrives()
    {
        var model = Connected();
        Assert.Equal("free — a move or t makes you the driver", model.DescribeLease(T0));

        model.Apply(new PushedEvent(new AlexLinkLeaseState(AlexLinkLeaseChange.Taken, T0.ToUnixTimeMilliseconds(), "laptop", "laptop took the lease")), T0);
        Assert.True(model.IsDriver);
        Assert.Equal("you drive for 12 s — u lets go", model.DescribeLease(T0.AddSeconds(12)));
        Assert.Equal("lease: laptop took the lease", $"lease: {model.Log[^1].Text}");

        model.Apply(new PushedEvent(new AlexLinkLeaseState(AlexLinkLeaseChange.Taken, T0.ToUnixTimeMilliseconds(), "laptop-2", "laptop-2 took the lease")), T0);
        Assert.False(model.IsDriver);
        // Never "you may drive" while someone else does: the server would refuse the move (NotDriver).
        Assert.Equal("laptop-2 drives for 2 min — you may STOP (space); t once it lets go", model.DescribeLease(T0.AddMinutes(2)));

        model.Apply(new PushedEvent(new AlexLinkLeaseState(AlexLinkLeaseChange.Expired, 0, "", "")), T0);
        Assert.Equal("free — a move or t makes you the driver", model.DescribeLease(T0));
        Assert.Equal("the lease is free", model.Log[^1].Text);
    }

    [Fact]
    public void Welcome_WithHolder_ShowsTheHolderAtOnce()
    {
        var model = Connected(Session(holder: "tutor"));
        Assert.Equal("tutor", model.LeaseHolder);
        Assert.StartsWith("tutor drives", model.DescribeLease(T0), StringComparison.Ordinal);
    }

    [Fact]
    public void Classic_HasNoLease()
    {
        var model = Connected(Session(role: null));
        Assert.Null(model.LeaseHolder);
        Assert.StartsWith("none (classic", model.DescribeLease(T0), StringComparison.Ordinal);
        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.TakeLease), T0).Kind);
        Assert.Equal(DriveIntentKind.Send, model.Decide(new DriveKey(DriveAction.Forward), T0).Kind);
    }

    [Fact]
    public void Drop_ThenReconnect_CountsAndRefusesCommandsMeanwhile()
    {
        var model = Connected();
        model.Apply(new LatencyEvent(TimeSpan.FromMilliseconds(3)), T0);
        model.Apply(new PushedEvent(new AlexLinkLinkState(AlexLinkLinkStatus.Up, "/dev/ttyACM0")), T0);

        model.Apply(new ConnectionLostEvent("connection reset", TimeSpan.FromMilliseconds(500)), T0);
        Assert.Equal(ConnectionPhase.Reconnecting, model.Phase);
        Assert.Equal("connection reset", model.PhaseDetail);
        Assert.Null(model.Latency);
        Assert.Null(model.ArduinoUp);
        Assert.Equal("connection lost: connection reset; reconnecting in 0.5 s", model.Log[^1].Text);

        model.Apply(new ConnectingEvent(1), T0);
        Assert.Equal(ConnectionPhase.Reconnecting, model.Phase);
        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.Forward), T0).Kind);
        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.Stop), T0).Kind);
        Assert.Contains("dead-man", model.Log[^1].Text, StringComparison.Ordinal);

        model.Apply(new ConnectedEvent(Session()), T0);
        Assert.Equal(ConnectionPhase.Connected, model.Phase);
        Assert.Equal(1, model.Reconnects);
        Assert.StartsWith("reconnected to ", model.Log[^1].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstConnectionFailure_IsFinal()
    {
        var model = new DriveModel("127.0.0.1:1", new DriveSettings());
        model.Apply(new ConnectingEvent(1), T0);
        model.Apply(new ConnectionFailedEvent("cannot reach 127.0.0.1:1: connection refused", "is `alex serve` running there?"), T0);

        Assert.Equal(ConnectionPhase.Failed, model.Phase);
        Assert.Equal("cannot reach 127.0.0.1:1: connection refused", model.PhaseDetail);
        Assert.Equal("is `alex serve` running there?", model.FailureHint);
        Assert.DoesNotContain(model.Log, l => l.Text.Contains("connection refused", StringComparison.Ordinal)); // `alex drive` says it once, as its error
        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.Stats), T0).Kind);
    }

    [Fact]
    public void Commands_CountedAndLogged()
    {
        var model = Connected();
        model.Apply(new CommandStartedEvent("f 50 75"), T0);
        Assert.Equal("f 50 75", model.InFlight);
        model.Apply(new CommandFinishedEvent(new CommandReply("f 50 75", true, null, 0, "OK", null, TimeSpan.FromMilliseconds(4))), T0);
        model.Apply(new CommandStartedEvent("f 500 75"), T0);
        model.Apply(new CommandFinishedEvent(new CommandReply("f 500 75", false, AlexLinkErrorCode.LimitExceeded, 0, "distance 500 cm is over the limit of 300 cm", null, TimeSpan.FromMilliseconds(2))), T0);
        model.Apply(new CommandStartedEvent("g"), T0);
        model.Apply(new CommandLostEvent("g", "no reply: connection lost"), T0);

        Assert.Equal(3, model.CommandsSent);
        Assert.Equal(1, model.CommandsOk);
        Assert.Equal(2, model.CommandsFailed);
        Assert.Null(model.InFlight);
        Assert.Equal(TimeSpan.FromMilliseconds(2), model.LastCommandRoundTrip);
        Assert.Equal(
            ["f 50 75", "f 50 75: OK (4 ms)", "f 500 75", "f 500 75: distance 500 cm is over the limit of 300 cm", "g", "g: no reply: connection lost"],
            model.Log.Skip(1).Select(l => l.Text));
    }

    [Fact]
    public void Status_FromReplyOrTelemetry_UpdatesCountersAndPose()
    {
        var model = Connected();
        var pose = new Pose(50, 0, 0);
        model.Apply(new StatusEvent(Counters(forwardCm: 50), pose, [default, pose]), T0.AddSeconds(1));
        Assert.Equal(50u, model.Counters!.Value.ForwardDistanceCm);
        Assert.Equal(T0.AddSeconds(1), model.CountersAt);
        Assert.Equal(pose, model.Pose);
        Assert.Equal(2, model.PathPoints.Count);

        // Alex stood still: the status comes without a path, the path stays.
        model.Apply(new StatusEvent(Counters(forwardCm: 50), pose, null), T0.AddSeconds(2));
        Assert.Equal(2, model.PathPoints.Count);

        var status = Counters(forwardCm: 50, leftTurnTicks: 229);
        model.Apply(new CommandFinishedEvent(new CommandReply("g", true, null, 0, "OK", status, TimeSpan.FromMilliseconds(5))), T0);
        Assert.Equal(status, model.Counters);
        Assert.Equal("g: OK (5 ms): forward 50 cm, reverse 0 cm, left turn ticks 229, right turn ticks 0", model.Log[^1].Text);
    }

    [Fact]
    public void ArduinoTextLinkAndSafety_AreLoggedAndShown()
    {
        var model = Connected();
        model.Apply(new PushedEvent(new AlexLinkArduinoText("Hello from Alex")), T0);
        Assert.Equal((DriveLogKind.Arduino, "Alex says: Hello from Alex"), (model.Log[^1].Kind, model.Log[^1].Text));

        model.Apply(new PushedEvent(new AlexLinkLinkState(AlexLinkLinkStatus.Down, "/dev/ttyACM0 vanished")), T0);
        Assert.False(model.ArduinoUp);
        Assert.Equal("Arduino link down: /dev/ttyACM0 vanished", model.Log[^1].Text);

        model.Apply(new PushedEvent(new AlexLinkSafetyStop(AlexLinkStopReason.HeartbeatMissed, 0, "laptop", "laptop sent nothing for 1500 ms: stopped")), T0);
        Assert.Equal("laptop sent nothing for 1500 ms: stopped", model.SafetyBanner);
        Assert.Equal(DriveLogKind.Safety, model.Log[^1].Kind);

        // The banner stays until the driver moves again.
        Assert.Equal(DriveIntentKind.Send, model.Decide(new DriveKey(DriveAction.Forward), T0).Kind);
        Assert.Null(model.SafetyBanner);
    }

    [Fact]
    public void Settings_KeysStepAndClampToServerLimits()
    {
        var model = Connected(Session(maxSpeed: 80, maxDistance: 100, maxAngle: 90), new DriveSettings(200, 180, 100));
        Assert.Equal(new DriveSettings(100, 90, 80), model.Settings);

        Assert.Equal(DriveIntentKind.None, model.Decide(new DriveKey(DriveAction.SpeedUp), T0).Kind);
        Assert.Equal(DriveIntentKind.SettingsChanged, model.Decide(new DriveKey(DriveAction.SpeedDown), T0).Kind);
        Assert.Equal(70u, model.Settings.SpeedPercent);
        model.Decide(new DriveKey(DriveAction.SetSpeed, 3), T0);
        Assert.Equal(30u, model.Settings.SpeedPercent);
        model.Decide(new DriveKey(DriveAction.SetSpeed, 0), T0);
        Assert.Equal(80u, model.Settings.SpeedPercent);
        model.Decide(new DriveKey(DriveAction.DistanceDown), T0);
        Assert.Equal(75u, model.Settings.DistanceCm);
        model.Decide(new DriveKey(DriveAction.AngleDown), T0);
        Assert.Equal(60u, model.Settings.AngleDegrees);
        model.Decide(new DriveKey(DriveAction.AngleUp), T0);
        Assert.Equal(90u, model.Settings.AngleDegrees);
        Assert.Equal(new DriveCommand(CommandCode.TurnLeft, 90, 80), model.Decide(new DriveKey(DriveAction.Left), T0).Command);
    }

    [Theory]
    [InlineData(20u, 1, 30u)]
    [InlineData(20u, -1, 10u)]
    [InlineData(25u, 1, 30u)]
    [InlineData(25u, -1, 20u)]
    [InlineData(300u, 1, 300u)]
    [InlineData(5u, -1, 5u)]
    [InlineData(1000u, -1, 300u)]
    public void DistanceStep_SnapsToTheLadder(uint from, int direction, uint expected) =>
        Assert.Equal(expected, new DriveSettings(DistanceCm: from).WithDistanceStep(direction).DistanceCm);

    [Fact]
    public void ClearPath_AsksTheConnectionAndShowsTheFreshPath()
    {
        var model = Connected();
        var pose = new Pose(40, 0, 0);
        model.Apply(new StatusEvent(Counters(forwardCm: 40), pose, [default, pose]), T0);

        Assert.Equal(DriveIntentKind.ClearPath, model.Decide(new DriveKey(DriveAction.ClearPath), T0).Kind);
        model.Apply(new PathResetEvent(default, [default]), T0);
        Assert.Single(model.PathPoints);
        Assert.Equal(0, model.Pose.X);
        Assert.Equal("path cleared: the plot starts again here", model.Log[^1].Text);
    }

    [Fact]
    public void Log_IsBounded()
    {
        var model = Connected();
        for (var i = 0; i < DriveModel.MaxLogLines + 50; i++)
        {
            model.Apply(new PushedEvent(new AlexLinkArduinoText($"line {i}")), T0);
        }

        Assert.Equal(DriveModel.MaxLogLines, model.Log.Count);
        Assert.Equal($"Alex says: line {DriveModel.MaxLogLines + 49}", model.Log[^1].Text);
        Assert.Equal(model.NextSequence - 1, model.Log[^1].Sequence);
    }

    [Theory]
    [InlineData('f', "Forward")]
    [InlineData('F', "Forward")]
    [InlineData('w', "Forward")]
    [InlineData('b', "Back")]
    [InlineData('x', "Back")]
    [InlineData('l', "Left")]
    [InlineData('a', "Left")]
    [InlineData('r', "Right")]
    [InlineData('d', "Right")]
    [InlineData('s', "Stop")]
    [InlineData(' ', "Stop")]
    [InlineData('g', "Stats")]
    [InlineData('c', "Clear")]
    [InlineData('q', "Quit")]
    [InlineData('+', "SpeedUp")]
    [InlineData('-', "SpeedDown")]
    [InlineData(']', "DistanceUp")]
    [InlineData('[', "DistanceDown")]
    [InlineData('.', "AngleUp")]
    [InlineData(',', "AngleDown")]
    [InlineData('t', "TakeLease")]
    [InlineData('u', "ReleaseLease")]
    [InlineData('p', "ClearPath")]
    [InlineData('z', "None")]
    public void Keys_Letters(char c, string action) =>
        Assert.Equal(Enum.Parse<DriveAction>(action), DriveKeys.Map(new ConsoleKeyInfo(c, ConsoleKey.NoName, false, false, false)).Action);

    [Theory]
    [InlineData(ConsoleKey.UpArrow, "Forward")]
    [InlineData(ConsoleKey.DownArrow, "Back")]
    [InlineData(ConsoleKey.LeftArrow, "Left")]
    [InlineData(ConsoleKey.RightArrow, "Right")]
    [InlineData(ConsoleKey.Spacebar, "Stop")]
    [InlineData(ConsoleKey.Escape, "Stop")]
    public void Keys_Special(ConsoleKey key, string action) =>
        Assert.Equal(Enum.Parse<DriveAction>(action), DriveKeys.Map(new ConsoleKeyInfo('\0', key, false, false, false)).Action);

    [Fact]
    public void Keys_CtrlC_Quits_DigitsSetSpeed()
    {
        Assert.Equal(DriveAction.Quit, DriveKeys.Map(new ConsoleKeyInfo('\u0003', ConsoleKey.C, false, false, true)).Action);
        Assert.Equal(new DriveKey(DriveAction.SetSpeed, 7), DriveKeys.Map(new ConsoleKeyInfo('7', ConsoleKey.D7, false, false, false)));
    }

    [Fact]
    public void SettingsFile_RoundTripsAndSurvivesDamage()
    {
        var dir = Directory.CreateTempSubdirectory("alex-drive-settings-").FullName;
        try
        {
            var path = Path.Combine(dir, "alexlink", "drive.json");
            Assert.Equal(new DriveSettings(), DriveSettingsFile.Load(path));
            Assert.True(DriveSettingsFile.TrySave(path, new DriveSettings(75, 30, 40), out var problem), problem);
            Assert.Equal(new DriveSettings(75, 30, 40), DriveSettingsFile.Load(path));

            File.WriteAllText(path, "{ not json");
            Assert.Equal(new DriveSettings(), DriveSettingsFile.Load(path));
            File.WriteAllText(path, "{\"distanceCm\":50,\"angleDegrees\":90,\"speedPercent\":250}");
            Assert.Equal(new DriveSettings(50, 90, 100), DriveSettingsFile.Load(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PathPlot_StraightDriveThenLeftTurn()
    {
        var path = new DeadReckoning();
        path.Update(Counters());
        path.Update(Counters(forwardCm: 40));
        var (lines, cmPerDot) = PathPlot.Render(path.Path, path.Current, 10, 5);

        Assert.Equal(5, lines.Count);
        Assert.All(lines, l => Assert.Equal(10, l.Length));
        Assert.Equal(40.0 / 18, cmPerDot, 3);
        var arrowRow = lines.Single(l => l.Contains('↑', StringComparison.Ordinal));
        var column = arrowRow.IndexOf('↑', StringComparison.Ordinal);

        // Forward is up: every row below the arrow has dots in the arrow's column, the rows above none.
        var row = lines.ToList().IndexOf(arrowRow);
        Assert.All(lines.Skip(row + 1), l => Assert.NotEqual('\u2800', l[column]));
        Assert.All(lines.Take(row), l => Assert.Equal("\u2800\u2800\u2800\u2800\u2800\u2800\u2800\u2800\u2800\u2800", l));

        path.Update(Counters(forwardCm: 40, leftTurnTicks: 229));
        Assert.Equal('←', PathPlot.Render(path.Path, path.Current, 10, 5).Lines.SelectMany(l => l).Single(c => c is >= '←' and <= '↙'));
    }

    [Theory]
    [InlineData(0, '↑')]
    [InlineData(90, '←')]
    [InlineData(-90, '→')]
    [InlineData(180, '↓')]
    [InlineData(45, '↖')]
    [InlineData(-135, '↘')]
    public void PathPlot_ArrowFollowsHeading(double heading, char arrow) => Assert.Equal(arrow, PathPlot.Arrow(heading));

    [Fact]
    public void Scan_Pushed_PointsPlacedAroundAlexAndDrawnOnThePlot()
    {
        var model = new DriveModel("127.0.0.1:5000", new DriveSettings());
        // Ahead 1 m, to the right 50 cm, behind nothing, and a wall 20 m away (left out).
        var scan = new AlexLinkScan(1, 0, 0, 1, [new ScanPoint(0, 1000), new ScanPoint(16384, 500), new ScanPoint(32768, 0), new ScanPoint(49152, 20000)]);

        model.Apply(new PushedEvent(scan), T0);

        Assert.Equal(2, model.Lidar.Count);
        Assert.Equal(100, model.Lidar[0].X, 6);
        Assert.Equal(0, model.Lidar[0].Y, 6);
        Assert.Equal(0, model.Lidar[1].X, 6);
        Assert.Equal(-50, model.Lidar[1].Y, 6);
        var (lines, _) = PathPlot.Render(model.PathPoints, model.Pose, 20, 10, model.Lidar);
        Assert.Equal(2, lines.SelectMany(l => l).Count(c => c is > '\u2800' and <= '\u28FF'));
    }

    private static TeamExtensions Example(string file) =>
        ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", file)), out _)!;

    private static DriveModel ConnectedWith(TeamExtensions extensions, DriveSessionInfo? session = null, DriveSettings? settings = null)
    {
        var model = new DriveModel("127.0.0.1:5000", settings ?? new DriveSettings()) { Extensions = extensions };
        model.Apply(new ConnectingEvent(1), T0);
        model.Apply(new ConnectedEvent(session ?? Session()), T0);
        return model;
    }

    [Fact]
    public void Declared_ListedWithTheirKeys_KeySendsTheCommand_ReplyNamedWithItsSwatch()
    {
        var model = ConnectedWith(Example("colour-sensor.json"));
        Assert.EndsWith("q quit  o colour", model.Help, StringComparison.Ordinal);

        var intent = model.Decide(DriveKeys.MapChar('o'), T0);
        Assert.Equal(new DriveIntent(DriveIntentKind.Send, new DriveCommand((CommandCode)7)), intent);
        Assert.Equal(intent, model.Decide(DriveKeys.MapChar('O'), T0));

        var declared = new AlexLinkDeclaredReply(7, PacketType.Response, 6, 0, [750, 500, 250], "");
        model.Apply(new CommandFinishedEvent(new CommandReply("colour", true, null, 0, "OK", null, TimeSpan.FromMilliseconds(12)) { Declared = declared }), T0);
        Assert.Equal("colour: OK (12 ms): red 750 Hz, green 500 Hz, blue 250 Hz, colour #bf7f3f", model.Log[^1].Text);
        Assert.Equal(DriveLogKind.Ok, model.Log[^1].Kind);
        Assert.Equal("#bf7f3f", model.LastReading?.Swatch);

        // Without the declaration the key is nobody's.
        Assert.Equal(DriveIntentKind.None, Connected().Decide(DriveKeys.MapChar('o'), T0).Kind);
    }

    [Fact]
    public void Declared_Watcher_ReadSent_DriverOnlyRefusedAndSaid_DriverGetsTheSettingsWithinTheRange()
    {
        var watcher = ConnectedWith(Example("ultrasonic-servo.json"), Session(AlexLinkRole.Watcher));
        Assert.Equal(new DriveCommand((CommandCode)8), watcher.Decide(DriveKeys.MapChar('e'), T0).Command);
        Assert.Equal(DriveIntentKind.None, watcher.Decide(DriveKeys.MapChar('v'), T0).Kind);
        Assert.Equal("sweep not sent: only the driver may send it, and you are a watcher (STOP only)", watcher.Log[^1].Text);
        Assert.Equal(DriveLogKind.Problem, watcher.Log[^1].Kind);

        // The sweep's speed is the console's speed, within its declared 0–60 %.
        var driver = ConnectedWith(Example("ultrasonic-servo.json"), settings: new DriveSettings(50, 90, 80));
        Assert.Equal(new DriveCommand((CommandCode)16, 60), driver.Decide(DriveKeys.MapChar('v'), T0).Command);
        Assert.Equal(new DriveCommand((CommandCode)14), driver.Decide(DriveKeys.MapChar('o'), T0).Command);
    }
}
