using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>One described object in a PKI file: its kind ("certificate", "CSR", "CRL", "private key") and field lines.</summary>
public sealed record PkiSummary(string Kind, IReadOnlyList<KeyValuePair<string, string>> Fields);

/// <summary>
/// Readable summaries for `alex pki show`: subject, issuer, names, usages, validity with "expires in N
/// days", fingerprint — the parts of `openssl x509 -text` a student actually needs.
/// </summary>
public static class PkiDescriber
{
    public static IReadOnlyList<PkiSummary> Describe(string path, DateTimeOffset now) => Describe(PkiFile.ReadAll(path, "certificate, CSR, CRL or key"), path, now);

    /// <summary>Summaries of every block in a file's bytes; <paramref name="path"/> names it in errors.</summary>
    public static IReadOnlyList<PkiSummary> Describe(byte[] bytes, string path, DateTimeOffset now)
    {
        var blocks = PemFile.Parse(bytes, path, "certificate, CSR, CRL or key");
        var result = new List<PkiSummary>();
        foreach (var block in blocks)
        {
            try
            {
                var summary = block.Label switch
                {
                    "CERTIFICATE" or "TRUSTED CERTIFICATE" => DescribeCertificate(CertificateFile.FromDer(block.Der, path), now),
                    "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST" => DescribeRequest(bytes, path),
                    "X509 CRL" => DescribeCrl(CertificateRevocationList.Parse(block.Der), now),
                    "PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY" => DescribeKey(bytes, path, encrypted: false),
                    "ENCRYPTED PRIVATE KEY" => DescribeKey(bytes, path, encrypted: true),
                    "" => DescribeDer(block.Der, path, now),
                    _ => new PkiSummary(block.Label, [new("content", $"a {block.Label} block, not described")]),
                };
                result.Add(summary);
            }
            catch (CryptographicException e)
            {
                throw new PkiException($"{path}: the {(block.Label.Length > 0 ? block.Label : "DER")} is damaged ({e.Message.TrimEnd('.')})", hint: null, e);
            }
        }

        return result;
    }

    public static PkiSummary DescribeCertificate(X509Certificate2 certificate, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var facts = CertificateFacts.From(certificate);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("subject", facts.Subject),
            new("issuer", facts.Issuer + (facts.IsSelfIssued ? " (self-signed)" : string.Empty)),
            new("version", $"X.509 v{facts.Version}" + (facts.Version == 1 ? " (no extensions: a course-style certificate)" : string.Empty)),
            new("serial", facts.SerialHex),
        };
        var names = facts.DnsNames.Select(d => $"DNS:{d}").Concat(facts.IpAddresses.Select(i => $"IP:{i}")).ToList();
        fields.Add(new("names", facts.HasSubjectAltName ? string.Join(", ", names) : $"none (peers match the CN '{string.Join(", ", facts.CommonNames)}')"));
        fields.Add(new("role", Role(facts)));
        fields.Add(new("key usage", facts.KeyUsage is { } ku ? ku.ToString() : "none"));
        fields.Add(new("extended usage", facts.ExtendedKeyUsages is { } eku ? string.Join(", ", eku.Select(EkuName)) : "none"));
        fields.Add(new("key", facts.KeyAlgorithm.StartsWith("ECDSA", StringComparison.Ordinal) ? facts.KeyAlgorithm : $"{facts.KeyAlgorithm} {facts.KeyBits} bits"));
        fields.Add(new("signature", facts.SignatureAlgorithm));
        fields.Add(new("valid from", $"{facts.NotBefore:yyyy-MM-dd HH:mm} UTC"));
        fields.Add(new("valid until", $"{facts.NotAfter:yyyy-MM-dd HH:mm} UTC ({Remaining(facts.NotBefore, facts.NotAfter, now)})"));
        fields.Add(new("SHA-256", facts.Sha256Fingerprint));
        if (facts.SubjectKeyIdentifier is { } ski)
        {
            fields.Add(new("subject key id", ski));
        }

        if (facts.AuthorityKeyIdentifier is { } aki)
        {
            fields.Add(new("authority key id", aki));
        }

        return new PkiSummary("certificate", fields);
    }

    public static PkiSummary DescribeCrl(CertificateRevocationList crl, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(crl);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("issuer", crl.Issuer.Name),
            new("CRL number", crl.CrlNumber?.ToString(CultureInfo.InvariantCulture) ?? "none"),
            new("this update", $"{crl.ThisUpdate:yyyy-MM-dd HH:mm} UTC"),
            new("next update", crl.NextUpdate is { } next
                ? $"{next:yyyy-MM-dd HH:mm} UTC ({(next < now ? $"STALE since {TrustPolicy.Span(now - next)}" : $"in {TrustPolicy.Span(next - now)}")})"
                : "none"),
            new("signature", crl.SignatureAlgorithm),
            new("revoked", crl.Revoked.Count == 0 ? "none" : crl.Revoked.Count.ToString(CultureInfo.InvariantCulture)),
        };
        foreach (var entry in crl.Revoked)
        {
            var reason = entry.Reason is { } r ? TrustPolicy.ReasonName(r) : "unspecified";
            fields.Add(new("  serial", $"{entry.SerialHex} on {entry.RevocationDate:yyyy-MM-dd HH:mm} UTC ({reason})"));
        }

        return new PkiSummary("CRL", fields);
    }

    private static PkiSummary DescribeRequest(byte[] bytes, string path)
    {
        var request = CertificateSigningRequest.Parse(bytes, path);
        var names = new List<string>();
        var dns = new List<string>();
        var ips = new List<System.Net.IPAddress>();
        foreach (var san in request.CertificateExtensions.Where(e => e.Oid?.Value == Oids.SubjectAltName))
        {
            CertificateFacts.ReadSubjectAltName(san.RawData, dns, ips);
        }

        names.AddRange(dns.Select(d => $"DNS:{d}"));
        names.AddRange(ips.Select(i => $"IP:{i}"));
        var asksCa = request.CertificateExtensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);
        using var rsa = request.PublicKey.GetRSAPublicKey();
        using var ecdsa = rsa is null ? request.PublicKey.GetECDsaPublicKey() : null;
        var key = rsa is not null ? $"RSA {rsa.KeySize} bits" : ecdsa is not null ? $"ECDSA {ecdsa.KeySize} bits" : request.PublicKey.Oid.Value ?? "unknown";
        return new PkiSummary("certificate signing request",
        [
            new("subject", request.SubjectName.Name),
            new("names", names.Count == 0 ? "none" : string.Join(", ", names)),
            new("key", key),
            new("signature", "verified (the requester holds the key)"),
            new("asks to be a CA", asksCa ? "YES (alex pki sign refuses it)" : "no"),
        ]);
    }

    private static PkiSummary DescribeKey(byte[] bytes, string path, bool encrypted)
    {
        var fields = new List<KeyValuePair<string, string>>();
        if (encrypted)
        {
            fields.Add(new("key", "encrypted PKCS#8 (passphrase needed to read it)"));
        }
        else
        {
            using var key = PrivateKeyFile.Parse(bytes, path);
            fields.Add(new("key", key is RSA ? $"RSA {key.KeySize} bits" : key.KeySize == 256 ? "ECDSA P-256" : $"ECDSA {key.KeySize} bits"));
            fields.Add(new("encrypted", "no"));
        }

        fields.Add(new("permissions", PkiFile.IsReadableByOthers(path) ? "readable by others: run chmod 600 " + path : "owner only"));
        return new PkiSummary("private key", fields);
    }

    private static PkiSummary DescribeDer(byte[] der, string path, DateTimeOffset now)
    {
        try
        {
            return DescribeCertificate(X509CertificateLoader.LoadCertificate(der), now);
        }
        catch (CryptographicException)
        {
            // Not a certificate: try a CRL next.
        }

        try
        {
            return DescribeCrl(CertificateRevocationList.Parse(der), now);
        }
        catch (CryptographicException)
        {
            // Nor a CRL.
        }

        try
        {
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.SkipSignatureValidation);
        }
        catch (Exception e) when (e is CryptographicException or NotSupportedException or ArgumentException)
        {
            throw new PkiException($"{path}: DER data that is neither a certificate, a CRL nor a certificate signing request", hint: null, e);
        }

        return DescribeRequest(der, path);
    }

    private static string Role(CertificateFacts facts)
    {
        if (facts.IsCertificateAuthority == true)
        {
            return "CA";
        }

        if (facts.ExtendedKeyUsages is not { } eku)
        {
            return facts.IsSelfIssued ? "self-signed, no extensions (a course-style CA)" : "any (no extended key usage: a course-style certificate, accepted in legacy mode)";
        }

        var roles = new List<string>();
        if (eku.Contains(Oids.ServerAuth))
        {
            roles.Add("server (robot)");
        }

        if (eku.Contains(Oids.ClientAuth))
        {
            roles.Add("client (laptop)");
        }

        return roles.Count == 0 ? "neither TLS server nor client" : string.Join(" and ", roles);
    }

    private static string EkuName(string oid) => oid switch
    {
        Oids.ServerAuth => "serverAuth",
        Oids.ClientAuth => "clientAuth",
        _ => oid,
    };

    private static string Remaining(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset now) =>
        now < notBefore ? $"NOT YET VALID: starts in {TrustPolicy.Span(notBefore - now)}"
        : now > notAfter ? $"EXPIRED {TrustPolicy.Span(now - notAfter)} ago"
        : $"expires in {TrustPolicy.Span(notAfter - now)}";
}
