using System.Buffers;

namespace Alex.Protocol;

/// <summary>
/// The bytes a stream decoder holds that are not yet a whole result: appended as they arrive, consumed from the
/// front as results are cut. Grows only when a chunk does not fit after moving what is held to the front.
/// </summary>
internal sealed class HeldBytes
{
    private byte[] _buffer;
    private int _start;
    private int _end;

    public HeldBytes(int capacity)
    {
        _buffer = new byte[capacity];
    }

    public int Count => _end - _start;

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(_start, _end - _start);

    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
        {
            return;
        }

        if (_end + chunk.Length > _buffer.Length)
        {
            var held = _end - _start;
            if (held + chunk.Length > _buffer.Length)
            {
                var bigger = new byte[Math.Max(_buffer.Length * 2, held + chunk.Length)];
                _buffer.AsSpan(_start, held).CopyTo(bigger);
                _buffer = bigger;
            }
            else
            {
                _buffer.AsSpan(_start, held).CopyTo(_buffer);
            }

            _start = 0;
            _end = held;
        }

        chunk.CopyTo(_buffer.AsSpan(_end));
        _end += chunk.Length;
    }

    public void Append(in ReadOnlySequence<byte> chunk)
    {
        foreach (var segment in chunk)
        {
            Append(segment.Span);
        }
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    public void Clear() => _start = _end = 0;
}
