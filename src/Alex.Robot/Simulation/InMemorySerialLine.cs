// An in-memory serial cable: two connected Stream ends, for the simulated Alex without a pty
// (`alex serve --simulate`, tests). Bytes written at one end are read at the other in the chunks
// they were written (a reader must not rely on that: real lines split and merge writes).
// A waiting reader takes the bytes on the writer's thread, as a wire delivers them at once, rather than
// after a thread-pool hop that no real cable has; and neither end allocates per read or write (chunks
// come from the shared array pool, the waiting read is one reusable value-task source): the server's
// benchmark runs every command through this line (bench `roundtrip`).
using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Alex.Robot.Simulation;

/// <summary>A pair of connected duplex streams; <see cref="Sever"/> makes the cable vanish.</summary>
public sealed class InMemorySerialLine
{
    private readonly Direction _toArduino = new();
    private readonly Direction _toPi = new();

    public InMemorySerialLine()
    {
        PiEnd = new End(_toPi, _toArduino);
        ArduinoEnd = new End(_toArduino, _toPi);
    }

    /// <summary>The end the Pi side (an ArduinoLink) opens.</summary>
    public Stream PiEnd { get; }

    /// <summary>The end the simulated Arduino serves.</summary>
    public Stream ArduinoEnd { get; }

    /// <summary>Unplugs the cable: reads and writes at both ends fail with IOException from now on.</summary>
    public void Sever()
    {
        _toArduino.Close(severed: true);
        _toPi.Close(severed: true);
    }

    /// <summary>
    /// One direction of the cable: the chunks written and not yet read, and at most one waiting reader.
    /// </summary>
    private sealed class Direction : IValueTaskSource<int>
    {
        private readonly Lock _gate = new();
        private readonly Queue<(byte[] Array, int Length)> _chunks = new();
        private int _offset; // into the first chunk
        private bool _closed;
        private bool _severed;

        // The waiting reader, if any: where its bytes go, and its registration for cancellation.
        private ManualResetValueTaskSourceCore<int> _wait; // synchronous continuations (RunContinuationsAsynchronously false)
        private Memory<byte> _destination;
        private bool _waiting;
        private CancellationToken _waitToken;
        private CancellationTokenRegistration _registration;

        public ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
        {
            // A registration of an earlier read that has finished: its callback would find no reader of its version.
            _registration.Unregister();
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<int>(cancellationToken);
            }

            lock (_gate)
            {
                if (_chunks.Count > 0)
                {
                    return new ValueTask<int>(Take(destination.Span));
                }

                if (_severed)
                {
                    return ValueTask.FromException<int>(new IOException("the serial line was unplugged"));
                }

                if (_closed || destination.IsEmpty)
                {
                    return new ValueTask<int>(0); // the other end was disposed: end of stream
                }

                if (_waiting)
                {
                    throw new InvalidOperationException("one read at a time on a serial line end");
                }

                _wait.Reset();
                _destination = destination;
                _waitToken = cancellationToken;
                _waiting = true;
            }

            var version = _wait.Version;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, _) => ((Direction)state!).CancelWait(), this);
            }

            return new ValueTask<int>(this, version);
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            int delivered;
            lock (_gate)
            {
                if (_closed)
                {
                    throw new IOException(_severed ? "the serial line was unplugged" : "the serial line is closed");
                }

                if (!_waiting)
                {
                    Queue(bytes);
                    return;
                }

                // Straight into the waiting reader's buffer; whatever does not fit waits for its next read.
                delivered = Math.Min(bytes.Length, _destination.Length);
                bytes[..delivered].CopyTo(_destination.Span);
                if (delivered < bytes.Length)
                {
                    Queue(bytes[delivered..]);
                }

                _waiting = false;
                _destination = default;
            }

            _wait.SetResult(delivered);
        }

        public void Close(bool severed)
        {
            bool wake;
            lock (_gate)
            {
                _severed |= severed;
                if (_closed && !severed)
                {
                    return;
                }

                _closed = true;
                if (severed)
                {
                    Recycle();
                }

                wake = _waiting;
                _waiting = false;
                _destination = default;
            }

            if (wake)
            {
                if (severed)
                {
                    _wait.SetException(new IOException("the serial line was unplugged"));
                }
                else
                {
                    _wait.SetResult(0);
                }
            }
        }

        int IValueTaskSource<int>.GetResult(short token) => _wait.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _wait.GetStatus(token);

        void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _wait.OnCompleted(continuation, state, token, flags);

        private void CancelWait()
        {
            CancellationToken token;
            lock (_gate)
            {
                if (!_waiting || !_waitToken.IsCancellationRequested)
                {
                    return; // already answered; this registration is from a read that has finished
                }

                token = _waitToken;
                _waiting = false;
                _destination = default;
            }

            _wait.SetException(new OperationCanceledException(token));
        }

        // Under the lock.
        private int Take(Span<byte> destination)
        {
            var (array, length) = _chunks.Peek();
            var n = Math.Min(destination.Length, length - _offset);
            array.AsSpan(_offset, n).CopyTo(destination);
            _offset += n;
            if (_offset == length)
            {
                _chunks.Dequeue();
                _offset = 0;
                ArrayPool<byte>.Shared.Return(array);
            }

            return n;
        }

        // Under the lock.
        private void Queue(ReadOnlySpan<byte> bytes)
        {
            var array = ArrayPool<byte>.Shared.Rent(bytes.Length);
            bytes.CopyTo(array);
            _chunks.Enqueue((array, bytes.Length));
        }

        // Under the lock: a severed cable keeps nothing.
        private void Recycle()
        {
            while (_chunks.TryDequeue(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Array);
            }

            _offset = 0;
        }
    }

    private sealed class End(Direction incoming, Direction outgoing) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            incoming.ReadAsync(buffer, cancellationToken);

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
            if (!buffer.IsEmpty)
            {
                outgoing.Write(buffer);
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
                outgoing.Close(severed: false);
            }

            base.Dispose(disposing);
        }
    }
}
