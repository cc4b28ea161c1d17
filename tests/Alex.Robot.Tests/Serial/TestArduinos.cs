using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Serial;

/// <summary>A simulated Alex that can be "plugged in" afresh on every open, over in-memory lines.</summary>
internal sealed class SimulatedArduino(SimulatorSettings settings, TimeProvider time, CancellationToken ct)
{
    private readonly List<SerialPacket> _received = [];

    public SimulatedAlex Alex { get; } = new(settings, time);

    public SimulatorPump Pump { get; private set; } = null!;

    public InMemorySerialLine Line { get; private set; } = null!;

    /// <summary>Every packet the Arduino received, in order.</summary>
    public IReadOnlyList<SerialPacket> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public ValueTask<Stream> Open(CancellationToken openToken)
    {
        Line = new InMemorySerialLine();
        Alex.ResetReceiver();
        Pump = new SimulatorPump(Alex, Line.ArduinoEnd, pacing: null, time);
        Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { } p)
            {
                lock (_received)
                {
                    _received.Add(p);
                }
            }
        };
        _ = Pump.RunAsync(ct);
        return ValueTask.FromResult(Line.PiEnd);
    }
}

/// <summary>The test plays the Arduino by hand: reads frames the Pi sent, writes replies.</summary>
internal sealed class ManualArduino(Stream line)
{
    private readonly SerialFrameDecoder _decoder = new();
    private readonly byte[] _buffer = new byte[1024];

    public async Task<SerialPacket> NextAsync()
    {
        while (true)
        {
            while (_decoder.TryRead(out var r))
            {
                if (r.Kind == SerialReadKind.Frame)
                {
                    return r.Packet!;
                }
            }

            var n = await line.ReadAsync(_buffer).AsTask().Within(what: "a frame from the Pi");
            if (n == 0)
            {
                throw new EndOfStreamException("the Pi closed the line");
            }

            _decoder.Append(_buffer.AsSpan(0, n));
        }
    }

    public Task ReplyAsync(SerialPacket packet) => line.WriteAsync(SerialFrame.Encode(packet)).AsTask();
}
