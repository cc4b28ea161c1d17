// `alex sim --pty` as a library: the simulated Alex served on a fresh pseudo-terminal, optionally
// reachable through a stable symlink, until disposed. Used by the CLI, in-process tests and the
// serial benchmark.
using Alex.Robot.Simulation;

namespace Alex.Robot.Pty;

/// <summary>A simulated Alex on a pseudo-terminal.</summary>
public sealed class PtySimulator : IAsyncDisposable
{
    private readonly PseudoTerminalStream _pty;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private PtySimulator(PseudoTerminalStream pty, SimulatedAlex alex, SimulatorPump pump, string? linkPath)
    {
        _pty = pty;
        Alex = alex;
        Pump = pump;
        LinkPath = linkPath;
        _run = Task.Run(() => pump.RunAsync(_stop.Token));
    }

    /// <summary>The pty's device path, e.g. /dev/pts/4.</summary>
    public string DevicePath => _pty.DevicePath;

    /// <summary>The symlink made to <see cref="DevicePath"/>, if one was asked for.</summary>
    public string? LinkPath { get; }

    public SimulatedAlex Alex { get; }

    public SimulatorPump Pump { get; }

    /// <summary>Completes when serving stops (after dispose, or if the pty fails).</summary>
    public Task Completion => _run;

    /// <summary>
    /// Opens a pty and serves the simulator on it. <paramref name="log"/> gets one line per frame
    /// seen and per client opening or closing the port.
    /// </summary>
    /// <exception cref="IOException">The pty cannot be made, or <paramref name="linkPath"/> exists and is not a symlink.</exception>
    public static PtySimulator Start(SimulatorSettings settings, SerialLinePacing? pacing, string? linkPath, TimeProvider time, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        var pty = PseudoTerminalStream.Open();
        try
        {
            if (linkPath is not null)
            {
                ReplaceSymlink(linkPath, pty.DevicePath);
            }

            var alex = new SimulatedAlex(settings, time);
            var pump = new SimulatorPump(alex, pty, pacing, time);
            if (log is not null)
            {
                pump.Exchanged += e => log(e.ToString());
                pty.ClientOpened += () => log("a client is sending");
            }

            // A client that closes mid-frame must not leave half a frame for the next one.
            pty.ClientClosed += () =>
            {
                alex.ResetReceiver();
                log?.Invoke("no client has the port open");
            };
            return new PtySimulator(pty, alex, pump, linkPath);
        }
        catch
        {
            pty.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopped as asked
        }
        finally
        {
            await _pty.DisposeAsync().ConfigureAwait(false);
            RemoveSymlink();
            _stop.Dispose();
        }
    }

    private void RemoveSymlink()
    {
        // Only our own link: another sim may have taken the name meanwhile.
        if (LinkPath is not null && new FileInfo(LinkPath).LinkTarget == DevicePath)
        {
            File.Delete(LinkPath);
        }
    }

    internal static void ReplaceSymlink(string linkPath, string target)
    {
        var existing = new FileInfo(linkPath);
        if (existing.LinkTarget is not null)
        {
            existing.Delete(); // a stale link from an earlier run
        }
        else if (existing.Exists || Directory.Exists(linkPath))
        {
            throw new IOException($"{linkPath} exists and is not a symlink; refusing to replace it");
        }

        File.CreateSymbolicLink(linkPath, target);
    }
}
