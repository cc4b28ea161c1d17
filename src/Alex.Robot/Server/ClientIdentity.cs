using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;

namespace Alex.Robot.Server;

/// <summary>Who the server thinks a connected client is: the name the allow-list matched and its role.</summary>
public sealed record ClientIdentity(string Name, PeerRole Role, string Subject, string Fingerprint, string Peer)
{
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
