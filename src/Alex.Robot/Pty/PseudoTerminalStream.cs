// A pseudo-terminal whose far end (the "slave", /dev/pts/N) any program can open as a serial port,
// made with the C library (posix_openpt, grantpt, unlockpt, ptsname_r) so no socat is needed. We hold
// the master side as a Stream. The line is raw (cfmakeraw: no echo, no CR/LF translation, no
// signals), as a real USB serial port set to 8N1 raw would be.
//
// Clients come and go: while no program has the slave open, the kernel reports the master as hung
// up (read fails with EIO, poll says POLLHUP). That is "no client", not an error: reads wait and
// retry, writes are dropped (nobody is listening, as on a cable with nothing plugged in), and the
// line's queues are flushed so the next client does not read stale replies.
using System.Runtime.InteropServices;
using System.Text;

namespace Alex.Robot.Pty;

/// <summary>The master side of a pseudo-terminal. Linux only.</summary>
public sealed class PseudoTerminalStream : Stream
{
    private const int PollMs = 100;
    private static readonly TimeSpan NoClientRetry = TimeSpan.FromMilliseconds(50);

    private readonly MasterHandle _master;
    private int _hungUp; // 1 while no client has the slave open (as far as we know)

    private PseudoTerminalStream(MasterHandle master, string devicePath)
    {
        _master = master;
        DevicePath = devicePath;
    }

    /// <summary>The slave's path (e.g. /dev/pts/3): what a client opens as its serial port.</summary>
    public string DevicePath { get; }

    /// <summary>Raised (on the reading thread) when the last client closes the slave.</summary>
    public event Action? ClientClosed;

    /// <summary>Raised (on the reading thread) when bytes arrive after a time with no client.</summary>
    public event Action? ClientOpened;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Creates a pseudo-terminal pair in raw mode.</summary>
    public static PseudoTerminalStream Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("pseudo-terminals are supported on Linux only");
        }

        var fd = PtyNative.PosixOpenpt(PtyNative.ORdWr | PtyNative.ONoCtty | PtyNative.ONonBlock | PtyNative.OCloExec);
        if (fd < 0)
        {
            throw Failure("posix_openpt");
        }

        var master = new MasterHandle(fd);
        try
        {
            if (PtyNative.Grantpt(fd) != 0)
            {
                throw Failure("grantpt");
            }

            if (PtyNative.Unlockpt(fd) != 0)
            {
                throw Failure("unlockpt");
            }

            var name = new byte[256];
            var rc = PtyNative.PtsnameR(fd, ref name[0], (nuint)name.Length);
            if (rc != 0)
            {
                throw new IOException($"ptsname_r failed: {Marshal.GetPInvokeErrorMessage(rc)}");
            }

            var termios = new byte[PtyNative.TermiosBufferSize];
            if (PtyNative.Tcgetattr(fd, ref termios[0]) != 0)
            {
                throw Failure("tcgetattr");
            }

            PtyNative.Cfmakeraw(ref termios[0]);
            if (PtyNative.Tcsetattr(fd, PtyNative.TcsaNow, ref termios[0]) != 0)
            {
                throw Failure("tcsetattr");
            }

            var path = Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0));
            return new PseudoTerminalStream(master, path);
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count), CancellationToken.None);

    public override int Read(Span<byte> buffer) => Read(buffer, CancellationToken.None);

    /// <summary>
    /// Reads on a dedicated thread: a blocked poll must not hold a thread-pool thread (under load
    /// the pool grows slowly, and a paced reply would wait for a thread, not for the line).
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        new(Task.Factory.StartNew(() => Read(buffer.Span, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count), CancellationToken.None);

    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer, CancellationToken.None);

    // The master is non-blocking: a write returns at once unless the client stopped reading.
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span, cancellationToken);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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
            _master.Dispose();
        }

        base.Dispose(disposing);
    }

    // Blocks until bytes arrive (returns how many), the stream is disposed (returns 0) or ct fires.
    private int Read(Span<byte> buffer, CancellationToken ct)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var added = false;
            if (_master.IsClosed)
            {
                return 0;
            }

            _master.DangerousAddRef(ref added);
            short revents;
            nint n;
            int errno;
            try
            {
                var fd = (int)_master.DangerousGetHandle();
                var pfd = new PtyNative.PollFd { Fd = fd, Events = PtyNative.PollIn };
                var ready = PtyNative.Poll(ref pfd, 1, PollMs);
                revents = ready > 0 ? pfd.REvents : (short)0;
                n = (revents & PtyNative.PollIn) != 0 ? PtyNative.Read(fd, ref buffer[0], buffer.Length) : -1;
                errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            }
            finally
            {
                if (added)
                {
                    _master.DangerousRelease();
                }
            }

            if (n > 0)
            {
                if (Interlocked.Exchange(ref _hungUp, 0) == 1)
                {
                    ClientOpened?.Invoke();
                }

                return (int)n;
            }

            if ((revents & PtyNative.PollNval) != 0)
            {
                return 0; // closed under us
            }

            var noClient = (revents & PtyNative.PollHup) != 0 || (n < 0 && errno == PtyNative.EIo);
            if (noClient)
            {
                OnNoClient();
                ct.WaitHandle.WaitOne(NoClientRetry);
            }
        }
    }

    private void Write(ReadOnlySpan<byte> buffer, CancellationToken ct)
    {
        while (!buffer.IsEmpty)
        {
            ct.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_master.IsClosed, this);
            var added = false;
            _master.DangerousAddRef(ref added);
            nint n;
            int errno;
            try
            {
                var fd = (int)_master.DangerousGetHandle();
                n = PtyNative.Write(fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
                errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (n < 0 && errno == PtyNative.EAgain)
                {
                    // The client is not reading fast enough: wait until the line drains.
                    var pfd = new PtyNative.PollFd { Fd = fd, Events = PtyNative.PollOut };
                    PtyNative.Poll(ref pfd, 1, PollMs);
                }
            }
            finally
            {
                if (added)
                {
                    _master.DangerousRelease();
                }
            }

            if (n > 0)
            {
                buffer = buffer[(int)n..];
            }
            else if (n < 0 && errno == PtyNative.EIo)
            {
                OnNoClient();
                return; // nobody is listening: the bytes are lost, as on an unplugged cable
            }
            else if (n < 0 && errno is not (PtyNative.EAgain or PtyNative.EIntr))
            {
                throw new IOException($"write to {DevicePath} failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
    }

    private void OnNoClient()
    {
        if (Interlocked.Exchange(ref _hungUp, 1) == 1)
        {
            return;
        }

        var added = false;
        _master.DangerousAddRef(ref added);
        try
        {
            PtyNative.Tcflush((int)_master.DangerousGetHandle(), PtyNative.TcIoFlush);
        }
        finally
        {
            if (added)
            {
                _master.DangerousRelease();
            }
        }

        ClientClosed?.Invoke();
    }

    private static IOException Failure(string call) =>
        new($"{call} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    // Closes the master fd once no read or write is using it.
    private sealed class MasterHandle : SafeHandle
    {
        public MasterHandle(int fd)
            : base(-1, ownsHandle: true)
        {
            SetHandle(fd);
        }

        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle() => PtyNative.Close((int)handle) == 0;
    }
}
