// A streaming reader for what an RPLidar sends (docs/lidar.md §2-§6): response descriptors, the
// single packets after GET_INFO and GET_HEALTH, and the endless 5-byte nodes after SCAN. It takes
// chunks of any size and resynchronises after noise, as the device's own protocol document asks of a
// host: a node whose S/!S or check bit is wrong is not a node boundary, so the reader slides by one
// byte until the bits agree again.
//
// What it reports, each as a value, never an exception:
//   Descriptor  a response descriptor (a new response begins)
//   Node        a scan node whose S/!S and check bits agree and whose angle is below 360°
//   Info        the GET_INFO packet
//   Health      the GET_HEALTH packet
//   Packet      a packet of a type this reader does not decode (skipped whole)
//   Noise(n)    n bytes that were none of these: reported when the next good thing starts, when the run
//               reaches NoiseReportBytes, or on FlushNoise (the line went idle)
//
// The device answers nothing to STOP and RESET and keeps streaming nodes until it reads the next request,
// so the driver calls ExpectResponse() when it writes a request: nodes still in flight then count as
// noise until the new descriptor arrives.
using System.Buffers;

namespace Alex.Protocol.Lidar;

public enum LidarReadKind
{
    Descriptor,
    Node,
    Info,
    Health,
    Packet,
    Noise,
}

/// <summary>One result of <see cref="LidarStreamDecoder.TryRead"/>.</summary>
public readonly record struct LidarReadResult(
    LidarReadKind Kind,
    int ByteCount,
    LidarDescriptor Descriptor = default,
    LidarScanNode Node = default,
    LidarDeviceInfo? Info = null,
    LidarHealth Health = default)
{
    public override string ToString() => Kind switch
    {
        LidarReadKind.Descriptor => $"descriptor {Descriptor.Mode} type 0x{Descriptor.DataType:X2} length {Descriptor.Length}",
        LidarReadKind.Node => $"node {Node}",
        LidarReadKind.Info => $"info {Info}",
        LidarReadKind.Health => $"health {Health}",
        LidarReadKind.Packet => $"packet ({ByteCount} bytes)",
        _ => $"noise ({ByteCount} bytes)",
    };
}

/// <summary>Accumulates bytes from the device and cuts them into results. Not thread-safe: one read loop owns it.</summary>
public sealed class LidarStreamDecoder
{
    /// <summary>A long run of noise is reported in pieces of this size so counters move while the line is garbage.</summary>
    public const int NoiseReportBytes = 64;

    private readonly HeldBytes _held = new(512);
    private int _noise;
    private LidarDescriptor? _response;

    /// <summary>Bytes held that are not yet a whole result.</summary>
    public int Buffered => _held.Count;

    /// <summary>The response being received (null while waiting for a descriptor).</summary>
    public LidarDescriptor? Response => _response;

    public void Append(ReadOnlySpan<byte> chunk) => _held.Append(chunk);

    public void Append(in ReadOnlySequence<byte> chunk) => _held.Append(chunk);

    /// <summary>A request was written: what follows is its descriptor; anything before that is noise.</summary>
    public void ExpectResponse() => _response = null;

    /// <summary>Forgets everything held (the port was reopened).</summary>
    public void Reset()
    {
        _held.Clear();
        _noise = 0;
        _response = null;
    }

    /// <summary>Takes the next result, if the bytes so far make one.</summary>
    public bool TryRead(out LidarReadResult result)
    {
        while (true)
        {
            var span = _held.Span;
            if (_noise >= NoiseReportBytes)
            {
                result = TakeNoise();
                return true;
            }

            if (_response is not { } response)
            {
                var at = span.IndexOf(LidarDescriptor.StartFlags);
                if (at != 0)
                {
                    // Skip to the flags, or all but a last A5 that could begin them.
                    var skip = at > 0 ? at : span.Length - (span.Length > 0 && span[^1] == LidarDescriptor.StartFlags[0] ? 1 : 0);
                    Skip(Math.Min(skip, NoiseReportBytes - _noise));
                    if (at < 0 && _noise < NoiseReportBytes)
                    {
                        result = default;
                        return false;
                    }

                    continue;
                }

                if (span.Length < LidarDescriptor.Size)
                {
                    result = default;
                    return false;
                }

                LidarDescriptor.TryRead(span, out var descriptor);
                if (!IsAcceptable(descriptor))
                {
                    // Flags followed by a nonsense length or mode: not a descriptor.
                    Skip(LidarDescriptor.StartFlags.Length);
                    continue;
                }

                if (_noise > 0)
                {
                    result = TakeNoise();
                    return true;
                }

                _held.Consume(LidarDescriptor.Size);
                _response = descriptor;
                result = new LidarReadResult(LidarReadKind.Descriptor, LidarDescriptor.Size, Descriptor: descriptor);
                return true;
            }

            if (response.DataType == LidarDataType.ScanNode && response.Length == LidarScanNode.Size)
            {
                if (span.Length < LidarScanNode.Size)
                {
                    result = default;
                    return false;
                }

                if (!LidarScanNode.TryRead(span, out var node))
                {
                    // The device restarted a response (it was reset, or another request was answered):
                    // a descriptor can show up where a node was expected.
                    if (span.StartsWith(LidarDescriptor.StartFlags) && span.Length >= LidarDescriptor.Size
                        && LidarDescriptor.TryRead(span, out var restart) && IsAcceptable(restart))
                    {
                        _response = null;
                        continue;
                    }

                    Skip(1);
                    continue;
                }

                if (_noise > 0)
                {
                    result = TakeNoise();
                    return true;
                }

                _held.Consume(LidarScanNode.Size);
                result = new LidarReadResult(LidarReadKind.Node, LidarScanNode.Size, Node: node);
                return true;
            }

            if (_noise > 0)
            {
                result = TakeNoise();
                return true;
            }

            if (span.Length < response.Length)
            {
                result = default;
                return false;
            }

            var packet = span[..response.Length];
            _held.Consume(response.Length);
            if (response.Mode == LidarSendMode.OneResponse)
            {
                _response = null;
            }

            result = response switch
            {
                { DataType: LidarDataType.DeviceInfo, Length: LidarDeviceInfo.Size } =>
                    new LidarReadResult(LidarReadKind.Info, packet.Length, Descriptor: response, Info: LidarDeviceInfo.Read(packet)),
                { DataType: LidarDataType.Health, Length: LidarHealth.Size } =>
                    new LidarReadResult(LidarReadKind.Health, packet.Length, Descriptor: response, Health: LidarHealth.Read(packet)),
                _ => new LidarReadResult(LidarReadKind.Packet, packet.Length, Descriptor: response),
            };
            return true;
        }
    }

    /// <summary>Reports noise skipped so far, and bytes held that cannot complete (the line went idle).</summary>
    public bool FlushNoise(out LidarReadResult result)
    {
        if (_response is null && _held.Count is > 0 and < LidarDescriptor.Size)
        {
            Skip(_held.Count);
        }

        if (_noise == 0)
        {
            result = default;
            return false;
        }

        result = TakeNoise();
        return true;
    }

    private static bool IsAcceptable(LidarDescriptor d) =>
        d.Length is > 0 and <= LidarDescriptor.MaxLength && d.Mode is LidarSendMode.OneResponse or LidarSendMode.Stream;

    private void Skip(int count)
    {
        _held.Consume(count);
        _noise += count;
    }

    private LidarReadResult TakeNoise()
    {
        var n = Math.Min(_noise, NoiseReportBytes);
        _noise -= n;

        return new LidarReadResult(LidarReadKind.Noise, n);
    }
}
