// The simulated Alex: what the course firmware (Alex.ino) does with each frame, docs/course-protocol.md §3.
//
// | received                         | reply                                   | action                        |
// |----------------------------------|-----------------------------------------|-------------------------------|
// | COMMAND FORWARD / REVERSE d s    | RESPONSE OK                             | move until distance passes d  |
// | COMMAND TURN_LEFT / TURN_RIGHT a s | RESPONSE OK                           | turn until turn ticks reach a |
// | COMMAND STOP                     | RESPONSE OK                             | motors off                    |
// | COMMAND GET_STATS                | STATUS, OK+STATUS or STATUS+OK (setting) | —                            |
// | COMMAND CLEAR_STATS              | RESPONSE OK                             | every counter to zero         |
// | COMMAND a declared code          | as declared (docs/extensions.md): OK, the declared RESPONSE with fixed or scripted values, or a MESSAGE | a declared move: motors on until STOP |
// | COMMAND, any other code          | ERROR BAD_COMMAND                       | —                             |
// | HELLO                            | nothing, or RESPONSE OK (setting)       | —                             |
// | RESPONSE / ERROR / MESSAGE / ... | nothing (the firmware ignores them)     | —                             |
// | bad magic, noise                 | ERROR BAD_PACKET                        | —                             |
// | bad checksum                     | ERROR BAD_CHECKSUM                      | —                             |
//
// A distance or angle of 0 means "until stopped". Time comes from a TimeProvider: odometry is
// brought up to date whenever the state is looked at, so a fake clock drives it without sleeping.
using System.Globalization;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Robot.Simulation;

/// <summary>What the motors are doing (the firmware's `dir`).</summary>
public enum MotionKind
{
    Stopped,
    Forward,
    Reverse,
    TurnLeft,
    TurnRight,

    /// <summary>A team's declared moving command: the simulator knows nothing of what it does, only that it runs until STOP.</summary>
    Declared,
}

/// <summary>One thing the simulator received and what it answered.</summary>
public sealed record SimulatorExchange(SerialReadResult Received, IReadOnlyList<SerialPacket> Replies)
{
    public override string ToString() =>
        Replies.Count == 0 ? $"{Received} -> (no reply)" : $"{Received} -> {string.Join(", ", Replies)}";
}

/// <summary>
/// The firmware as a state machine over bytes in and packets out. Thread-safe: the pump's reader
/// and anyone asking for the counters may call it concurrently.
/// </summary>
public sealed class SimulatedAlex
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly SerialFrameDecoder _decoder = new();
    private readonly byte[] _block = new byte[SerialFrame.Size];

    // The reply to most commands, shared (packets are immutable): one list per command was most of the simulator's garbage.
    private static readonly SerialPacket[] JustOk = [SerialPacket.Ok()];
    private int _blockFill;

    // Counters, as in the firmware (unsigned long, so they wrap like it).
    private long _leftForwardTicks, _rightForwardTicks, _leftReverseTicks, _rightReverseTicks;
    private long _leftForwardTurnTicks, _rightForwardTurnTicks, _leftReverseTurnTicks, _rightReverseTurnTicks;
    private long _forwardDistanceCm, _reverseDistanceCm;

    private MotionKind _motion = MotionKind.Stopped;
    private double _ticksPerSecond;
    private double _fractionalTicks;
    private long _lastUpdate;

    // The goal of the current motion, in the counter that motion advances: null = until stopped.
    private long? _goal;

    // How many times each declared command was answered: the next scripted reading.
    private readonly Dictionary<string, int> _answered = [];

    public SimulatedAlex(SimulatorSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        settings.Validate();
        Settings = settings;
        _time = time;
        _lastUpdate = time.GetTimestamp();
    }

    public SimulatorSettings Settings { get; }

    /// <summary>The counters a GET_STATS would report now.</summary>
    public StatusCounters Counters
    {
        get
        {
            lock (_gate)
            {
                Advance();
                return Snapshot();
            }
        }
    }

    /// <summary>What the motors are doing now (a move that reached its goal has stopped).</summary>
    public MotionKind Motion
    {
        get
        {
            lock (_gate)
            {
                Advance();
                return _motion;
            }
        }
    }

    /// <summary>
    /// Takes bytes from the Pi as they arrive (any chunking) and answers every complete frame or run
    /// of noise, in order.
    /// </summary>
    public IReadOnlyList<SimulatorExchange> Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            Advance();
            var exchanges = new List<SimulatorExchange>();
            if (Settings.Receiver == FrameReceiver.CourseBlocks)
            {
                ReceiveBlocks(bytes, exchanges);
            }
            else
            {
                _decoder.Append(bytes);
                while (_decoder.TryRead(out var result))
                {
                    exchanges.Add(new(result, Answer(result)));
                }
            }

            return exchanges;
        }
    }

    /// <summary>Answers one decoded packet as the firmware's handlePacket does.</summary>
    public IReadOnlyList<SerialPacket> Handle(SerialPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        lock (_gate)
        {
            Advance();
            return HandleLocked(packet);
        }
    }

    /// <summary>Forgets a partly received frame (the Uno resets when the port is opened).</summary>
    public void ResetReceiver()
    {
        lock (_gate)
        {
            _decoder.Reset();
            _blockFill = 0;
        }
    }

    private void ReceiveBlocks(ReadOnlySpan<byte> bytes, List<SimulatorExchange> exchanges)
    {
        while (!bytes.IsEmpty)
        {
            var n = Math.Min(bytes.Length, SerialFrame.Size - _blockFill);
            bytes[..n].CopyTo(_block.AsSpan(_blockFill));
            _blockFill += n;
            bytes = bytes[n..];
            if (_blockFill < SerialFrame.Size)
            {
                return;
            }

            _blockFill = 0;
            var result = SerialFrame.TryDecode(_block, out var packet) switch
            {
                FrameStatus.Ok => SerialReadResult.FrameOf(packet!),
                FrameStatus.BadChecksum => SerialReadResult.BadChecksumOf(),
                _ => SerialReadResult.NoiseOf(SerialFrame.Size),
            };
            exchanges.Add(new(result, Answer(result)));
        }
    }

    private IReadOnlyList<SerialPacket> Answer(SerialReadResult result) => result.Kind switch
    {
        SerialReadKind.Frame => HandleLocked(result.Packet!),
        SerialReadKind.BadChecksum => [SerialPacket.Error(ResponseCode.BadChecksum)],
        _ => [SerialPacket.Error(ResponseCode.BadPacket)],
    };

    private IReadOnlyList<SerialPacket> HandleLocked(SerialPacket packet)
    {
        switch (packet.Type)
        {
            case PacketType.Command:
                return HandleCommand(packet);
            case PacketType.Hello when Settings.HelloReply == HelloReply.Ok:
                return JustOk;
            default:
                // The firmware's handlePacket ignores RESPONSE, ERROR, MESSAGE, HELLO and unknown types.
                return [];
        }
    }

    private IReadOnlyList<SerialPacket> HandleCommand(SerialPacket command)
    {
        var p0 = command.Params[0];
        var p1 = command.Params[1];
        switch (command.Command)
        {
            case CommandCode.Forward:
                Start(MotionKind.Forward, p1, p0 == 0 ? null : _forwardDistanceCm + p0);
                return JustOk;
            case CommandCode.Reverse:
                Start(MotionKind.Reverse, p1, p0 == 0 ? null : _reverseDistanceCm + p0);
                return JustOk;
            case CommandCode.TurnLeft:
                Start(MotionKind.TurnLeft, p1, p0 == 0 ? null : _leftReverseTurnTicks + Odometry.TurnTicks(p0, Settings));
                return JustOk;
            case CommandCode.TurnRight:
                Start(MotionKind.TurnRight, p1, p0 == 0 ? null : _rightReverseTurnTicks + Odometry.TurnTicks(p0, Settings));
                return JustOk;
            case CommandCode.Stop:
                StopMotors();
                return JustOk;
            case CommandCode.GetStats:
                var status = SerialPacket.StatusReply(Snapshot());
                return Settings.GetStatsReplyOrder switch
                {
                    GetStatsReplyOrder.StatusOnly => [status],
                    GetStatsReplyOrder.StatusThenOk => [status, SerialPacket.Ok()],
                    _ => [SerialPacket.Ok(), status],
                };
            case CommandCode.ClearStats:
                _leftForwardTicks = _rightForwardTicks = _leftReverseTicks = _rightReverseTicks = 0;
                _leftForwardTurnTicks = _rightForwardTurnTicks = _leftReverseTurnTicks = _rightReverseTurnTicks = 0;
                _forwardDistanceCm = _reverseDistanceCm = 0;
                return JustOk;
            default:
                return Settings.Extensions.TryGetByCode(command.Code, out var declared)
                    ? HandleDeclared(declared)
                    : [SerialPacket.Error(ResponseCode.BadCommand)];
        }
    }

    private SerialPacket[] HandleDeclared(DeclaredCommand declared)
    {
        if (declared.Moves)
        {
            Start(MotionKind.Declared, 0, null);
        }

        var n = _answered.TryGetValue(declared.Name, out var count) ? count : 0;
        _answered[declared.Name] = n + 1;
        string[]? script = Settings.Answers.TryGetValue(declared.Name, out var readings) && readings.Count > 0 ? readings[n % readings.Count] : null;
        switch (declared.Reply)
        {
            case DeclaredReplyKind.Message:
                return [SerialPacket.Message(script is { Length: > 0 } ? string.Join(' ', script) : declared.Name + " done")];
            case DeclaredReplyKind.Response:
                var response = declared.Response!;
                var values = new uint[SerialPacket.ParamCount];
                for (var i = 0; i < response.Fields.Count; i++)
                {
                    var f = response.Fields[i];
                    values[f.Param] = script is not null && i < script.Length && uint.TryParse(script[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                        ? v
                        : (uint)((f.Max > 0 ? f.Max : 100UL) * (ulong)(response.Fields.Count - i) / (ulong)(response.Fields.Count + 1));
                }

                return [new SerialPacket(PacketType.Response, response.StatusShaped ? (byte)ResponseCode.Status : response.Code, [], values)];
            default:
                return JustOk;
        }
    }

    private void Start(MotionKind motion, uint speedPercent, long? goal)
    {
        _motion = motion;
        _goal = goal;
        _ticksPerSecond = Odometry.TicksPerSecond(speedPercent, Settings);
        _fractionalTicks = 0;
        if (ReachedGoal())
        {
            StopMotors();
        }
    }

    private void StopMotors()
    {
        _motion = MotionKind.Stopped;
        _goal = null;
        _ticksPerSecond = 0;
        _fractionalTicks = 0;
    }

    // Brings the encoders up to now: whole ticks since the last look, stopping on the goal's tick
    // as the firmware's loop() does right after the encoder interrupt that crosses it.
    private void Advance()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_lastUpdate, now);
        _lastUpdate = now;
        if (_motion == MotionKind.Stopped || elapsed <= TimeSpan.Zero)
        {
            return;
        }

        _fractionalTicks += elapsed.TotalSeconds * _ticksPerSecond;
        var ticks = (long)Math.Floor(_fractionalTicks);
        if (ticks <= 0)
        {
            return;
        }

        _fractionalTicks -= ticks;
        var toGoal = TicksToGoal();
        if (toGoal is { } limit && ticks >= limit)
        {
            Tick(limit);
            StopMotors();
            return;
        }

        Tick(ticks);
    }

    private long? TicksToGoal()
    {
        if (_goal is not { } goal)
        {
            return null;
        }

        return _motion switch
        {
            MotionKind.Forward => Math.Max(0, Odometry.TicksToPass(goal, Settings) - _leftForwardTicks),
            MotionKind.Reverse => Math.Max(0, Odometry.TicksToPass(goal, Settings) - _leftReverseTicks),
            MotionKind.TurnLeft => Math.Max(0, goal - _leftReverseTurnTicks),
            MotionKind.TurnRight => Math.Max(0, goal - _rightReverseTurnTicks),
            _ => null,
        };
    }

    private bool ReachedGoal() => TicksToGoal() == 0;

    // The encoder interrupts: each wheel's tick goes to the counter of the current motion. Turning
    // left runs the left wheel backwards and the right wheel forwards; right is the mirror.
    private void Tick(long n)
    {
        switch (_motion)
        {
            case MotionKind.Forward:
                _leftForwardTicks += n;
                _rightForwardTicks += n;
                _forwardDistanceCm = Odometry.DistanceCm(_leftForwardTicks, Settings);
                break;
            case MotionKind.Reverse:
                _leftReverseTicks += n;
                _rightReverseTicks += n;
                _reverseDistanceCm = Odometry.DistanceCm(_leftReverseTicks, Settings);
                break;
            case MotionKind.TurnLeft:
                _leftReverseTurnTicks += n;
                _rightForwardTurnTicks += n;
                break;
            case MotionKind.TurnRight:
                _leftForwardTurnTicks += n;
                _rightReverseTurnTicks += n;
                break;
            default:
                break;
        }
    }

    private StatusCounters Snapshot() => new(
        unchecked((uint)_leftForwardTicks),
        unchecked((uint)_rightForwardTicks),
        unchecked((uint)_leftReverseTicks),
        unchecked((uint)_rightReverseTicks),
        unchecked((uint)_leftForwardTurnTicks),
        unchecked((uint)_rightForwardTurnTicks),
        unchecked((uint)_leftReverseTurnTicks),
        unchecked((uint)_rightReverseTurnTicks),
        unchecked((uint)_forwardDistanceCm),
        unchecked((uint)_reverseDistanceCm));
}
