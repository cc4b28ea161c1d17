// A serial port (or any tty: a pty's far end, a symlink to one) opened by hand as a Stream, without a
// poll timer (docs/course-protocol.md §2; docs/protocol.md "Serial link"):
// - open(2) O_RDWR | O_NOCTTY | O_NONBLOCK, then exclusive: an advisory flock(2) that every opener
//   respects, root included, plus TIOCEXCL (further open(2) fail with EBUSY, except for root), so a
//   second server cannot share the port with us;
// - termios raw 8N1 (cfmakeraw), receiver on, modem lines ignored (CLOCAL), no flow control, VMIN 1,
//   the baud rate given; DTR raised (an Uno resets on it: the link waits out the reset);
// - reads: a non-blocking read(2); when nothing is there, one waiter thread blocks in poll(2) with no
//   timeout on the port and a wake-up pipe, and only while a read waits: an idle port costs no wake-ups;
// - a port that vanishes (USB pulled, the pty's master closed) reads EIO or end of stream: the link
//   closes it and reopens by path.
using System.Runtime.InteropServices;
using Alex.Robot.Pty;

namespace Alex.Robot.Serial;

/// <summary>An open tty in raw mode as a Stream. Linux only. One reader and one writer at a time.</summary>
public sealed class TtyStream : Stream
{
    private readonly int _fd;
    private readonly int _wakeRead;
    private readonly int _wakeWrite;
    private readonly Thread _waiter;
    private readonly SemaphoreSlim _wanted = new(0);
    private readonly SemaphoreSlim _readable = new(0);
    private int _disposed;

    private TtyStream(int fd, int wakeRead, int wakeWrite, string path)
    {
        _fd = fd;
        _wakeRead = wakeRead;
        _wakeWrite = wakeWrite;
        Path = path;
        _waiter = new Thread(WaitForInput) { IsBackground = true, Name = "tty " + path };
        _waiter.Start();
    }

    public string Path { get; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Opens <paramref name="path"/> raw 8N1 at <paramref name="baud"/>, exclusively. Throws IOException with a reason a person
    /// can act on: no such port, permission denied, held by another program, not a serial port.
    /// </summary>
    public static TtyStream Open(string path, int baud)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("serial ports are opened on Linux only");
        }

        if (TtyNative.SpeedOf(baud) is not { } speed)
        {
            throw new ArgumentOutOfRangeException(nameof(baud), baud, "not a baud rate the kernel offers (e.g. 9600, 57600, 115200)");
        }

        var fd = TtyNative.Open(path, PtyNative.ORdWr | PtyNative.ONoCtty | PtyNative.ONonBlock | PtyNative.OCloExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno switch
            {
                TtyNative.ENoEnt => $"{path}: no such port (is the Arduino plugged in?)",
                TtyNative.EAcces => $"{path}: permission denied (is this user in the dialout group?)",
                TtyNative.EBusy => $"{path}: held by another program (it is open exclusively)",
                TtyNative.ENxio or TtyNative.ENoDev => $"{path}: the device is not there",
                _ => $"{path}: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }

        var wake = new int[2];
        try
        {
            if (TtyNative.Flock(fd, TtyNative.LockEx | TtyNative.LockNb) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException(errno == TtyNative.EWouldBlock
                    ? $"{path}: held by another program (another alex serve?)"
                    : $"{path}: cannot lock: {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            if (TtyNative.Ioctl(fd, TtyNative.TiocExcl, 0) != 0)
            {
                throw Failure(path, "not a serial port (TIOCEXCL)");
            }

            var termios = new byte[PtyNative.TermiosBufferSize];
            if (PtyNative.Tcgetattr(fd, ref termios[0]) != 0)
            {
                throw Failure(path, "not a serial port (tcgetattr)");
            }

            PtyNative.Cfmakeraw(ref termios[0]);
            var cflag = BitConverter.ToUInt32(termios, TtyNative.CFlagOffset);
            cflag = (cflag | TtyNative.CLocal | TtyNative.CRead | TtyNative.HupCl) & ~TtyNative.CrtsCts;
            BitConverter.TryWriteBytes(termios.AsSpan(TtyNative.CFlagOffset), cflag);
            termios[TtyNative.CcOffset + TtyNative.VMin] = 1;
            termios[TtyNative.CcOffset + TtyNative.VTime] = 0;
            if (TtyNative.Cfsetispeed(ref termios[0], speed) != 0 || TtyNative.Cfsetospeed(ref termios[0], speed) != 0
                || PtyNative.Tcsetattr(fd, PtyNative.TcsaNow, ref termios[0]) != 0)
            {
                throw Failure(path, $"cannot set {baud} baud raw 8N1");
            }

            // DTR up; a pty has no modem lines (ENOTTY/EINVAL), which is fine.
            var dtr = TtyNative.TiocMDtr;
            _ = TtyNative.Ioctl(fd, TtyNative.TiocMBis, ref dtr);
            _ = PtyNative.Tcflush(fd, PtyNative.TcIoFlush);
            if (TtyNative.Pipe2(ref wake[0], PtyNative.OCloExec | PtyNative.ONonBlock) != 0)
            {
                throw Failure(path, "pipe2");
            }

            return new TtyStream(fd, wake[0], wake[1], path);
        }
        catch
        {
            _ = PtyNative.Close(fd);
            if (wake[1] != 0)
            {
                _ = PtyNative.Close(wake[0]);
                _ = PtyNative.Close(wake[1]);
            }

            throw;
        }
    }

    /// <summary>
    /// Raises or clears DTR. False when the port has no modem lines (a pseudo-terminal). On an RPLidar A1/A2
    /// USB adapter DTR raised stops the motor (docs/lidar.md).
    /// </summary>
    public bool SetDtr(bool raised)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var dtr = TtyNative.TiocMDtr;
        return TtyNative.Ioctl(_fd, raised ? TtyNative.TiocMBis : TtyNative.TiocMBic, ref dtr) == 0;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var n = TryRead(buffer.Span);
            if (n >= 0)
            {
                return n;
            }

            _wanted.Release();
            await _readable.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    // A frame fits the kernel's output buffer; only a port that stops draining (flow stalled, a pty nobody reads)
    // makes write(2) wait, and then for at most a second before that counts as the port failing.
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        while (!buffer.IsEmpty)
        {
            var n = PtyNative.Write(_fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
            if (n > 0)
            {
                buffer = buffer[(int)n..];
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (n < 0 && errno == PtyNative.EIntr)
            {
                continue;
            }

            if (n < 0 && errno == PtyNative.EAgain)
            {
                var pfd = new PtyNative.PollFd { Fd = _fd, Events = PtyNative.PollOut };
                if (PtyNative.Poll(ref pfd, 1, 1000) == 0)
                {
                    throw new IOException($"{Path}: write stalled (the port does not drain)");
                }

                continue;
            }

            throw new IOException($"{Path}: write failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    // A completed write has handed its bytes to the kernel; waiting for them to leave the UART (tcdrain) buys nothing.
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            byte one = 1;
            _ = PtyNative.Write(_wakeWrite, ref one, 1);
            _wanted.Release();
            if (_waiter.Join(TimeSpan.FromSeconds(2)))
            {
                _ = PtyNative.Close(_fd);
                _ = PtyNative.Close(_wakeRead);
                _ = PtyNative.Close(_wakeWrite);
            }

            _readable.Release();
        }

        base.Dispose(disposing);
    }

    // Bytes read (0: end of stream, the port hung up), or -1 when none are there yet.
    private int TryRead(Span<byte> buffer)
    {
        while (true)
        {
            var n = PtyNative.Read(_fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
            if (n >= 0)
            {
                return (int)n;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == PtyNative.EIntr)
            {
                continue;
            }

            if (errno == PtyNative.EAgain)
            {
                return -1;
            }

            throw new IOException(errno == PtyNative.EIo
                ? $"{Path}: the port went away (EIO)"
                : $"{Path}: read failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    // The waiter thread: blocks until a read wants input, then in poll(2) until the port has some (or hangs up, or the
    // stream is disposed). No timeouts anywhere: it wakes only for input.
    private void WaitForInput()
    {
        var fds = new PtyNative.PollFd[2];
        while (true)
        {
            _wanted.Wait();
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            fds[0] = new PtyNative.PollFd { Fd = _fd, Events = PtyNative.PollIn };
            fds[1] = new PtyNative.PollFd { Fd = _wakeRead, Events = PtyNative.PollIn };
            var n = PtyNative.Poll(ref fds[0], 2, -1);
            if (Volatile.Read(ref _disposed) != 0 || (n > 0 && fds[1].REvents != 0))
            {
                return;
            }

            _readable.Release();
        }
    }

    private static IOException Failure(string path, string what) =>
        new($"{path}: {what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
}
