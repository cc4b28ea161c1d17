// Runs the simulated lidar over any Stream (a pseudo-terminal, an in-memory pipe). One reader loop feeds
// the device the host's requests; a sampling loop collects the nodes that came due every Tick; one
// writer loop sends both, so the device's answers and its nodes never interleave inside a packet.
using System.Threading.Channels;

namespace Alex.Robot.Simulation.Lidar;

/// <summary>Pumps bytes between a stream and a <see cref="SimulatedLidar"/>.</summary>
public sealed class LidarSimulatorPump
{
    /// <summary>How often due nodes are sent: about 22 nodes at a time at 2,000 nodes/s, as a USB adapter batches them.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(11);

    private readonly SimulatedLidar _lidar;
    private readonly Stream _line;
    private readonly TimeProvider _time;
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new() { SingleReader = true });

    public LidarSimulatorPump(SimulatedLidar lidar, Stream line, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(lidar);
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(time);
        _lidar = lidar;
        _line = line;
        _time = time;
    }

    /// <summary>Raised on the reader loop with each chunk of request bytes received.</summary>
    public event Action<int>? Received;

    /// <summary>While true the device sends nothing (a lidar that stopped answering); what it would have sent is lost.</summary>
    public bool Mute { get; set; }

    /// <summary>Sends raw bytes (line noise, a recorded stream) between the device's own writes.</summary>
    public void Inject(byte[] bytes) => _outbound.Writer.TryWrite(bytes);

    /// <summary>Serves until the stream ends or <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = WriteLoopAsync(stop.Token);
        var sampler = SampleLoopAsync(stop.Token);
        try
        {
            await ReadLoopAsync(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _outbound.Writer.TryComplete();
            foreach (var loop in new[] { writer, sampler })
            {
                try
                {
                    await loop.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // stops with the reader
                }
            }
        }
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[1024];
        while (true)
        {
            var n = await _line.ReadAsync(buffer, ct).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            Received?.Invoke(n);
            var answer = _lidar.Receive(buffer.AsSpan(0, n));
            if (answer.Length > 0)
            {
                _outbound.Writer.TryWrite(answer);
            }
        }
    }

    private async Task SampleLoopAsync(CancellationToken ct)
    {
        while (true)
        {
            await Task.Delay(Tick, _time, ct).ConfigureAwait(false);
            var nodes = _lidar.TakeDue();
            if (nodes.Length > 0)
            {
                _outbound.Writer.TryWrite(nodes);
            }
        }
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        var reader = _outbound.Reader;
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            while (reader.TryRead(out var bytes))
            {
                if (!Mute)
                {
                    await _line.WriteAsync(bytes, ct).ConfigureAwait(false);
                }
            }
        }
    }
}
