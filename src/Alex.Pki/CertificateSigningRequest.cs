using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// PKCS#10 certificate signing requests ("CERTIFICATE REQUEST"): made on the device next to its new
/// key, so the key never leaves it, and read by the CA with its signature checked.
/// </summary>
public static class CertificateSigningRequest
{
    /// <summary>Makes a key and a CSR for <paramref name="name"/> (CN, and SAN for DNS names / IPs); writes the key (0600) and the CSR.</summary>
    public static void Create(string name, IReadOnlyList<string> dnsNames, IReadOnlyList<IPAddress> ips, KeySpec keySpec, string keyPath, string csrPath, string? keyPassphrase, bool force)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(ips);
        CertificateAuthority.CheckName(name);
        if (!force)
        {
            foreach (var path in new[] { keyPath, csrPath })
            {
                if (File.Exists(path))
                {
                    throw new PkiException($"{path}: already exists; not overwriting it", hint: "pass --force to replace it, or choose another name with --out");
                }
            }
        }

        using var key = keySpec.Create();
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(name);
        var request = key switch
        {
            RSA rsa => new CertificateRequest(subject.Build(), rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ecdsa => new CertificateRequest(subject.Build(), ecdsa, HashAlgorithmName.SHA256),
            _ => throw new PkiException("unsupported key type"),
        };
        var dns = new List<string>();
        var addresses = new List<IPAddress>(ips);
        if (IPAddress.TryParse(name, out var ip))
        {
            addresses.Insert(0, ip);
        }
        else
        {
            dns.Add(name);
        }

        dns.AddRange(dnsNames.Where(d => !dns.Contains(d, StringComparer.OrdinalIgnoreCase)));
        request.CertificateExtensions.Add(CertificateAuthority.SubjectAltName(dns, addresses));
        var pem = request.CreateSigningRequestPem() + "\n";

        PrivateKeyFile.Save(keyPath, key, keyPassphrase, overwrite: force);
        try
        {
            PkiFile.WriteAtomic(csrPath, pem, secret: false, overwrite: force);
        }
        catch (PkiException)
        {
            File.Delete(keyPath);
            throw;
        }
    }

    /// <summary>Reads a CSR and checks its self-signature (proof that the requester holds the key).</summary>
    public static CertificateRequest Load(string path) => Parse(PkiFile.ReadAll(path, "certificate signing request"), path);

    /// <summary>Parses a CSR file's bytes (PEM or DER) and checks its self-signature; <paramref name="path"/> names it in errors.</summary>
    public static CertificateRequest Parse(byte[] bytes, string path)
    {
        var blocks = PemFile.Parse(bytes, path, "certificate signing request");
        var block = blocks.FirstOrDefault(b => b.Label is "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST" or "");
        if (block is null)
        {
            throw new PkiException($"{path}: contains no certificate signing request (found {string.Join(", ", blocks.Select(b => b.Label))})");
        }

        try
        {
            return CertificateRequest.LoadSigningRequest(
                block.Der,
                HashAlgorithmName.SHA256,
                CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions,
                RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException e)
        {
            throw new PkiException($"{path}: not a valid certificate signing request, or its signature does not verify ({e.Message.TrimEnd('.')})", hint: null, e);
        }
        catch (NotSupportedException e)
        {
            // .NET checks RSA and ECDSA signatures only; Ed25519, Ed448 and DSA requests end here.
            throw new PkiException($"{path}: the request's key or signature algorithm is not supported ({e.Message.TrimEnd('.')}); only RSA and ECDSA keys can be signed", hint: "make the key with: openssl ecparam -name prime256v1 -genkey (or alex pki csr NAME)", e);
        }
        catch (ArgumentException e)
        {
            throw new PkiException($"{path}: not a valid certificate signing request ({e.Message.TrimEnd('.')})", hint: null, e);
        }
    }
}
