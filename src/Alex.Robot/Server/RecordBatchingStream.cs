// Under a session's SslStream, over the socket: writes pass straight through, except while the session's
// writer holds a batch; then the TLS records written are kept and leave in one socket write when the batch
// is released. The classic `g` reply is two messages, so two TLS records (the course client reads one
// message per record, docs/course-protocol.md §4), and this way one TCP segment instead of two. Only the session's one
// writer holds and releases, so no lock: SslStream never sees two concurrent writes (ClientSession).
using System.Buffers;

namespace Alex.Robot.Server;

/// <summary>Passes writes to the socket's stream, or keeps them while a batch is held.</summary>
internal sealed class RecordBatchingStream : Stream
{
    private readonly Stream _inner;
    private readonly ArrayBufferWriter<byte> _held = new(256);
    private bool _holding;

    public RecordBatchingStream(Stream inner)
    {
        _inner = inner;
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => _inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>From now until <see cref="ReleaseAsync"/>, writes are kept.</summary>
    public void Hold() => _holding = true;

    /// <summary>Writes what was kept in one write, and passes writes through again.</summary>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken)
    {
        _holding = false;
        if (_held.WrittenCount == 0)
        {
            return ValueTask.CompletedTask;
        }

        return WriteHeldAsync(cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_holding)
        {
            _held.Write(buffer);
            return;
        }

        _inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_holding)
        {
            _held.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        return _inner.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async ValueTask WriteHeldAsync(CancellationToken cancellationToken)
    {
        await _inner.WriteAsync(_held.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _held.ResetWrittenCount();
    }
}
