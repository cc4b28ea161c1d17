// The hub's view of the Arduino (IRobotLink) over ArduinoLink: a real serial port, a pty, or the
// in-process simulated Alex on an in-memory line. Either way the same ArduinoLink code runs: one
// request in flight, STOP urgent, telemetry polls in the background queue (never ahead of a command).
using System.Runtime.CompilerServices;
using Alex.Protocol;
using Alex.Protocol.Serial;
using Alex.Robot.Serial;
using Alex.Robot.Simulation;

namespace Alex.Robot.Server;

/// <summary>Where `alex serve` finds its Arduino.</summary>
public sealed record RobotLinkSpec(string? SerialPath, int Baud, bool Simulate);

/// <summary>IRobotLink over an <see cref="ArduinoLink"/>.</summary>
public sealed class ArduinoRobotLink : IRobotLink, IAsyncDisposable
{
    private static readonly Task<RobotReply> s_ok = Task.FromResult(RobotReply.Ok);

    private readonly ArduinoLink _link;
    private readonly Lock _gate = new();
    private bool _up;
    private string _lastProblem = "not connected yet";
    private long _timeouts;
    private long _arduinoErrors;
    private long _losses;

    public ArduinoRobotLink(ArduinoLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        _link = link;
        _up = link.State is ArduinoLinkState.Ready or ArduinoLinkState.Opening;
        _link.StateChanged += OnStateChanged;
        _link.Unsolicited += OnUnsolicited;
    }

    public event Action<SerialPacket>? Unsolicited;

    public event Action<bool, string>? StateChanged;

    public ArduinoLink Link => _link;

    public string Detail => IsUp ? _link.Name : LastProblem();

    public IReadOnlyList<KeyValuePair<string, long>> Counters =>
    [
        new("replies timed out", Interlocked.Read(ref _timeouts)),
        new("Arduino errors", Interlocked.Read(ref _arduinoErrors)),
        new("link lost", Interlocked.Read(ref _losses)),
    ];

    public bool IsUp
    {
        get
        {
            lock (_gate)
            {
                return _up;
            }
        }
    }

    /// <summary>Opens the link `alex serve` was asked for: a serial port by path, or the simulated Alex.</summary>
    public static async Task<IRobotLinkOwner> OpenAsync(RobotLinkSpec spec, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Simulate)
        {
            return await SimulatedRobot.StartAsync(new SimulatorSettings(), new SerialLinePacing(spec.Baud), time, cancellationToken).ConfigureAwait(false);
        }

        var link = ArduinoLink.ForSerialPort(spec.SerialPath!, new ArduinoLinkOptions { BaudRate = spec.Baud }, time);
        var robot = new ArduinoRobotLink(link);
        link.Start();
        return new SerialRobot(robot);
    }

    public Task<RobotReply> ExecuteAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        var priority = command.IsStop ? ArduinoLinkPriority.Urgent : ArduinoLinkPriority.Normal;
        var sending = _link.SendAsync(command.ToPacket(), priority, cancellationToken);

        // Answered already (the simulator, on the caller's thread): a plain OK needs no task of its own.
        if (sending.IsCompletedSuccessfully && sending.Result.Kind == ArduinoReplyKind.Ok)
        {
            return s_ok;
        }

        return MapAsync(sending);
    }

    private async Task<RobotReply> MapAsync(Task<ArduinoReply> sending) => Map(await sending.ConfigureAwait(false));

    public async Task<RobotReply> PollStatsAsync(CancellationToken cancellationToken) =>
        Map(await _link.SendAsync(DriveCommand.GetStats.ToPacket(), ArduinoLinkPriority.Background, cancellationToken).ConfigureAwait(false));

    public async ValueTask DisposeAsync()
    {
        _link.StateChanged -= OnStateChanged;
        _link.Unsolicited -= OnUnsolicited;
        await _link.DisposeAsync().ConfigureAwait(false);
    }

    private RobotReply Map(ArduinoReply reply)
    {
        if (reply.Kind is ArduinoReplyKind.TimedOut)
        {
            Interlocked.Increment(ref _timeouts);
        }
        else if (reply.Kind is ArduinoReplyKind.Error)
        {
            Interlocked.Increment(ref _arduinoErrors);
        }

        return MapKind(reply);
    }

    private RobotReply MapKind(ArduinoReply reply) => reply.Kind switch
    {
        ArduinoReplyKind.Ok => RobotReply.Ok,
        ArduinoReplyKind.Status => new RobotReply(RobotReplyKind.Ok, Status: reply.Status),
        ArduinoReplyKind.Error => new RobotReply(RobotReplyKind.ArduinoError, (byte)reply.Code),
        // A RESPONSE with a code students added: not OK, so the client hears the code.
        ArduinoReplyKind.Response => new RobotReply(RobotReplyKind.ArduinoError, (byte)reply.Code),
        ArduinoReplyKind.TimedOut => new RobotReply(RobotReplyKind.Timeout, Detail: $"no reply from {_link.Name}"),
        ArduinoReplyKind.Superseded => new RobotReply(RobotReplyKind.Stopped),
        _ => new RobotReply(RobotReplyKind.LinkDown, Detail: LastProblem()),
    };

    private string LastProblem()
    {
        lock (_gate)
        {
            return _lastProblem;
        }
    }

    private void OnStateChanged(ArduinoLinkState state, string? reason)
    {
        bool? changed = null;
        string detail;
        lock (_gate)
        {
            var up = state is ArduinoLinkState.Ready;
            var down = state is ArduinoLinkState.Lost or ArduinoLinkState.Closed;
            detail = reason is null ? $"{_link.Name}: {state.ToString().ToLowerInvariant()}" : $"{_link.Name}: {reason}";
            if (down)
            {
                _lastProblem = detail;
            }

            if (down && _up)
            {
                Interlocked.Increment(ref _losses);
            }

            if ((up && !_up) || (down && _up))
            {
                _up = up;
                changed = up;
            }
        }

        if (changed is { } nowUp)
        {
            StateChanged?.Invoke(nowUp, detail);
        }
    }

    private void OnUnsolicited(SerialPacket packet) => Unsolicited?.Invoke(packet);
}

/// <summary>A link with the things it owns (a port, or a simulator and its line); dispose to close them.</summary>
public interface IRobotLinkOwner : IAsyncDisposable
{
    IRobotLink Link { get; }
}

internal sealed class SerialRobot(ArduinoRobotLink link) : IRobotLinkOwner
{
    public IRobotLink Link => link;

    public ValueTask DisposeAsync() => link.DisposeAsync();
}

/// <summary>
/// The simulated Alex in this process on an in-memory serial line, reached through ArduinoLink exactly
/// as a real one would be (`alex serve --simulate`, the end-to-end tests, the benchmark).
/// </summary>
public sealed class SimulatedRobot : IRobotLinkOwner
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pumping;
    private readonly ArduinoRobotLink _link;
    private readonly StrongBox<bool> _unplugged;

    private SimulatedRobot(InMemorySerialLine line, SimulatedAlex alex, SimulatorPump pump, ArduinoRobotLink link, StrongBox<bool> unplugged)
    {
        _unplugged = unplugged;
        Line = line;
        Alex = alex;
        Pump = pump;
        _link = link;
        _pumping = pump.RunAsync(_stop.Token);
    }

    public InMemorySerialLine Line { get; }

    public SimulatedAlex Alex { get; }

    public SimulatorPump Pump { get; }

    public IRobotLink Link => _link;

    public ArduinoLink ArduinoLink => _link.Link;

    /// <summary>Starts the simulator and the link and waits until the link is ready for commands.</summary>
    public static async Task<SimulatedRobot> StartAsync(SimulatorSettings settings, SerialLinePacing? pacing, TimeProvider time, CancellationToken cancellationToken)
    {
        var line = new InMemorySerialLine();
        var alex = new SimulatedAlex(settings, time);
        var pump = new SimulatorPump(alex, line.ArduinoEnd, pacing, time);
        var unplugged = new StrongBox<bool>();
        var arduinoLink = new ArduinoLink(
            _ => !Volatile.Read(ref unplugged.Value)
                ? ValueTask.FromResult(line.PiEnd)
                : ValueTask.FromException<Stream>(new IOException("the simulated serial cable is unplugged")),
            new ArduinoLinkOptions { BaudRate = pacing?.BaudRate ?? 115200, ResetDelay = TimeSpan.Zero },
            time,
            "simulated Alex");
        var robot = new SimulatedRobot(line, alex, pump, new ArduinoRobotLink(arduinoLink), unplugged);
        arduinoLink.Start();
        await arduinoLink.WaitForStateAsync(ArduinoLinkState.Ready, cancellationToken).ConfigureAwait(false);
        return robot;
    }

    /// <summary>Pulls the cable: the link is lost and cannot reopen (tests of a vanished port).</summary>
    public void Unplug()
    {
        Volatile.Write(ref _unplugged.Value, true);
        Line.Sever();
    }

    public async ValueTask DisposeAsync()
    {
        await _link.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        Line.Sever();
        await _pumping.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
