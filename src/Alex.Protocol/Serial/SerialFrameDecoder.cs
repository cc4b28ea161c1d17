// A streaming reader for 140-byte serial frames (docs/course-protocol.md §2) that does better than the course's:
// it takes chunks of any size, yields every complete frame in them, and resynchronises on the magic
// after noise or a lost byte (the course reader cuts fixed 140-byte blocks and never recovers).
//
// What it reports, each as a value, never an exception:
//   Frame        a frame whose checksum matches
//   BadChecksum  magic and size fine, checksum wrong: the 140 bytes are consumed (139 when the last
//                one could start the next frame, see FrameLength)
//   Noise(n)     n bytes that were not part of any frame (stray bytes, a corrupted magic, a bad
//                size field, a truncated frame followed by a good one). A run of noise is reported
//                once, when the next magic shows up or when it reaches a frame's length (140
//                bytes), so a whole corrupted frame counts once, as the firmware's BAD_PACKET does.
//                FlushNoise() reports a shorter run, e.g. when the line goes idle.
using System.Buffers;

namespace Alex.Protocol.Serial;

public enum SerialReadKind
{
    Frame,
    BadChecksum,
    Noise,
}

/// <summary>One result of <see cref="SerialFrameDecoder.TryRead"/>.</summary>
public readonly record struct SerialReadResult(SerialReadKind Kind, SerialPacket? Packet, int ByteCount)
{
    public static SerialReadResult FrameOf(SerialPacket packet) => new(SerialReadKind.Frame, packet, SerialFrame.Size);

    public static SerialReadResult BadChecksumOf() => new(SerialReadKind.BadChecksum, null, SerialFrame.Size);

    public static SerialReadResult NoiseOf(int count) => new(SerialReadKind.Noise, null, count);

    public override string ToString() => Kind switch
    {
        SerialReadKind.Frame => $"frame {Packet}",
        SerialReadKind.BadChecksum => "bad checksum",
        _ => $"noise ({ByteCount} bytes)",
    };
}

/// <summary>
/// Accumulates bytes and cuts them into frames. Not thread-safe: one reader loop owns it.
/// </summary>
public sealed class SerialFrameDecoder
{
    private readonly HeldBytes _held = new(SerialFrame.Size * 4);
    private int _noise;

    /// <summary>Bytes held that are not yet a whole frame.</summary>
    public int Buffered => _held.Count;

    /// <summary>Noise bytes skipped but not reported yet.</summary>
    public int PendingNoise => _noise;

    public void Append(ReadOnlySpan<byte> chunk) => _held.Append(chunk);

    public void Append(in ReadOnlySequence<byte> chunk) => _held.Append(chunk);

    /// <summary>Takes the next result, if the bytes so far make one.</summary>
    public bool TryRead(out SerialReadResult result)
    {
        while (true)
        {
            var span = _held.Span;
            var magicAt = span.IndexOf(SerialFrame.MagicBytes);
            if (magicAt != 0)
            {
                // Skip to the magic, or all but a tail that could still be the start of one.
                var skip = magicAt > 0 ? magicAt : span.Length - PartialMagicSuffix(span);
                skip = Math.Min(skip, SerialFrame.Size - _noise);
                _held.Consume(skip);
                _noise += skip;
                if (_noise >= SerialFrame.Size || (_noise > 0 && magicAt > 0 && skip == magicAt))
                {
                    result = TakeNoise();
                    return true;
                }

                if (magicAt < 0)
                {
                    result = default;
                    return false;
                }

                continue;
            }

            if (_noise > 0)
            {
                result = TakeNoise();
                return true;
            }

            if (span.Length < SerialFrame.Size)
            {
                result = default;
                return false;
            }

            var status = SerialFrame.TryDecode(span[..SerialFrame.Size], out var packet);
            switch (status)
            {
                case FrameStatus.Ok:
                    var length = FrameLength(span);
                    _held.Consume(length);
                    result = new SerialReadResult(SerialReadKind.Frame, packet, length);
                    return true;
                case FrameStatus.BadChecksum:
                    // A frame cut short by a lost byte shows the next frame's magic inside it:
                    // treat what comes before that magic as noise rather than swallow the next frame.
                    var next = span[SerialFrame.MagicBytes.Length..].IndexOf(SerialFrame.MagicBytes);
                    if (next >= 0 && next + SerialFrame.MagicBytes.Length < SerialFrame.Size)
                    {
                        var cut = next + SerialFrame.MagicBytes.Length;
                        _held.Consume(cut);
                        _noise += cut;
                        result = TakeNoise();
                        return true;
                    }

                    var consumed = FrameLength(span);
                    _held.Consume(consumed);
                    result = new SerialReadResult(SerialReadKind.BadChecksum, null, consumed);
                    return true;
                default:
                    // A magic with a nonsense size field: not a frame; skip the magic and rescan.
                    _held.Consume(SerialFrame.MagicBytes.Length);
                    _noise += SerialFrame.MagicBytes.Length;
                    continue;
            }
        }
    }

    /// <summary>Reports noise skipped so far even though it is shorter than a frame (e.g. the line went idle).</summary>
    public bool FlushNoise(out SerialReadResult result)
    {
        // Bytes held back as a possible magic prefix are noise too once the line is idle.
        var span = _held.Span;
        if (span.Length > 0 && span.Length < SerialFrame.MagicBytes.Length && SerialFrame.MagicBytes.StartsWith(span))
        {
            _noise += span.Length;
            _held.Clear();
        }

        if (_noise == 0)
        {
            result = default;
            return false;
        }

        result = TakeNoise();
        return true;
    }

    /// <summary>Forgets everything held (e.g. after the port was reopened).</summary>
    public void Reset()
    {
        _held.Clear();
        _noise = 0;
    }

    private SerialReadResult TakeNoise()
    {
        var n = _noise;
        _noise = 0;

        return SerialReadResult.NoiseOf(n);
    }

    // A frame that lost a byte on the line is 139 bytes long, so its 140-byte window ends with the
    // first byte of the next frame's magic; taking all 140 would eat that byte and lose the next frame
    // too. Leaving a last byte of FF for the next scan costs at most a one-byte noise report when a
    // sender really put FF in the last unused byte (ours never does: it writes zeros).
    // A lost byte cannot always be detected: the XOR checksum still matches when the byte lost was
    // zero and the shifted-in byte is zero too, so such a frame is delivered as decoded.
    private static int FrameLength(ReadOnlySpan<byte> span) =>
        span[SerialFrame.Size - 1] == SerialFrame.MagicBytes[0] ? SerialFrame.Size - 1 : SerialFrame.Size;

    // Length of the longest tail of span that is a proper prefix of the magic.
    private static int PartialMagicSuffix(ReadOnlySpan<byte> span)
    {
        for (var n = Math.Min(SerialFrame.MagicBytes.Length - 1, span.Length); n > 0; n--)
        {
            if (span[^n..].SequenceEqual(SerialFrame.MagicBytes[..n]))
            {
                return n;
            }
        }

        return 0;
    }
}
