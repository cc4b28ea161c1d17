// The server's lidar, if it has one: `alex serve --lidar PATH` drives a real RPLidar on a serial port;
// `alex serve --simulate` drives the simulated one in this process, looking at the simulated Alex's
// world, through the same driver (LidarLink) over an in-memory line. Every revolution goes to the
// hub, which pushes it to the clients subscribed to Lidar.
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Robot.Lidar;

/// <summary>What lidar a server runs: none, a serial port, or the simulated one (with a world).</summary>
public sealed record LidarSpec(string? Path, int Baud = LidarLink.DefaultBaud, bool Simulate = false, LidarWorld? World = null)
{
    public static LidarSpec None { get; } = new(Path: null);

    public bool Any => Path is not null || Simulate;
}

/// <summary>Runs a lidar and publishes its revolutions to a hub until disposed.</summary>
public sealed class LidarHost : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly Func<ValueTask> _cleanup;

    private LidarHost(LidarLink link, SimulatedLidar? simulated, Func<ValueTask> cleanup)
    {
        Link = link;
        Simulated = simulated;
        _cleanup = cleanup;
        _run = Task.Run(() => link.RunAsync(_stop.Token));
    }

    public LidarLink Link { get; }

    /// <summary>The simulated device, when there is one.</summary>
    public SimulatedLidar? Simulated { get; }

    /// <summary>Starts the lidar <paramref name="spec"/> asks for; null when it asks for none.</summary>
    /// <param name="alex">The simulated Alex the simulated lidar rides on (its pose moves the rays); null: a lidar standing at the world's start.</param>
    public static LidarHost? Start(LidarSpec spec, RobotHub hub, SimulatedAlex? alex, TimeProvider time, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        LidarHost host;
        if (spec.Path is not null)
        {
            host = new LidarHost(new LidarLink(spec.Path, spec.Baud, time, log), null, () => ValueTask.CompletedTask);
        }
        else if (spec.Simulate)
        {
            var world = spec.World ?? LidarWorld.DefaultArena;
            var body = alex is null ? SimulatedBody.Fixed(world.Start) : new SimulatedBody(() => alex.Counters, alex.Settings, world.Start);
            var lidar = new SimulatedLidar(world, body, new LidarSimSettings(), time);
            var cable = new SimulatedCable(lidar, time);
            host = new LidarHost(new LidarLink(cable.Plug, "simulated lidar", time, log), lidar, cable.DisposeAsync);
        }
        else
        {
            return null;
        }

        host.Link.Scanned += hub.PublishScan;
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _cleanup().ConfigureAwait(false);
        _stop.Dispose();
    }

    // The simulated lidar's USB cable: each open is a fresh in-memory line with the device's pump on the far end
    // (the driver disposes the stream it had when it reopens).
    private sealed class SimulatedCable(SimulatedLidar lidar, TimeProvider time) : IAsyncDisposable
    {
        private CancellationTokenSource? _pumpStop;
        private Task _pumping = Task.CompletedTask;

        public Stream Plug()
        {
            _pumpStop?.Cancel();
            _pumpStop?.Dispose();
            var line = new InMemorySerialLine();
            _pumpStop = new CancellationTokenSource();
            var pump = new LidarSimulatorPump(lidar, line.ArduinoEnd, time);
            _pumping = Task.Run(() => pump.RunAsync(_pumpStop.Token));
            return line.PiEnd;
        }

        public async ValueTask DisposeAsync()
        {
            if (_pumpStop is not null)
            {
                await _pumpStop.CancelAsync().ConfigureAwait(false);
                await _pumping.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                _pumpStop.Dispose();
            }
        }
    }
}
