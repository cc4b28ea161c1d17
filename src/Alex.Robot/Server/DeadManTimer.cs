// When the dead-man asks the lease (docs/BENCHMARKS.md "serve-deadman"): a timer on the
// injected TimeProvider armed for the deadline the lease reports (DriverLease.NextCheckAt), so a silent
// driver is stopped at the end of its window, not up to a polling period later. The lease stays the
// only judge; this class only decides when to ask it. After each check, and after anything that may
// move the deadline earlier (a lease taken), the timer is re-armed to the lease's next deadline.
// A heartbeat only moves the deadline later: the timer then fires early, the lease says "nothing", and
// the timer is re-armed.
using Alex.Protocol.Safety;

namespace Alex.Robot.Server;

/// <summary>Asks the lease at its deadline and hands the decision (and who held the lease) to the hub.</summary>
internal sealed class DeadManTimer : IDisposable
{
    // Never re-arm for less than this: a clock that steps back must not turn the timer into a busy loop.
    private static readonly TimeSpan s_minimumDue = TimeSpan.FromMilliseconds(1);

    private readonly DriverLease _lease;
    private readonly TimeProvider _time;
    private readonly Action<LeaseClient?, LeaseDecision> _act;
    private readonly Lock _arming = new();
    private readonly ITimer _timer;
    private bool _disposed;

    public DeadManTimer(DriverLease lease, TimeProvider time, Action<LeaseClient?, LeaseDecision> act)
    {
        _lease = lease;
        _time = time;
        _act = act;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Rearm();
    }

    /// <summary>When the timer is due next (with nobody to watch, an idle re-check one window ahead), for tests and diagnostics.</summary>
    public DateTimeOffset DueAt { get; private set; }

    /// <summary>
    /// Arms the timer for the lease's next deadline. Call after the lease may have gained an earlier
    /// deadline (a lease taken). Serialized, and the deadline is read inside the lock, so the last
    /// Change() made always comes from the newest lease state.
    /// </summary>
    public void Rearm()
    {
        lock (_arming)
        {
            if (_disposed)
            {
                return;
            }

            var next = _lease.NextCheckAt;
            if (next is null)
            {
                // Nobody to watch: sleep until a lease is taken (Rearm is called then). Re-checking once
                // a window anyway costs nothing and covers a caller that forgot to re-arm.
                var idle = _lease.Window;
                DueAt = _time.GetUtcNow() + idle;
                _timer.Change(idle, Timeout.InfiniteTimeSpan);
                return;
            }

            var due = next.Value - _time.GetUtcNow();
            if (due < s_minimumDue)
            {
                due = s_minimumDue;
            }

            DueAt = next.Value;
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        lock (_arming)
        {
            _disposed = true;
            _timer.Dispose();
        }
    }

    private void Fire()
    {
        lock (_arming)
        {
            if (_disposed)
            {
                return;
            }
        }

        // The holder as it was before the lease judged (an expired lease has none afterwards).
        var holder = _lease.Holder;
        _act(holder, _lease.Evaluate());
        Rearm();
    }
}
