// Writes one DNS message (layout: DnsMessage.cs), names compressed: a name, or its tail, already written is
// replaced by a pointer to it (RFC 1035 §4.1.4), as mDNS responders do to keep announcements small.
using System.Buffers.Binary;
using System.Text;

namespace Alex.Protocol.Discovery;

/// <summary>Pure writer. Throws <see cref="ArgumentException"/> for a message no reader would accept (a label over 63 bytes, ...).</summary>
public static class DnsMessageWriter
{
    public static byte[] Write(DnsMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var w = new Writer();
        w.UInt16(message.Id);
        w.UInt16(message.Flags);
        w.UInt16(Count(message.Questions.Count));
        w.UInt16(Count(message.Answers.Count));
        w.UInt16(Count(message.Authorities.Count));
        w.UInt16(Count(message.Additionals.Count));
        foreach (var q in message.Questions)
        {
            w.Name(q.Name);
            w.UInt16((ushort)q.Type);
            w.UInt16((ushort)(q.Class | (q.UnicastResponse ? DnsWire.UnicastResponseBit : 0)));
        }

        foreach (var r in message.Answers.Concat(message.Authorities).Concat(message.Additionals))
        {
            w.Record(r);
        }

        if (w.Length > DnsWire.MaxMessageSize)
        {
            throw new ArgumentException($"a message of {w.Length} bytes is over the mDNS limit of {DnsWire.MaxMessageSize}", nameof(message));
        }

        return w.ToArray();
    }

    private static ushort Count(int n) => n <= ushort.MaxValue ? (ushort)n : throw new ArgumentException($"{n} entries do not fit a 16-bit count");

    private sealed class Writer
    {
        private readonly List<byte> _bytes = new(512);
        private readonly Dictionary<DnsName, int> _written = [];

        public int Length => _bytes.Count;

        public byte[] ToArray() => [.. _bytes];

        public void UInt16(ushort value)
        {
            _bytes.Add((byte)(value >> 8));
            _bytes.Add((byte)value);
        }

        public void UInt32(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, value);
            _bytes.AddRange(b);
        }

        public void Name(DnsName name)
        {
            var wire = 1 + name.Labels.Sum(l => 1 + Encoding.UTF8.GetByteCount(l));
            if (wire > DnsWire.MaxNameLength)
            {
                throw new ArgumentException($"name '{name}' is {wire} bytes, over {DnsWire.MaxNameLength}", nameof(name));
            }

            for (var i = 0; i < name.Labels.Count; i++)
            {
                var suffix = i == 0 ? name : new DnsName(name.Labels.Skip(i).ToArray());
                if (_written.TryGetValue(suffix, out var offset))
                {
                    UInt16((ushort)((DnsWire.PointerTag << 8) | offset));
                    return;
                }

                if (_bytes.Count <= DnsWire.MaxPointerOffset)
                {
                    _written[suffix] = _bytes.Count;
                }

                var label = Encoding.UTF8.GetBytes(name.Labels[i]);
                if (label.Length is 0 or > DnsWire.MaxLabelLength)
                {
                    throw new ArgumentException($"label '{name.Labels[i]}' is {label.Length} bytes (1-{DnsWire.MaxLabelLength})", nameof(name));
                }

                _bytes.Add((byte)label.Length);
                _bytes.AddRange(label);
            }

            _bytes.Add(0);
        }

        public void Record(DnsRecord r)
        {
            Name(r.Name);
            UInt16((ushort)r.Type);
            UInt16((ushort)(r.Class | (r.CacheFlush ? DnsWire.CacheFlushBit : 0)));
            UInt32(r.Ttl);
            var lengthAt = _bytes.Count;
            UInt16(0);
            switch (r.Data)
            {
                case DnsAddressData a:
                    _bytes.AddRange(a.Address.GetAddressBytes());
                    break;
                case DnsPointerData p:
                    Name(p.Target);
                    break;
                case DnsServiceData s:
                    UInt16(s.Priority);
                    UInt16(s.Weight);
                    UInt16(s.Port);
                    Name(s.Target);
                    break;
                case DnsTextData t:
                    foreach (var s in t.Strings)
                    {
                        if (s.Length > byte.MaxValue)
                        {
                            throw new ArgumentException($"a TXT string of {s.Length} bytes is over 255", nameof(r));
                        }

                        _bytes.Add((byte)s.Length);
                        _bytes.AddRange(s);
                    }

                    break;
                case DnsOpaqueData o:
                    _bytes.AddRange(o.Bytes);
                    break;
                default:
                    throw new ArgumentException($"no writer for {r.Data.GetType().Name}", nameof(r));
            }

            var length = _bytes.Count - lengthAt - 2;
            if (length > ushort.MaxValue)
            {
                throw new ArgumentException($"record data of {length} bytes", nameof(r));
            }

            _bytes[lengthAt] = (byte)(length >> 8);
            _bytes[lengthAt + 1] = (byte)length;
        }
    }
}
