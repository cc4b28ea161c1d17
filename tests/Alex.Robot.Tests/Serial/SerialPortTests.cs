using Alex.Protocol.Serial;
using Alex.Robot.Pty;
using Alex.Robot.Serial;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Serial;

/// <summary>A serial port by path on real pseudo-terminals: missing, held by another program, then there.</summary>
public sealed class SerialPortTests
{
    private static readonly ArduinoLinkOptions PtyLink = new()
    {
        ResetDelay = TimeSpan.Zero,
        ReopenDelay = TimeSpan.FromMilliseconds(50),
        MaxReopenDelay = TimeSpan.FromMilliseconds(200),
        StatsGrace = TimeSpan.FromSeconds(1),
    };

    private static SerialPacket Cmd(CommandCode c, uint p0 = 0, uint p1 = 0) => SerialPacket.ForCommand(c, p0, p1);

    [Fact]
    public async Task Open_PortMissing_SaysWhy_RequestsAnswerLinkDown_KeepsRetryingUntilItAppears()
    {
        var dir = Directory.CreateTempSubdirectory("alex-port-");
        try
        {
            var path = Path.Combine(dir.FullName, "ttyACM0");
            await using var link = ArduinoLink.ForSerialPort(path, PtyLink, TimeProvider.System);
            var reasons = new System.Collections.Concurrent.ConcurrentQueue<string>();
            link.StateChanged += (_, r) => reasons.Enqueue(r ?? "");
            link.Start();
            await link.WaitForStateAsync(ArduinoLinkState.Reopening, CancellationToken.None).Within();

            var refused = await link.SendAsync(Cmd(CommandCode.Forward, 5, 50), CancellationToken.None).Within();
            Assert.Equal(RobotReplyKind.LinkDown, refused.Kind);
            Assert.Contains("no such port", refused.Detail, StringComparison.Ordinal);
            Assert.Contains(reasons, r => r.Contains("no such port", StringComparison.Ordinal));

            // The Arduino is plugged in: the link finds it by path.
            await using var sim = PtySimulator.Start(new SimulatorSettings(), null, path, TimeProvider.System, null);
            await link.WaitForStateAsync(ArduinoLinkState.Ready, CancellationToken.None).Within(TimeSpan.FromSeconds(20));
            Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Forward, 5, 50), CancellationToken.None).Within());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Open_PortHeldByAnotherProgram_SaysSo_OpensOnceItIsReleased()
    {
        await using var sim = PtySimulator.Start(new SimulatorSettings(), null, null, TimeProvider.System, null);
        var holder = TtyStream.Open(sim.DevicePath, 9600);
        await using var link = ArduinoLink.ForSerialPort(sim.DevicePath, PtyLink, TimeProvider.System);
        // The reason is awaited from the event itself: waiting for the state can finish before the event's handlers ran.
        var reason = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        link.StateChanged += (s, r) =>
        {
            if (s == ArduinoLinkState.Reopening)
            {
                reason.TrySetResult(r);
            }
        };
        link.Start();
        Assert.Contains("held by another program", await reason.Task.Within(), StringComparison.Ordinal);
        var refused = await link.SendAsync(Cmd(CommandCode.Stop), CancellationToken.None).Within();
        Assert.Equal(RobotReplyKind.LinkDown, refused.Kind);

        await holder.DisposeAsync();
        await link.WaitForStateAsync(ArduinoLinkState.Ready, CancellationToken.None).Within(TimeSpan.FromSeconds(20));
        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.Stop), CancellationToken.None).Within());

        // Now we hold it: a second server cannot share it.
        var second = Assert.Throws<IOException>(() => TtyStream.Open(sim.DevicePath, 9600));
        Assert.Contains("held by another program", second.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RobotLink_PortMissingAtStart_IsDown_ToldWhy()
    {
        var path = Path.Combine(Path.GetTempPath(), $"alex-missing-{Guid.NewGuid():N}");
        var down = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var owner = await ArduinoRobotLink.OpenAsync(new RobotLinkSpec(path, 9600, Simulate: false), TimeProvider.System, CancellationToken.None).Within();
        var robot = Assert.IsType<ArduinoRobotLink>(owner.Link);
        robot.StateChanged += (up, detail) =>
        {
            if (!up)
            {
                down.TrySetResult(detail);
            }
        };

        var detail = robot.Problem ?? await down.Task.Within(what: "the link to report the missing port");
        Assert.Contains("no such port", detail, StringComparison.Ordinal);
        Assert.False(robot.IsUp);
        var reply = await robot.ExecuteAsync(Alex.Protocol.DriveCommand.Stop, CancellationToken.None).Within();
        Assert.Equal(RobotReplyKind.LinkDown, reply.Kind);
    }

    [Theory]
    [InlineData(9600)]
    [InlineData(57600)]
    [InlineData(115200)]
    [InlineData(1000000)]
    public async Task Open_CourseBauds_RawModeRoundTrip(int baud)
    {
        await using var sim = PtySimulator.Start(new SimulatorSettings(), null, null, TimeProvider.System, null);
        await using var link = ArduinoLink.ForSerialPort(sim.DevicePath, PtyLink with { BaudRate = baud }, TimeProvider.System).Start();
        Assert.Equal(RobotReply.Ok, await link.SendAsync(Cmd(CommandCode.ClearStats), CancellationToken.None).Within());
        Assert.NotNull((await link.SendAsync(Cmd(CommandCode.GetStats), CancellationToken.None).Within()).Status);
    }

    [Fact]
    public void Open_BaudTheKernelHasNot_RefusedClearly()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TtyStream.Open("/dev/null", 12345));
        Assert.Contains("not a baud rate", e.Message, StringComparison.Ordinal);
    }
}
