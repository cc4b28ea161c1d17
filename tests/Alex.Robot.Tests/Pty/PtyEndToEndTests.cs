using System.Diagnostics;
using Alex.Protocol.Serial;
using Alex.Robot.Pty;
using Alex.Robot.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Pty;

/// <summary>
/// Real parts end to end: a real pseudo-terminal, real System.IO.Ports, `alex sim` as a child
/// process, and an independent client written in Python with the standard library only.
/// </summary>
public sealed class PtyEndToEndTests
{
    // Real clock on a shared, busy machine: a generous reply timeout, since these tests check what
    // is answered, not how fast (the unit tests on a fake clock check the timing rules).
    private static readonly ArduinoLinkOptions PtyLink = new()
    {
        ResetDelay = TimeSpan.Zero,
        ReopenDelay = TimeSpan.FromMilliseconds(100),
        ReplyTimeout = TimeSpan.FromSeconds(5),
        // The wait for a trailing OK after a first STATUS is line timing (two frames + 50 ms) for a real Arduino; the
        // simulator here is paced by timers in this same test process, which other tests can starve for longer than
        // that, and a late trailing OK would then be taken for the next command's reply. What this test proves is the
        // serial path, not that heuristic (ArduinoLinkTests cover it on a fake clock).
        StatsGrace = TimeSpan.FromSeconds(1),
    };

    private static SerialPacket Cmd(CommandCode c, uint p0 = 0, uint p1 = 0) => SerialPacket.ForCommand(c, p0, p1);

    [Theory]
    [InlineData(GetStatsReplyOrder.OkThenStatus)]
    [InlineData(GetStatsReplyOrder.StatusThenOk)]
    [InlineData(GetStatsReplyOrder.StatusOnly)]
    public async Task ArduinoLink_SystemIOPortsOnPacedPty_AnswersEveryCommand(GetStatsReplyOrder order)
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        await using var sim = PtySimulator.Start(new() { GetStatsReplyOrder = order }, new SerialLinePacing(9600), null, TimeProvider.System, l => log.Enqueue($"{clock.ElapsedMilliseconds} sim: {l}"));
        await using var link = ArduinoLink.ForSerialPort(sim.DevicePath, PtyLink, TimeProvider.System);
        link.Diagnostic += (_, l) => log.Enqueue($"{clock.ElapsedMilliseconds} link: {l}");
        link.StateChanged += (st, r) => log.Enqueue($"{clock.ElapsedMilliseconds} link: {st} {r}");
        link.Start();
        var messages = new List<string>();
        var gotMessage = new TaskCompletionSource();
        link.Unsolicited += p => { if (p.Type == PacketType.Message) { lock (messages) { messages.Add(p.Text); } gotMessage.TrySetResult(); } };

        var first = await link.SendAsync(Cmd(CommandCode.Forward, 5, 100), CancellationToken.None).Within();
        Assert.True(first == RobotReply.Ok, $"{first} at {clock.ElapsedMilliseconds}\n" + string.Join("\n", log));
        // Every step says what the link and the simulator logged, so a failure on a loaded machine explains itself.
        string Log(object what) => $"{what} at {clock.ElapsedMilliseconds} ms\n" + string.Join("\n", log);
        var stats = await link.SendAsync(Cmd(CommandCode.GetStats), CancellationToken.None).Within();
        Assert.True(stats.Status is not null, Log(stats));
        var unknown = await link.SendAsync(SerialPacket.ForRawCommand(9), CancellationToken.None).Within();
        Assert.True(unknown == RobotReply.ArduinoError((byte)ResponseCode.BadCommand), Log(unknown));
        var stop = await link.SendAsync(Cmd(CommandCode.Stop), CancellationToken.None).Within();
        Assert.True(stop == RobotReply.Ok, Log(stop));

        sim.Pump.SendMessage("debug print");
        await gotMessage.Task.Within();
        Assert.True(sim.Alex.Motion == MotionKind.Stopped, Log(sim.Alex.Motion));
        lock (messages)
        {
            Assert.Equal(["debug print"], messages);
        }

        Assert.Equal(stats.Status!.Value.LeftForwardTicks, stats.Status!.Value.RightForwardTicks);
    }

    [Fact]
    public async Task CoursePythonClient_OnPacedPty_RepliesByteForByte()
    {
        await using var sim = PtySimulator.Start(new(), new SerialLinePacing(9600), null, TimeProvider.System, null);
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Pty", "course_client.py"));
        start.ArgumentList.Add(sim.DevicePath);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vectors", "alex_vectors.json"));
        using var python = Process.Start(start)!;
        var stdout = python.StandardOutput.ReadToEndAsync();
        var stderr = python.StandardError.ReadToEndAsync();

        await python.WaitForExitAsync().Within(TimeSpan.FromSeconds(60), "the Python client");

        Assert.True(python.ExitCode == 0, $"python client failed:\n{await stdout}\n{await stderr}");
        Assert.Equal(14, (await stdout).Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PtySimulator_ClientClosesAndReopens_KeepsServing()
    {
        await using var sim = PtySimulator.Start(new(), null, null, TimeProvider.System, null);
        for (var round = 0; round < 3; round++)
        {
            await using var link = ArduinoLink.ForSerialPort(sim.DevicePath, PtyLink, TimeProvider.System).Start();
            Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.ClearStats), CancellationToken.None).Within());
        }
    }

    [Fact]
    public async Task AlexSimProcess_KilledAndRestarted_LinkReopensThroughSymlink()
    {
        var dir = Directory.CreateTempSubdirectory("alex-sim-");
        var linkPath = Path.Combine(dir.FullName, "alex");
        try
        {
            var first = await AlexSimProcess.StartAsync("--no-pacing", "--quiet", "--link", linkPath);
            await using (first)
            {
                Assert.Equal(first.DevicePath, new FileInfo(linkPath).LinkTarget);
                await using var link = ArduinoLink.ForSerialPort(linkPath, PtyLink, TimeProvider.System).Start();
                var states = new List<ArduinoLinkState>();
                link.StateChanged += (s, _) => { lock (states) { states.Add(s); } };
                Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Forward, 10, 50), CancellationToken.None).Within());

                // The pty vanishes under System.IO.Ports: reported, then reopened by path.
                var lost = link.WaitForStateAsync(ArduinoLinkState.Lost, CancellationToken.None);
                await first.KillAsync();
                await lost.Within(what: "the link to notice the port vanished");

                var ready = link.WaitForStateAsync(ArduinoLinkState.Ready, CancellationToken.None);
                await using var second = await AlexSimProcess.StartAsync("--no-pacing", "--quiet", "--link", linkPath);
                await ready.Within(TimeSpan.FromSeconds(20), "the link to reopen the new pty");
                Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Stop), CancellationToken.None).Within());
                lock (states)
                {
                    Assert.Equal(ArduinoLinkState.Lost, states[states.IndexOf(ArduinoLinkState.Ready) + 1]);
                    Assert.Equal(ArduinoLinkState.Ready, states[^1]);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
