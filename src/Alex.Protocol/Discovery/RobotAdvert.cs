// What a robot announces by DNS-SD (RFC 6763), the records docs/protocol.md §8 lists:
//
//   _services._dns-sd._udp.local  PTR  _alexlink._tcp.local             shared, 4500 s   (RFC 6763 §9)
//   _alexlink._tcp.local          PTR  INSTANCE._alexlink._tcp.local    shared, 4500 s
//   INSTANCE._alexlink._tcp.local SRV  0 0 PORT HOST.local              unique, 120 s
//   INSTANCE._alexlink._tcp.local TXT  v=1 name=CN fp=SHA256 ca=SHA256  unique, 4500 s
//   HOST.local                    A / AAAA  each address                unique, 120 s
//
// INSTANCE is the robot certificate's name, so the name a student types to connect is the name the TLS
// handshake then checks. TTLs are RFC 6762 §10's recommendations. Nothing here is authenticated: the TXT
// fingerprints let a laptop tell robots apart, the handshake proves who answers (docs/security.md).
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Alex.Protocol.Discovery;

/// <summary>A robot's announcement: instance (= certificate) name, host label, port and the fingerprints.</summary>
public sealed record RobotAdvert(string CertificateName, string HostLabel, int Port, string Fingerprint, string CaFingerprint)
{
    /// <summary>The DNS-SD service type (RFC 6763 §7), without the domain.</summary>
    public const string ServiceType = "_alexlink._tcp";

    /// <summary>The TXT "v=" value: the AlexLink major version the server speaks (docs/protocol.md §6).</summary>
    public const string ProtocolVersion = "1";

    public const uint HostTtl = 120;
    public const uint OtherTtl = 4500;

    public static DnsName ServiceName { get; } = DnsName.Parse(ServiceType + ".local");

    public static DnsName ServiceEnumerationName { get; } = DnsName.Parse("_services._dns-sd._udp.local");

    /// <summary>INSTANCE._alexlink._tcp.local: the instance is one label, dots and all.</summary>
    public DnsName InstanceName => ServiceName.Prepend(CertificateName);

    public DnsName HostName => new([HostLabel, "local"]);

    /// <summary>The TXT record's key=value strings (RFC 6763 §6).</summary>
    public IReadOnlyList<string> Txt => ["v=" + ProtocolVersion, "name=" + CertificateName, "fp=" + Fingerprint, "ca=" + CaFingerprint];

    /// <summary>Why this cannot be announced (a name over a DNS label's 63 bytes, ...), or null.</summary>
    public string? Problem()
    {
        if (CertificateName.Length == 0 || Encoding.UTF8.GetByteCount(CertificateName) > DnsWire.MaxLabelLength)
        {
            return $"the certificate name '{CertificateName}' does not fit a DNS-SD instance name (1-63 bytes)";
        }

        if (HostLabel.Length == 0 || Encoding.UTF8.GetByteCount(HostLabel) > DnsWire.MaxLabelLength || HostLabel.Contains('.', StringComparison.Ordinal))
        {
            return $"the host name '{HostLabel}' is not one DNS label";
        }

        if (CertificateName.Any(char.IsControl) || HostLabel.Any(char.IsControl) || Port is < 1 or > 65535)
        {
            return "a control character in a name, or no port";
        }

        return Txt.Any(t => Encoding.UTF8.GetByteCount(t) > byte.MaxValue) ? "a TXT string over 255 bytes" : null;
    }

    /// <summary>Every record, with the TTLs above, or all with <paramref name="ttl"/> (0: the goodbye, RFC 6762 §10.1).</summary>
    public IReadOnlyList<DnsRecord> Records(IReadOnlyList<IPAddress> addresses, uint? ttl = null)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var instance = InstanceName;
        var host = HostName;
        var records = new List<DnsRecord>
        {
            new(ServiceEnumerationName, DnsType.Ptr, ttl ?? OtherTtl, new DnsPointerData(ServiceName)),
            new(ServiceName, DnsType.Ptr, ttl ?? OtherTtl, new DnsPointerData(instance)),
            new(instance, DnsType.Srv, ttl ?? HostTtl, new DnsServiceData(0, 0, (ushort)Port, host), CacheFlush: true),
            new(instance, DnsType.Txt, ttl ?? OtherTtl, new DnsTextData(Txt.Select(Encoding.UTF8.GetBytes).ToArray()), CacheFlush: true),
        };
        foreach (var address in addresses)
        {
            var type = address.AddressFamily == AddressFamily.InterNetworkV6 ? DnsType.Aaaa : DnsType.A;
            records.Add(new DnsRecord(host, type, ttl ?? HostTtl, new DnsAddressData(address), CacheFlush: true));
        }

        return records;
    }
}
