using System.Security.Cryptography;
using System.Text;

namespace Alex.Pki;

/// <summary>One decoded block of a PEM file (RFC 7468): its label and DER bytes.</summary>
public sealed record PemBlock(string Label, byte[] Der);

/// <summary>
/// Splits a PEM file into its blocks (RFC 7468, as OpenSSL writes them), or takes the whole file as DER
/// when it is not text. Damaged base64, a missing END line or a legacy OpenSSL "Proc-Type: 4,ENCRYPTED"
/// key are reported as one line naming the file.
/// </summary>
public static class PemFile
{
    public static IReadOnlyList<PemBlock> Read(string path, string what) => Parse(PkiFile.ReadAll(path, what), path, what);

    public static IReadOnlyList<PemBlock> Parse(byte[] bytes, string path, string what)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            throw new PkiException($"{path}: is empty, not a {what}");
        }

        // DER: a binary file that starts with a SEQUENCE tag. The label is left for the caller to guess.
        if (bytes[0] == 0x30 && bytes.AsSpan().IndexOf("-----BEGIN"u8) < 0)
        {
            return [new PemBlock(string.Empty, bytes)];
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new PkiException($"{path}: is neither PEM text nor DER, not a {what}", hint: null, e);
        }

        if (text.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
        {
            throw new PkiException(
                $"{path}: is encrypted in OpenSSL's legacy format, which is not supported",
                hint: $"convert it to PKCS#8: openssl pkcs8 -topk8 -in {path} -out new.key");
        }

        var blocks = new List<PemBlock>();
        var rest = text.AsSpan();
        var offset = 0;
        while (true)
        {
            if (!PemEncoding.TryFind(rest[offset..], out var fields))
            {
                break;
            }

            var block = rest[offset..];
            var label = block[fields.Label].ToString();
            var der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(block[fields.Base64Data], der, out var written) || written != der.Length)
            {
                throw new PkiException($"{path}: the {label} block is damaged (bad base64)");
            }

            blocks.Add(new PemBlock(label, der));
            offset += fields.Location.End.Value;
        }

        if (blocks.Count == 0)
        {
            var hint = text.Contains("-----BEGIN", StringComparison.Ordinal)
                ? "the PEM block is damaged or truncated (missing END line or bad base64)"
                : null;
            throw new PkiException($"{path}: contains no PEM block, not a {what}", hint);
        }

        return blocks;
    }

    /// <summary>Encodes DER as PEM with the given label, 64 characters a line, as OpenSSL does.</summary>
    public static string Write(string label, ReadOnlySpan<byte> der) => new string(PemEncoding.Write(label, der)) + "\n";
}
