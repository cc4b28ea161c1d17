// The robot's mDNS responder as pure decisions (RFC 6762): which query gets which answer, sent where. The I/O
// loop (Alex.Robot.Discovery.MdnsAnnouncer) reads a datagram, asks Answer, and sends what it returns.
//
// Rules followed, by section of RFC 6762:
//   §6    answer only questions for our own names; responses, and queries that are not standard (opcode or rcode
//         not 0, §18.3 §18.11), are ignored; a query from off the link is ignored (§11).
//   §6.2  the addresses are those of the interface the query came in on (the loop passes them).
//   §6.7  legacy unicast (source port not 5353): a unicast reply to the source, the ID and questions echoed, no
//         cache-flush bits, TTLs at most 10 s.
//   §5.4  a query whose every question has the QU bit gets a unicast reply to the source (port 5353).
//   §7.1  known-answer suppression: a record the querier lists with at least half our TTL is not repeated.
//   RFC 6763 §12  a PTR answer brings the SRV, TXT and addresses along as additional records; an SRV, the addresses.
// Not done: probing and conflict resolution (§8.1, §9); the instance is the certificate's name, which the CA
// issues once, and two robots sharing one certificate would both answer (docs/security.md).
using System.Net;

namespace Alex.Protocol.Discovery;

/// <summary>Where a query came from: its source port, and whether its source address is on the receiving link (RFC 6762 §11).</summary>
public readonly record struct MdnsQuerySource(int Port, bool OnLink)
{
    /// <summary>A one-shot resolver's query from a port other than 5353 (RFC 6762 §6.7).</summary>
    public bool IsLegacyUnicast => Port != DnsWire.MdnsPort;
}

/// <summary>A reply to send: multicast to the group, or unicast back to the query's source.</summary>
public sealed record MdnsReply(DnsMessage Message, bool Unicast);

/// <summary>Pure: the robot's answers to queries, its announcement and its goodbye.</summary>
public sealed class MdnsResponder
{
    /// <summary>The largest TTL in a legacy unicast reply (RFC 6762 §6.7).</summary>
    public const uint LegacyUnicastTtl = 10;

    private const ushort ClassAny = 255;

    public MdnsResponder(RobotAdvert advert)
    {
        ArgumentNullException.ThrowIfNull(advert);
        Advert = advert;
    }

    public RobotAdvert Advert { get; }

    /// <summary>The unsolicited response sent at start, twice a second apart (RFC 6762 §8.3).</summary>
    public DnsMessage Announcement(IReadOnlyList<IPAddress> addresses) => Unsolicited(Advert.Records(addresses));

    /// <summary>Every record with TTL 0: caches drop the robot at once (RFC 6762 §10.1).</summary>
    public DnsMessage Goodbye(IReadOnlyList<IPAddress> addresses) => Unsolicited(Advert.Records(addresses, ttl: 0));

    /// <summary>What to send in reply to <paramref name="query"/>; null: nothing (not ours, or all known already).</summary>
    public MdnsReply? Answer(DnsMessage query, MdnsQuerySource source, IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(addresses);
        if (query.IsResponse || !query.IsStandard || !source.OnLink || query.Questions.Count == 0)
        {
            return null;
        }

        var ours = Advert.Records(addresses);
        var answers = new List<DnsRecord>();
        foreach (var question in query.Questions)
        {
            if (question.Class is not DnsWire.ClassInternet and not ClassAny)
            {
                continue;
            }

            foreach (var record in ours)
            {
                if (record.Name.Equals(question.Name) && (question.Type == DnsType.Any || question.Type == record.Type) && !answers.Contains(record))
                {
                    answers.Add(record);
                }
            }
        }

        answers.RemoveAll(r => query.Answers.Any(known => known.SameRecordAs(r) && known.Ttl >= r.Ttl / 2));
        if (answers.Count == 0)
        {
            return null;
        }

        var additionals = new List<DnsRecord>();
        void Add(DnsName name, params DnsType[] types)
        {
            foreach (var r in ours)
            {
                if (r.Name.Equals(name) && types.Contains(r.Type) && !answers.Contains(r) && !additionals.Contains(r))
                {
                    additionals.Add(r);
                }
            }
        }

        foreach (var answer in answers.ToArray())
        {
            if (answer.Data is DnsPointerData pointer && pointer.Target.Equals(Advert.InstanceName))
            {
                Add(Advert.InstanceName, DnsType.Srv, DnsType.Txt);
                Add(Advert.HostName, DnsType.A, DnsType.Aaaa);
            }
            else if (answer.Type == DnsType.Srv)
            {
                Add(Advert.HostName, DnsType.A, DnsType.Aaaa);
            }
        }

        if (source.IsLegacyUnicast)
        {
            static DnsRecord Legacy(DnsRecord r) => r with { CacheFlush = false, Ttl = Math.Min(r.Ttl, LegacyUnicastTtl) };
            return new MdnsReply(DnsMessage.Response(answers.Select(Legacy).ToArray(), additionals.Select(Legacy).ToArray(), query.Id, query.Questions), Unicast: true);
        }

        return new MdnsReply(DnsMessage.Response(answers, additionals), Unicast: query.Questions.All(q => q.UnicastResponse));
    }

    private static DnsMessage Unsolicited(IReadOnlyList<DnsRecord> records) => DnsMessage.Response(records, []);
}
