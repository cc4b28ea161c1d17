using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>Loads certificates from PEM (or DER) files with one-line errors that name the file.</summary>
public static class CertificateFile
{
    /// <summary>The first certificate in the file.</summary>
    public static X509Certificate2 Load(string path)
    {
        var all = LoadAll(path);
        for (var i = 1; i < all.Count; i++)
        {
            all[i].Dispose();
        }

        return all[0];
    }

    /// <summary>Every certificate in the file, in order (a leaf followed by its chain, or several CAs).</summary>
    public static X509Certificate2Collection LoadAll(string path) => ParseAll(PkiFile.ReadAll(path, "certificate"), path);

    /// <summary>Every certificate in a file's bytes (PEM or DER); <paramref name="path"/> names it in errors.</summary>
    public static X509Certificate2Collection ParseAll(byte[] bytes, string path)
    {
        var blocks = PemFile.Parse(bytes, path, "certificate");
        var collection = new X509Certificate2Collection();
        foreach (var block in blocks)
        {
            if (block.Label is "CERTIFICATE" or "TRUSTED CERTIFICATE" or "")
            {
                collection.Add(FromDer(block.Der, path));
            }
        }

        if (collection.Count == 0)
        {
            var found = string.Join(", ", blocks.Select(b => b.Label));
            var hint = found.Contains("PRIVATE KEY", StringComparison.Ordinal) ? "this is a key; give the .crt/.pem certificate" : null;
            throw new PkiException($"{path}: contains no certificate (found {found})", hint);
        }

        return collection;
    }

    internal static X509Certificate2 FromDer(byte[] der, string path)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new PkiException($"{path}: the certificate is damaged ({e.Message.TrimEnd('.')})", hint: null, e);
        }
    }

    /// <summary>The certificate as PEM text.</summary>
    public static string ToPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return PemFile.Write("CERTIFICATE", certificate.RawData);
    }
}
