using System.Text;

namespace Alex.Pki;

/// <summary>
/// Where the passphrase of an encrypted private key comes from, in this order: the first line of
/// <c>--passphrase-file</c>, then <c>$ALEX_PKI_PASSPHRASE</c>, then a prompt (only on a terminal).
/// Asked only when the key is encrypted, so an unencrypted key never needs any of them.
/// </summary>
public sealed class KeyPassphrase
{
    public const string EnvironmentVariable = "ALEX_PKI_PASSPHRASE";

    private readonly string? _file;
    private readonly string? _environment;
    private readonly Func<string, string?>? _prompt;

    /// <param name="file">The passphrase file (its first line), or null.</param>
    /// <param name="environment">The environment variable's value, or null.</param>
    /// <param name="prompt">Asks for the passphrase of the named key file; null when there is no terminal to ask on.</param>
    public KeyPassphrase(string? file, string? environment, Func<string, string?>? prompt)
    {
        _file = file;
        _environment = string.IsNullOrEmpty(environment) ? null : environment;
        _prompt = prompt;
    }

    /// <summary>No passphrase from anywhere: an encrypted key is refused with a one-line error.</summary>
    public static KeyPassphrase None { get; } = new(null, null, null);

    /// <summary>The file if given, else this process's <see cref="EnvironmentVariable"/>, else <paramref name="prompt"/>.</summary>
    public static KeyPassphrase FromProcess(string? file, Func<string, string?>? prompt) =>
        new(file, Environment.GetEnvironmentVariable(EnvironmentVariable), prompt);

    /// <summary>A fixed passphrase (tests, and keys written in the same run).</summary>
    public static KeyPassphrase Of(string passphrase) => new(null, passphrase, null);

    /// <summary>The passphrase for <paramref name="keyPath"/>: null when the key is not encrypted.</summary>
    public string? For(string keyPath)
    {
        if (!File.Exists(keyPath) || !PrivateKeyFile.IsEncrypted(keyPath))
        {
            return null;
        }

        if (_file is not null)
        {
            var text = Encoding.UTF8.GetString(PkiFile.ReadAll(_file, "passphrase"));
            var line = text.Split('\n')[0].TrimEnd('\r');
            return line.Length > 0
                ? line
                : throw new PkiException($"{_file}: the passphrase file's first line is empty", hint: "write the key's passphrase on the file's first line");
        }

        if (_environment is not null)
        {
            return _environment;
        }

        if (_prompt?.Invoke(keyPath) is { Length: > 0 } typed)
        {
            return typed;
        }

        throw new PkiException(
            $"{keyPath}: the private key is encrypted and no passphrase was given",
            hint: $"give --passphrase-file FILE (its first line) or set {EnvironmentVariable}");
    }

    /// <summary>The certificate joined with its key, asking for the key's passphrase only if it is encrypted.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 LoadCertificateWithKey(string certificatePath, string keyPath) =>
        PrivateKeyFile.LoadCertificateWithKey(certificatePath, keyPath, For(keyPath));
}
