// An in-memory serial cable: two connected Stream ends, for the simulated Alex without a pty
// (`alex serve --simulate`, tests). Bytes written at one end are read at the other in the chunks
// they were written (a reader must not rely on that: real lines split and merge writes).
using System.Threading.Channels;

namespace Alex.Robot.Simulation;

/// <summary>A pair of connected duplex streams; <see cref="Sever"/> makes the cable vanish.</summary>
public sealed class InMemorySerialLine
{
    // Synchronous continuations: a waiting reader takes the bytes on the writer's thread, as a wire would deliver them
    // at once, rather than after a thread-pool hop that no real cable has (measured in bench `roundtrip`).
    private readonly Channel<byte[]> _toArduino = Channel.CreateUnbounded<byte[]>(new() { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly Channel<byte[]> _toPi = Channel.CreateUnbounded<byte[]>(new() { SingleReader = true, AllowSynchronousContinuations = true });

    public InMemorySerialLine()
    {
        PiEnd = new End(_toPi.Reader, _toArduino.Writer);
        ArduinoEnd = new End(_toArduino.Reader, _toPi.Writer);
    }

    /// <summary>The end the Pi side (an ArduinoLink) opens.</summary>
    public Stream PiEnd { get; }

    /// <summary>The end the simulated Arduino serves.</summary>
    public Stream ArduinoEnd { get; }

    /// <summary>Unplugs the cable: reads and writes at both ends fail with IOException from now on.</summary>
    public void Sever()
    {
        var gone = new IOException("the serial line was unplugged");
        _toArduino.Writer.TryComplete(gone);
        _toPi.Writer.TryComplete(gone);
    }

    private sealed class End(ChannelReader<byte[]> incoming, ChannelWriter<byte[]> outgoing) : Stream
    {
        private ReadOnlyMemory<byte> _pending;

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_pending.IsEmpty)
            {
                try
                {
                    _pending = await incoming.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (ChannelClosedException e) when (e.InnerException is IOException io)
                {
                    throw new IOException(io.Message, e);
                }
                catch (ChannelClosedException)
                {
                    return 0; // the other end was disposed: end of stream
                }
            }

            var n = Math.Min(buffer.Length, _pending.Length);
            _pending[..n].CopyTo(buffer);
            _pending = _pending[n..];
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            if (!outgoing.TryWrite(buffer.ToArray()))
            {
                throw new IOException("the serial line is closed");
            }
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                outgoing.TryComplete();
            }

            base.Dispose(disposing);
        }
    }
}
