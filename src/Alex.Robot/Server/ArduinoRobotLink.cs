// The hub's view of the Arduino (IRobotLink) over ArduinoLink: a real serial port, a pty, or the
// in-process simulated Alex on an in-memory line. Either way the same ArduinoLink code runs: one
// request in flight, STOP urgent, telemetry polls in the background queue (never ahead of a command).
using System.Runtime.CompilerServices;
using Alex.Protocol;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;
using Alex.Robot.Serial;
using Alex.Robot.Simulation;

namespace Alex.Robot.Server;

/// <summary>Where `alex serve` finds its Arduino.</summary>
public sealed record RobotLinkSpec(string? SerialPath, int Baud, bool Simulate, TeamExtensions? Extensions = null);

/// <summary>IRobotLink over an <see cref="ArduinoLink"/>.</summary>
public sealed class ArduinoRobotLink : IRobotLink, IAsyncDisposable
{
    private readonly ArduinoLink _link;
    private readonly Lock _gate = new();
    private bool? _up; // null until the first open succeeds or fails: that first outcome is always reported
    private string? _problem;

    public ArduinoRobotLink(ArduinoLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        _link = link;
        _up = link.State is ArduinoLinkState.Ready ? true : null;
        _link.StateChanged += OnStateChanged;
        _link.Unsolicited += OnUnsolicited;
        _link.Diagnostic += OnDiagnostic;
    }

    public event Action<SerialPacket>? Unsolicited;

    public event Action<bool, string>? StateChanged;

    public event Action<string, string>? Diagnostic;

    public ArduinoLink Link => _link;

    public string Detail => IsUp ? _link.Name : Problem ?? "not connected yet";

    public IReadOnlyList<KeyValuePair<string, long>> Counters
    {
        get
        {
            var c = _link.Counts;
            return
            [
                new("replies timed out", c.Timeouts),
                new("late replies dropped", c.LateReplies),
                new("noise runs", c.NoiseRuns),
                new("bad checksums", c.BadChecksums),
                new("link lost", c.Losses),
            ];
        }
    }

    /// <summary>True once the port is open and past HELLO; a port missing at start, or held by another program, is down.</summary>
    public bool IsUp
    {
        get
        {
            lock (_gate)
            {
                return _up == true;
            }
        }
    }

    /// <summary>Why the link is down (e.g. "cannot open /dev/ttyACM0: no such port"), or null while it is up or not tried yet.</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _up == true ? null : _problem;
            }
        }
    }

    public long StopEpoch => _link.StopEpoch;

    public SerialLineCounts Counts => _link.Counts;

    /// <summary>
    /// Opens the link `alex serve` was asked for: a serial port by path, or the simulated Alex. A serial port that cannot be
    /// opened yet (missing, held by another program) is not an error: the link keeps retrying and reports itself down.
    /// </summary>
    public static async Task<IRobotLinkOwner> OpenAsync(RobotLinkSpec spec, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Simulate)
        {
            var settings = new SimulatorSettings { Extensions = spec.Extensions ?? TeamExtensions.None };
            return await SimulatedRobot.StartAsync(settings, new SerialLinePacing(spec.Baud), time, cancellationToken).ConfigureAwait(false);
        }

        var link = ArduinoLink.ForSerialPort(spec.SerialPath!, new ArduinoLinkOptions { BaudRate = spec.Baud, Extensions = spec.Extensions ?? TeamExtensions.None }, time);
        var robot = new ArduinoRobotLink(link);
        link.Start();
        return new SerialRobot(robot);
    }

    public Task<RobotReply> ExecuteAsync(DriveCommand command, CancellationToken cancellationToken) =>
        _link.SendAsync(command.ToPacket(), SerialOrigin.Client, null, cancellationToken);

    public Task<RobotReply> ExecuteAsync(DriveCommand command, long stopEpoch, CancellationToken cancellationToken) =>
        _link.SendAsync(command.ToPacket(), SerialOrigin.Client, stopEpoch, cancellationToken);

    public Task<RobotReply> PollStatsAsync(CancellationToken cancellationToken) =>
        _link.SendAsync(DriveCommand.GetStats.ToPacket(), SerialOrigin.Poll, null, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _link.StateChanged -= OnStateChanged;
        _link.Unsolicited -= OnUnsolicited;
        _link.Diagnostic -= OnDiagnostic;
        await _link.DisposeAsync().ConfigureAwait(false);
    }

    private void OnStateChanged(ArduinoLinkState state, string? reason)
    {
        bool? changed = null;
        string detail;
        lock (_gate)
        {
            var up = state is ArduinoLinkState.Ready;
            var down = state is ArduinoLinkState.Lost or ArduinoLinkState.Reopening or ArduinoLinkState.Closed;
            detail = reason is null ? $"{_link.Name}: {state.ToString().ToLowerInvariant()}" : reason.Contains(_link.Name, StringComparison.Ordinal) ? reason : $"{_link.Name}: {reason}";
            if (down)
            {
                _problem = detail;
            }

            if ((up && _up != true) || (down && _up != false))
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

    private void OnDiagnostic(SerialNoteKind kind, string text) => Diagnostic?.Invoke(NoteName(kind), text);

    private static string NoteName(SerialNoteKind kind) => kind switch
    {
        SerialNoteKind.BadChecksum => "bad-checksum",
        SerialNoteKind.LateReply => "late-reply",
        SerialNoteKind.StopAfterTimeout => "stop-after-timeout",
        _ => kind.ToString().ToLowerInvariant(),
    };
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

    /// <summary>
    /// Starts the simulator and the link and waits until the link is ready for commands. <paramref name="replyTimeout"/>
    /// replaces the link's usual wait for a reply (a test that holds a reply back on purpose).
    /// </summary>
    public static async Task<SimulatedRobot> StartAsync(
        SimulatorSettings settings, SerialLinePacing? pacing, TimeProvider time, CancellationToken cancellationToken, TimeSpan? replyTimeout = null)
    {
        var linkOptions = new ArduinoLinkOptions { BaudRate = pacing?.BaudRate ?? 115200, ResetDelay = TimeSpan.Zero, Extensions = settings.Extensions };
        var line = new InMemorySerialLine();
        var alex = new SimulatedAlex(settings, time);
        var pump = new SimulatorPump(alex, line.ArduinoEnd, pacing, time);
        var unplugged = new StrongBox<bool>();
        var arduinoLink = new ArduinoLink(
            _ => !Volatile.Read(ref unplugged.Value)
                ? ValueTask.FromResult(line.PiEnd)
                : ValueTask.FromException<Stream>(new IOException("the simulated serial cable is unplugged")),
            replyTimeout is { } wait ? linkOptions with { ReplyTimeout = wait } : linkOptions,
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
