namespace Alex.Pki;

/// <summary>Object identifiers we read or write (RFC 5280, RFC 3279, RFC 5758, RFC 8017).</summary>
internal static class Oids
{
    public const string RsaEncryption = "1.2.840.113549.1.1.1";
    public const string EcPublicKey = "1.2.840.10045.2.1";
    public const string CommonName = "2.5.4.3";

    public const string BasicConstraints = "2.5.29.19";
    public const string KeyUsage = "2.5.29.15";
    public const string ExtendedKeyUsage = "2.5.29.37";
    public const string SubjectAltName = "2.5.29.17";
    public const string SubjectKeyIdentifier = "2.5.29.14";
    public const string AuthorityKeyIdentifier = "2.5.29.35";
    public const string CrlNumber = "2.5.29.20";
    public const string CrlReason = "2.5.29.21";

    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    public const string Md5WithRsa = "1.2.840.113549.1.1.4";
    public const string Sha1WithRsa = "1.2.840.113549.1.1.5";
    public const string Sha256WithRsa = "1.2.840.113549.1.1.11";
    public const string Sha384WithRsa = "1.2.840.113549.1.1.12";
    public const string Sha512WithRsa = "1.2.840.113549.1.1.13";
    public const string RsaPss = "1.2.840.113549.1.1.10";
    public const string EcdsaWithSha1 = "1.2.840.10045.4.1";
    public const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";
    public const string EcdsaWithSha384 = "1.2.840.10045.4.3.3";
    public const string EcdsaWithSha512 = "1.2.840.10045.4.3.4";

    /// <summary>A readable name for a signature algorithm OID.</summary>
    public static string SignatureName(string oid) => oid switch
    {
        Md5WithRsa => "md5WithRSAEncryption",
        Sha1WithRsa => "sha1WithRSAEncryption",
        Sha256WithRsa => "sha256WithRSAEncryption",
        Sha384WithRsa => "sha384WithRSAEncryption",
        Sha512WithRsa => "sha512WithRSAEncryption",
        RsaPss => "rsassaPss",
        EcdsaWithSha1 => "ecdsa-with-SHA1",
        EcdsaWithSha256 => "ecdsa-with-SHA256",
        EcdsaWithSha384 => "ecdsa-with-SHA384",
        EcdsaWithSha512 => "ecdsa-with-SHA512",
        _ => oid,
    };

    /// <summary>True for signatures made with a broken hash (MD5, SHA-1).</summary>
    public static bool IsWeakSignature(string oid) => oid is Md5WithRsa or Sha1WithRsa or EcdsaWithSha1 or "1.2.840.113549.1.1.2" or "1.2.840.113549.1.1.3";
}
