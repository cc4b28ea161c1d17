using System.Security.Cryptography;

namespace Alex.Pki.Fuzz;

/// <summary>
/// Every reader `alex pki` applies to a file the user names, run on the same bytes: PEM/DER splitting,
/// certificates, keys, CSRs, CRLs, the ledger and `show`'s summary. The contract under test: bad bytes
/// end in a <see cref="PkiException"/> (one line for the user), never anything else.
/// </summary>
public static class PkiReaders
{
    private const string Name = "input";

    public static void ReadAll(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Expect(() => PemFile.Parse(bytes, Name, "file"));
        Expect(() =>
        {
            foreach (var certificate in CertificateFile.ParseAll(bytes, Name))
            {
                _ = CertificateFacts.From(certificate);
                certificate.Dispose();
            }
        });
        Expect(() => PrivateKeyFile.Parse(bytes, Name, "passphrase").Dispose());
        Expect(() => CertificateSigningRequest.Parse(bytes, Name));
        Expect(() => CertificateRevocationList.ParseFile(bytes, Name));
        Expect(() => CertificateLedger.Parse(bytes, Name, "."));
        Expect(() => PkiDescriber.Describe(bytes, Name, DateTimeOffset.UnixEpoch));
        try
        {
            CertificateRevocationList.Parse(bytes);
        }
        catch (CryptographicException)
        {
            // The raw DER parser's documented failure.
        }
    }

    private static void Expect(Action read)
    {
        try
        {
            read();
        }
        catch (PkiException)
        {
            // The one expected failure: a one-line message for the user.
        }
    }
}
