using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>A certificate-looking file in a CA folder that could not be read.</summary>
public sealed record UnreadableFile(string Path, string Problem);

/// <summary>
/// The files in a CA folder and its team folders: what `alex pki check` audits and what a ledger
/// rebuild recovers from. Bounded: a few levels deep, a few thousand files.
/// </summary>
public static class CaFolder
{
    private const int MaxDepth = 4;
    private const int MaxFiles = 5000;

    private static readonly string[] CertificateExtensions = [".crt", ".pem", ".cer"];

    /// <summary>Every file under <paramref name="dir"/> (not hidden, not our temporary files), up to the bounds.</summary>
    public static IReadOnlyList<string> Files(string dir)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            MaxRecursionDepth = MaxDepth,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.Device | FileAttributes.ReparsePoint,
        };
        return Directory.EnumerateFiles(dir, "*", options).Take(MaxFiles).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>True for a name that may hold a certificate (.crt, .pem, .cer) other than the CA's CRL.</summary>
    public static bool MayHoldCertificate(string path) =>
        CertificateExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase)
        && !string.Equals(Path.GetFileName(path), CertificateAuthority.CrlFileName, StringComparison.Ordinal);

    /// <summary>The device certificates under <paramref name="dir"/> that <paramref name="authority"/> signed (the CA's own certificate left out).</summary>
    public static IEnumerable<(string Path, X509Certificate2 Certificate)> CertificatesSignedBy(string dir, X509Certificate2 authority, List<UnreadableFile>? unreadable = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        foreach (var path in Files(dir).Where(MayHoldCertificate))
        {
            X509Certificate2Collection all;
            try
            {
                all = CertificateFile.LoadAll(path);
            }
            catch (PkiException e)
            {
                unreadable?.Add(new UnreadableFile(path, e.Message));
                continue;
            }

            foreach (var certificate in all)
            {
                if (certificate.RawData.AsSpan().SequenceEqual(authority.RawData) || !CertificateSignature.IsSignedBy(certificate, authority))
                {
                    certificate.Dispose();
                    continue;
                }

                yield return (path, certificate);
            }
        }
    }

    /// <summary>Reads the CA folder (ledger, crl.pem, the certificates the CA signed, modes) and audits it with <see cref="CaAudit"/>.</summary>
    public static IReadOnlyList<Diagnostics.Finding> Audit(CertificateAuthority ca, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var dir = ca.Directory;
        LedgerDocument? ledger = null;
        string? ledgerProblem = null;
        try
        {
            ledger = CertificateLedger.Read(dir);
        }
        catch (PkiException e)
        {
            ledgerProblem = e.Message;
        }

        CertificateRevocationList? crl = null;
        string? crlProblem = null;
        try
        {
            crl = CertificateRevocationList.Load(ca.CrlPath);
        }
        catch (PkiException e)
        {
            crlProblem = e.Message;
        }

        var unreadable = new List<UnreadableFile>();
        var certificates = new List<FoundCertificate>();
        foreach (var (path, certificate) in CertificatesSignedBy(dir, ca.Certificate, unreadable))
        {
            using (certificate)
            {
                certificates.Add(new FoundCertificate(path, certificate.SerialNumber, CertificateFacts.Fingerprint(certificate.RawData)));
            }
        }

        var modes = new List<PathMode>();
        if (!OperatingSystem.IsWindows())
        {
            modes.Add(new PathMode(dir, File.GetUnixFileMode(dir), IsDirectory: true));
            foreach (var path in Files(dir))
            {
                modes.Add(new PathMode(path, File.GetUnixFileMode(path), IsDirectory: false));
            }

            var subdirectories = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            foreach (var sub in Directory.EnumerateDirectories(dir, "*", subdirectories).Take(MaxFiles))
            {
                modes.Add(new PathMode(sub, File.GetUnixFileMode(sub), IsDirectory: true));
            }
        }

        return CaAudit.Evaluate(new CaAuditInput
        {
            Directory = dir,
            Ledger = ledger,
            LedgerProblem = ledgerProblem,
            Crl = crl,
            CrlProblem = crlProblem,
            CrlSignedByCa = crl is not null && crl.IsSignedBy(ca.Certificate),
            Certificates = certificates,
            Unreadable = unreadable,
            Modes = modes,
            Now = (timeProvider ?? TimeProvider.System).GetUtcNow(),
        });
    }
}
