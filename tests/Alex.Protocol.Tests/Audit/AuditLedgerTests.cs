using Alex.Protocol.Audit;

namespace Alex.Protocol.Tests.Audit;

/// <summary>Loss accounting and rotation of the audit file as pure decisions.</summary>
public sealed class AuditLedgerTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 23, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Failed_AnnouncedOnce_RetriedAfterTheInterval_LossWrittenFirstThenCleared()
    {
        var ledger = new AuditLedger();
        Assert.Equal(AuditBatchStep.Write, ledger.Next(Start));
        Assert.True(ledger.Failed(Start, 10, "No space left on device"));
        Assert.Equal(AuditBatchStep.Drop, ledger.Next(Start + TimeSpan.FromMilliseconds(500)));
        Assert.False(ledger.Dropped(Start + TimeSpan.FromMilliseconds(500), 5, "skipped"));
        Assert.Equal(AuditBatchStep.Write, ledger.Next(Start + AuditLedger.RetryInterval));
        Assert.False(ledger.Failed(Start + AuditLedger.RetryInterval, 1, "Read-only file system"));
        Assert.Equal(new AuditLoss(16, Start, "Read-only file system"), ledger.PendingLoss);
        Assert.Equal("Read-only file system", ledger.Trouble);

        ledger.Written();
        Assert.Null(ledger.PendingLoss);
        Assert.Null(ledger.Trouble);
        Assert.Equal(AuditBatchStep.Write, ledger.Next(Start + AuditLedger.RetryInterval));
        // A new spell is announced again.
        Assert.True(ledger.Dropped(Start + TimeSpan.FromSeconds(5), 3, "queue full"));
    }

    [Fact]
    public void Dropped_Nothing_NoSpell() => Assert.False(new AuditLedger().Dropped(Start, 0, "none"));

    [Theory]
    [InlineData(0, 100, 1000, false)]
    [InlineData(900, 100, 1000, false)]
    [InlineData(901, 100, 1000, true)]
    [InlineData(0, 5000, 1000, false)]
    [InlineData(5000, 100, 0, false)]
    public void ShouldRotate_OnlyANonEmptyFileGoingPastTheCap(long file, long batch, long max, bool rotate) =>
        Assert.Equal(rotate, AuditLedger.ShouldRotate(file, batch, max));

    [Fact]
    public void RotationSteps_OldestDeleted_OthersShifted_PathFreed()
    {
        Assert.Equal(
            [("a.jsonl.3", null), ("a.jsonl.2", "a.jsonl.3"), ("a.jsonl.1", "a.jsonl.2"), ("a.jsonl", "a.jsonl.1")],
            AuditLedger.RotationSteps("a.jsonl", 3));
        Assert.Equal([("a.jsonl", (string?)null)], AuditLedger.RotationSteps("a.jsonl", 0));
    }
}
