using Alex.Protocol.Lidar;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Protocol.Tests.Lidar;

/// <summary>The driver's decisions (docs/lidar.md §8) on a fake clock: start-up, scanning, a silent device, a protection stop, shutdown.</summary>
public sealed class LidarSessionTests
{
    private readonly FakeTimeProvider _time = new();

    private static LidarReadResult Health(LidarHealthStatus status, ushort code = 0) => new(LidarReadKind.Health, 3, Health: new LidarHealth(status, code));

    private static LidarReadResult Info() => new(LidarReadKind.Info, 20, Info: new LidarDeviceInfo(0x18, 1, 29, 7, "00"));

    private static LidarReadResult Node(bool start, int degrees) => new(LidarReadKind.Node, 5, Node: new LidarScanNode(start, 10, (ushort)(degrees * 64), 400));

    private static string[] Text(IEnumerable<LidarAction> actions) => actions.Select(a => a.ToString()).ToArray();

    private LidarSession Scanning()
    {
        var session = new LidarSession(_time);
        session.Opened();
        session.OnRead(Health(LidarHealthStatus.Good));
        session.OnRead(Info());
        return session;
    }

    [Fact]
    public void Opened_StopsTheDeviceThenAsksHealthThenInfoThenScansWithMotorOn()
    {
        var session = new LidarSession(_time);

        Assert.Equal(["write A525", "write A552"], Text(session.Opened()));
        Assert.Equal(["write A550"], Text(session.OnRead(Health(LidarHealthStatus.Good))));
        Assert.Equal(["motor on", "write A520"], Text(session.OnRead(Info())));
        Assert.Equal(LidarState.Scanning, session.State);
        Assert.Equal("model 24, firmware 1.29, hardware 7, serial 00", session.Info!.ToString());
    }

    [Fact]
    public void OnRead_Nodes_RevolutionAtEachStartFlagAndCounted()
    {
        var session = Scanning();
        Assert.Empty(session.OnRead(Node(true, 0)));
        Assert.Empty(session.OnRead(Node(false, 180)));

        var actions = session.OnRead(Node(true, 0));

        Assert.Equal(["revolution (2 nodes)"], Text(actions));
        Assert.Equal((3, 1), (session.Counters.Nodes, session.Counters.Revolutions));
    }

    [Fact]
    public void OnRead_Noise_Counted()
    {
        var session = Scanning();
        session.OnRead(new LidarReadResult(LidarReadKind.Noise, 17));
        Assert.Equal(17, session.Counters.NoiseBytes);
    }

    [Fact]
    public void OnDeadline_NoNodesWhileScanning_LogsAndRestartsTheScan()
    {
        var session = Scanning();
        session.OnRead(Node(true, 0));
        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Empty(session.OnDeadline());

        _time.Advance(TimeSpan.FromSeconds(0.2));
        var actions = Text(session.OnDeadline());

        Assert.Equal(["log lidar: no scan data for 3 s; restarting the scan", "write A525", "write A552"], actions);
        Assert.Equal(1, session.Counters.Timeouts);
        Assert.Equal(LidarState.AwaitingHealth, session.State);
    }

    [Fact]
    public void OnDeadline_HealthNeverAnswered_AsksAgainThenReopensWithBackoff()
    {
        var session = new LidarSession(_time);
        session.Opened();
        Assert.Equal(TimeSpan.FromSeconds(1), session.UntilDeadline);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["write A552"], Text(session.OnDeadline()));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["write A552"], Text(session.OnDeadline()));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(["log lidar: no answer to 3 requests; reopening the port", "reopen"], Text(session.OnDeadline()));
        Assert.Equal(LidarState.Closed, session.State);
        Assert.Equal(TimeSpan.FromMilliseconds(500), session.ReopenDelay);
        Assert.Null(session.UntilDeadline);
    }

    [Fact]
    public void ReopenDelay_FailedOpens_DoublesToFiveSecondsAndResetsOnARevolution()
    {
        var session = new LidarSession(_time);
        Assert.Equal(TimeSpan.Zero, session.ReopenDelay);
        var delays = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            session.OpenFailed();
            delays.Add(session.ReopenDelay.TotalSeconds);
        }

        Assert.Equal([0.5, 1, 2, 4, 5, 5], delays);

        session.Opened();
        session.OnRead(Health(LidarHealthStatus.Good));
        session.OnRead(Info());
        session.OnRead(Node(true, 0));
        session.OnRead(Node(true, 0));
        Assert.Equal(TimeSpan.Zero, session.ReopenDelay);
    }

    [Fact]
    public void OnRead_HealthError_ResetsThenAsksAgain()
    {
        var session = new LidarSession(_time);
        session.Opened();

        Assert.Equal(["log lidar health: error (error code 0x8001); resetting it", "write A540"], Text(session.OnRead(Health(LidarHealthStatus.Error, 0x8001))));
        Assert.Equal(LidarState.Resetting, session.State);
        _time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal(["write A552"], Text(session.OnDeadline()));
        Assert.Equal(["write A550"], Text(session.OnRead(Health(LidarHealthStatus.Good))));
        Assert.Equal(1, session.Counters.Resets);
    }

    [Fact]
    public void OnRead_HealthWarning_LoggedAndScanningGoesOn()
    {
        var session = new LidarSession(_time);
        session.Opened();

        Assert.Equal(["log lidar health: warning (error code 0x0003)", "write A550"], Text(session.OnRead(Health(LidarHealthStatus.Warning, 3))));
    }

    [Fact]
    public void OnRead_NodesBeforeScanWasAsked_DroppedNotPublished()
    {
        var session = new LidarSession(_time);
        session.Opened();

        Assert.Empty(session.OnRead(Node(true, 0)));
        Assert.Empty(session.OnRead(Node(true, 0)));
        Assert.Equal((0, 2), (session.Counters.Revolutions, session.Counters.DroppedNodes));
    }

    [Fact]
    public void Lost_ThenOpened_TurnInProgressForgotten()
    {
        var session = Scanning();
        session.OnRead(Node(true, 0));
        session.OnRead(Node(false, 90));

        Assert.Equal(["log lidar: unplugged; reopening the port"], Text(session.Lost("unplugged")));
        session.Opened();
        session.OnRead(Health(LidarHealthStatus.Good));
        session.OnRead(Info());
        session.OnRead(Node(false, 200));
        session.OnRead(Node(true, 0));

        Assert.Empty(session.OnRead(Node(false, 10)));
        Assert.Equal(0, session.Counters.Revolutions);
        Assert.Equal(1, session.Counters.Reopens);
    }

    [Fact]
    public void Shutdown_StopsAndTurnsTheMotorOff()
    {
        var session = Scanning();

        Assert.Equal(["write A525", "motor off"], Text(session.Shutdown()));
        Assert.Equal(LidarState.Closed, session.State);
        Assert.Null(session.UntilDeadline);
    }
}
