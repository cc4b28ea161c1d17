// `alex sim --lidar-pty` as a library: the simulated RPLidar served on a fresh pseudo-terminal that the
// real driver opens as its serial port (alex serve --lidar PATH), optionally behind a stable symlink.
// A pty carries no modem lines, so the driver's DTR (motor) setting does not reach it: the simulated
// motor always turns.
using Alex.Protocol.Lidar;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Robot.Pty;

/// <summary>A simulated lidar on a pseudo-terminal.</summary>
public sealed class LidarPtySimulator : PtyDevice
{
    private LidarPtySimulator(PseudoTerminalStream pty, SimulatedLidar lidar, LidarSimulatorPump pump, string? linkPath)
        : base(pty, pump.RunAsync, linkPath)
    {
        Lidar = lidar;
        Pump = pump;
    }

    public SimulatedLidar Lidar { get; }

    public LidarSimulatorPump Pump { get; }

    /// <exception cref="IOException">The pty cannot be made, or <paramref name="linkPath"/> exists and is not a symlink.</exception>
    public static LidarPtySimulator Start(SimulatedLidar lidar, string? linkPath, TimeProvider time, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(lidar);
        ArgumentNullException.ThrowIfNull(time);
        return Open(linkPath, pty =>
        {
            var pump = new LidarSimulatorPump(lidar, pty, time);
            pty.ClientOpened += () => log?.Invoke("lidar: a client is sending");
            // Unplugged: the device loses power and stops scanning.
            pty.ClientClosed += () =>
            {
                lidar.Receive(LidarRequest.Encode(LidarCommand.Stop));
                log?.Invoke("lidar: no client has the port open");
            };
            return new LidarPtySimulator(pty, lidar, pump, linkPath);
        });
    }
}
