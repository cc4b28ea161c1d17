using Alex.Protocol.Admission;
using Alex.Protocol.AlexLink;

namespace Alex.Protocol.Tests.Admission;

/// <summary>Watchers are refused first: the seats kept for drivers stay free for them.</summary>
public sealed class SessionSeatsTests
{
    [Fact]
    public void TryTake_WatchersFillTheirShare_DriverStillSits()
    {
        var seats = new SessionSeats(max: 64);
        var watchers = 0;
        while (seats.TryTake(AlexLinkRole.Watcher))
        {
            watchers++;
        }

        Assert.Equal(60, watchers);
        Assert.True(seats.TryTake(AlexLinkRole.Driver));
        Assert.Contains("kept for drivers", seats.FullText(AlexLinkRole.Watcher), StringComparison.Ordinal);
    }

    [Fact]
    public void TryTake_Full_RefusesEveryone_UntilOneLeaves()
    {
        var seats = new SessionSeats(max: 2, driverSeats: 1);
        Assert.True(seats.TryTake(AlexLinkRole.Watcher));
        Assert.False(seats.TryTake(AlexLinkRole.Watcher));
        Assert.True(seats.TryTake(AlexLinkRole.Driver));
        Assert.False(seats.TryTake(AlexLinkRole.Driver));
        seats.Leave(AlexLinkRole.Driver);
        Assert.False(seats.TryTake(AlexLinkRole.Watcher));
        Assert.True(seats.TryTake(AlexLinkRole.Driver));
    }

    [Fact]
    public void TryTake_WatchersFillTheirShare_AdminStillSitsAndIsNoWatcher()
    {
        var seats = new SessionSeats(max: 2, driverSeats: 1);
        Assert.True(seats.TryTake(AlexLinkRole.Watcher));
        Assert.False(seats.TryTake(AlexLinkRole.Watcher));
        Assert.True(seats.TryTake(AlexLinkRole.Admin));
        Assert.Equal((1, 1, 0), (seats.Watchers, seats.Admins, seats.Drivers));
        Assert.False(seats.TryTake(AlexLinkRole.Admin));
        Assert.Equal("server full (2 sessions)", seats.FullText(AlexLinkRole.Admin));
        seats.Leave(AlexLinkRole.Admin);
        Assert.False(seats.TryTake(AlexLinkRole.Watcher));
        Assert.True(seats.TryTake(AlexLinkRole.Driver));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 2)]
    [InlineData(8, 4)]
    [InlineData(64, 4)]
    public void DefaultDriverSeats_FourOrHalf(int max, int kept) => Assert.Equal(kept, SessionSeats.DefaultDriverSeats(max));
}
