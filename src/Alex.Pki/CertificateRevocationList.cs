using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>One revoked certificate in a CRL.</summary>
/// <param name="SerialHex">Serial number, big-endian upper-case hex as in <see cref="X509Certificate2.SerialNumber"/>.</param>
public sealed record RevokedCertificate(string SerialHex, DateTimeOffset RevocationDate, X509RevocationReason? Reason);

/// <summary>
/// A parsed X.509 CRL. .NET can write CRLs (CertificateRevocationListBuilder) but cannot check a
/// certificate against a CRL *file* (RevocationMode.Offline only consults the OS cache), so the
/// trust policy reads the CRL itself, checks its signature with the CA's key, and looks serials up.
/// <code>
/// RFC 5280 §5.1:
/// CertificateList  ::= SEQUENCE { tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
/// TBSCertList      ::= SEQUENCE {
///     version              INTEGER OPTIONAL,            -- 1 means v2
///     signature            AlgorithmIdentifier,
///     issuer               Name,
///     thisUpdate           Time,                         -- UTCTime or GeneralizedTime
///     nextUpdate           Time OPTIONAL,
///     revokedCertificates  SEQUENCE OF SEQUENCE {
///         userCertificate     INTEGER,
///         revocationDate      Time,
///         crlEntryExtensions  Extensions OPTIONAL } OPTIONAL,   -- reasonCode 2.5.29.21 ENUMERATED
///     crlExtensions        [0] EXPLICIT Extensions OPTIONAL }   -- cRLNumber 2.5.29.20 INTEGER
/// </code>
/// </summary>
public sealed class CertificateRevocationList
{
    private readonly Dictionary<string, RevokedCertificate> _bySerial;
    private readonly byte[] _tbs;
    private readonly byte[] _signature;
    private readonly string _innerSignatureOid;

    private CertificateRevocationList(
        byte[] der, byte[] tbs, string signatureOid, string innerSignatureOid, byte[] signature, X500DistinguishedName issuer,
        DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate, BigInteger? number, string? authorityKeyId, List<RevokedCertificate> revoked)
    {
        RawData = der;
        _tbs = tbs;
        SignatureAlgorithmOid = signatureOid;
        _innerSignatureOid = innerSignatureOid;
        _signature = signature;
        Issuer = issuer;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
        CrlNumber = number;
        AuthorityKeyIdentifier = authorityKeyId;
        Revoked = revoked;
        _bySerial = new Dictionary<string, RevokedCertificate>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in revoked)
        {
            _bySerial.TryAdd(entry.SerialHex, entry);
        }
    }

    public byte[] RawData { get; }

    public X500DistinguishedName Issuer { get; }

    public DateTimeOffset ThisUpdate { get; }

    public DateTimeOffset? NextUpdate { get; }

    public BigInteger? CrlNumber { get; }

    public string? AuthorityKeyIdentifier { get; }

    public string SignatureAlgorithmOid { get; }

    public string SignatureAlgorithm => Oids.SignatureName(SignatureAlgorithmOid);

    public IReadOnlyList<RevokedCertificate> Revoked { get; }

    /// <summary>The revocation entry for a serial (hex, as <see cref="X509Certificate2.SerialNumber"/>), if any.</summary>
    public RevokedCertificate? Find(string serialHex)
    {
        ArgumentNullException.ThrowIfNull(serialHex);
        return _bySerial.GetValueOrDefault(NormalizeSerial(serialHex));
    }

    /// <summary>Reads a CRL file (PEM "X509 CRL" or DER); one-line errors name the file.</summary>
    public static CertificateRevocationList Load(string path) => ParseFile(PkiFile.ReadAll(path, "CRL"), path);

    /// <summary>Reads a CRL file's bytes (PEM or DER); <paramref name="path"/> names it in errors.</summary>
    public static CertificateRevocationList ParseFile(byte[] bytes, string path)
    {
        var blocks = PemFile.Parse(bytes, path, "CRL");
        var block = blocks.FirstOrDefault(b => b.Label is "X509 CRL" or "");
        if (block is null)
        {
            throw new PkiException($"{path}: contains no CRL (found {string.Join(", ", blocks.Select(b => b.Label))})");
        }

        try
        {
            return Parse(block.Der);
        }
        catch (CryptographicException e)
        {
            throw new PkiException($"{path}: the CRL is damaged ({e.Message.TrimEnd('.')})", hint: null, e);
        }
    }

    /// <summary>Parses DER; throws <see cref="CryptographicException"/> for anything that is not a well-formed CRL.</summary>
    public static CertificateRevocationList Parse(ReadOnlySpan<byte> der)
    {
        try
        {
            return ParseCore(der.ToArray());
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException($"bad DER: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new CryptographicException($"bad value: {e.Message}", e);
        }
    }

    /// <summary>True when <paramref name="authority"/>'s key made this CRL's signature and it names that CA as issuer.</summary>
    public bool IsSignedBy(X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        if (!authority.SubjectName.RawData.AsSpan().SequenceEqual(Issuer.RawData) || SignatureAlgorithmOid != _innerSignatureOid)
        {
            return false;
        }

        HashAlgorithmName hash;
        switch (SignatureAlgorithmOid)
        {
            case Oids.Sha256WithRsa or Oids.EcdsaWithSha256:
                hash = HashAlgorithmName.SHA256;
                break;
            case Oids.Sha384WithRsa or Oids.EcdsaWithSha384:
                hash = HashAlgorithmName.SHA384;
                break;
            case Oids.Sha512WithRsa or Oids.EcdsaWithSha512:
                hash = HashAlgorithmName.SHA512;
                break;
            case Oids.Sha1WithRsa or Oids.EcdsaWithSha1:
                hash = HashAlgorithmName.SHA1;
                break;
            default:
                return false;
        }

        try
        {
            if (SignatureAlgorithmOid.StartsWith("1.2.840.10045.", StringComparison.Ordinal))
            {
                using var ecdsa = authority.GetECDsaPublicKey();
                return ecdsa is not null && ecdsa.VerifyData(_tbs, _signature, hash, DSASignatureFormat.Rfc3279DerSequence);
            }

            using var rsa = authority.GetRSAPublicKey();
            return rsa is not null && rsa.VerifyData(_tbs, _signature, hash, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    internal static string NormalizeSerial(string hex)
    {
        var trimmed = hex.Replace(":", string.Empty, StringComparison.Ordinal).TrimStart('0').ToUpperInvariant();
        return trimmed.Length == 0 ? "0" : trimmed;
    }

    private static CertificateRevocationList ParseCore(byte[] der)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var certificateList = outer.ReadSequence();
        outer.ThrowIfNotEmpty();

        var tbsBytes = certificateList.ReadEncodedValue().ToArray();
        var signatureOid = ReadAlgorithm(certificateList);
        var signature = certificateList.ReadBitString(out var unused);
        if (unused != 0)
        {
            throw new CryptographicException("the signature is not a whole number of bytes");
        }

        certificateList.ThrowIfNotEmpty();

        var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            if (!tbs.TryReadInt32(out var version) || version != 1)
            {
                throw new CryptographicException("unsupported CRL version");
            }
        }

        var innerSignatureOid = ReadAlgorithm(tbs);
        var issuer = new X500DistinguishedName(tbs.ReadEncodedValue().Span);
        var thisUpdate = ReadTime(tbs);
        DateTimeOffset? nextUpdate = null;
        if (tbs.HasData && IsTime(tbs.PeekTag()))
        {
            nextUpdate = ReadTime(tbs);
        }

        var revoked = new List<RevokedCertificate>();
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                var serial = entry.ReadIntegerBytes().ToArray();
                var date = ReadTime(entry);
                X509RevocationReason? reason = null;
                if (entry.HasData)
                {
                    foreach (var (oid, _, value) in ReadExtensions(entry.ReadSequence()))
                    {
                        if (oid == Oids.CrlReason)
                        {
                            var r = new AsnReader(value, AsnEncodingRules.DER);
                            reason = r.ReadEnumeratedValue<X509RevocationReason>();
                        }
                    }
                }

                entry.ThrowIfNotEmpty();
                revoked.Add(new RevokedCertificate(NormalizeSerial(Convert.ToHexString(serial)), date, reason));
            }
        }

        BigInteger? number = null;
        string? aki = null;
        var extensionsTag = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(extensionsTag))
        {
            var wrapper = tbs.ReadSequence(extensionsTag);
            foreach (var (oid, critical, value) in ReadExtensions(wrapper.ReadSequence()))
            {
                switch (oid)
                {
                    case Oids.CrlNumber:
                        number = new AsnReader(value, AsnEncodingRules.DER).ReadInteger();
                        break;
                    case Oids.AuthorityKeyIdentifier:
                        var id = new X509AuthorityKeyIdentifierExtension(value, critical).KeyIdentifier;
                        aki = id is { } k ? Convert.ToHexString(k.Span) : null;
                        break;
                    default:
                        if (critical)
                        {
                            // RFC 5280 §5.2: a CRL with an unknown critical extension must not be used.
                            throw new CryptographicException($"unsupported critical CRL extension {oid}");
                        }

                        break;
                }
            }

            wrapper.ThrowIfNotEmpty();
        }

        tbs.ThrowIfNotEmpty();
        return new CertificateRevocationList(der, tbsBytes, signatureOid, innerSignatureOid, signature, issuer, thisUpdate, nextUpdate, number, aki, revoked);
    }

    private static string ReadAlgorithm(AsnReader reader)
    {
        var algorithm = reader.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        if (algorithm.HasData)
        {
            algorithm.ReadEncodedValue();
        }

        algorithm.ThrowIfNotEmpty();
        return oid;
    }

    private static bool IsTime(Asn1Tag tag) =>
        tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (tag.HasSameClassAndValue(Asn1Tag.UtcTime))
        {
            // RFC 5280 §4.1.2.5.1: two-digit years 50-99 are 19xx.
            return reader.ReadUtcTime(2049);
        }

        if (tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime))
        {
            return reader.ReadGeneralizedTime();
        }

        throw new CryptographicException("expected a time");
    }

    private static List<(string Oid, bool Critical, byte[] Value)> ReadExtensions(AsnReader extensions)
    {
        var list = new List<(string, bool, byte[])>();
        while (extensions.HasData)
        {
            var extension = extensions.ReadSequence();
            var oid = extension.ReadObjectIdentifier();
            var critical = false;
            if (extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
            {
                critical = extension.ReadBoolean();
            }

            var value = extension.ReadOctetString();
            extension.ThrowIfNotEmpty();
            list.Add((oid, critical, value));
        }

        return list;
    }
}
