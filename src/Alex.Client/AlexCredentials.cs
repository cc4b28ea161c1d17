// The laptop's certificate, its key and the CA it trusts. File names follow the course
// (docs/course-protocol.md §5): a directory with laptop.crt, laptop.key and signing.pem, or three explicit paths.
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;

namespace Alex.Client;

/// <summary>What a client presents (its certificate with the private key) and whom it trusts (the CA file only).</summary>
public sealed class AlexCredentials : IDisposable
{
    public const string CertificateFileName = "laptop.crt";
    public const string KeyFileName = "laptop.key";
    public const string CaFileName = "signing.pem";

    public AlexCredentials(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authorities);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("the client certificate needs its private key", nameof(certificate));
        }

        if (authorities.Count == 0)
        {
            throw new ArgumentException("at least one CA certificate is needed", nameof(authorities));
        }

        Certificate = certificate;
        Authorities = authorities;
    }

    /// <summary>The client certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate(s) the server's certificate must chain to; nothing else is trusted.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>Loads laptop.crt, laptop.key and signing.pem from a directory (the course's names).</summary>
    public static AlexCredentials FromPkiDirectory(string directory, KeyPassphrase? passphrase = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new PkiException($"{directory}: no such directory", hint: "give the folder with laptop.crt, laptop.key and signing.pem, or use --cert, --key and --ca");
        }

        return FromFiles(
            Path.Combine(directory, CertificateFileName),
            Path.Combine(directory, KeyFileName),
            Path.Combine(directory, CaFileName),
            passphrase);
    }

    /// <summary>Loads the three files; one-line errors name the file that is missing or wrong.</summary>
    public static AlexCredentials FromFiles(string certificatePath, string keyPath, string caPath, KeyPassphrase? passphrase = null)
    {
        foreach (var (path, what) in new[] { (certificatePath, "client certificate"), (keyPath, "client key"), (caPath, "CA certificate") })
        {
            if (!File.Exists(path))
            {
                throw new PkiException($"{path}: no such file (the {what})", hint: "make one with `alex pki issue`, or point --pki / --cert / --key / --ca at the right files");
            }
        }

        var certificate = (passphrase ?? KeyPassphrase.None).LoadCertificateWithKey(certificatePath, keyPath);
        var authorities = CertificateFile.LoadAll(caPath);
        return new AlexCredentials(certificate, authorities);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var ca in Authorities)
        {
            ca.Dispose();
        }
    }
}
