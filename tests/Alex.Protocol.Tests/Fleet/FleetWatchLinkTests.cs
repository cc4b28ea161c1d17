using Alex.Protocol.Fleet;

namespace Alex.Protocol.Tests.Fleet;

public sealed class FleetWatchLinkTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Backoff Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    [Fact]
    public void State_AfterTheFirstConnection_ConnectedAndStopGoes()
    {
        var link = new FleetWatchLink(Backoff, Start);
        Assert.True(link.State.Connected);
        Assert.Null(link.State.Problem);
        Assert.Equal(Start, link.State.Since);
        Assert.Equal("connected", link.State.Text);
        Assert.Null(link.State.StopRefusal("every robot on the broker"));
    }

    [Fact]
    public void Lost_SaysWhyAndRefusesStopAtOnce()
    {
        var link = new FleetWatchLink(Backoff, Start);
        var wait = link.Lost("the broker mqtts://broker.lab:8883 closed the connection", Start.AddMinutes(5), 0.5);
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        Assert.False(link.State.Connected);
        Assert.Equal(Start.AddMinutes(5), link.State.Since);
        Assert.Equal("broker lost: the broker mqtts://broker.lab:8883 closed the connection; reconnecting", link.State.Text);
        Assert.Equal("STOP to 'alex7' not sent: broker lost: the broker mqtts://broker.lab:8883 closed the connection; reconnecting", link.State.StopRefusal("'alex7'"));
    }

    [Fact]
    public void Lost_AttemptsFailAgain_WaitGrowsToTheCapWithTheLatestReason_SinceKept()
    {
        var link = new FleetWatchLink(Backoff, Start);
        var lostAt = Start.AddMinutes(1);
        var waits = new List<TimeSpan> { link.Lost("lost", lostAt, 0.5) };
        for (var i = 1; i <= 7; i++)
        {
            waits.Add(link.Lost($"cannot reach the broker (try {i})", lostAt.AddSeconds(i * 10), 0.5));
        }

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], waits.Select(w => w.TotalSeconds));
        Assert.Equal(7, link.State.Retries);
        Assert.Equal(lostAt, link.State.Since);
        Assert.Equal("cannot reach the broker (try 7)", link.State.Problem);
    }

    [Fact]
    public void Lost_Jitter_SpreadsTheWait()
    {
        var early = new FleetWatchLink(Backoff, Start).Lost("lost", Start, 0);
        var late = new FleetWatchLink(Backoff, Start).Lost("lost", Start, 0.999);
        Assert.Equal(TimeSpan.FromSeconds(0.75), early);
        Assert.True(late > TimeSpan.FromSeconds(1.24) && late <= TimeSpan.FromSeconds(1.25), late.ToString());
    }

    [Fact]
    public void Connected_AfterLosses_CountStartsAgain()
    {
        var link = new FleetWatchLink(Backoff, Start);
        link.Lost("lost", Start.AddMinutes(1), 0.5);
        link.Lost("cannot reach", Start.AddMinutes(2), 0.5);
        link.Connected(Start.AddMinutes(3));
        Assert.True(link.State.Connected);
        Assert.Null(link.State.Problem);
        Assert.Equal(0, link.State.Retries);
        Assert.Equal(Start.AddMinutes(3), link.State.Since);
        Assert.Null(link.State.StopRefusal("'alex7'"));

        Assert.Equal(TimeSpan.FromSeconds(1), link.Lost("lost again", Start.AddMinutes(4), 0.5));
        Assert.Equal(Start.AddMinutes(4), link.State.Since);
    }
}
