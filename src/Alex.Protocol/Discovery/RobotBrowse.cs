// A laptop's view of the robots on the LAN, built from mDNS responses (RFC 6762 §10: TTLs, cache flush,
// goodbyes) as DNS-SD describes them (RFC 6763 §4-§6: PTR to instances, SRV and TXT per instance, addresses per
// host). Pure: the caller feeds in each response with the time it arrived. Everything here is what someone on
// the LAN claimed; only the TLS handshake authenticates a robot (docs/security.md).
using System.Net;
using System.Text;

namespace Alex.Protocol.Discovery;

/// <summary>A robot as announced: instance name, SRV target and port, addresses, and the TXT claims.</summary>
public sealed record DiscoveredRobot(
    string Instance,
    string HostName,
    int Port,
    IReadOnlyList<IPAddress> Addresses,
    string? CertificateName,
    string? Fingerprint,
    string? CaFingerprint,
    string? Version);

/// <summary>The records heard so far, and the robots they describe.</summary>
public sealed class RobotBrowse
{
    /// <summary>Records kept at most: a LAN flooding us with announcements fills no more memory than this.</summary>
    public const int MaxRecords = 2048;

    private readonly List<(DnsRecord Record, DateTimeOffset Expires, DateTimeOffset Heard)> _cache = [];

    /// <summary>The questions that find every robot: the service type's PTR (RFC 6763 §4.1).</summary>
    public static DnsQuestion BrowseQuestion(bool unicastResponse) => new(RobotAdvert.ServiceName, DnsType.Ptr, unicastResponse);

    /// <summary>Takes in a response's answers and additional records. True when the set of robots may have changed.</summary>
    public bool Apply(DnsMessage message, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.IsResponse || !message.IsStandard)
        {
            return false;
        }

        var changed = false;
        foreach (var record in message.Answers.Concat(message.Additionals))
        {
            if (record.Class != DnsWire.ClassInternet || !Relevant(record))
            {
                continue;
            }

            if (record.Ttl == 0)
            {
                changed |= _cache.RemoveAll(c => c.Record.SameRecordAs(record)) > 0;
                continue;
            }

            if (record.CacheFlush)
            {
                // Records of this name and type heard before this message are replaced (RFC 6762 §10.2).
                changed |= _cache.RemoveAll(c => c.Heard < now && c.Record.Type == record.Type && c.Record.Name.Equals(record.Name) && !c.Record.SameRecordAs(record)) > 0;
            }

            var i = _cache.FindIndex(c => c.Record.SameRecordAs(record));
            if (i >= 0)
            {
                _cache[i] = (record, now.AddSeconds(record.Ttl), _cache[i].Heard);
            }
            else if (_cache.Count < MaxRecords)
            {
                _cache.Add((record, now.AddSeconds(record.Ttl), now));
                changed = true;
            }
        }

        return changed;
    }

    /// <summary>The robots whose PTR and SRV are known and unexpired, by instance name.</summary>
    public IReadOnlyList<DiscoveredRobot> Robots(DateTimeOffset now)
    {
        _cache.RemoveAll(c => c.Expires <= now);
        var robots = new List<DiscoveredRobot>();
        foreach (var ptr in Live(RobotAdvert.ServiceName, DnsType.Ptr))
        {
            if (ptr.Data is not DnsPointerData { Target: var instance } || instance.Labels.Count != RobotAdvert.ServiceName.Labels.Count + 1 || !instance.EndsWith(RobotAdvert.ServiceName))
            {
                continue;
            }

            if (Live(instance, DnsType.Srv).Select(r => r.Data).OfType<DnsServiceData>().FirstOrDefault() is not { } srv)
            {
                continue;
            }

            var txt = Live(instance, DnsType.Txt).Select(r => r.Data).OfType<DnsTextData>().FirstOrDefault();
            var addresses = Live(srv.Target, DnsType.A).Concat(Live(srv.Target, DnsType.Aaaa))
                .Select(r => ((DnsAddressData)r.Data).Address).Distinct().ToArray();
            robots.Add(new DiscoveredRobot(
                instance.Labels[0],
                srv.Target.ToString(),
                srv.Port,
                addresses,
                TxtValue(txt, "name"),
                TxtValue(txt, "fp"),
                TxtValue(txt, "ca"),
                TxtValue(txt, "v")));
        }

        return [.. robots.DistinctBy(r => r.Instance, StringComparer.OrdinalIgnoreCase).OrderBy(r => r.Instance, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Questions for what is still missing: an instance's SRV and TXT, a host's addresses (RFC 6763 §12 lets a responder leave them out).</summary>
    public IReadOnlyList<DnsQuestion> FollowUps(DateTimeOffset now)
    {
        _cache.RemoveAll(c => c.Expires <= now);
        var questions = new List<DnsQuestion>();
        foreach (var ptr in Live(RobotAdvert.ServiceName, DnsType.Ptr))
        {
            if (ptr.Data is not DnsPointerData { Target: var instance })
            {
                continue;
            }

            var srv = Live(instance, DnsType.Srv).Select(r => r.Data).OfType<DnsServiceData>().FirstOrDefault();
            if (srv is null)
            {
                questions.Add(new DnsQuestion(instance, DnsType.Srv));
                questions.Add(new DnsQuestion(instance, DnsType.Txt));
            }
            else if (!Live(srv.Target, DnsType.A).Any() && !Live(srv.Target, DnsType.Aaaa).Any())
            {
                questions.Add(new DnsQuestion(srv.Target, DnsType.A));
            }
        }

        return questions;
    }

    /// <summary>The addresses heard for <paramref name="host"/> (a HOST.local name asked for directly).</summary>
    public IReadOnlyList<IPAddress> Addresses(DnsName host, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(host);
        _cache.RemoveAll(c => c.Expires <= now);
        return [.. Live(host, DnsType.A).Concat(Live(host, DnsType.Aaaa)).Select(r => ((DnsAddressData)r.Data).Address).Distinct()];
    }

    /// <summary>The questions that resolve <paramref name="name"/>: as an instance (its SRV and TXT), and, for a .local name, as a host.</summary>
    public static IReadOnlyList<DnsQuestion> ResolveQuestions(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var questions = new List<DnsQuestion> { BrowseQuestion(unicastResponse: false) };
        if (Encoding.UTF8.GetByteCount(name) is > 0 and <= DnsWire.MaxLabelLength)
        {
            questions.Add(new DnsQuestion(RobotAdvert.ServiceName.Prepend(name), DnsType.Srv));
            questions.Add(new DnsQuestion(RobotAdvert.ServiceName.Prepend(name), DnsType.Txt));
        }

        if (IsLocalHostName(name))
        {
            questions.Add(new DnsQuestion(DnsName.Parse(name), DnsType.A));
        }

        return questions;
    }

    /// <summary>
    /// Where <paramref name="name"/> is, from what was heard: the robot whose instance name it is (its SRV target's
    /// addresses and port), else the HOST.local of that name (its addresses, and the port of a robot on that host if one is
    /// announced). Null when nothing is known yet.
    /// </summary>
    public (IReadOnlyList<IPAddress> Addresses, int? Port)? Resolve(string name, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(name);
        _cache.RemoveAll(c => c.Expires <= now);
        if (Encoding.UTF8.GetByteCount(name) is > 0 and <= DnsWire.MaxLabelLength &&
            Live(RobotAdvert.ServiceName.Prepend(name), DnsType.Srv).Select(r => r.Data).OfType<DnsServiceData>().FirstOrDefault() is { } srv &&
            Addresses(srv.Target, now) is { Count: > 0 } found)
        {
            return (found, srv.Port);
        }

        if (IsLocalHostName(name) && Addresses(DnsName.Parse(name), now) is { Count: > 0 } hostAddresses)
        {
            var host = DnsName.Parse(name);
            var port = _cache.Select(c => c.Record.Data).OfType<DnsServiceData>().FirstOrDefault(s => s.Target.Equals(host))?.Port;
            return (hostAddresses, port);
        }

        return null;
    }

    /// <summary>NAME.local, with NAME one or more labels.</summary>
    public static bool IsLocalHostName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var parsed = DnsName.Parse(name);
        return parsed.Labels.Count >= 2 && parsed.EndsWith(LocalDomain) && parsed.Labels.All(l => Encoding.UTF8.GetByteCount(l) <= DnsWire.MaxLabelLength);
    }

    private static DnsName LocalDomain { get; } = new(["local"]);

    private static bool Relevant(DnsRecord record) => record.Type switch
    {
        DnsType.Ptr => record.Data is DnsPointerData,
        DnsType.Srv => record.Data is DnsServiceData,
        DnsType.Txt => record.Data is DnsTextData,
        DnsType.A or DnsType.Aaaa => record.Data is DnsAddressData,
        _ => false,
    };

    private IEnumerable<DnsRecord> Live(DnsName name, DnsType type) =>
        _cache.Where(c => c.Record.Type == type && c.Record.Name.Equals(name)).Select(c => c.Record);

    /// <summary>A TXT value by key (case-insensitive, RFC 6763 §6.4); null when absent, or when it is not printable text.</summary>
    private static string? TxtValue(DnsTextData? txt, string key)
    {
        if (txt is null)
        {
            return null;
        }

        foreach (var bytes in txt.Strings)
        {
            var eq = Array.IndexOf(bytes, (byte)'=');
            if (eq <= 0 || !Encoding.ASCII.GetString(bytes, 0, eq).Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            string value;
            try
            {
                value = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, eq + 1, bytes.Length - eq - 1);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }

            return value.Any(char.IsControl) ? null : value;
        }

        return null;
    }
}
