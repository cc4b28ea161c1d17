using Alex.Protocol.Serial;
using Alex.Client;
using Alex.Web.Robot;

namespace Alex.Web.Tests;

public sealed class DeadReckoningTests
{
    private static readonly RobotGeometry Geometry = new();

    private static StatusCounters Counters(uint fwd = 0, uint rev = 0, uint leftTurnTicks = 0, uint rightTurnTicks = 0) =>
        new(0, 0, 0, 0, LeftForwardTurnTicks: rightTurnTicks, 0, LeftReverseTurnTicks: leftTurnTicks, 0, fwd, rev);

    private static uint TicksFor(double degrees) => (uint)Math.Round(degrees / Geometry.DegreesPerTurnTick);

    [Fact]
    public void Forward_MovesAlongTheStartHeading()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        Assert.True(r.Update(Counters(fwd: 50)));
        Assert.Equal(50, r.Current.X, 6);
        Assert.Equal(0, r.Current.Y, 6);
        Assert.Equal(2, r.Path.Count);
    }

    [Fact]
    public void LeftTurnThenForward_GoesUp_RightTurnThenReverse_GoesBack()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        r.Update(Counters(leftTurnTicks: TicksFor(90)));
        Assert.Equal(90, r.Current.HeadingDeg, 0);
        r.Update(Counters(fwd: 30, leftTurnTicks: TicksFor(90)));
        Assert.Equal(0, r.Current.X, 0);
        Assert.Equal(30, r.Current.Y, 0);

        r.Update(Counters(fwd: 30, leftTurnTicks: TicksFor(90), rightTurnTicks: TicksFor(90)));
        Assert.Equal(0, r.Current.HeadingDeg, 0);
        r.Update(Counters(fwd: 30, rev: 10, leftTurnTicks: TicksFor(90), rightTurnTicks: TicksFor(90)));
        Assert.Equal(-10, r.Current.X, 0);
        Assert.Equal(30, r.Current.Y, 0);
    }

    [Fact]
    public void ClearedCounters_RestartTheBaseline_WithoutMoving()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        r.Update(Counters(fwd: 40));
        Assert.False(r.Update(Counters()));   // CLEAR_STATS
        Assert.Equal(40, r.Current.X, 6);
        r.Update(Counters(fwd: 5));
        Assert.Equal(45, r.Current.X, 6);
    }

    [Fact]
    public void FirstStatus_IsOnlyTheBaseline()
    {
        var r = new DeadReckoning(Geometry);
        Assert.False(r.Update(Counters(fwd: 500, leftTurnTicks: 77)));
        Assert.Equal(new Pose(0, 0, 0), r.Current);
    }

    [Fact]
    public void Heading_StaysWithinPlusMinus180()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        r.Update(Counters(leftTurnTicks: TicksFor(270)));
        Assert.Equal(-90, r.Current.HeadingDeg, 0);
    }

    [Fact]
    public void LongSession_KeepsThePathBounded()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        for (uint i = 1; i <= 20_000; i++)
        {
            r.Update(Counters(fwd: i, leftTurnTicks: i % 2 == 0 ? i : i - 1));
        }

        Assert.InRange(r.Path.Count, 2, 5000);
    }

    [Fact]
    public void Reset_StartsAtTheOrigin()
    {
        var r = new DeadReckoning(Geometry);
        r.Update(Counters());
        r.Update(Counters(fwd: 40));
        r.Reset();
        Assert.Equal(new Pose(0, 0, 0), r.Current);
        Assert.Single(r.Path);
    }

    [Fact]
    public void DegreesPerTurnTick_InvertsTheFirmwareTarget()
    {
        // PROTOCOL.md §3: ticks = angle × π·√(L² + B²) × CPR / (360 × C); with the defaults 90° ≈ 229 ticks.
        Assert.Equal(229u, TicksFor(90));
    }
}
