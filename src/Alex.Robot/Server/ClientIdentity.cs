using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;

namespace Alex.Robot.Server;

/// <summary>Who the server thinks a connected client is: the name the allow-list matched and its role.</summary>
public sealed record ClientIdentity(string Name, PeerRole Role, string Subject, string Fingerprint, string Peer)
{
    /// <summary>The role as AlexLink/1 names it (Welcome, the lease, the status).</summary>
    public Alex.Protocol.AlexLink.AlexLinkRole WireRole => Role switch
    {
        PeerRole.Drive => Alex.Protocol.AlexLink.AlexLinkRole.Driver,
        PeerRole.Admin => Alex.Protocol.AlexLink.AlexLinkRole.Admin,
        _ => Alex.Protocol.AlexLink.AlexLinkRole.Watcher,
    };

    public override string ToString() => $"{Name} ({Role.ToString().ToLowerInvariant()}, {Peer})";
}

internal static class CertificateText
{
    /// <summary>SHA-256 of the DER certificate in openssl's form (AB:CD:...), as `alex pki show` prints it.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        Convert.ToHexString(SHA256.HashData(certificate.RawDataMemory.Span)).Chunk(2).Aggregate(
            new System.Text.StringBuilder(),
            (sb, pair) => (sb.Length > 0 ? sb.Append(':') : sb).Append(pair)).ToString();
}
