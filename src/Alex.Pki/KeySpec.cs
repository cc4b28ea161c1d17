using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// The kind of key to make. ECDSA P-256 by default: small, fast on a Raspberry Pi, accepted by OpenSSL
/// and every TLS 1.2/1.3 stack; RSA 2048/3072/4096 on request for older tools.
/// </summary>
public readonly record struct KeySpec(bool IsRsa, int Bits)
{
    public static KeySpec EcdsaP256 => new(false, 256);

    public static KeySpec Rsa(int bits) => bits is 2048 or 3072 or 4096
        ? new KeySpec(true, bits)
        : throw new PkiException($"RSA key size {bits} is not offered; use 2048, 3072 or 4096");

    public override string ToString() => IsRsa ? $"RSA {Bits}" : "ECDSA P-256";

    public AsymmetricAlgorithm Create() => IsRsa ? RSA.Create(Bits) : ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>A signature generator for a private key: SHA-256, PKCS#1 v1.5 for RSA (what OpenSSL and the course's programs verify).</summary>
    internal static X509SignatureGenerator SignerFor(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ecdsa => X509SignatureGenerator.CreateForECDsa(ecdsa),
        _ => throw new PkiException($"unsupported key type {key.GetType().Name}"),
    };

    /// <summary>Adds the private key to a certificate object (to sign with it).</summary>
    internal static X509Certificate2 WithKey(X509Certificate2 certificate, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => certificate.CopyWithPrivateKey(rsa),
        ECDsa ecdsa => certificate.CopyWithPrivateKey(ecdsa),
        _ => throw new PkiException($"unsupported key type {key.GetType().Name}"),
    };
}
