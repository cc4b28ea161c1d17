// Ctrl-C, SIGTERM and SIGHUP as a cancellation, so `alex demo` and `alex drive` can take down what they
// started (server, pty, temp dir) and give the terminal back, instead of the runtime ending the process
// on the spot. A second Ctrl-C while that is under way is not intercepted: if cleaning up ever hangs,
// pressing Ctrl-C again still ends the process.
using System.Runtime.InteropServices;

namespace Alex.Cli.Drive;

internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _interrupts;

    private TerminationSignals(CancellationToken outer)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }
    }

    /// <summary>Cancelled by the first termination signal (or by <c>outer</c>).</summary>
    public CancellationToken Token => _cancel.Token;

    public static TerminationSignals Watch(CancellationToken outer) => new(outer);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Only a repeated Ctrl-C is let through: SIGHUP and SIGTERM often come in pairs (a closing
        // terminal, then the shell passing the hang-up on) and must not cut the cleanup short.
        if (context.Signal == PosixSignal.SIGINT && Interlocked.Increment(ref _interrupts) > 1)
        {
            return;
        }

        context.Cancel = true;
        _cancel.Cancel();
    }
}
