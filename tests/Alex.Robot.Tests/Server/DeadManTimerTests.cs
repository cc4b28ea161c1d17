using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Safety;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Server;

/// <summary>The dead-man asks the lease at the lease's own deadline, not on a polling tick (docs/BENCHMARKS.md serve-deadman).</summary>
public sealed class DeadManTimerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(1500);
    private static readonly LeaseClient Driver = new(1, "laptop", AlexLinkRole.Driver, SendsHeartbeats: true);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly List<(DateTimeOffset At, string? Holder, LeaseDecision Decision)> _decisions = [];

    [Fact]
    public void SilentDriver_StopDecidedExactlyAtTheDeadline()
    {
        var lease = new DriverLease(_time, Window);
        using var timer = Start(lease);
        _time.Advance(TimeSpan.FromMilliseconds(37));
        Assert.True(lease.Authorize(Driver, new DriveCommand(CommandCode.Forward, 0, 50)).IsAllowed);
        timer.Rearm();
        var deadline = _time.GetUtcNow() + Window;

        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(_decisions, d => d.Decision.Stop is not null);
        Assert.Same(Driver, lease.Holder);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var stop = Assert.Single(_decisions, d => d.Decision.Stop is not null);
        Assert.Equal(deadline, stop.At);
        Assert.Equal(deadline, stop.Decision.Stop!.At);
        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, stop.Decision.Stop.Reason);
        Assert.Equal("laptop", stop.Holder);
        Assert.Null(lease.Holder);
    }

    [Fact]
    public void HeartbeatsMoveTheDeadline_StopAtTheWindowAfterTheLastOne()
    {
        var lease = new DriverLease(_time, Window);
        using var timer = Start(lease);
        Assert.True(lease.Authorize(Driver, new DriveCommand(CommandCode.Forward, 0, 50)).IsAllowed);
        timer.Rearm();
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(400));
            lease.Heard(Driver);
        }

        var lastHeard = _time.GetUtcNow();
        Assert.DoesNotContain(_decisions, d => d.Decision.Stop is not null);
        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(_decisions, d => d.Decision.Stop is not null);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(lastHeard + Window, Assert.Single(_decisions, d => d.Decision.Stop is not null).At);
    }

    [Fact]
    public void NobodyDriving_TimerSleepsAWindowAndDecidesNothing()
    {
        var lease = new DriverLease(_time, Window);
        using var timer = Start(lease);
        Assert.Equal(_time.GetUtcNow() + Window, timer.DueAt);
        _time.Advance(Window * 3);
        Assert.All(_decisions, d => Assert.Same(LeaseDecision.Nothing, d.Decision));
    }

    [Fact]
    public void Disposed_NoMoreDecisions()
    {
        var lease = new DriverLease(_time, Window);
        var timer = Start(lease);
        Assert.True(lease.Authorize(Driver, new DriveCommand(CommandCode.Forward, 0, 50)).IsAllowed);
        timer.Rearm();
        timer.Dispose();
        _time.Advance(Window * 2);
        Assert.Empty(_decisions);
        Assert.Same(Driver, lease.Holder);
    }

    private DeadManTimer Start(DriverLease lease) =>
        new(lease, _time, (holder, decision) => _decisions.Add((_time.GetUtcNow(), holder?.Name, decision)));
}
