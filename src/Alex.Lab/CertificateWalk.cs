using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Lab;

/// <summary>One certificate and the check of its signature by its issuer.</summary>
public sealed record CertificateLink(
    string Subject,
    string Issuer,
    string SerialNumber,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    string PublicKey,
    string PublicKeySha256,
    string SignatureAlgorithm,
    string SignatureAlgorithmOid,
    string HashAlgorithm,
    int SignedBytes,
    string SignedDigest,
    string Signature,
    string? CheckedWithKeyOf,
    bool SelfSigned,
    string Method,
    bool? SignatureValid,
    bool? PlatformAgrees);

/// <summary>`alex lab cert` / `alex lab chain`: real certificates read as the lecture's (PUB, h(PUB), c).</summary>
public sealed record CertificateWalkResult(
    IReadOnlyList<CertificateLink> Links,
    bool EndsAtSelfSignedRoot,
    bool AllSignaturesValid,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => Links.Count == 1 ? $"Certificate {Links[0].Subject}" : $"Certificate chain from {Links[0].Subject}";
}

/// <summary>
/// Reads a certificate the way a verifier does (RFC 5280 §4.1): Certificate ::= SEQUENCE { tbsCertificate,
/// signatureAlgorithm, signatureValue BIT STRING }. The to-be-signed bytes are cut out with System.Formats.Asn1,
/// hashed with the signature algorithm's hash, and the signature is checked with the issuer's public key by our
/// own arithmetic (RSA: s^e mod n and the PKCS #1 v1.5 block, RFC 8017 §8.2.2; ECDSA: u1·G + u2·Q, SEC 1
/// §4.1.4), then once more by the platform's verifier, and both answers are shown.
/// </summary>
public static class CertificateWalk
{
    private const string OidRsaPss = "1.2.840.113549.1.1.10";

    private static readonly Dictionary<string, (string Name, HashAlgorithmName Hash, string Family)> Algorithms = new()
    {
        ["1.2.840.113549.1.1.5"] = ("sha1WithRSAEncryption", HashAlgorithmName.SHA1, "rsa"),
        ["1.2.840.113549.1.1.11"] = ("sha256WithRSAEncryption", HashAlgorithmName.SHA256, "rsa"),
        ["1.2.840.113549.1.1.12"] = ("sha384WithRSAEncryption", HashAlgorithmName.SHA384, "rsa"),
        ["1.2.840.113549.1.1.13"] = ("sha512WithRSAEncryption", HashAlgorithmName.SHA512, "rsa"),
        ["1.2.840.10045.4.3.2"] = ("ecdsa-with-SHA256", HashAlgorithmName.SHA256, "ecdsa"),
        ["1.2.840.10045.4.3.3"] = ("ecdsa-with-SHA384", HashAlgorithmName.SHA384, "ecdsa"),
        ["1.2.840.10045.4.3.4"] = ("ecdsa-with-SHA512", HashAlgorithmName.SHA512, "ecdsa"),
    };

    /// <summary>Every certificate in a PEM (or DER) file, in file order.</summary>
    public static IReadOnlyList<X509Certificate2> Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new LabInputException($"cannot read {path}: no such file", "give a certificate file, for example pki/laptop.crt or pki/signing.pem");
        }

        var collection = new X509Certificate2Collection();
        try
        {
            var text = File.ReadAllText(path);
            if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                collection.ImportFromPem(text);
            }
            else
            {
                collection.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
        }
        catch (CryptographicException e)
        {
            throw new LabInputException($"{path} is not a certificate ({e.Message.TrimEnd('.')})", "give a PEM file with -----BEGIN CERTIFICATE----- (a .key file holds a private key, not a certificate)");
        }

        if (collection.Count == 0)
        {
            throw new LabInputException($"{path} holds no certificate", "give a PEM file with -----BEGIN CERTIFICATE-----");
        }

        return [.. collection];
    }

    /// <summary>
    /// Walks from <paramref name="start"/> to its issuer, and on (up to <paramref name="maxLinks"/>), taking each
    /// issuer from <paramref name="pool"/> by name and signature, stopping at a self-signed certificate.
    /// </summary>
    public static CertificateWalkResult Walk(X509Certificate2 start, IReadOnlyList<X509Certificate2> pool, int maxLinks = 10)
    {
        var links = new List<CertificateLink>();
        var steps = new List<LabStep>();
        var current = start;
        var endsAtRoot = false;
        var issuerMissing = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (links.Count < maxLinks && seen.Add(current.Thumbprint))
        {
            var selfSigned = current.SubjectName.RawData.AsSpan().SequenceEqual(current.IssuerName.RawData) && Inspect(current, current).Link.SignatureValid == true;
            var issuer = selfSigned ? current : FindIssuer(current, pool);
            var (link, linkSteps) = Inspect(current, issuer);
            links.Add(link with { SelfSigned = selfSigned });
            steps.AddRange(linkSteps.Select((s, i) => i == 0 ? s with { Title = $"Certificate {links.Count}: {s.Title}" } : s));
            if (selfSigned)
            {
                endsAtRoot = true;
                break;
            }

            if (issuer is null)
            {
                issuerMissing = true;
                break;
            }

            current = issuer;
        }

        var rows = links.Select((l, i) => (IReadOnlyList<string>)
        [
            (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            l.Subject,
            l.SelfSigned ? "itself (self-signed root)" : l.Issuer,
            l.SignatureAlgorithm,
            l.SignatureValid switch { true => "✓ valid", false => "✗ INVALID", null => "not checked" },
        ]).ToList();
        steps.Add(new LabStep(
            "The chain, link by link",
            [
                endsAtRoot ? "ends at a self-signed root: trust it only if it is the CA you were given (Charlie's certificate)"
                : issuerMissing ? "stops here: the issuer's certificate was not given (e.g. signing.pem) to check the next link"
                : "one link checked; `alex lab chain` walks on to the root",
            ],
            new LabTable(["#", "subject", "signed by", "algorithm", "signature"], rows)));

        var notes = new List<string>
        {
            "The lecture's certificate is (PUB, h(PUB), c). In X.509, PUB travels inside the to-be-signed part together with the names and dates, h(...) is not sent (the checker recomputes it from the TBS bytes), and c is made with the issuer's private key — Charlie's, the CA — except for a self-signed root, which signs itself exactly as on the slide.",
            "These checks are only the signature links. A TLS peer also checks dates, key usage, the name, revocation, and that the root is one it was told to trust (CustomRootTrust).",
        };
        return new CertificateWalkResult(links, endsAtRoot, links.All(l => l.SignatureValid == true), steps, notes);
    }

    private static X509Certificate2? FindIssuer(X509Certificate2 subject, IReadOnlyList<X509Certificate2> pool)
    {
        var byName = pool.Where(c => c.SubjectName.RawData.AsSpan().SequenceEqual(subject.IssuerName.RawData) && c.Thumbprint != subject.Thumbprint).ToList();
        return byName.FirstOrDefault(c => Inspect(subject, c).Link.SignatureValid == true) ?? byName.FirstOrDefault();
    }

    public static (CertificateLink Link, IReadOnlyList<LabStep> Steps) Inspect(X509Certificate2 cert, X509Certificate2? issuer)
    {
        var reader = new AsnReader(cert.RawData, AsnEncodingRules.DER);
        var certificate = reader.ReadSequence();
        var tbs = certificate.ReadEncodedValue();
        var algorithm = certificate.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        var algorithmParameters = algorithm.HasData ? algorithm.ReadEncodedValue() : ReadOnlyMemory<byte>.Empty;
        var signature = certificate.ReadBitString(out _);

        var (name, hash, family) = Describe(oid, algorithmParameters);
        var digest = hash.Name is null ? [] : Digest(hash, tbs.Span);
        var spkiHash = SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo());
        var steps = new List<LabStep>
        {
            new(
                $"{cert.Subject}",
                $"issued by: {cert.Issuer}",
                $"valid {cert.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} to {cert.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC, serial {cert.SerialNumber}",
                $"PUB = its public key: {DescribeKey(cert)}; h(PUB) = SHA-256(subjectPublicKeyInfo) = {Convert.ToHexStringLower(spkiHash)}"),
            new(
                "What is signed: the to-be-signed part (TBS) of the certificate",
                [$"{tbs.Length} bytes of DER: {string.Join(", ", TbsFields(tbs))}", $"PUB is inside it, so the signature covers the key together with the names and dates"]),
            new(
                $"h(TBS): hash it with the signature algorithm's hash ({name})",
                hash.Name is null ? "hash unknown for this algorithm" : $"{hash.Name}(TBS) = {Convert.ToHexStringLower(digest)}"),
        };

        string method;
        bool? valid = null;
        bool? platform = null;
        if (issuer is null)
        {
            method = "not checked: issuer's certificate not given";
            steps.Add(new LabStep("c: the signature", $"{signature.Length} bytes: {Head(signature)}", $"made with the private key of {cert.Issuer}; give that certificate (e.g. --issuer signing.pem) to check it"));
        }
        else
        {
            var who = issuer.Thumbprint == cert.Thumbprint ? "its own public key (self-signed)" : $"the issuer's public key ({issuer.Subject})";
            var lines = new List<string> { $"c = {signature.Length} bytes: {Head(signature)}", $"checked with {who}: {DescribeKey(issuer)}" };
            switch (family)
            {
                case "rsa" when issuer.GetRSAPublicKey() is { } rsa:
                    using (rsa)
                    {
                        method = "RSA PKCS #1 v1.5: s^e mod n, compare the digest inside with h(TBS)";
                        valid = CheckRsaPkcs1(rsa.ExportParameters(false), signature, hash, digest, lines);
                        platform = rsa.VerifyData(tbs.Span, signature, hash, RSASignaturePadding.Pkcs1);
                    }

                    break;
                case "rsa-pss" when issuer.GetRSAPublicKey() is { } rsa:
                    using (rsa)
                    {
                        method = "RSA-PSS: checked by the platform (the decrypted block is masked, RFC 8017 §9.1.2)";
                        var parameters = rsa.ExportParameters(false);
                        var block = LabMath.ModPow(new BigInteger(signature, isUnsigned: true, isBigEndian: true), new BigInteger(parameters.Exponent, isUnsigned: true, isBigEndian: true), new BigInteger(parameters.Modulus, isUnsigned: true, isBigEndian: true));
                        lines.Add($"s^e mod n = {Head(block.ToByteArray(isUnsigned: true, isBigEndian: true))} (ends in 0xbc; the digest is hidden behind MGF1 masking)");
                        platform = rsa.VerifyData(tbs.Span, signature, hash, RSASignaturePadding.Pss);
                        valid = platform;
                        lines.Add(platform.Value ? "the platform's PSS check passes ✓" : "the platform's PSS check fails ✗");
                    }

                    break;
                case "ecdsa" when issuer.GetECDsaPublicKey() is { } ecdsa:
                    using (ecdsa)
                    {
                        method = "ECDSA: w = s⁻¹, u1 = h·w, u2 = r·w, X = u1·G + u2·Q, compare X.x with r";
                        valid = CheckEcdsa(ecdsa.ExportExplicitParameters(false), DescribeKey(issuer), signature, digest, lines);
                        platform = ecdsa.VerifyData(tbs.Span, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
                    }

                    break;
                default:
                    method = $"not checked: {name} with a {issuer.PublicKey.Oid.FriendlyName} key is not supported here";
                    lines.Add(method);
                    break;
            }

            if (platform is { } agreed && family != "rsa-pss")
            {
                lines.Add(agreed == valid ? $"the platform's verifier (System.Security.Cryptography) agrees: {(agreed ? "valid ✓" : "invalid ✗")}" : $"the platform's verifier disagrees: it says {(agreed ? "valid" : "invalid")} ✗");
            }

            steps.Add(new LabStep("Check c with the issuer's public key", lines));
        }

        var link = new CertificateLink(
            cert.Subject,
            cert.Issuer,
            cert.SerialNumber,
            cert.NotBefore.ToUniversalTime(),
            cert.NotAfter.ToUniversalTime(),
            DescribeKey(cert),
            Convert.ToHexStringLower(spkiHash),
            name,
            oid,
            hash.Name ?? "unknown",
            tbs.Length,
            Convert.ToHexStringLower(digest),
            Convert.ToHexStringLower(signature),
            issuer?.Subject,
            SelfSigned: false,
            method,
            valid,
            platform);
        return (link, steps);
    }

    /// <summary>RFC 8017 §8.2.2 by hand: m = s^e mod n must be 00 01 FF…FF 00 DigestInfo(h(TBS)).</summary>
    private static bool CheckRsaPkcs1(RSAParameters key, byte[] signature, HashAlgorithmName hash, byte[] digest, List<string> lines)
    {
        var n = new BigInteger(key.Modulus, isUnsigned: true, isBigEndian: true);
        var e = new BigInteger(key.Exponent, isUnsigned: true, isBigEndian: true);
        var s = new BigInteger(signature, isUnsigned: true, isBigEndian: true);
        var k = key.Modulus!.Length;
        lines.Add($"the issuer's public key (e, n): e = {e}, n = {LabMath.Brief(n)}");
        if (s >= n)
        {
            lines.Add("s ≥ n: not a signature for this key ✗");
            return false;
        }

        var m = LabMath.ModPow(s, e, n);
        var block = new byte[k];
        var raw = m.ToByteArray(isUnsigned: true, isBigEndian: true);
        raw.CopyTo(block, k - raw.Length);
        lines.Add($"decrypt c with PUB: s^e mod n = {Head(block)}");
        var padding = 2;
        while (padding < block.Length && block[padding] == 0xff)
        {
            padding++;
        }

        if (block[0] != 0 || block[1] != 1 || padding == block.Length || block[padding] != 0 || padding - 2 < 8)
        {
            lines.Add("the block is not 00 01 FF…FF 00 …: the signature was not made with the matching private key ✗");
            return false;
        }

        var digestInfo = block.AsMemory(padding + 1);
        lines.Add($"= 00 01 | FF × {padding - 2} | 00 | DigestInfo ({digestInfo.Length} bytes)");
        try
        {
            var info = new AsnReader(digestInfo, AsnEncodingRules.DER).ReadSequence();
            var algorithm = info.ReadSequence().ReadObjectIdentifier();
            var inside = info.ReadOctetString();
            var expectedOid = CryptoConfig.MapNameToOID(hash.Name!);
            lines.Add($"DigestInfo: hash {algorithm} ({Oid.FromOidValue(algorithm, OidGroup.HashAlgorithm).FriendlyName}), digest {Convert.ToHexStringLower(inside)}");
            var ok = algorithm == expectedOid && inside.AsSpan().SequenceEqual(digest);
            lines.Add(ok ? "digest inside c = h(TBS) ✓ the issuer signed exactly these bytes" : "digest inside c ≠ h(TBS) ✗ the certificate was changed or signed by someone else");
            return ok;
        }
        catch (Exception error) when (error is AsnContentException or CryptographicException)
        {
            lines.Add($"the DigestInfo does not parse ({error.Message}) ✗");
            return false;
        }
    }

    /// <summary>
    /// ECDSA verification by hand (SEC 1 v2 §4.1.4) on the issuer's curve as the platform exports it (prime p,
    /// a, b, G, order n), in affine coordinates: slow, but every quantity is one a student can print.
    /// </summary>
    private static bool CheckEcdsa(ECParameters key, string keyName, byte[] signature, byte[] digest, List<string> lines)
    {
        var curve = key.Curve;
        if (!curve.IsPrime)
        {
            lines.Add("not a prime-field curve: not checked by hand");
            return false;
        }

        var p = U(curve.Prime!);
        var a = U(curve.A!);
        var n = U(curve.Order!);
        var g = (U(curve.G.X!), U(curve.G.Y!));
        var q = (U(key.Q.X!), U(key.Q.Y!));
        var der = new AsnReader(signature, AsnEncodingRules.DER).ReadSequence();
        var r = der.ReadInteger();
        var s = der.ReadInteger();
        lines.Add($"c = (r, s): r = {Hex(r)}, s = {Hex(s)}");
        if (r.Sign <= 0 || r >= n || s.Sign <= 0 || s >= n)
        {
            lines.Add("r or s outside 1 … n − 1 ✗");
            return false;
        }

        // h is the leftmost bits of the digest, as many as the order has (SEC 1 §4.1.3 step 5).
        var z = new BigInteger(digest, isUnsigned: true, isBigEndian: true);
        var excess = (digest.Length * 8) - (int)n.GetBitLength();
        if (excess > 0)
        {
            z >>= excess;
        }

        var w = LabMath.ModInverse(s, n)!.Value;
        var u1 = z * w % n;
        var u2 = r * w % n;
        var x = EllipticCurve.Add(EllipticCurve.Multiply(u1, g, a, p), EllipticCurve.Multiply(u2, q, a, p), a, p);
        lines.Add($"curve of the issuer's key ({keyName}): order n = {Hex(n)}");
        lines.Add($"w = s⁻¹ mod n = {Hex(w)}");
        lines.Add($"u1 = h(TBS)·w mod n = {Hex(u1)}, u2 = r·w mod n = {Hex(u2)}");
        if (x is null)
        {
            lines.Add("u1·G + u2·Q is the point at infinity ✗");
            return false;
        }

        var xr = x.Value.X % n;
        lines.Add($"X = u1·G + u2·Q (G the curve's base point, Q the issuer's public key); X.x mod n = {Hex(xr)}");
        var ok = xr == r;
        lines.Add(ok ? "X.x mod n = r ✓ only the holder of the issuer's private key could have produced (r, s) for h(TBS)" : "X.x mod n ≠ r ✗ the certificate was changed or signed by someone else");
        return ok;
    }

    private static (string Name, HashAlgorithmName Hash, string Family) Describe(string oid, ReadOnlyMemory<byte> parameters)
    {
        if (Algorithms.TryGetValue(oid, out var known))
        {
            return known;
        }

        if (oid == OidRsaPss)
        {
            // RSASSA-PSS-params (RFC 4055 §3.1): [0] hashAlgorithm, default SHA-1.
            var hash = HashAlgorithmName.SHA1;
            var seq = new AsnReader(parameters, AsnEncodingRules.DER).ReadSequence();
            if (seq.HasData && seq.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                var hashOid = seq.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadSequence().ReadObjectIdentifier();
                hash = HashAlgorithmName.FromOid(hashOid);
            }

            return ($"RSASSA-PSS with {hash.Name}", hash, "rsa-pss");
        }

        return (Oid.FromOidValue(oid, OidGroup.SignatureAlgorithm).FriendlyName ?? oid, default, "unknown");
    }

    // Old certificates are still signed with SHA-1; we hash to show the check, not to protect anything.
    private static byte[] Digest(HashAlgorithmName hash, ReadOnlySpan<byte> data) => CryptographicOperations.HashData(hash, data);

    /// <summary>The names of the TBSCertificate fields present (RFC 5280 §4.1).</summary>
    private static List<string> TbsFields(ReadOnlyMemory<byte> tbs)
    {
        var fields = new List<string>();
        var seq = new AsnReader(tbs, AsnEncodingRules.DER).ReadSequence();
        if (seq.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
        {
            seq.ReadEncodedValue();
            fields.Add("version");
        }
        else
        {
            fields.Add("(version 1: no version field)");
        }

        string[] names = ["serial number", "signature algorithm", "issuer", "validity", "subject", "subject public key (PUB)"];
        foreach (var field in names)
        {
            var value = seq.ReadEncodedValue();
            fields.Add($"{field} ({value.Length} B)");
        }

        while (seq.HasData)
        {
            var tag = seq.PeekTag();
            seq.ReadEncodedValue();
            fields.Add(tag.TagValue == 3 ? "extensions" : $"[{tag.TagValue}]");
        }

        return fields;
    }

    private static string DescribeKey(X509Certificate2 cert)
    {
        using var rsa = cert.GetRSAPublicKey();
        if (rsa is not null)
        {
            return $"RSA {rsa.KeySize} bits";
        }

        using var ec = cert.GetECDsaPublicKey();
        if (ec is not null)
        {
            var curve = ec.ExportParameters(false).Curve;
            return $"ECDSA {ec.KeySize} bits ({curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? "named curve"})";
        }

        return cert.PublicKey.Oid.FriendlyName ?? cert.PublicKey.Oid.Value ?? "unknown key";
    }

    private static BigInteger U(byte[] bytes) => new(bytes, isUnsigned: true, isBigEndian: true);

    private static string Hex(BigInteger value) => Head(value.ToByteArray(isUnsigned: true, isBigEndian: true), 64);

    private static string Head(byte[] bytes, int max = 24) =>
        bytes.Length <= max ? Convert.ToHexStringLower(bytes) : $"{Convert.ToHexStringLower(bytes.AsSpan(0, max / 2))}…{Convert.ToHexStringLower(bytes.AsSpan(bytes.Length - (max / 2)))}";
}
