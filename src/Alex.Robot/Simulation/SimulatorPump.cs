// Runs the simulated Alex over any Stream: an in-memory line, a pseudo-terminal, a socket.
// One reader loop feeds the simulator; one writer loop sends its replies and injected MESSAGE
// packets, one whole frame per write, so frames never interleave.
//
// Pacing models a real UART at `baud` 8N1: 10 bits per byte, so a 140-byte frame takes 146 ms at
// 9600. A frame from the Pi is acted on when its last byte would have arrived, and each reply is
// written when its last byte would have left: a program that assumes one frame per read (the
// course's Pi code, docs/course-protocol.md §2) sees them one at a time as it would from a real Arduino.
using System.Threading.Channels;
using Alex.Protocol.Serial;

namespace Alex.Robot.Simulation;

/// <summary>Line speed for pacing; null in the options means "as fast as the stream goes".</summary>
public sealed record SerialLinePacing(int BaudRate)
{
    /// <summary>Start bit, 8 data bits, stop bit.</summary>
    public const int BitsPerByte = 10;

    public TimeSpan TimeFor(int bytes) => TimeSpan.FromSeconds((double)bytes * BitsPerByte / BaudRate);
}

/// <summary>Pumps bytes between a stream and a <see cref="SimulatedAlex"/>.</summary>
public sealed class SimulatorPump
{
    private readonly SimulatedAlex _alex;
    private readonly Stream _line;
    private readonly SerialLinePacing? _pacing;
    private readonly TimeProvider _time;
    private readonly Channel<SerialPacket> _outbound = Channel.CreateUnbounded<SerialPacket>(new() { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly long _origin;
    private TimeSpan _inboundFreeAt;
    private TimeSpan _outboundFreeAt;

    public SimulatorPump(SimulatedAlex alex, Stream line, SerialLinePacing? pacing, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(alex);
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(time);
        if (pacing is { BaudRate: <= 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(pacing), pacing.BaudRate, "baud rate must be positive");
        }

        _alex = alex;
        _line = line;
        _pacing = pacing;
        _time = time;
        _origin = time.GetTimestamp();
    }

    /// <summary>Raised on the reader loop for every frame or noise run received, with the replies queued for it.</summary>
    public event Action<SimulatorExchange>? Exchanged;

    /// <summary>Queues a MESSAGE packet, as the firmware's debug prints send at any time.</summary>
    public void SendMessage(string text) => Send(SerialPacket.Message(text));

    /// <summary>Queues any packet to the Pi (e.g. an unsolicited STATUS).</summary>
    public void Send(SerialPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        _outbound.Writer.TryWrite(packet);
    }

    /// <summary>Serves until the stream ends (the other side closed) or <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = WriteLoopAsync(stop.Token);
        try
        {
            await ReadLoopAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the writer stops with the reader
            }
        }
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var n = await _line.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            if (_pacing is not null)
            {
                var start = Max(Now(), _inboundFreeAt);
                _inboundFreeAt = start + _pacing.TimeFor(n);
                await DelayUntil(_inboundFreeAt, ct).ConfigureAwait(false);
            }

            // Indexed, not foreach: an interface's enumerator is an allocation per frame.
            var exchanges = _alex.Receive(buffer.AsSpan(0, n));
            for (var e = 0; e < exchanges.Count; e++)
            {
                // Reported before the replies go out: with synchronous continuations the Pi side may act on a reply
                // before this loop resumes, and whoever watches the log should see the frame first.
                var exchange = exchanges[e];
                Exchanged?.Invoke(exchange);
                for (var r = 0; r < exchange.Replies.Count; r++)
                {
                    _outbound.Writer.TryWrite(exchange.Replies[r]);
                }
            }
        }
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        var frame = new byte[SerialFrame.Size];
        // Waits without a token (a channel wait with one allocates each time, i.e. per reply): the end of the run closes
        // the queue instead. The pump runs once; nothing queued after that would be written anyway.
        using var end = ct.UnsafeRegister(static outbound => ((ChannelWriter<SerialPacket>)outbound!).TryComplete(), _outbound.Writer);
        var reader = _outbound.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false) && reader.TryRead(out var packet))
        {
            ct.ThrowIfCancellationRequested();
            if (_pacing is not null)
            {
                var start = Max(Now(), _outboundFreeAt);
                _outboundFreeAt = start + _pacing.TimeFor(SerialFrame.Size);
                await DelayUntil(_outboundFreeAt, ct).ConfigureAwait(false);
            }

            SerialFrame.Write(packet, frame);
            await _line.WriteAsync(frame, ct).ConfigureAwait(false);
            await _line.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private TimeSpan Now() => _time.GetElapsedTime(_origin);

    private async Task DelayUntil(TimeSpan at, CancellationToken ct)
    {
        var wait = at - Now();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, ct).ConfigureAwait(false);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
