// When the audit writer writes, drops, rotates and says that records are lost (docs/security.md "Audit log").
// Pure decisions: the writer loop (Alex.Robot.Server.AuditLog) reports what happened and acts on what comes back;
// the clock is the `now` it passes in.
//
// Rules:
// - A record that cannot be written (disk full, read-only, a queue that a slow disk let fill up) is dropped and
//   counted; nothing waits for the disk.
// - The first loss of a spell is announced once; while the file keeps failing, a batch is tried again at most once
//   per RetryInterval and the batches in between are dropped (counted) without touching the disk.
// - The first batch written after a spell starts with one "audit-lost" record: how many, since when, why. Then the
//   spell is over and a later loss is announced again.
// - Rotation: a batch that would take a non-empty file past the size cap goes to a fresh file; the old ones are kept
//   as PATH.1 (newest) to PATH.keep, the oldest deleted.
namespace Alex.Protocol.Audit;

/// <summary>What to do with the batch in hand.</summary>
public enum AuditBatchStep
{
    /// <summary>Write it (after the loss record, if <see cref="AuditLedger.PendingLoss"/> is set).</summary>
    Write,

    /// <summary>The file failed moments ago: drop the batch (counted) without trying.</summary>
    Drop,
}

/// <summary>Records lost during one spell of trouble.</summary>
public sealed record AuditLoss(long Records, DateTimeOffset Since, string Reason);

/// <summary>Loss accounting for one audit file. Not thread-safe: the writer loop owns it.</summary>
public sealed class AuditLedger
{
    /// <summary>While the file fails, how often a batch is tried again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private long _lost;
    private DateTimeOffset _since;
    private string _reason = "";
    private DateTimeOffset? _retryAt;

    /// <summary>Records lost in the current spell (0: none lost since the last write).</summary>
    public long Lost => _lost;

    /// <summary>Why records are being lost, or null.</summary>
    public string? Trouble => _lost > 0 ? _reason : null;

    /// <summary>The record to write first in the next batch, or null.</summary>
    public AuditLoss? PendingLoss => _lost > 0 ? new AuditLoss(_lost, _since, _reason) : null;

    /// <summary>Write the batch, or drop it because the file failed less than <see cref="RetryInterval"/> ago.</summary>
    public AuditBatchStep Next(DateTimeOffset now) => _retryAt is { } at && now < at ? AuditBatchStep.Drop : AuditBatchStep.Write;

    /// <summary>
    /// Records were lost (a failed or skipped write, a full queue). True when this starts a spell: say so, once.
    /// </summary>
    public bool Dropped(DateTimeOffset now, long records, string reason)
    {
        if (records <= 0)
        {
            return false;
        }

        var starts = _lost == 0;
        if (starts)
        {
            _since = now;
            _reason = reason;
        }

        _lost += records;
        return starts;
    }

    /// <summary>The write of <paramref name="records"/> failed: they are lost, and the file is left alone for a while.</summary>
    public bool Failed(DateTimeOffset now, long records, string reason)
    {
        _retryAt = now + RetryInterval;
        if (_lost > 0)
        {
            // The spell goes on; the newest reason is the one worth showing.
            _reason = reason;
        }

        return Dropped(now, records, reason);
    }

    /// <summary>The batch (with the loss record first, if one was pending) is in the file: the spell is over.</summary>
    public void Written()
    {
        _lost = 0;
        _retryAt = null;
    }

    /// <summary>True when a batch of <paramref name="batchBytes"/> must start a fresh file (0 = no cap).</summary>
    public static bool ShouldRotate(long fileBytes, long batchBytes, long maxBytes) =>
        maxBytes > 0 && fileBytes > 0 && fileBytes + batchBytes > maxBytes;

    /// <summary>
    /// The renames that rotate <paramref name="path"/> keeping <paramref name="keep"/> old files, in order:
    /// (from, null) deletes from; (from, to) moves it. The path itself is free afterwards.
    /// </summary>
    public static IReadOnlyList<(string From, string? To)> RotationSteps(string path, int keep)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        if (keep == 0)
        {
            return [(path, null)];
        }

        var steps = new List<(string, string?)> { (Old(path, keep), null) };
        for (var i = keep - 1; i >= 1; i--)
        {
            steps.Add((Old(path, i), Old(path, i + 1)));
        }

        steps.Add((path, Old(path, 1)));
        return steps;
    }

    private static string Old(string path, int n) => path + "." + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
