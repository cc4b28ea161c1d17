// `alex sim --pty` as a library: the simulated Alex served on a fresh pseudo-terminal, optionally
// reachable through a stable symlink, until disposed. Used by the CLI, in-process tests and the
// serial benchmark.
using Alex.Robot.Simulation;

namespace Alex.Robot.Pty;

/// <summary>A simulated Alex on a pseudo-terminal.</summary>
public sealed class PtySimulator : PtyDevice
{
    private PtySimulator(PseudoTerminalStream pty, SimulatedAlex alex, SimulatorPump pump, string? linkPath)
        : base(pty, pump.RunAsync, linkPath)
    {
        Alex = alex;
        Pump = pump;
    }

    public SimulatedAlex Alex { get; }

    public SimulatorPump Pump { get; }

    /// <summary>
    /// Opens a pty and serves the simulator on it. <paramref name="log"/> gets one line per frame
    /// seen and per client opening or closing the port.
    /// </summary>
    /// <exception cref="IOException">The pty cannot be made, or <paramref name="linkPath"/> exists and is not a symlink.</exception>
    public static PtySimulator Start(SimulatorSettings settings, SerialLinePacing? pacing, string? linkPath, TimeProvider time, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        return Open(linkPath, pty =>
        {
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
        });
    }
}
