// A real serial port as a Stream, raw 8N1 through System.IO.Ports (docs/course-protocol.md §2). We read from
// BaseStream in our own loop rather than through SerialPort's DataReceived/ReadExisting, and the
// stream owns the SerialPort so disposing it closes the port. Opening by path works for ptys too
// (SerialPort.GetPortNames() does not list them, but nothing here relies on it).
using System.IO.Ports;

namespace Alex.Robot.Serial;

internal sealed class SerialPortStream : Stream
{
    private readonly SerialPort _port;
    private readonly Stream _base;

    private SerialPortStream(SerialPort port)
    {
        _port = port;
        _base = port.BaseStream;
    }

    public static SerialPortStream Open(string path, int baudRate)
    {
        var port = new SerialPort(path, baudRate, Parity.None, 8, StopBits.One)
        {
            Handshake = Handshake.None,
            ReadTimeout = SerialPort.InfiniteTimeout,
            WriteTimeout = SerialPort.InfiniteTimeout,
        };
        try
        {
            port.Open();
            return new SerialPortStream(port);
        }
        catch
        {
            port.Dispose();
            throw;
        }
    }

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
        _base.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _base.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _base.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _base.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _base.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _base.Write(buffer, offset, count);

    // A completed write has handed its bytes to the kernel already. SerialStream.Flush would also
    // tcdrain (wait until they have left the UART: 146 ms a frame at 9600) on a blocked thread-pool
    // thread, which buys nothing here.
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
            _port.Dispose();
        }

        base.Dispose(disposing);
    }
}
