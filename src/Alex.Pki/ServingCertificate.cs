// What a TLS server's own certificate must be before it listens: within its validity period, with a key
// that OpenSSL's security level 2 accepts (RSA at least 2048 bits; the default on Debian and Raspberry Pi
// OS, where the course client runs) and, for EC, the P-256 our own clients require (TrustPolicy). A server
// started with less logs "listening" and then fails every handshake ("ee key too small", "certificate
// expired"): it refuses to start instead.
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>Checks the certificate a server is about to present.</summary>
public static class ServingCertificate
{
    /// <summary>Null when the certificate can serve at <paramref name="now"/>, else the problem with its fix.</summary>
    public static PkiException? Check(X509Certificate2 certificate, string path, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (now > notAfter)
        {
            return new PkiException(
                $"{path}: the server's certificate expired on {notAfter:yyyy-MM-dd HH:mm} UTC; every client would refuse it",
                hint: "issue a new one with `alex pki issue --server` (and check this machine's clock)");
        }

        if (now < notBefore)
        {
            return new PkiException(
                $"{path}: the server's certificate is not valid until {notBefore:yyyy-MM-dd HH:mm} UTC; every client would refuse it",
                hint: "check this machine's clock (a Pi without network time starts in the past), or issue a new certificate");
        }

        var (algorithm, bits) = CertificateFacts.DescribeKey(certificate);
        var tooSmall = algorithm switch
        {
            "RSA" => bits < 2048,
            _ when algorithm.StartsWith("ECDSA", StringComparison.Ordinal) => bits < 256,
            _ => false,
        };
        if (tooSmall)
        {
            return new PkiException(
                $"{path}: the server's {bits}-bit {algorithm} key is too small for OpenSSL's default security level; every handshake would fail (\"ee key too small\")",
                hint: "issue a new certificate with `alex pki issue --server` (ECDSA P-256, or RSA 2048 and up)");
        }

        return null;
    }
}
