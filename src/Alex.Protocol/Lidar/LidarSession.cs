// The driver's decisions for one RPLidar (docs/lidar.md §8), as a pure state machine on an injected
// TimeProvider: the I/O loop reports what it read and when the deadline passed, and does what the
// session returns (write a request, switch the motor, publish a revolution, reopen the port).
//
//   opened ──► STOP, GET_HEALTH ──health good/warning──► GET_INFO ──info──► motor on, SCAN ──► nodes…
//                     │ health error: RESET, wait, GET_HEALTH again          │ no node for NodeTimeout:
//                     │ no answer within AnswerTimeout: ask again;           │ STOP, GET_HEALTH (restart)
//                     │ AnswerAttempts without an answer: reopen the port    │
//   shutdown: STOP, motor off.
//
// Reopening backs off 0.5 s, doubling to 5 s, and starts again at 0.5 s once a revolution arrives.
namespace Alex.Protocol.Lidar;

public enum LidarActionKind
{
    Write,
    Motor,
    Revolution,
    Reopen,
    Log,
}

/// <summary>One thing the I/O loop must do, in order.</summary>
public readonly record struct LidarAction(LidarActionKind Kind, byte[]? Bytes = null, bool MotorOn = false, LidarRevolution? Revolution = null, string? Text = null)
{
    public static LidarAction Write(LidarCommand command) => new(LidarActionKind.Write, LidarRequest.Encode(command));

    public static LidarAction Motor(bool on) => new(LidarActionKind.Motor, MotorOn: on);

    public static LidarAction Log(string text) => new(LidarActionKind.Log, Text: text);

    public override string ToString() => Kind switch
    {
        LidarActionKind.Write => $"write {Convert.ToHexString(Bytes!)}",
        LidarActionKind.Motor => MotorOn ? "motor on" : "motor off",
        LidarActionKind.Revolution => $"revolution ({Revolution!.Nodes.Count} nodes)",
        LidarActionKind.Reopen => "reopen",
        _ => $"log {Text}",
    };
}

public enum LidarState
{
    Closed,
    AwaitingHealth,
    Resetting,
    AwaitingInfo,
    Scanning,
}

/// <summary>What the driver has seen so far; every error counted.</summary>
public sealed record LidarCounters
{
    public long Nodes { get; set; }

    public long Revolutions { get; set; }

    public long NoiseBytes { get; set; }

    public long DroppedNodes { get; set; }

    public long Timeouts { get; set; }

    public long Reopens { get; set; }

    public long Resets { get; set; }

    public override string ToString() =>
        $"{Revolutions} revolutions, {Nodes} nodes, {NoiseBytes} noise bytes, {DroppedNodes} dropped nodes, {Timeouts} timeouts, {Reopens} reopens, {Resets} resets";
}

public sealed record LidarSessionOptions
{
    /// <summary>How long a GET_HEALTH or GET_INFO may take (the device answers in milliseconds).</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Unanswered requests in a row before the port is reopened.</summary>
    public int AnswerAttempts { get; init; } = 3;

    /// <summary>Scanning without a node for this long: the device stopped; restart the scan. The motor takes about a second to reach speed.</summary>
    public TimeSpan NodeTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>After RESET the core reboots and prints its banner; ask again after this.</summary>
    public TimeSpan ResetWait { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan FirstReopenDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxReopenDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>The driver's state machine. Not thread-safe: the link's one loop owns it.</summary>
public sealed class LidarSession
{
    private readonly TimeProvider _time;
    private readonly LidarSessionOptions _options;
    private readonly LidarRevolutionAssembler _assembler = new();
    private long _deadline;
    private bool _hasDeadline;
    private int _unanswered;
    private int _failedOpens;

    public LidarSession(TimeProvider time, LidarSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _options = options ?? new LidarSessionOptions();
    }

    public LidarState State { get; private set; } = LidarState.Closed;

    public LidarCounters Counters { get; } = new();

    public LidarDeviceInfo? Info { get; private set; }

    public LidarHealth? Health { get; private set; }

    /// <summary>How long until <see cref="OnDeadline"/> must be called, or null when nothing is awaited.</summary>
    public TimeSpan? UntilDeadline =>
        _hasDeadline ? TimeSpan.FromTicks(Math.Max(0, (_deadline - _time.GetTimestamp()) * TimeSpan.TicksPerSecond / _time.TimestampFrequency)) : null;

    /// <summary>How long to wait before the next open attempt (0.5 s doubling to 5 s while opens keep failing).</summary>
    public TimeSpan ReopenDelay
    {
        get
        {
            var delay = _options.FirstReopenDelay * Math.Pow(2, Math.Max(0, _failedOpens - 1));
            return _failedOpens == 0 ? TimeSpan.Zero : delay < _options.MaxReopenDelay ? delay : _options.MaxReopenDelay;
        }
    }

    /// <summary>The port could not be opened (or was lost): the next attempt backs off further.</summary>
    public void OpenFailed()
    {
        _failedOpens++;
        State = LidarState.Closed;
        _hasDeadline = false;
    }

    /// <summary>The port is open: stop whatever the device was doing and ask how it is.</summary>
    public IReadOnlyList<LidarAction> Opened()
    {
        _unanswered = 0;
        _assembler.Reset();
        return [LidarAction.Write(LidarCommand.Stop), .. Ask(LidarCommand.GetHealth, LidarState.AwaitingHealth)];
    }

    /// <summary>Decides what one decoded result means.</summary>
    public IReadOnlyList<LidarAction> OnRead(in LidarReadResult result)
    {
        switch (result.Kind)
        {
            case LidarReadKind.Noise:
                Counters.NoiseBytes += result.ByteCount;
                return [];
            case LidarReadKind.Health when State == LidarState.AwaitingHealth:
                Health = result.Health;
                _unanswered = 0;
                if (result.Health.Status == LidarHealthStatus.Error)
                {
                    Counters.Resets++;
                    State = LidarState.Resetting;
                    Arm(_options.ResetWait);
                    return [LidarAction.Log($"lidar health: {result.Health}; resetting it"), LidarAction.Write(LidarCommand.Reset)];
                }

                IReadOnlyList<LidarAction> ask = Ask(LidarCommand.GetInfo, LidarState.AwaitingInfo);
                return result.Health.Status == LidarHealthStatus.Warning ? [LidarAction.Log($"lidar health: {result.Health}"), .. ask] : ask;
            case LidarReadKind.Info when State == LidarState.AwaitingInfo:
                Info = result.Info;
                _unanswered = 0;
                State = LidarState.Scanning;
                _assembler.Reset();
                Arm(_options.NodeTimeout);
                return [LidarAction.Motor(true), LidarAction.Write(LidarCommand.Scan)];
            case LidarReadKind.Node when State == LidarState.Scanning:
                Counters.Nodes++;
                Arm(_options.NodeTimeout);
                var before = _assembler.DroppedNodes;
                var turn = _assembler.Add(result.Node);
                Counters.DroppedNodes += _assembler.DroppedNodes - before;
                if (turn is null)
                {
                    return [];
                }

                Counters.Revolutions++;
                _failedOpens = 0;
                return [new LidarAction(LidarActionKind.Revolution, Revolution: turn)];
            case LidarReadKind.Node:
                // Nodes the decoder took for a scan we did not ask for (a stale stream): not data.
                Counters.DroppedNodes++;
                return [];
            default:
                return [];
        }
    }

    /// <summary>The deadline passed: an answer or a node did not come.</summary>
    public IReadOnlyList<LidarAction> OnDeadline()
    {
        if (!_hasDeadline || _time.GetTimestamp() < _deadline)
        {
            return [];
        }

        switch (State)
        {
            case LidarState.Resetting:
                return Ask(LidarCommand.GetHealth, LidarState.AwaitingHealth);
            case LidarState.Scanning:
                Counters.Timeouts++;
                _assembler.Reset();
                return [LidarAction.Log($"lidar: no scan data for {_options.NodeTimeout.TotalSeconds:0.#} s; restarting the scan"), LidarAction.Write(LidarCommand.Stop), .. Ask(LidarCommand.GetHealth, LidarState.AwaitingHealth)];
            case LidarState.AwaitingHealth or LidarState.AwaitingInfo:
                Counters.Timeouts++;
                if (++_unanswered >= _options.AnswerAttempts)
                {
                    Counters.Reopens++;
                    _failedOpens++;
                    State = LidarState.Closed;
                    _hasDeadline = false;
                    return [LidarAction.Log($"lidar: no answer to {_unanswered} requests; reopening the port"), new LidarAction(LidarActionKind.Reopen)];
                }

                return Ask(State == LidarState.AwaitingHealth ? LidarCommand.GetHealth : LidarCommand.GetInfo, State);
            default:
                _hasDeadline = false;
                return [];
        }
    }

    /// <summary>The port went away (unplugged, read failed).</summary>
    public IReadOnlyList<LidarAction> Lost(string reason)
    {
        Counters.Reopens++;
        _failedOpens++;
        State = LidarState.Closed;
        _hasDeadline = false;
        _assembler.Reset();
        return [LidarAction.Log($"lidar: {reason}; reopening the port")];
    }

    /// <summary>Shutting down: leave the device stopped and the motor off.</summary>
    public IReadOnlyList<LidarAction> Shutdown()
    {
        State = LidarState.Closed;
        _hasDeadline = false;
        return [LidarAction.Write(LidarCommand.Stop), LidarAction.Motor(false)];
    }

    private LidarAction[] Ask(LidarCommand command, LidarState next)
    {
        State = next;
        Arm(_options.AnswerTimeout);
        return [LidarAction.Write(command)];
    }

    private void Arm(TimeSpan after)
    {
        _deadline = _time.GetTimestamp() + (long)(after.TotalSeconds * _time.TimestampFrequency);
        _hasDeadline = true;
    }
}
