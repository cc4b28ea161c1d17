using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Alex.Pki;

/// <summary>What a certificate is for.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CertificateRole>))]
public enum CertificateRole
{
    Authority,

    /// <summary>The robot's TLS server (EKU serverAuth).</summary>
    Server,

    /// <summary>A laptop or the web gateway, a TLS client of robots (EKU clientAuth); a watcher on the fleet broker.</summary>
    Client,

    /// <summary>A robot's identity on the fleet broker (EKU clientAuth, CN = the robot's name): publishes its status only (docs/fleet.md).</summary>
    Fleet,

    /// <summary>A teacher's identity on the fleet broker (EKU clientAuth): reads every robot and may publish STOP (docs/fleet.md).</summary>
    Instructor,
}

/// <summary>One certificate the CA issued, as kept in the ledger (DIR/issued.json).</summary>
public sealed record LedgerEntry
{
    public required string Serial { get; init; }

    public required string Name { get; init; }

    public required CertificateRole Role { get; init; }

    public required string Subject { get; init; }

    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset NotAfter { get; init; }

    public required string Sha256Fingerprint { get; init; }

    /// <summary>Where the certificate was written, as given on the command line.</summary>
    public string? File { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public X509RevocationReason? RevocationReason { get; init; }

    /// <summary>The team the certificate was issued for by `alex pki issue --batch`, or null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Team { get; init; }

    [JsonIgnore]
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>The ledger file: every certificate issued and the last CRL number (RFC 5280 §5.2.3: CRL numbers only increase).</summary>
public sealed record LedgerDocument
{
    public int Version { get; init; } = 1;

    public long LastCrlNumber { get; init; }

    public List<LedgerEntry> Certificates { get; init; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(LedgerDocument))]
internal sealed partial class LedgerJsonContext : JsonSerializerContext
{
}

/// <summary>
/// The CA's record of what it issued, so `alex pki list` can show it, `revoke` can find a serial by
/// name and every CRL lists every revocation. JSON, rewritten atomically, changed only under the CA's
/// lock (<see cref="CaLock"/>). Every CA has one from `alex pki init` on: a missing or damaged ledger
/// is refused, never taken as empty (an empty ledger would publish a CRL without the revocations).
/// </summary>
public static class CertificateLedger
{
    public const string FileName = "issued.json";

    /// <summary>The name shown for a revoked serial known only from a CRL.</summary>
    public const string UnknownName = "(unknown, from crl.pem)";

    /// <summary>Reads and validates DIR/issued.json; a missing or damaged ledger is a one-line error that says how to recover.</summary>
    public static LedgerDocument Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            throw new PkiException($"{path}: the CA's ledger is missing; refusing to go on without it (a CRL made without it would forget every revocation)", hint: RecoveryHint(dir));
        }

        return Parse(PkiFile.ReadAll(path, "ledger"), path, dir);
    }

    /// <summary>Parses and validates ledger bytes; <paramref name="path"/> names them in errors.</summary>
    public static LedgerDocument Parse(byte[] bytes, string path, string dir)
    {
        LedgerDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(bytes, LedgerJsonContext.Default.LedgerDocument);
        }
        catch (JsonException e)
        {
            throw new PkiException($"{path}: the ledger is damaged ({OneLine(e.Message)})", hint: RecoveryHint(dir), e);
        }
        catch (NotSupportedException e)
        {
            throw new PkiException($"{path}: the ledger is damaged ({OneLine(e.Message)})", hint: RecoveryHint(dir), e);
        }

        var problem = document is null ? "it is empty" : Validate(document);
        if (problem is not null)
        {
            throw new PkiException($"{path}: the ledger is damaged ({problem})", hint: RecoveryHint(dir));
        }

        return document!;
    }

    /// <summary>What is wrong with a ledger that parsed as JSON, or null when it can be trusted.</summary>
    public static string? Validate(LedgerDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (document.Version != 1)
        {
            return $"version {document.Version}; this alex reads version 1";
        }

        if (document.LastCrlNumber < 0)
        {
            return $"negative CRL number {document.LastCrlNumber}";
        }

        if (document.Certificates is null)
        {
            return "no certificate list";
        }

        var serials = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < document.Certificates.Count; i++)
        {
            var entry = document.Certificates[i];
            if (entry is null || entry.Serial is null || entry.Name is null || entry.Subject is null || entry.Sha256Fingerprint is null)
            {
                return $"certificate {i + 1} lacks a field";
            }

            var serial = entry.Serial.Replace(":", string.Empty, StringComparison.Ordinal);
            if (serial.Length is 0 or > 64 || !serial.All(Uri.IsHexDigit))
            {
                return $"certificate {i + 1} has the serial '{entry.Serial}', not hex";
            }

            if (!serials.Add(CertificateRevocationList.NormalizeSerial(serial)))
            {
                return $"the serial {entry.Serial} is listed twice";
            }

            if (!Enum.IsDefined(entry.Role))
            {
                return $"certificate {i + 1} has an unknown role";
            }

            if (entry.RevocationReason is not null && entry.RevokedAt is null)
            {
                return $"certificate {i + 1} has a revocation reason but no date";
            }
        }

        return null;
    }

    /// <summary>How to get a usable ledger back.</summary>
    public static string RecoveryHint(string dir) =>
        $"restore {FileName} from a backup, or rebuild it from the CA folder and its last CRL: alex pki crl --rebuild-from-crl --dir {dir}";

    /// <summary>A ledger entry for a revoked serial known only from a CRL (its certificate is not in the CA folder).</summary>
    public static LedgerEntry UnknownRevoked(RevokedCertificate revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        return new LedgerEntry
        {
            Serial = revoked.SerialHex,
            Name = UnknownName,
            Role = CertificateRole.Client,
            Subject = string.Empty,
            NotBefore = revoked.RevocationDate,
            NotAfter = revoked.RevocationDate,
            Sha256Fingerprint = string.Empty,
            RevokedAt = revoked.RevocationDate,
            RevocationReason = revoked.Reason,
        };
    }

    /// <summary>Writes the ledger atomically. The caller holds the CA's lock.</summary>
    internal static void Write(string dir, LedgerDocument document)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document, LedgerJsonContext.Default.LedgerDocument);
        PkiFile.WriteAtomic(Path.Combine(dir, FileName), [.. bytes, (byte)'\n'], secret: false, overwrite: true);
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
