// `alex sim --lidar-pty` as a library: the simulated RPLidar served on a fresh pseudo-terminal that the
// real driver opens as its serial port (alex serve --lidar PATH), optionally behind a stable symlink.
// A pty carries no modem lines, so the driver's DTR (motor) setting does not reach it: the simulated
// motor always turns.
using Alex.Robot.Simulation.Lidar;

namespace Alex.Robot.Pty;

/// <summary>A simulated lidar on a pseudo-terminal.</summary>
public sealed class LidarPtySimulator : IAsyncDisposable
{
    private readonly PseudoTerminalStream _pty;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private LidarPtySimulator(PseudoTerminalStream pty, SimulatedLidar lidar, LidarSimulatorPump pump, string? linkPath)
    {
        _pty = pty;
        Lidar = lidar;
        Pump = pump;
        LinkPath = linkPath;
        _run = Task.Run(() => pump.RunAsync(_stop.Token));
    }

    public string DevicePath => _pty.DevicePath;

    public string? LinkPath { get; }

    public SimulatedLidar Lidar { get; }

    public LidarSimulatorPump Pump { get; }

    public Task Completion => _run;

    /// <exception cref="IOException">The pty cannot be made, or <paramref name="linkPath"/> exists and is not a symlink.</exception>
    public static LidarPtySimulator Start(SimulatedLidar lidar, string? linkPath, TimeProvider time, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(lidar);
        ArgumentNullException.ThrowIfNull(time);
        var pty = PseudoTerminalStream.Open();
        try
        {
            if (linkPath is not null)
            {
                PtySimulator.ReplaceSymlink(linkPath, pty.DevicePath);
            }

            var pump = new LidarSimulatorPump(lidar, pty, time);
            pty.ClientOpened += () => log?.Invoke("lidar: a client is sending");
            // Unplugged: the device loses power and stops scanning.
            pty.ClientClosed += () =>
            {
                lidar.Receive(Protocol.Lidar.LidarRequest.Encode(Protocol.Lidar.LidarCommand.Stop));
                log?.Invoke("lidar: no client has the port open");
            };
            return new LidarPtySimulator(pty, lidar, pump, linkPath);
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
            if (LinkPath is not null && new FileInfo(LinkPath).LinkTarget == DevicePath)
            {
                File.Delete(LinkPath);
            }

            _stop.Dispose();
        }
    }
}
