using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// Did this CA sign this certificate? Checked directly on the DER, without building a chain, so an
/// expired or revoked certificate the CA issued is still recognised as its own (RFC 5280 §4.1:
/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }).
/// </summary>
public static class CertificateSignature
{
    /// <summary>True when <paramref name="authority"/> is the certificate's issuer and its key made the signature.</summary>
    public static bool IsSignedBy(X509Certificate2 certificate, X509Certificate2 authority)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authority);
        if (!certificate.IssuerName.RawData.AsSpan().SequenceEqual(authority.SubjectName.RawData))
        {
            return false;
        }

        try
        {
            var reader = new AsnReader(certificate.RawData, AsnEncodingRules.DER);
            var outer = reader.ReadSequence();
            var tbs = outer.ReadEncodedValue().ToArray();
            var algorithm = outer.ReadSequence().ReadObjectIdentifier();
            var signature = outer.ReadBitString(out _);
            HashAlgorithmName? hash = algorithm switch
            {
                Oids.Sha256WithRsa or Oids.EcdsaWithSha256 => HashAlgorithmName.SHA256,
                Oids.Sha384WithRsa or Oids.EcdsaWithSha384 => HashAlgorithmName.SHA384,
                Oids.Sha512WithRsa or Oids.EcdsaWithSha512 => HashAlgorithmName.SHA512,
                Oids.Sha1WithRsa or Oids.EcdsaWithSha1 => HashAlgorithmName.SHA1,
                _ => null,
            };
            if (hash is not { } h)
            {
                return false;
            }

            if (algorithm.StartsWith("1.2.840.10045.", StringComparison.Ordinal))
            {
                using var ecdsa = authority.GetECDsaPublicKey();
                return ecdsa is not null && ecdsa.VerifyData(tbs, signature, h, DSASignatureFormat.Rfc3279DerSequence);
            }

            using var rsa = authority.GetRSAPublicKey();
            return rsa is not null && rsa.VerifyData(tbs, signature, h, RSASignaturePadding.Pkcs1);
        }
        catch (AsnContentException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
