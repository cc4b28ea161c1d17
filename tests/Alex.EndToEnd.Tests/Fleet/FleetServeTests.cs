using System.Collections.Concurrent;
using System.Diagnostics;
using Alex.EndToEnd.Tests.Server;
using Alex.Fleet;
using Alex.Pki;
using Alex.Pki.Fleet;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Fleet;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Fleet;

/// <summary>The test CA with a fleet certificate for the robot (alex.epp.com), an instructor, and a Mosquitto's files from it.</summary>
public sealed class FleetTestPki : IDisposable
{
    public FleetTestPki()
    {
        Ca.Issue(new IssueRequest { Role = CertificateRole.Fleet, Name = TestPki.ServerName }, Pki.Path("alex-fleet.key"), Pki.Path("alex-fleet.crt"), null, force: false);
        Ca.Issue(new IssueRequest { Role = CertificateRole.Instructor, Name = "teacher" }, Pki.Path("teacher.key"), Pki.Path("teacher.crt"), null, force: false);
        Port = MosquittoBroker.FreePort();
        Broker = FleetBroker.Write(Ca, Pki.Path("mosquitto"), new FleetBrokerRequest { Host = "localhost", Bind = "127.0.0.1", Port = Port, RunAs = Environment.UserName });
    }

    public TestPki Pki { get; } = new();

    public CertificateAuthority Ca => Pki.Ca;

    public int Port { get; }

    public FleetBrokerFiles Broker { get; }

    public FleetEndpoint Endpoint => new("localhost", Port);

    public FleetIdentity Identity(string stem) => FleetIdentity.Load(Pki.Path(stem + ".crt"), Pki.Path(stem + ".key"), Pki.CaPath);

    public void Dispose() => Pki.Dispose();
}

/// <summary>`alex serve --fleet`'s publisher against a real Mosquitto: status, STOP from the instructor, a broker gone.</summary>
public sealed class FleetServeTests(FleetTestPki fleet) : IClassFixture<FleetTestPki>
{
    // The driver here sends no heartbeats: a long lease keeps the dead-man out of the way (only the fleet STOPs the robot).
    private static readonly TimeSpan NoDeadMan = TimeSpan.FromMinutes(10);

    private static readonly FleetPublisherOptions Fast = new() { Tick = TimeSpan.FromMilliseconds(50), Backoff = new Alex.Protocol.Backoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)) };

    private static FleetPublisher Publish(TestServer server, FleetIdentity identity, FleetEndpoint endpoint, ConcurrentQueue<string> log) =>
        FleetPublisher.Start(
            endpoint,
            identity,
            () =>
            {
                var (counters, at) = server.Host.Hub.LastCounters;
                return FleetStatus.From(server.Host.Server.Status(), counters, at, DateTimeOffset.UtcNow);
            },
            (who, why) => server.Host.Hub.FleetStopAsync(who, why),
            TimeProvider.System,
            log.Enqueue,
            Fast);

    /// <summary>The next status of <paramref name="robot"/> that <paramref name="match"/> accepts (or the current one).</summary>
    private static Task<FleetStatus> NextStatusAsync(FleetWatch watch, string robot, Func<FleetStatus, bool> match)
    {
        var done = new TaskCompletionSource<FleetStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        watch.StatusReceived += (r, s) =>
        {
            if (r == robot && s is not null && match(s))
            {
                done.TrySetResult(s);
            }
        };
        if (watch.Rows().FirstOrDefault(r => r.Robot == robot) is { } row && match(row.Status))
        {
            done.TrySetResult(row.Status);
        }

        return done.Task;
    }

    [Fact]
    public async Task Publisher_StatusFollowsTheRobot_InstructorStopStopsItAndTellsItsClients()
    {
        await using var broker = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var server = await TestServer.StartAsync(fleet.Pki, lease: NoDeadMan);
        using var robotIdentity = fleet.Identity("alex-fleet");
        using var teacher = fleet.Identity("teacher");
        var log = new ConcurrentQueue<string>();
        await using var watch = await FleetWatch.ConnectAsync(fleet.Endpoint, teacher, TimeProvider.System, CancellationToken.None).Within(TimeSpan.FromSeconds(60), "the instructor to connect");
        var online = NextStatusAsync(watch, TestPki.ServerName, s => s.State == FleetStatus.Online && s.Arduino == true);
        await using var publisher = Publish(server, robotIdentity, fleet.Endpoint, log);
        var first = await online.Within(TimeSpan.FromSeconds(30), "the robot's first status");
        Assert.Equal(0, first.Drivers);
        Assert.NotNull(first.CertificateNotAfter);
        Assert.NotNull(first.CrlNextUpdate);

        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
        var driving = NextStatusAsync(watch, TestPki.ServerName, s => s.Moving == true && s.Lease == "laptop" && s.Drivers == 1);
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 80)));
        await driving.Within(TimeSpan.FromSeconds(30), "the status to show the robot driven by laptop");
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);

        var stopped = NextStatusAsync(watch, TestPki.ServerName, s => s.Moving == false);
        Assert.Equal(FleetStopResult.Sent, (await watch.StopAsync(null, "end of the lab", CancellationToken.None).Within()).Result);
        var told = Assert.IsType<AlexLinkSafetyStop>(await driver.ReadUntilAsync(m => m is AlexLinkSafetyStop { Who: "fleet:teacher" }));
        Assert.Equal(AlexLinkStopReason.StopRequested, told.Reason);
        Assert.Equal("fleet:teacher", told.Who);
        Assert.Equal("STOP from the fleet (alexlink/fleet/stop, by teacher): end of the lab", told.Text);
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        await server.WaitForAuditAsync("fleet-stop").Within();
        await stopped.Within(TimeSpan.FromSeconds(30), "the status to show the robot still");
        Assert.Equal(1, publisher.Stops);
    }

    [Fact]
    public async Task Publisher_BrokerFrozenThenGone_DrivingUnaffected_OutboxHoldsOne_StatusCatchesUp()
    {
        await using var server = await TestServer.StartAsync(fleet.Pki, lease: NoDeadMan);
        using var robotIdentity = fleet.Identity("alex-fleet");
        using var teacher = fleet.Identity("teacher");
        var log = new ConcurrentQueue<string>();
        var broker = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var publisher = Publish(server, robotIdentity, fleet.Endpoint, log);
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        publisher.StatusPublished += _ => published.TrySetResult();
        await published.Task.Within(TimeSpan.FromSeconds(30), "the first status");

        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
        try
        {
            // Frozen: the TCP connection stands and nothing answers. The robot's path never waits for it.
            broker.Pause(true);
            for (var i = 0; i < 20; i++)
            {
                Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 50)));
                Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkStop()));
                Assert.True(publisher.Waiting <= 1, $"{publisher.Waiting} statuses waiting");
            }
        }
        finally
        {
            broker.Kill();
            await broker.DisposeAsync();
        }

        // Gone: the same.
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 60)));
        Assert.True(publisher.Waiting <= 1);
        await Bounded.Until(() => !publisher.IsConnected, TimeSpan.FromSeconds(30), "the publisher to notice the broker is gone");

        // Back: the publisher reconnects by itself and the instructor sees the robot as it is now.
        await using var again = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var watch = await FleetWatch.ConnectAsync(fleet.Endpoint, teacher, TimeProvider.System, CancellationToken.None).Within(TimeSpan.FromSeconds(60), "the instructor to connect");
        await NextStatusAsync(watch, TestPki.ServerName, s => s.State == FleetStatus.Online && s.Moving == true && s.Lease == "laptop").Within(TimeSpan.FromSeconds(60), "the status after the broker came back");
        Assert.Contains(log, l => l.Contains("retrying (the robot is not affected)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watch_BrokerKilledThenBack_SaysLost_StopNotSentAtOnce_ReconnectsWithTheRobotsRowFresh()
    {
        var limit = TimeSpan.FromSeconds(60);
        await using var server = await TestServer.StartAsync(fleet.Pki, lease: NoDeadMan);
        using var robotIdentity = fleet.Identity("alex-fleet");
        using var teacher = fleet.Identity("teacher");
        await using var first = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var publisher = Publish(server, robotIdentity, fleet.Endpoint, new ConcurrentQueue<string>());
        await using var watch = await FleetWatch.ConnectAsync(fleet.Endpoint, teacher, TimeProvider.System, CancellationToken.None, backoff: Fast.Backoff).Within(limit, "the instructor to connect");
        await NextStatusAsync(watch, TestPki.ServerName, s => s.State == FleetStatus.Online).Within(limit, "the robot's first status");
        Assert.True(watch.IsConnected);

        var lost = new TaskCompletionSource<FleetWatchState>(TaskCreationOptions.RunContinuationsAsynchronously);
        var retried = new TaskCompletionSource<FleetWatchState>(TaskCreationOptions.RunContinuationsAsynchronously);
        var back = new TaskCompletionSource<FleetWatchState>(TaskCreationOptions.RunContinuationsAsynchronously);
        watch.StateChanged += state =>
        {
            if (!state.Connected)
            {
                lost.TrySetResult(state);
                if (state.Retries > 0)
                {
                    retried.TrySetResult(state);
                }
            }
            else if (lost.Task.IsCompleted)
            {
                back.TrySetResult(state);
            }
        };

        // Gone: the watch says so, and a STOP is answered at once without being sent.
        await first.KillAsync();
        var down = await lost.Task.Within(limit, "the watch to say the broker is lost");
        Assert.False(watch.IsConnected);
        Assert.Contains(fleet.Endpoint.ToString(), down.Problem, StringComparison.Ordinal);
        var again = await retried.Task.Within(limit, "an attempt to reconnect to fail");
        Assert.StartsWith($"cannot reach the broker {fleet.Endpoint}", again.Problem, StringComparison.Ordinal);
        Assert.Equal(down.Since, again.Since);

        var stopping = watch.StopAsync(null, "fire drill", CancellationToken.None);
        Assert.True(stopping.IsCompleted, "a STOP while the broker is lost waited");
        var refused = await stopping.Within(limit);
        Assert.Equal(FleetStopResult.NotSent, refused.Result);
        Assert.StartsWith("STOP to every robot on the broker not sent: broker lost: ", refused.Problem, StringComparison.Ordinal);
        Assert.EndsWith("; reconnecting", refused.Problem, StringComparison.Ordinal);

        // Back on the same port: the watch reconnects by itself, and the robot's row is refilled by a status heard since.
        var restarted = DateTimeOffset.UtcNow;
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watch.StatusReceived += (robot, status) =>
        {
            if (robot == TestPki.ServerName && status?.State == FleetStatus.Online)
            {
                heard.TrySetResult();
            }
        };
        await using var second = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await back.Task.Within(limit, "the watch to reconnect");
        Assert.True(watch.IsConnected);
        Assert.Null(watch.State.Problem);
        await heard.Task.Within(limit, "the robot's status after the broker came back");
        var row = watch.Rows().Single(r => r.Robot == TestPki.ServerName);
        Assert.True(row.LastSeen >= restarted, $"the row was last seen {row.LastSeen:O}, before the broker came back at {restarted:O}");
        Assert.Equal(FleetRowState.Idle, row.State);

        // And STOP works again.
        Assert.Equal(FleetStopResult.Sent, (await watch.StopAsync(TestPki.ServerName, "after the restart", CancellationToken.None).Within(limit)).Result);
        await Bounded.Until(() => publisher.Stops == 1, limit, "the robot to get the STOP");
    }

    [Fact]
    public async Task FleetCommand_LiveTableInATerminal_TitleSaysBrokerLostThenTheRobotIsBack()
    {
        var limit = TimeSpan.FromSeconds(60);
        await using var server = await TestServer.StartAsync(fleet.Pki, lease: NoDeadMan);
        using var robotIdentity = fleet.Identity("alex-fleet");
        await using var first = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var publisher = Publish(server, robotIdentity, fleet.Endpoint, new ConcurrentQueue<string>());
        await using var pane = TmuxPane.Start(200, 30);

        // The table's title wraps at the table's width: the screen is read as words.
        static string Words(string screen) => string.Join(' ', screen.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var watching = $"1 robot on {fleet.Endpoint} (Ctrl+C leaves;";
        pane.TypeLine($"{AlexCli.ShellCommand} fleet {fleet.Endpoint} --cert '{fleet.Pki.Path("teacher.crt")}' --key '{fleet.Pki.Path("teacher.key")}' --ca '{fleet.Pki.CaPath}'");
        await pane.WaitForScreenAsync(s => Words(s).Contains(watching, StringComparison.Ordinal) && Words(s).Contains($"│ {TestPki.ServerName} │ idle │", StringComparison.Ordinal), "the live table with the robot", limit);

        await first.KillAsync();
        var lost = Words(await pane.WaitForScreenAsync(s => Words(s).Contains($"1 robot on {fleet.Endpoint} as last heard)", StringComparison.Ordinal), "the title to say the broker is lost", limit));
        Assert.Matches(@"broker lost: .+; reconnecting \(lost (now|\d+ s ago); 1 robot on ", lost);
        Assert.DoesNotContain(watching, lost, StringComparison.Ordinal);

        await using var second = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await pane.WaitForScreenAsync(s => Words(s).Contains(watching, StringComparison.Ordinal) && !s.Contains("broker lost", StringComparison.Ordinal), "the title to say the broker is back", limit);

        pane.SendKeys("C-c");
        await Bounded.Until(() => pane.Display("#{pane_current_command}").Trim() == "bash", limit, "alex fleet to leave on Ctrl+C");
    }

    [Fact]
    public async Task Publisher_KilledProcess_LastWillMarksTheRobotOffline()
    {
        await using var broker = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        using var teacher = fleet.Identity("teacher");
        var start = AlexCli.StartInfo(["serve", "--cert", fleet.Pki.Path("alex.crt"), "--key", fleet.Pki.Path("alex.key"), "--ca", fleet.Pki.CaPath, "--crl", fleet.Ca.CrlPath, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0", "--no-announce", "--quiet",
            "--fleet", fleet.Endpoint.ToString(), "--fleet-cert", fleet.Pki.Path("alex-fleet.crt"), "--fleet-key", fleet.Pki.Path("alex-fleet.key")]);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        await using var watch = await FleetWatch.ConnectAsync(fleet.Endpoint, teacher, TimeProvider.System, CancellationToken.None).Within(TimeSpan.FromSeconds(60), "the instructor to connect");
        var online = NextStatusAsync(watch, TestPki.ServerName, s => s.State == FleetStatus.Online);
        using var serve = Process.Start(start)!;
        try
        {
            await online.Within(TimeSpan.FromSeconds(60), "alex serve --fleet's first status");
            var offline = NextStatusAsync(watch, TestPki.ServerName, s => s.State == FleetStatus.Offline);
            serve.Kill();
            await serve.WaitForExitAsync().Within(TimeSpan.FromSeconds(30), "alex serve to die");
            await offline.Within(TimeSpan.FromSeconds(30), "the Last Will");
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill();
            }
        }

        Assert.Equal(FleetRowState.Offline, watch.Rows().Single(r => r.Robot == TestPki.ServerName).State);
    }

    [Fact]
    public async Task FleetCommand_OnceJsonListsTheRobot_StopAllWithYesStopsIt_WatcherAndUnconfirmedRefused()
    {
        await using var broker = await MosquittoBroker.StartAsync(fleet.Broker.ConfPath, fleet.Port);
        await using var server = await TestServer.StartAsync(fleet.Pki, lease: NoDeadMan);
        using var robotIdentity = fleet.Identity("alex-fleet");
        await using var publisher = Publish(server, robotIdentity, fleet.Endpoint, new ConcurrentQueue<string>());
        var published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        publisher.StatusPublished += _ => published.TrySetResult();
        await published.Task.Within(TimeSpan.FromSeconds(30), "the first status");
        var limit = TimeSpan.FromSeconds(90);
        string[] Fleet(string who, params string[] more) => ["fleet", fleet.Endpoint.ToString(), "--cert", fleet.Pki.Path(who + ".crt"), "--key", fleet.Pki.Path(who + ".key"), "--ca", fleet.Pki.CaPath, .. more];

        var once = await AlexCli.RunAsync(limit, Fleet("teacher", "--once", "--json"));
        Assert.True(once.Code == 0, once.Stderr);
        Assert.Contains("\"robot\": \"alex.epp.com\"", once.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"state\": \"idle\"", once.Stdout, StringComparison.Ordinal);

        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await driver.ReadAsync());
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 80)));

        var unconfirmed = await AlexCli.RunAsync(limit, Fleet("teacher", "stop-all"));
        Assert.Equal(2, unconfirmed.Code);
        Assert.Contains("confirm on a terminal, or pass --yes", unconfirmed.Stderr, StringComparison.Ordinal);
        var watcher = await AlexCli.RunAsync(limit, Fleet("laptop", "stop-all", "--yes"));
        Assert.Equal(1, watcher.Code);
        Assert.StartsWith("alex: the broker refused the STOP to every robot on the broker", watcher.Stderr, StringComparison.Ordinal);
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);
        Assert.Equal(0, publisher.Stops);

        var stopAll = await AlexCli.RunAsync(limit, Fleet("teacher", "stop-all", "--yes", "--reason", "fire drill"));
        Assert.True(stopAll.Code == 0, stopAll.Stderr);
        var told = Assert.IsType<AlexLinkSafetyStop>(await driver.ReadUntilAsync(m => m is AlexLinkSafetyStop { Who: "fleet:teacher" }));
        Assert.Equal("STOP from the fleet (alexlink/fleet/stop, by teacher): fire drill", told.Text);
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        Assert.Equal(1, publisher.Stops);
    }

    [Theory]
    [InlineData("mqtt://localhost:1883", "plain MQTT")]
    [InlineData("mqtts://localhost:8883/x", "more than a host")]
    public async Task Serve_BadFleetAddress_ExitTwoBeforeStarting(string url, string why)
    {
        var run = await AlexCli.RunAsync(TimeSpan.FromSeconds(90), "serve", "--pki", fleet.Pki.Dir, "--allow-any", "--simulate", "--listen", "127.0.0.1:0", "--no-announce", "--fleet", url);
        Assert.Equal(2, run.Code);
        Assert.StartsWith("alex: --fleet ", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(why, run.Stderr, StringComparison.Ordinal);
    }
}
