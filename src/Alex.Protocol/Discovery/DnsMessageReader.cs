// Reads one DNS message (layout: DnsMessage.cs) from a datagram that anyone on the LAN may have sent. Every
// length is checked against what is left before it is used; a count is checked against the fewest bytes its
// entries could take before anything is allocated; a compression pointer must point strictly before the labels
// it ends, so following pointers always ends (no loops), and a name is refused past 255 bytes.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;

namespace Alex.Protocol.Discovery;

/// <summary>Pure reader: a datagram in, a message or a one-line reason out. Never throws on any input.</summary>
public static class DnsMessageReader
{
    private const int MinQuestionSize = 5; // root name, type, class
    private const int MinRecordSize = 11; // root name, type, class, TTL, RDLENGTH

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool TryRead(ReadOnlySpan<byte> datagram, [NotNullWhen(true)] out DnsMessage? message, [NotNullWhen(false)] out string? error)
    {
        message = null;
        if (datagram.Length > DnsWire.MaxMessageSize)
        {
            error = $"{datagram.Length} bytes is over the mDNS limit of {DnsWire.MaxMessageSize}";
            return false;
        }

        if (datagram.Length < DnsWire.HeaderSize)
        {
            error = $"{datagram.Length} bytes is shorter than the 12-byte header";
            return false;
        }

        var id = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.IdOffset..]);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.FlagsOffset..]);
        int questionCount = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.QuestionCountOffset..]);
        int answerCount = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.AnswerCountOffset..]);
        int authorityCount = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.AuthorityCountOffset..]);
        int additionalCount = BinaryPrimitives.ReadUInt16BigEndian(datagram[DnsWire.AdditionalCountOffset..]);
        var least = (questionCount * MinQuestionSize) + ((answerCount + authorityCount + additionalCount) * MinRecordSize);
        if (least > datagram.Length - DnsWire.HeaderSize)
        {
            error = $"counts of {questionCount}/{answerCount}/{authorityCount}/{additionalCount} entries cannot fit in {datagram.Length} bytes";
            return false;
        }

        var position = DnsWire.HeaderSize;
        var questions = new DnsQuestion[questionCount];
        for (var i = 0; i < questionCount; i++)
        {
            if (!TryReadName(datagram, ref position, out var name, out error))
            {
                error = $"question {i + 1}: {error}";
                return false;
            }

            if (datagram.Length - position < 4)
            {
                error = $"question {i + 1}: ends inside its type and class";
                return false;
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram[position..]);
            var cls = BinaryPrimitives.ReadUInt16BigEndian(datagram[(position + 2)..]);
            position += 4;
            questions[i] = new DnsQuestion(name, (DnsType)type, (cls & DnsWire.UnicastResponseBit) != 0, (ushort)(cls & ~DnsWire.UnicastResponseBit));
        }

        if (!TryReadRecords(datagram, ref position, answerCount, "answer", out var answers, out error) ||
            !TryReadRecords(datagram, ref position, authorityCount, "authority record", out var authorities, out error) ||
            !TryReadRecords(datagram, ref position, additionalCount, "additional record", out var additionals, out error))
        {
            return false;
        }

        if (position != datagram.Length)
        {
            error = $"{datagram.Length - position} bytes after the last record";
            return false;
        }

        message = new DnsMessage(id, flags, questions, answers, authorities, additionals);
        error = null;
        return true;
    }

    private static bool TryReadRecords(ReadOnlySpan<byte> datagram, ref int position, int count, string what, out DnsRecord[] records, [NotNullWhen(false)] out string? error)
    {
        records = new DnsRecord[count];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadRecord(datagram, ref position, out var record, out error))
            {
                error = $"{what} {i + 1}: {error}";
                return false;
            }

            records[i] = record;
        }

        error = null;
        return true;
    }

    private static bool TryReadRecord(ReadOnlySpan<byte> datagram, ref int position, [NotNullWhen(true)] out DnsRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        if (!TryReadName(datagram, ref position, out var name, out error))
        {
            return false;
        }

        if (datagram.Length - position < 10)
        {
            error = "ends inside its type, class, TTL and length";
            return false;
        }

        var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(datagram[position..]);
        var cls = BinaryPrimitives.ReadUInt16BigEndian(datagram[(position + 2)..]);
        var ttl = BinaryPrimitives.ReadUInt32BigEndian(datagram[(position + 4)..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[(position + 8)..]);
        position += 10;
        if (length > datagram.Length - position)
        {
            error = $"data of {length} bytes runs past the end of the message";
            return false;
        }

        var end = position + length;
        var rdata = datagram[position..end];
        DnsRecordData data;
        switch (type)
        {
            case DnsType.A or DnsType.Aaaa:
                var size = type == DnsType.A ? 4 : 16;
                if (length != size)
                {
                    error = $"{type} data of {length} bytes (must be {size})";
                    return false;
                }

                data = new DnsAddressData(new IPAddress(rdata));
                break;
            case DnsType.Ptr:
                var at = position;
                if (!TryReadName(datagram, ref at, out var target, out error))
                {
                    return false;
                }

                if (at != end)
                {
                    error = "PTR name does not end where the record's data does";
                    return false;
                }

                data = new DnsPointerData(target);
                break;
            case DnsType.Srv:
                if (length < 7)
                {
                    error = $"SRV data of {length} bytes (at least 7)";
                    return false;
                }

                var srvAt = position + 6;
                if (!TryReadName(datagram, ref srvAt, out var srvTarget, out error))
                {
                    return false;
                }

                if (srvAt != end)
                {
                    error = "SRV name does not end where the record's data does";
                    return false;
                }

                data = new DnsServiceData(
                    BinaryPrimitives.ReadUInt16BigEndian(rdata),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[2..]),
                    BinaryPrimitives.ReadUInt16BigEndian(rdata[4..]),
                    srvTarget);
                break;
            case DnsType.Txt:
                var strings = new List<byte[]>();
                var rest = rdata;
                while (!rest.IsEmpty)
                {
                    var n = rest[0];
                    if (n > rest.Length - 1)
                    {
                        error = $"TXT string of {n} bytes runs past the record's data";
                        return false;
                    }

                    strings.Add(rest.Slice(1, n).ToArray());
                    rest = rest[(1 + n)..];
                }

                data = new DnsTextData(strings);
                break;
            default:
                data = new DnsOpaqueData(rdata.ToArray());
                break;
        }

        position = end;
        record = new DnsRecord(name, type, ttl, data, (cls & DnsWire.CacheFlushBit) != 0, (ushort)(cls & ~DnsWire.CacheFlushBit));
        error = null;
        return true;
    }

    /// <summary>
    /// Reads a name at <paramref name="position"/> and moves past its in-place part. A pointer must point before the start
    /// of the labels it ends (the name's start, or the previous pointer's target): the starts then strictly decrease, so
    /// there is no loop to follow (a pointer back into its own labels would be one); the 255-byte limit bounds the labels.
    /// </summary>
    internal static bool TryReadName(ReadOnlySpan<byte> datagram, ref int position, [NotNullWhen(true)] out DnsName? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        var labels = new List<string>();
        var at = position;
        var lowest = position;
        var resume = -1;
        var wireLength = 1;
        while (true)
        {
            if (at >= datagram.Length)
            {
                error = "name runs past the end of the message";
                return false;
            }

            var b = datagram[at];
            if (b == 0)
            {
                at++;
                break;
            }

            if ((b & DnsWire.PointerTag) == DnsWire.PointerTag)
            {
                if (at + 1 >= datagram.Length)
                {
                    error = "name pointer runs past the end of the message";
                    return false;
                }

                var target = BinaryPrimitives.ReadUInt16BigEndian(datagram[at..]) & DnsWire.MaxPointerOffset;
                if (target >= lowest)
                {
                    error = $"name pointer at offset {at} does not point before the name it ends (to {target})";
                    return false;
                }

                if (resume < 0)
                {
                    resume = at + 2;
                }

                at = lowest = target;
                continue;
            }

            if ((b & DnsWire.PointerTag) != 0)
            {
                error = $"label type 0x{b & DnsWire.PointerTag:X2} at offset {at} is not defined";
                return false;
            }

            if (at + 1 + b > datagram.Length)
            {
                error = "label runs past the end of the message";
                return false;
            }

            wireLength += 1 + b;
            if (wireLength > DnsWire.MaxNameLength)
            {
                error = $"name is longer than {DnsWire.MaxNameLength} bytes";
                return false;
            }

            var bytes = datagram.Slice(at + 1, b);
            if (bytes.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || bytes.Contains((byte)0x7F))
            {
                error = "label holds a control character";
                return false;
            }

            try
            {
                labels.Add(StrictUtf8.GetString(bytes));
            }
            catch (DecoderFallbackException)
            {
                error = "label is not UTF-8";
                return false;
            }

            at += 1 + b;
        }

        position = resume >= 0 ? resume : at;
        name = new DnsName(labels);
        error = null;
        return true;
    }
}
