using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Alex.Pki;

/// <summary>What a certificate is for.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CertificateRole>))]
public enum CertificateRole
{
    Authority,
    Server,
    Client,
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
/// The CA's record of what it issued, so `alex pki list` can show it and `revoke` can find a serial
/// by name. JSON, rewritten atomically; changes are made under an exclusive lock file so two commands
/// run at once cannot lose an entry.
/// </summary>
public static class CertificateLedger
{
    public const string FileName = "issued.json";

    public static LedgerDocument Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            return new LedgerDocument();
        }

        var bytes = PkiFile.ReadAll(path, "ledger");
        try
        {
            return JsonSerializer.Deserialize(bytes, LedgerJsonContext.Default.LedgerDocument)
                ?? throw new PkiException($"{path}: the ledger is empty");
        }
        catch (JsonException e)
        {
            throw new PkiException($"{path}: the ledger is damaged ({e.Message})", hint: "restore it from a backup; certificates already issued stay valid", e);
        }
    }

    internal static void Write(string dir, LedgerDocument document)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(document, LedgerJsonContext.Default.LedgerDocument);
        PkiFile.WriteAtomic(Path.Combine(dir, FileName), [.. bytes, (byte)'\n'], secret: false, overwrite: true);
    }

    /// <summary>Runs <paramref name="change"/> on the ledger under an exclusive lock and writes the result.</summary>
    internal static T Update<T>(string dir, Func<LedgerDocument, (LedgerDocument Document, T Result)> change)
    {
        var lockPath = Path.Combine(dir, ".issued.lock");
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new PkiException($"{dir}: another alex pki command is changing this CA right now", hint: "wait for it to finish and try again", e);
        }

        using (lockFile)
        {
            var (document, result) = change(Read(dir));
            Write(dir, document);
            return result;
        }
    }
}
