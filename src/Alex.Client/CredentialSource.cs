using Alex.Pki;

namespace Alex.Client;

/// <summary>
/// Which files hold the laptop's credentials, as every connecting command takes them: a folder with the
/// course's names (<c>--pki</c>, ./pki when nothing is given) or all three of <c>--cert</c>, <c>--key</c>
/// and <c>--ca</c>; and where an encrypted key's passphrase comes from.
/// </summary>
public sealed record CredentialSource
{
    /// <summary>The folder used when neither --pki nor --cert/--key/--ca is given.</summary>
    public const string DefaultPkiDirectory = "pki";

    public string? PkiDirectory { get; init; }

    public string? CertificatePath { get; init; }

    public string? KeyPath { get; init; }

    public string? CaPath { get; init; }

    public KeyPassphrase Passphrase { get; init; } = KeyPassphrase.None;

    /// <summary>True when some of --cert, --key, --ca were given.</summary>
    public bool NamesFiles => CertificatePath is not null || KeyPath is not null || CaPath is not null;

    /// <summary>True when neither a folder nor files were given (the ./pki default applies).</summary>
    public bool IsDefault => PkiDirectory is null && !NamesFiles;

    /// <summary>
    /// The three paths; a <see cref="PkiException"/> (one line, with a hint) when the options
    /// contradict each other or the default folder is missing.
    /// </summary>
    public (string Certificate, string Key, string Ca) Resolve()
    {
        if (NamesFiles)
        {
            if (PkiDirectory is not null)
            {
                throw new PkiException("give either --pki DIR or --cert, --key and --ca, not both", hint: "--pki DIR reads laptop.crt, laptop.key and signing.pem from DIR");
            }

            if (CertificatePath is null || KeyPath is null || CaPath is null)
            {
                var missing = string.Join(", ", new[] { ("--cert", CertificatePath), ("--key", KeyPath), ("--ca", CaPath) }.Where(p => p.Item2 is null).Select(p => p.Item1));
                throw new PkiException($"missing {missing}", hint: "give all three of --cert, --key and --ca, or --pki DIR");
            }

            return (CertificatePath, KeyPath, CaPath);
        }

        var directory = PkiDirectory ?? DefaultPkiDirectory;
        if (!Directory.Exists(directory))
        {
            throw new PkiException(
                PkiDirectory is null ? $"no certificate given, and there is no ./{DefaultPkiDirectory} folder here" : $"{directory}: no such directory",
                hint: $"give --pki DIR (with {AlexCredentials.CertificateFileName}, {AlexCredentials.KeyFileName}, {AlexCredentials.CaFileName}) or --cert, --key and --ca; make them with `alex pki issue client laptop`");
        }

        return (Path.Combine(directory, AlexCredentials.CertificateFileName), Path.Combine(directory, AlexCredentials.KeyFileName), Path.Combine(directory, AlexCredentials.CaFileName));
    }

    /// <summary>Loads the credentials; one-line <see cref="PkiException"/>s name the file that is missing or wrong.</summary>
    public AlexCredentials Load()
    {
        var (certificate, key, ca) = Resolve();
        return AlexCredentials.FromFiles(certificate, key, ca, Passphrase);
    }
}
