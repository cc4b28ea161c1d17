// Refused connections as audit records (docs/security.md "Audit log"): nobody authenticated them, so they must not
// be able to write the log full. Per source (HandshakeAdmission.SourceOf) the first refusal of a window is written
// in full (who, what certificate, why); later ones in the same window are only counted, and when the window ends
// one summary per source says how many and why. One source thus writes at most two records per window however fast
// it reconnects; at most MaxSources sources are told apart per window, the rest are counted together as "other".
// Pure: the server passes the time in and arms its own timer for FlushDueAt; not thread-safe (the server locks).
using System.Text;

namespace Alex.Protocol.Admission;

/// <summary>Why a connection was refused, as counted in a summary.</summary>
public enum RefusalKind
{
    /// <summary>Too many handshakes (from this source, or in all).</summary>
    Busy,

    /// <summary>The handshake did not finish by its deadline.</summary>
    Timeout,

    /// <summary>No client certificate.</summary>
    NoCertificate,

    /// <summary>A certificate that does not chain to our CA.</summary>
    UntrustedCertificate,

    /// <summary>The TLS handshake failed otherwise.</summary>
    HandshakeFailed,

    /// <summary>A certificate from our CA that the trust policy refused (revoked, not allowed, expired...).</summary>
    Policy,

    /// <summary>The server was shutting down.</summary>
    ShuttingDown,
}

/// <summary>Refusals from one source in one window that were counted, not written one by one.</summary>
public sealed record RefusalSummary(string Source, DateTimeOffset From, DateTimeOffset To, long Count, string Reasons);

/// <summary>Decides which refusals are written in full and which are summed up per source per window.</summary>
public sealed class RefusalTally
{
    /// <summary>The source name under which refusals beyond MaxSources distinct sources are counted.</summary>
    public const string Other = "other";

    private static readonly RefusalKind[] s_kinds = Enum.GetValues<RefusalKind>();

    private readonly TimeSpan _window;
    private readonly int _maxSources;
    private readonly Dictionary<string, long[]> _suppressed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private DateTimeOffset? _windowStart;

    public RefusalTally(TimeSpan window, int maxSources = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSources, 1);
        _window = window;
        _maxSources = maxSources;
    }

    /// <summary>When the current window ends and its summaries are due (null: nothing counted).</summary>
    public DateTimeOffset? FlushDueAt => _windowStart + _window;

    /// <summary>
    /// Notes a refusal. True: write this one in full (the first from its source in this window). False: it was counted.
    /// A window already due is NOT flushed here: call <see cref="Flush"/> first when <see cref="FlushDueAt"/> has passed.
    /// </summary>
    public bool Refused(DateTimeOffset now, string source, RefusalKind kind)
    {
        ArgumentNullException.ThrowIfNull(source);
        _windowStart ??= now;
        if (_seen.Count < _maxSources && _seen.Add(source))
        {
            return true;
        }

        var key = _seen.Contains(source) ? source : Other;
        if (!_suppressed.TryGetValue(key, out var counts))
        {
            counts = new long[s_kinds.Length];
            _suppressed[key] = counts;
        }

        counts[(int)kind]++;
        return false;
    }

    /// <summary>
    /// Ends the window if it is due: one summary per source that had refusals counted, and a fresh window. Before the
    /// due time (or with nothing counted) returns nothing and changes nothing.
    /// </summary>
    public IReadOnlyList<RefusalSummary> Flush(DateTimeOffset now)
    {
        if (_windowStart is not { } start || now < start + _window)
        {
            return [];
        }

        var summaries = new List<RefusalSummary>(_suppressed.Count);
        foreach (var (source, counts) in _suppressed)
        {
            var total = 0L;
            var reasons = new StringBuilder();
            foreach (var kind in s_kinds)
            {
                var n = counts[(int)kind];
                if (n == 0)
                {
                    continue;
                }

                total += n;
                reasons.Append(reasons.Length == 0 ? "" : ", ").Append(Name(kind)).Append(' ').Append(n);
            }

            summaries.Add(new RefusalSummary(source, start, now, total, reasons.ToString()));
        }

        summaries.Sort((a, b) => string.CompareOrdinal(a.Source, b.Source));
        _suppressed.Clear();
        _seen.Clear();
        _windowStart = null;
        return summaries;
    }

    /// <summary>The name of a kind in summaries and docs.</summary>
    public static string Name(RefusalKind kind) => kind switch
    {
        RefusalKind.Busy => "busy",
        RefusalKind.Timeout => "timeout",
        RefusalKind.NoCertificate => "no-certificate",
        RefusalKind.UntrustedCertificate => "untrusted-certificate",
        RefusalKind.HandshakeFailed => "handshake-failed",
        RefusalKind.Policy => "policy",
        RefusalKind.ShuttingDown => "shutting-down",
        _ => kind.ToString(),
    };
}
