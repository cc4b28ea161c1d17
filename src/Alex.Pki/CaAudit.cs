using System.Numerics;
using Alex.Pki.Diagnostics;

namespace Alex.Pki;

/// <summary>A certificate this CA signed, found in its folder: where, its serial and fingerprint.</summary>
public sealed record FoundCertificate(string Path, string Serial, string Sha256Fingerprint);

/// <summary>A file or directory in the CA folder with its Unix mode.</summary>
public sealed record PathMode(string Path, UnixFileMode Mode, bool IsDirectory);

/// <summary>Everything `alex pki check` looked at, read by the caller; <see cref="CaAudit.Evaluate"/> decides.</summary>
public sealed record CaAuditInput
{
    public required string Directory { get; init; }

    /// <summary>The ledger, or null with <see cref="LedgerProblem"/> saying why it cannot be used.</summary>
    public LedgerDocument? Ledger { get; init; }

    public string? LedgerProblem { get; init; }

    /// <summary>crl.pem, or null with <see cref="CrlProblem"/> saying why it cannot be used.</summary>
    public CertificateRevocationList? Crl { get; init; }

    public string? CrlProblem { get; init; }

    public bool CrlSignedByCa { get; init; }

    public IReadOnlyList<FoundCertificate> Certificates { get; init; } = [];

    public IReadOnlyList<UnreadableFile> Unreadable { get; init; } = [];

    public IReadOnlyList<PathMode> Modes { get; init; } = [];

    public required DateTimeOffset Now { get; init; }
}

/// <summary>
/// The audit of a CA folder, with no I/O: every certificate the CA signed is in the ledger, the CRL
/// agrees with the ledger (same revocations, a number not behind it, not stale), and nothing is
/// writable by others or, for keys, readable by others. Each problem comes with the command that fixes it.
/// </summary>
public static class CaAudit
{
    /// <summary>A CRL that runs out sooner than this is a warning: renew it before the robots refuse everyone.</summary>
    public static readonly TimeSpan CrlRenewBefore = TimeSpan.FromDays(14);

    public static IReadOnlyList<Finding> Evaluate(CaAuditInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var findings = new List<Finding>();
        var dir = input.Directory;
        var ledgerName = CertificateLedger.FileName;
        var crlName = CertificateAuthority.CrlFileName;
        if (input.Ledger is null)
        {
            findings.Add(Finding.Problem(ledgerName, input.LedgerProblem ?? $"{ledgerName} cannot be read", CertificateLedger.RecoveryHint(dir)));
        }
        else
        {
            findings.Add(Finding.Ok(ledgerName, $"{ledgerName}: {input.Ledger.Certificates.Count} certificates, {input.Ledger.Certificates.Count(c => c.IsRevoked)} revoked, last CRL number {input.Ledger.LastCrlNumber}"));
        }

        CheckCrl(input, findings, dir, crlName);
        CheckCertificates(input, findings, dir);
        CheckModes(input, findings);
        return findings;
    }

    private static void CheckCrl(CaAuditInput input, List<Finding> findings, string dir, string crlName)
    {
        if (input.Crl is not { } crl)
        {
            findings.Add(Finding.Problem(crlName, input.CrlProblem ?? $"{crlName} cannot be read", $"write a new one: alex pki crl --dir {dir}"));
            return;
        }

        if (!input.CrlSignedByCa)
        {
            findings.Add(Finding.Problem(crlName, $"{crlName} is not signed by this CA (forged, or another CA's CRL)", $"write this CA's own: alex pki crl --dir {dir}"));
            return;
        }

        var number = crl.CrlNumber ?? BigInteger.Zero;
        if (crl.NextUpdate is { } next && next < input.Now)
        {
            findings.Add(Finding.Problem(crlName, $"{crlName} went stale on {next:yyyy-MM-dd HH:mm} UTC: robots with it refuse every laptop", $"renew it: alex pki crl --dir {dir}"));
        }
        else if (crl.NextUpdate is { } soon && soon - input.Now < CrlRenewBefore)
        {
            findings.Add(Finding.Warning(crlName, $"{crlName} goes stale on {soon:yyyy-MM-dd HH:mm} UTC", $"renew it: alex pki crl --dir {dir}"));
        }

        if (input.Ledger is not { } ledger)
        {
            return;
        }

        var inCrl = crl.Revoked.Select(r => r.SerialHex).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var inLedger = ledger.Certificates.Where(c => c.IsRevoked).Select(c => CertificateRevocationList.NormalizeSerial(c.Serial)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var unpublished = inLedger.Where(s => !inCrl.Contains(s)).Order(StringComparer.Ordinal).ToList();
        var forgotten = inCrl.Where(s => !inLedger.Contains(s)).Order(StringComparer.Ordinal).ToList();
        if (unpublished.Count > 0)
        {
            findings.Add(Finding.Problem(crlName, $"{crlName} lacks {unpublished.Count} revocation(s) the ledger records ({string.Join(", ", unpublished)}): robots still accept them", $"publish them: alex pki crl --dir {dir}"));
        }

        if (forgotten.Count > 0)
        {
            findings.Add(Finding.Problem(CertificateLedger.FileName, $"the ledger lacks {forgotten.Count} revocation(s) that {crlName} lists ({string.Join(", ", forgotten)}): was it restored from an old backup?", $"carry them back into the ledger: alex pki crl --dir {dir}"));
        }

        if (number < ledger.LastCrlNumber)
        {
            findings.Add(Finding.Problem(crlName, $"{crlName} is number {number}, behind the ledger's {ledger.LastCrlNumber}: an older CRL was put back", $"publish a new one: alex pki crl --dir {dir}"));
        }

        if (unpublished.Count == 0 && forgotten.Count == 0 && number >= ledger.LastCrlNumber)
        {
            findings.Add(Finding.Ok(crlName, $"{crlName}: number {number}, {crl.Revoked.Count} revoked, the same revocations as the ledger"));
        }
    }

    private static void CheckCertificates(CaAuditInput input, List<Finding> findings, string dir)
    {
        foreach (var file in input.Unreadable)
        {
            findings.Add(Finding.Warning(file.Path, file.Problem));
        }

        if (input.Ledger is not { } ledger)
        {
            return;
        }

        var bySerial = new Dictionary<string, LedgerEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in ledger.Certificates)
        {
            bySerial.TryAdd(CertificateRevocationList.NormalizeSerial(entry.Serial), entry);
        }

        var recorded = 0;
        foreach (var found in input.Certificates)
        {
            var serial = CertificateRevocationList.NormalizeSerial(found.Serial);
            if (!bySerial.TryGetValue(serial, out var entry))
            {
                findings.Add(Finding.Problem(found.Path, $"{found.Path} (serial {serial}) was signed by this CA but is not in the ledger: nobody could revoke it by name", $"record and revoke it: alex pki revoke {Quote(found.Path)} --dir {dir}"));
            }
            else if (entry.Sha256Fingerprint.Length > 0 && !string.Equals(entry.Sha256Fingerprint, found.Sha256Fingerprint, StringComparison.OrdinalIgnoreCase))
            {
                findings.Add(Finding.Problem(found.Path, $"{found.Path} has the serial {serial} of '{entry.Name}' in the ledger but another fingerprint: two certificates share a serial", $"revoke it: alex pki revoke {serial} --dir {dir}"));
            }
            else
            {
                recorded++;
            }
        }

        if (recorded > 0 && recorded == input.Certificates.Count)
        {
            findings.Add(Finding.Ok("certificates", $"all {recorded} certificates this CA signed in {dir} are in the ledger"));
        }
    }

    private static void CheckModes(CaAuditInput input, List<Finding> findings)
    {
        const UnixFileMode othersWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        const UnixFileMode othersAny = othersWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var bad = 0;
        foreach (var file in input.Modes)
        {
            var octal = "0" + Convert.ToString((int)file.Mode & 0x1FF, 8);
            if (!file.IsDirectory && file.Path.EndsWith(".key", StringComparison.Ordinal) && (file.Mode & othersAny) != 0)
            {
                findings.Add(Finding.Problem(file.Path, $"{file.Path} is a private key that others can use (mode {octal})", $"chmod 600 {Quote(file.Path)}"));
                bad++;
            }
            else if ((file.Mode & othersWrite) != 0)
            {
                findings.Add(Finding.Problem(file.Path, $"{file.Path} can be changed by others (mode {octal}): they could swap the CRL or the CA certificate", $"chmod go-w {Quote(file.Path)}"));
                bad++;
            }
        }

        if (bad == 0 && input.Modes.Count > 0)
        {
            findings.Add(Finding.Ok("modes", $"keys are owner-only and nothing is writable by others ({input.Modes.Count} files and folders)"));
        }
    }

    private static string Quote(string text) => text.Contains(' ', StringComparison.Ordinal) ? $"\"{text}\"" : text;
}
