// DNS messages as Multicast DNS uses them: RFC 1035 §4.1 wire format, with the mDNS meanings of the class
// field's top bit (RFC 6762 §18.12, §10.2). docs/protocol.md §8 lists the records the robot announces.
//
// | offset | size | field                                                                         |
// |--------|------|-------------------------------------------------------------------------------|
// | 0      | 2    | ID (0 in multicast; a legacy unicast reply echoes the query's)                |
// | 2      | 2    | flags: QR (0x8000), opcode (0x7800), AA (0x0400), TC (0x0200), rcode (0x000F) |
// | 4      | 2    | QDCOUNT: questions                                                            |
// | 6      | 2    | ANCOUNT: answers                                                              |
// | 8      | 2    | NSCOUNT: authority records                                                    |
// | 10     | 2    | ARCOUNT: additional records                                                   |
// | 12     | ...  | questions: NAME, TYPE (2), CLASS (2; top bit: unicast response wanted)       |
// |        |      | records: NAME, TYPE (2), CLASS (2; top bit: cache flush), TTL (4), RDLENGTH (2), |
// |        |      | RDATA (RDLENGTH)                                                              |
//
// Integers are big-endian (network order). A NAME is labels, each a length byte (1-63) and that many bytes,
// ending in a zero byte, or ending in a two-byte pointer (top bits 11, 14-bit offset) to a name earlier in
// the message (RFC 1035 §4.1.4).
using System.Net;

namespace Alex.Protocol.Discovery;

/// <summary>Offsets, flags and limits shared by the reader, the writer and the tests.</summary>
public static class DnsWire
{
    public const int IdOffset = 0;
    public const int FlagsOffset = 2;
    public const int QuestionCountOffset = 4;
    public const int AnswerCountOffset = 6;
    public const int AuthorityCountOffset = 8;
    public const int AdditionalCountOffset = 10;
    public const int HeaderSize = 12;

    public const ushort FlagResponse = 0x8000;
    public const ushort FlagAuthoritative = 0x0400;
    public const ushort FlagTruncated = 0x0200;
    public const ushort OpcodeMask = 0x7800;
    public const ushort RcodeMask = 0x000F;

    /// <summary>Class IN (RFC 1035 §3.2.4).</summary>
    public const ushort ClassInternet = 1;

    /// <summary>Top bit of a question's class: a unicast reply is wanted (RFC 6762 §5.4).</summary>
    public const ushort UnicastResponseBit = 0x8000;

    /// <summary>Top bit of a record's class: this record replaces the cached ones of its name and type (RFC 6762 §10.2).</summary>
    public const ushort CacheFlushBit = 0x8000;

    /// <summary>The largest mDNS message (RFC 6762 §17); a reader refuses longer input outright.</summary>
    public const int MaxMessageSize = 9000;

    /// <summary>A name's wire length, length bytes included (RFC 1035 §2.3.4).</summary>
    public const int MaxNameLength = 255;

    public const int MaxLabelLength = 63;

    /// <summary>Top two bits of a compression pointer (RFC 1035 §4.1.4).</summary>
    public const byte PointerTag = 0xC0;

    /// <summary>Largest offset a compression pointer can hold.</summary>
    public const int MaxPointerOffset = 0x3FFF;

    /// <summary>The mDNS port and groups (RFC 6762 §3).</summary>
    public const int MdnsPort = 5353;

    public static readonly IPAddress MdnsGroupV4 = IPAddress.Parse("224.0.0.251");

    public static readonly IPAddress MdnsGroupV6 = IPAddress.Parse("ff02::fb");
}

/// <summary>Record types this code reads and writes by name (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 4034).</summary>
public enum DnsType : ushort
{
    A = 1,
#pragma warning disable CA1720 // the record type is called PTR (RFC 1035 §3.3.12)
    Ptr = 12,
#pragma warning restore CA1720
    Txt = 16,
    Aaaa = 28,
    Srv = 33,
    Nsec = 47,

    /// <summary>A question for every type (QTYPE *).</summary>
    Any = 255,
}

/// <summary>
/// A domain name as labels. Labels are kept apart because a DNS-SD instance name is one label that may hold dots
/// and spaces (RFC 6763 §4.3). Names compare ASCII case-insensitively (RFC 1035 §2.3.3).
/// </summary>
public sealed class DnsName : IEquatable<DnsName>
{
    public DnsName(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        Labels = labels;
    }

    public static DnsName Root { get; } = new([]);

    public IReadOnlyList<string> Labels { get; }

    /// <summary>"a.b.local" as labels; for names whose labels hold no dots.</summary>
    public static DnsName Parse(string dotted)
    {
        ArgumentNullException.ThrowIfNull(dotted);
        return new DnsName(dotted.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>This name with <paramref name="label"/> in front.</summary>
    public DnsName Prepend(string label) => new([label, .. Labels]);

    /// <summary>True when this name ends with <paramref name="suffix"/>'s labels.</summary>
    public bool EndsWith(DnsName suffix)
    {
        ArgumentNullException.ThrowIfNull(suffix);
        if (suffix.Labels.Count > Labels.Count)
        {
            return false;
        }

        var skip = Labels.Count - suffix.Labels.Count;
        for (var i = 0; i < suffix.Labels.Count; i++)
        {
            if (!string.Equals(Labels[skip + i], suffix.Labels[i], StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(DnsName? other) => other is not null && other.Labels.Count == Labels.Count && EndsWith(other);

    public override bool Equals(object? obj) => Equals(obj as DnsName);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var label in Labels)
        {
            hash.Add(label, StringComparer.OrdinalIgnoreCase);
        }

        return hash.ToHashCode();
    }

    /// <summary>Dotted, with dots and backslashes inside a label escaped (RFC 6763 §4.3).</summary>
    public override string ToString() =>
        Labels.Count == 0 ? "." : string.Join('.', Labels.Select(l => l.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(".", "\\.", StringComparison.Ordinal)));
}

/// <summary>One question. <paramref name="UnicastResponse"/>: the QU bit (RFC 6762 §5.4).</summary>
public sealed record DnsQuestion(DnsName Name, DnsType Type, bool UnicastResponse = false, ushort Class = DnsWire.ClassInternet);

/// <summary>A record's data, by type.</summary>
public abstract record DnsRecordData;

/// <summary>A or AAAA: one address.</summary>
public sealed record DnsAddressData(IPAddress Address) : DnsRecordData;

/// <summary>PTR: the name pointed to.</summary>
public sealed record DnsPointerData(DnsName Target) : DnsRecordData;

/// <summary>SRV (RFC 2782): where the service is.</summary>
public sealed record DnsServiceData(ushort Priority, ushort Weight, ushort Port, DnsName Target) : DnsRecordData;

/// <summary>TXT: character-strings of up to 255 bytes each (RFC 1035 §3.3.14).</summary>
public sealed record DnsTextData(IReadOnlyList<byte[]> Strings) : DnsRecordData
{
    public bool Equals(DnsTextData? other) =>
        other is not null && other.Strings.Count == Strings.Count && Strings.Zip(other.Strings).All(p => p.First.AsSpan().SequenceEqual(p.Second));

    public override int GetHashCode() => Strings.Count;
}

/// <summary>Any other type, kept as bytes (NSEC, HINFO, ...).</summary>
public sealed record DnsOpaqueData(byte[] Bytes) : DnsRecordData
{
    public bool Equals(DnsOpaqueData? other) => other is not null && other.Bytes.AsSpan().SequenceEqual(Bytes);

    public override int GetHashCode() => Bytes.Length;
}

/// <summary>One resource record. <paramref name="CacheFlush"/>: the class's top bit (RFC 6762 §10.2).</summary>
public sealed record DnsRecord(DnsName Name, DnsType Type, uint Ttl, DnsRecordData Data, bool CacheFlush = false, ushort Class = DnsWire.ClassInternet)
{
    /// <summary>Same name, type, class and data (the TTL and cache-flush bit aside): the same record (RFC 6762 §10.2).</summary>
    public bool SameRecordAs(DnsRecord other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Type == other.Type && Class == other.Class && Name.Equals(other.Name) && Data.Equals(other.Data);
    }
}

/// <summary>A whole message.</summary>
public sealed record DnsMessage(
    ushort Id,
    ushort Flags,
    IReadOnlyList<DnsQuestion> Questions,
    IReadOnlyList<DnsRecord> Answers,
    IReadOnlyList<DnsRecord> Authorities,
    IReadOnlyList<DnsRecord> Additionals)
{
    public bool IsResponse => (Flags & DnsWire.FlagResponse) != 0;

    /// <summary>Opcode 0 (standard query) and rcode 0: the only messages mDNS acts on (RFC 6762 §18.3, §18.11).</summary>
    public bool IsStandard => (Flags & (DnsWire.OpcodeMask | DnsWire.RcodeMask)) == 0;

    public static DnsMessage Query(params DnsQuestion[] questions) => new(0, 0, questions, [], [], []);

    /// <summary>An mDNS response: QR and AA set (RFC 6762 §18.2, §18.4).</summary>
    public static DnsMessage Response(IReadOnlyList<DnsRecord> answers, IReadOnlyList<DnsRecord> additionals, ushort id = 0, IReadOnlyList<DnsQuestion>? questions = null) =>
        new(id, DnsWire.FlagResponse | DnsWire.FlagAuthoritative, questions ?? [], answers, [], additionals);
}
