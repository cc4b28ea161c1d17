using Alex.Protocol.Admission;

namespace Alex.Protocol.Tests.Admission;

/// <summary>Refusals are written in full once per source per window; the rest become one summary per source.</summary>
public sealed class RefusalTallyTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 23, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    [Fact]
    public void Refused_FirstFromASourceInFull_RestCounted_OneSummaryWhenDue()
    {
        var tally = new RefusalTally(Window);
        Assert.True(tally.Refused(Start, "127.0.0.2", RefusalKind.NoCertificate));
        for (var i = 1; i <= 100_000; i++)
        {
            Assert.False(tally.Refused(Start + TimeSpan.FromTicks(i), "127.0.0.2", i % 2 == 0 ? RefusalKind.Busy : RefusalKind.Timeout));
        }

        Assert.True(tally.Refused(Start, "127.0.0.1", RefusalKind.Policy));
        Assert.Equal(Start + Window, tally.FlushDueAt);
        Assert.Empty(tally.Flush(Start + Window - TimeSpan.FromTicks(1)));

        var summary = Assert.Single(tally.Flush(Start + Window));
        Assert.Equal("127.0.0.2", summary.Source);
        Assert.Equal(100_000, summary.Count);
        Assert.Equal("busy 50000, timeout 50000", summary.Reasons);
        Assert.Equal(Start, summary.From);
        Assert.Null(tally.FlushDueAt);
        // A new window: the next refusal is written in full again.
        Assert.True(tally.Refused(Start + Window, "127.0.0.2", RefusalKind.Busy));
    }

    [Fact]
    public void Refused_ManySources_BeyondTheLimitCountedAsOther()
    {
        var tally = new RefusalTally(Window, maxSources: 3);
        var inFull = 0;
        for (var i = 0; i < 1000; i++)
        {
            inFull += tally.Refused(Start, $"10.0.{i / 256}.{i % 256}", RefusalKind.Busy) ? 1 : 0;
        }

        Assert.Equal(3, inFull);
        var summary = Assert.Single(tally.Flush(Start + Window));
        Assert.Equal(RefusalTally.Other, summary.Source);
        Assert.Equal(997, summary.Count);
    }

    [Fact]
    public void Records_PerSourcePerWindow_AtMostTwo_HoweverFast()
    {
        var tally = new RefusalTally(Window);
        var records = 0;
        var now = Start;
        // One refusal every 100 µs for 60 s from one source.
        for (var i = 0; i < 600_000; i++)
        {
            now += TimeSpan.FromTicks(1000);
            records += tally.Flush(now).Count;
            records += tally.Refused(now, "127.0.0.2", RefusalKind.Busy) ? 1 : 0;
        }

        records += tally.Flush(now + Window).Count;
        // Six windows: one in full and one summary each.
        Assert.InRange(records, 6, 14);
    }
}
