// What the robot announces, read from its certificate and its CA's (docs/protocol.md §8): the instance is the
// certificate's name (DNS name, or CN when it has none), so the name a laptop types is the name TLS then checks.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Protocol.Discovery;
using Alex.Robot.Server;

namespace Alex.Robot.Discovery;

public static class RobotAdverts
{
    public static RobotAdvert From(X509Certificate2 certificate, X509Certificate2 ca, int port, string? hostLabel = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(ca);
        var name = certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } dns
            ? dns
            : certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return new RobotAdvert(name, hostLabel ?? HostLabel(), port, CertificateText.Fingerprint(certificate), CertificateText.Fingerprint(ca));
    }

    /// <summary>This machine's host name, first label only (HOST.local is what mDNS names it).</summary>
    public static string HostLabel() => Dns.GetHostName().Split('.')[0];

    /// <summary>`alex serve` announces unless told not to, on a LAN address (never for loopback: nobody else could connect).</summary>
    public static bool ShouldAnnounce(IPEndPoint listen, bool noAnnounce)
    {
        ArgumentNullException.ThrowIfNull(listen);
        return !noAnnounce && !IPAddress.IsLoopback(listen.Address) && listen.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
    }
}
