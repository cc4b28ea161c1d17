using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// What the trust policy and `alex pki show` need to know about a certificate, read straight from its
/// DER (RFC 5280 §4.1) so that unusual certificates — X.509 v1 with no extensions, two CNs, names with
/// spaces — are described as they are instead of failing to parse.
/// </summary>
public sealed class CertificateFacts
{
    private CertificateFacts()
    {
    }

    /// <summary>X.509 version (1 or 3).</summary>
    public int Version { get; private init; }

    public string Subject { get; private init; } = string.Empty;

    public string Issuer { get; private init; } = string.Empty;

    /// <summary>Every Common Name in the subject, in order (the policy requires exactly one).</summary>
    public IReadOnlyList<string> CommonNames { get; private init; } = [];

    public IReadOnlyList<string> DnsNames { get; private init; } = [];

    public IReadOnlyList<IPAddress> IpAddresses { get; private init; } = [];

    /// <summary>True when a subjectAltName extension is present (then it, not the CN, names the peer).</summary>
    public bool HasSubjectAltName { get; private init; }

    /// <summary>Extended key usage OIDs, or null when the extension is absent (course v1 certificates).</summary>
    public IReadOnlyList<string>? ExtendedKeyUsages { get; private init; }

    /// <summary>True when the certificate may identify a TLS server: no extended key usage, or one that lists serverAuth (RFC 5280 §4.2.1.12).</summary>
    public bool AllowsServerAuth => ExtendedKeyUsages is null || ExtendedKeyUsages.Contains(Oids.ServerAuth);

    /// <summary>The kind of peer the certificate is for: a server when its usages name serverAuth and not clientAuth, else a client.</summary>
    public PeerKind IntendedPeer =>
        ExtendedKeyUsages is { } eku && eku.Contains(Oids.ServerAuth) && !eku.Contains(Oids.ClientAuth) ? PeerKind.Server : PeerKind.Client;

    /// <summary>Key usage flags, or null when the extension is absent.</summary>
    public X509KeyUsageFlags? KeyUsage { get; private init; }

    /// <summary>basicConstraints cA, or null when the extension is absent.</summary>
    public bool? IsCertificateAuthority { get; private init; }

    public string KeyAlgorithm { get; private init; } = string.Empty;

    /// <summary>RSA modulus bits or the EC curve's field size.</summary>
    public int KeyBits { get; private init; }

    public string SignatureAlgorithmOid { get; private init; } = string.Empty;

    public string SignatureAlgorithm => Oids.SignatureName(SignatureAlgorithmOid);

    /// <summary>Serial number as big-endian hex (as openssl prints it, without colons).</summary>
    public string SerialHex { get; private init; } = string.Empty;

    public DateTimeOffset NotBefore { get; private init; }

    public DateTimeOffset NotAfter { get; private init; }

    /// <summary>SHA-256 of the DER certificate, upper-case hex with colons (as `openssl x509 -fingerprint -sha256`).</summary>
    public string Sha256Fingerprint { get; private init; } = string.Empty;

    public string? SubjectKeyIdentifier { get; private init; }

    public string? AuthorityKeyIdentifier { get; private init; }

    /// <summary>The critical extensions' OIDs (for reporting unknown critical extensions).</summary>
    public IReadOnlyList<string> CriticalExtensions { get; private init; } = [];

    public bool IsSelfIssued => Subject == Issuer;

    /// <summary>
    /// The names a peer is known by: its SAN DNS names (and IP addresses, as text), or the CN when there
    /// is no SAN (docs/course-protocol.md §5, as OpenSSL's X509_check_host does).
    /// </summary>
    public IReadOnlyList<string> PeerNames =>
        HasSubjectAltName ? [.. DnsNames, .. IpAddresses.Select(a => a.ToString())]
        : CommonNames.Count == 1 ? [CommonNames[0]] : [];

    /// <summary>Reads the facts of a certificate; throws <see cref="PkiException"/> for a certificate we cannot read.</summary>
    public static CertificateFacts From(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        var hasSan = false;
        List<string>? eku = null;
        X509KeyUsageFlags? ku = null;
        bool? ca = null;
        string? ski = null;
        string? aki = null;
        var critical = new List<string>();

        try
        {
            foreach (var ext in certificate.Extensions)
            {
                var oid = ext.Oid?.Value ?? string.Empty;
                if (ext.Critical)
                {
                    critical.Add(oid);
                }

                switch (oid)
                {
                    case Oids.SubjectAltName:
                        hasSan = true;
                        ReadSubjectAltName(ext.RawData, dns, ips);
                        break;
                    case Oids.ExtendedKeyUsage:
                        eku = [];
                        var ekuSeq = new AsnReader(ext.RawData, AsnEncodingRules.DER).ReadSequence();
                        while (ekuSeq.HasData)
                        {
                            eku.Add(ekuSeq.ReadObjectIdentifier());
                        }

                        break;
                    case Oids.KeyUsage:
                        ku = new X509KeyUsageExtension(ext, ext.Critical).KeyUsages;
                        break;
                    case Oids.BasicConstraints:
                        ca = new X509BasicConstraintsExtension(ext, ext.Critical).CertificateAuthority;
                        break;
                    case Oids.SubjectKeyIdentifier:
                        ski = new X509SubjectKeyIdentifierExtension(ext, ext.Critical).SubjectKeyIdentifier;
                        break;
                    case Oids.AuthorityKeyIdentifier:
                        var akiExt = new X509AuthorityKeyIdentifierExtension(ext.RawData, ext.Critical);
                        aki = akiExt.KeyIdentifier is { } id ? Convert.ToHexString(id.Span) : null;
                        break;
                    default:
                        break;
                }
            }

            var (keyAlgorithm, keyBits) = DescribeKey(certificate);
            return new CertificateFacts
            {
                Version = certificate.Version,
                Subject = certificate.Subject,
                Issuer = certificate.Issuer,
                CommonNames = DistinguishedNames.CommonNames(certificate.SubjectName),
                DnsNames = dns,
                IpAddresses = ips,
                HasSubjectAltName = hasSan,
                ExtendedKeyUsages = eku,
                KeyUsage = ku,
                IsCertificateAuthority = ca,
                KeyAlgorithm = keyAlgorithm,
                KeyBits = keyBits,
                SignatureAlgorithmOid = certificate.SignatureAlgorithm.Value ?? string.Empty,
                SerialHex = certificate.SerialNumber,
                NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
                NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
                Sha256Fingerprint = Fingerprint(certificate.RawData),
                SubjectKeyIdentifier = ski,
                AuthorityKeyIdentifier = aki,
                CriticalExtensions = critical,
            };
        }
        catch (Exception e) when (e is AsnContentException or CryptographicException)
        {
            throw new PkiException($"certificate {certificate.Subject}: an extension is damaged ({e.Message.TrimEnd('.')})", hint: null, e);
        }
    }

    /// <summary>SHA-256 fingerprint in openssl's format (AB:CD:...).</summary>
    public static string Fingerprint(ReadOnlySpan<byte> der) =>
        string.Join(':', SHA256.HashData(der).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Key algorithm and strength in bits ("RSA", 2048; "ECDSA P-256", 256).</summary>
    public static (string Algorithm, int Bits) DescribeKey(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using (var rsa = certificate.GetRSAPublicKey())
        {
            if (rsa is not null)
            {
                return ("RSA", rsa.KeySize);
            }
        }

        using (var ecdsa = certificate.GetECDsaPublicKey())
        {
            if (ecdsa is not null)
            {
                var curve = ecdsa.ExportParameters(false).Curve;
                var name = curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? "curve";
                name = name switch
                {
                    "nistP256" or "ECDSA_P256" or "1.2.840.10045.3.1.7" => "P-256",
                    "nistP384" or "ECDSA_P384" or "1.3.132.0.34" => "P-384",
                    "nistP521" or "ECDSA_P521" or "1.3.132.0.35" => "P-521",
                    _ => name,
                };
                return ($"ECDSA {name}", ecdsa.KeySize);
            }
        }

        return (certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value ?? "unknown", 0);
    }

    /// <summary>GeneralNames (RFC 5280 §4.2.1.6): dNSName is [2] IA5String, iPAddress is [7] OCTET STRING.</summary>
    internal static void ReadSubjectAltName(byte[] raw, List<string> dns, List<IPAddress> ips)
    {
        var names = new AsnReader(raw, AsnEncodingRules.DER).ReadSequence();
        while (names.HasData)
        {
            var tag = names.PeekTag();
            if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 2)
            {
                dns.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 2)));
            }
            else if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 7)
            {
                var bytes = names.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 7));
                if (bytes.Length is 4 or 16)
                {
                    ips.Add(new IPAddress(bytes));
                }
            }
            else
            {
                names.ReadEncodedValue();
            }
        }
    }
}
