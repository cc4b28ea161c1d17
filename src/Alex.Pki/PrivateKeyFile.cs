using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// Private key files: PKCS#8 ("PRIVATE KEY"), passphrase-encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY",
/// PBES2 AES-256-CBC + PBKDF2-SHA256, which `openssl pkey` reads), and, for reading only, the older
/// "RSA PRIVATE KEY" (PKCS#1) and "EC PRIVATE KEY" (SEC1) files that the course's openssl commands make.
/// Keys are always written owner-only (0600).
/// </summary>
public static class PrivateKeyFile
{
    /// <summary>
    /// PBKDF2 rounds for new encrypted keys: slow enough to make guessing costly, fast enough that a
    /// Raspberry Pi opens the key in well under a second.
    /// </summary>
    internal static int Pbkdf2Iterations { get; set; } = 200_000;

    /// <summary>True when the file holds a passphrase-encrypted PKCS#8 key.</summary>
    public static bool IsEncrypted(string path) =>
        PemFile.Read(path, "private key").Any(b => b.Label == "ENCRYPTED PRIVATE KEY");

    /// <summary>Loads an RSA or ECDSA private key. <paramref name="passphrase"/> is needed only for an encrypted key.</summary>
    public static AsymmetricAlgorithm Load(string path, string? passphrase = null) => Parse(PkiFile.ReadAll(path, "private key"), path, passphrase);

    /// <summary>Loads a key from a file's bytes; <paramref name="path"/> names it in errors.</summary>
    public static AsymmetricAlgorithm Parse(byte[] bytes, string path, string? passphrase = null)
    {
        var blocks = PemFile.Parse(bytes, path, "private key");
        var block = blocks.FirstOrDefault(b => b.Label is "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY" || b.Label.Length == 0);
        if (block is null)
        {
            var found = string.Join(", ", blocks.Select(b => b.Label));
            throw new PkiException($"{path}: contains no private key (found {found})", hint: "give the .key file, not the certificate");
        }

        try
        {
            return block.Label switch
            {
                "ENCRYPTED PRIVATE KEY" => LoadEncrypted(path, block.Der, passphrase),
                "RSA PRIVATE KEY" => ImportRsaPkcs1(block.Der),
                "EC PRIVATE KEY" => ImportEcSec1(block.Der),
                _ => ImportPkcs8(block.Der),
            };
        }
        catch (CryptographicException e)
        {
            throw new PkiException($"{path}: the private key is damaged or of an unsupported type ({e.Message.TrimEnd('.')})", hint: null, e);
        }
        catch (AsnContentException e)
        {
            throw new PkiException($"{path}: the private key is damaged (bad DER)", hint: null, e);
        }
        catch (ArgumentException e)
        {
            throw new PkiException($"{path}: the private key is damaged ({e.Message.TrimEnd('.')})", hint: null, e);
        }
    }

    /// <summary>Writes the key as PKCS#8 PEM, encrypted when a passphrase is given; 0600, atomically.</summary>
    public static void Save(string path, AsymmetricAlgorithm key, string? passphrase, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(key);
        string pem;
        if (string.IsNullOrEmpty(passphrase))
        {
            pem = key.ExportPkcs8PrivateKeyPem();
        }
        else
        {
            var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, Pbkdf2Iterations);
            pem = key.ExportEncryptedPkcs8PrivateKeyPem(passphrase.AsSpan(), pbe);
        }

        PkiFile.WriteAtomic(path, pem + "\n", secret: true, overwrite);
    }

    /// <summary>True when the key is the private half of the certificate's public key.</summary>
    public static bool Matches(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(key);
        return certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>
    /// Loads a certificate and its private key from PEM files (the key may be encrypted) and joins them,
    /// checking that they belong together: what a TLS server or client needs.
    /// </summary>
    public static X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath, string? passphrase = null)
    {
        using var certificate = CertificateFile.Load(certificatePath);
        using var key = Load(keyPath, passphrase);
        if (!Matches(certificate, key))
        {
            throw new PkiException(
                $"{keyPath}: this key does not belong to the certificate {certificatePath}",
                hint: "use the .key file made together with this certificate");
        }

        var joined = key switch
        {
            RSA rsa => certificate.CopyWithPrivateKey(rsa),
            ECDsa ecdsa => certificate.CopyWithPrivateKey(ecdsa),
            _ => throw new PkiException($"{keyPath}: unsupported key type {key.GetType().Name}"),
        };
        return joined;
    }

    private static AsymmetricAlgorithm LoadEncrypted(string path, byte[] der, string? passphrase)
    {
        if (passphrase is null)
        {
            throw new PkiException($"{path}: the private key is encrypted and no passphrase was given", hint: "give the passphrase (--passphrase-file or the environment variable)");
        }

        // Check the structure first so a damaged file is not reported as a wrong passphrase.
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var info = reader.ReadSequence();
        info.ReadSequence();
        info.ReadOctetString();
        info.ThrowIfNotEmpty();
        reader.ThrowIfNotEmpty();

        // ECDSA first: it is our default, so the usual key costs one key derivation, not two.
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportEncryptedPkcs8PrivateKey(passphrase.AsSpan(), der, out _);
            return ecdsa;
        }
        catch (CryptographicException)
        {
            ecdsa.Dispose();
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportEncryptedPkcs8PrivateKey(passphrase.AsSpan(), der, out _);
            return rsa;
        }
        catch (CryptographicException e)
        {
            rsa.Dispose();
            throw new PkiException($"{path}: wrong passphrase (cannot decrypt the private key)", hint: null, e);
        }
    }

    private static AsymmetricAlgorithm ImportPkcs8(byte[] der)
    {
        // The PKCS#8 algorithm OID says which kind of key this is.
        var reader = new AsnReader(der, AsnEncodingRules.BER);
        var info = reader.ReadSequence();
        info.ReadInteger();
        var algorithm = info.ReadSequence().ReadObjectIdentifier();
        switch (algorithm)
        {
            case Oids.RsaEncryption:
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(der, out _);
                return rsa;
            case Oids.EcPublicKey:
                return ImportEc(ecdsa => ecdsa.ImportPkcs8PrivateKey(der, out _));
            default:
                throw new CryptographicException($"key algorithm {algorithm} is not RSA or ECDSA");
        }
    }

    private static RSA ImportRsaPkcs1(byte[] der)
    {
        var rsa = RSA.Create();
        rsa.ImportRSAPrivateKey(der, out _);
        return rsa;
    }

    private static ECDsa ImportEcSec1(byte[] der) => ImportEc(ecdsa => ecdsa.ImportECPrivateKey(der, out _));

    // OpenSSL answers a curve it does not know (any OID a file may name) with PlatformNotSupportedException: for a
    // file that is bad input like any other, so it becomes the CryptographicException the callers turn into one line.
    private static ECDsa ImportEc(Action<ECDsa> import)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            import(ecdsa);
            return ecdsa;
        }
        catch (PlatformNotSupportedException e)
        {
            ecdsa.Dispose();
            throw new CryptographicException("the key's elliptic curve is not supported (use P-256, P-384 or P-521)", e);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }
}
