// The one place where AlexLink's TLS settings are made (docs/security.md, "TLS").
//
// - TLS 1.2 and 1.3 only.
// - Mozilla "intermediate" (https://wiki.mozilla.org/Security/Server_Side_TLS), ECDHE only: every suite
//   is an AEAD with forward secrecy. DHE is left out: it adds nothing for our clients (OpenSSL 1.1+,
//   .NET, Python) and finite-field group sizes are what scanners flag.
// - ALPN: a client offering `alexlink/1` gets the framed protocol; a client offering nothing (the
//   course's C client, docs/course-protocol.md §5) gets the classic one.
// - Trust: only the AlexLink CA we are given (CustomRootTrust), never the OS store.
// - The server requires a client certificate. At the TLS level it only checks that the chain leads to
//   our CA with valid signatures: everything else (validity, EKU, CRL, allow-list, weak keys) is the
//   TrustPolicy's job after the handshake, because under TLS 1.3 a client whose certificate the
//   server rejects in the handshake still "completes" its handshake and only ever sees EOF or a bare
//   alert. Accepting a chain that is ours but not allowed lets the server tell an AlexLink/1 client
//   why in words before it closes.
using System.Net.Security;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki.Tls;

/// <summary>What the TLS-level check of a client certificate found (before the trust policy runs).</summary>
public enum ClientChainStatus
{
    /// <summary>The handshake has not reached the certificate check yet.</summary>
    NotChecked,

    /// <summary>The client sent no certificate.</summary>
    Missing,

    /// <summary>The certificate does not chain to our CA (another CA, a forged signature, a broken chain).</summary>
    NotOurCa,

    /// <summary>The chain leads to our CA; the trust policy decides the rest.</summary>
    ChainsToCa,
}

/// <summary>
/// Per-connection record of the TLS-level client certificate check, filled in during the handshake so
/// the server can log why a handshake failed (the exception alone does not say).
/// </summary>
public sealed class ClientCertificateCheck
{
    public ClientChainStatus Status { get; internal set; } = ClientChainStatus.NotChecked;

    /// <summary>A copy of the client's certificate, when it sent one.</summary>
    public X509Certificate2? Certificate { get; internal set; }

    /// <summary>The certificates the client sent after its own (intermediates), for the trust policy.</summary>
    public X509Certificate2Collection ExtraCertificates { get; } = [];

    /// <summary>Why the chain was not accepted, in words (empty when it was).</summary>
    public string Reason { get; internal set; } = "";
}

/// <summary>Builds SslServerAuthenticationOptions / SslClientAuthenticationOptions for AlexLink.</summary>
public static class TlsProfiles
{
    /// <summary>ALPN name of the framed protocol (docs/protocol.md).</summary>
    public static readonly SslApplicationProtocol AlexLink1 = new("alexlink/1");

    /// <summary>TLS versions we speak.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Mozilla intermediate, ECDHE only (OpenSSL names, for `openssl s_server -cipher` in the benchmark).</summary>
    public const string OpenSslTls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" +
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

    /// <summary>The suites, in preference order.</summary>
    public static IReadOnlyList<TlsCipherSuite> CipherSuites { get; } =
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>
    /// The server side. <paramref name="serverCertificate"/> must carry its private key. Returns options
    /// for ONE connection (the callback writes into <paramref name="check"/>); the certificate context
    /// should be made once per server with <see cref="CreateServerContext"/> so handshakes do not rebuild it.
    /// </summary>
    public static SslServerAuthenticationOptions Server(
        SslStreamCertificateContext serverContext,
        X509Certificate2 caCertificate,
        ClientCertificateCheck check,
        bool offerAlexLink = true)
    {
        ArgumentNullException.ThrowIfNull(serverContext);
        ArgumentNullException.ThrowIfNull(caCertificate);
        ArgumentNullException.ThrowIfNull(check);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = serverContext,
            ClientCertificateRequired = true,
            EnabledSslProtocols = Protocols,
            // Revocation is checked by the trust policy against our own CRL; .NET's modes cannot use it.
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // The chain SslStream builds before the callback is built with the same CA-only policy the
            // callback would use, so the callback reads it instead of building a second one (and no
            // system trust store is consulted). Measured in bench `handshakes`.
            CertificateChainPolicy = ClientChainPolicy(caCertificate),
            AllowRenegotiation = false,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                CheckClientChain(caCertificate, certificate, chain, errors, check),
        };
        if (offerAlexLink)
        {
            // Listing only alexlink/1: a client offering it gets it; a client offering no ALPN at all
            // gets no ALPN (classic). A client offering only other names fails the handshake.
            options.ApplicationProtocols = [AlexLink1];
        }

        if (OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD())
        {
            options.CipherSuitesPolicy = CreateCipherSuitesPolicy();
        }

        return options;
    }

    /// <summary>
    /// The server's certificate with the chain it sends (offline: no network fetches on a Pi without Internet).
    /// </summary>
    public static SslStreamCertificateContext CreateServerContext(X509Certificate2 serverCertificate, X509Certificate2Collection? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(serverCertificate);
        if (!serverCertificate.HasPrivateKey)
        {
            throw new ArgumentException("the server certificate has no private key", nameof(serverCertificate));
        }

        return SslStreamCertificateContext.Create(serverCertificate, intermediates, offline: true);
    }

    /// <summary>
    /// The client side: present <paramref name="clientCertificate"/>, trust only <paramref name="caCertificate"/>,
    /// and require the server's name to match <paramref name="serverName"/> (the course client does not check
    /// the name, docs/course-protocol.md §5; ours does). <paramref name="alexLink"/> false offers no ALPN (classic).
    /// </summary>
    public static SslClientAuthenticationOptions Client(
        X509Certificate2? clientCertificate,
        X509Certificate2 caCertificate,
        string serverName,
        bool alexLink = true)
    {
        ArgumentNullException.ThrowIfNull(caCertificate);
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            AllowRenegotiation = false,
            CertificateChainPolicy = CaOnlyPolicy(caCertificate),
        };
        if (clientCertificate is not null)
        {
            // Always present our certificate, whatever CA names the server lists. (Null: no certificate,
            // which our server refuses; `alex doctor` and the tests use it to show that.)
            options.ClientCertificates = [clientCertificate];
            options.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
        }

        if (alexLink)
        {
            options.ApplicationProtocols = [AlexLink1];
        }

        if (OperatingSystem.IsLinux() || OperatingSystem.IsFreeBSD())
        {
            options.CipherSuitesPolicy = CreateCipherSuitesPolicy();
        }

        return options;
    }

    /// <summary>A chain policy that trusts exactly one CA and nothing from the OS store.</summary>
    public static X509ChainPolicy CaOnlyPolicy(X509Certificate2 caCertificate)
    {
        ArgumentNullException.ThrowIfNull(caCertificate);
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(caCertificate);
        return policy;
    }

    // The TLS-level client check: to our CA, signatures valid; time validity is the trust policy's
    // (it names the dates in its refusal), so it is ignored here.
    private static X509ChainPolicy ClientChainPolicy(X509Certificate2 caCertificate)
    {
        var policy = CaOnlyPolicy(caCertificate);
        policy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid;
        return policy;
    }

    [UnsupportedOSPlatform("windows")]
    [UnsupportedOSPlatform("osx")]
    private static CipherSuitesPolicy CreateCipherSuitesPolicy() => new(CipherSuites);

    // The TLS-level check: "does this chain lead to our CA with valid signatures?". Time validity and
    // usage are deliberately left to the trust policy (see the file header); a missing certificate or
    // a chain to anything else fails the handshake here.
    private static bool CheckClientChain(
        X509Certificate2 caCertificate,
        X509Certificate? certificate,
        X509Chain? sslChain,
        SslPolicyErrors errors,
        ClientCertificateCheck check)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            check.Status = ClientChainStatus.Missing;
            check.Reason = "no client certificate";
            return false;
        }

        var leaf = new X509Certificate2(certificate);
        check.Certificate = leaf;
        if (sslChain is not null)
        {
            foreach (var element in sslChain.ChainPolicy.ExtraStore)
            {
                check.ExtraCertificates.Add(new X509Certificate2(element));
            }
        }

        // SslStream's chain was built with ClientChainPolicy (set in Server()): when it built cleanly
        // and ends at our CA, that is the answer this check would compute; trust it only then.
        if (sslChain is not null && (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0
            && sslChain.ChainPolicy.TrustMode == X509ChainTrustMode.CustomRootTrust
            && sslChain.ChainPolicy.CustomTrustStore.Count == 1
            && sslChain.ChainPolicy.CustomTrustStore[0].RawDataMemory.Span.SequenceEqual(caCertificate.RawDataMemory.Span)
            && sslChain.ChainStatus.All(s => s.Status == X509ChainStatusFlags.NoError)
            && sslChain.ChainElements.Count > 0
            && sslChain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(caCertificate.RawDataMemory.Span))
        {
            check.Status = ClientChainStatus.ChainsToCa;
            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy = ClientChainPolicy(caCertificate);
        chain.ChainPolicy.ExtraStore.AddRange(check.ExtraCertificates);
        var built = chain.Build(leaf);
        var endsAtOurCa = built && chain.ChainElements.Count > 0 &&
            chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(caCertificate.RawDataMemory.Span);
        foreach (var element in chain.ChainElements)
        {
            element.Certificate.Dispose();
        }

        if (endsAtOurCa)
        {
            check.Status = ClientChainStatus.ChainsToCa;
            return true;
        }

        check.Status = ClientChainStatus.NotOurCa;
        var problems = chain.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct().ToArray();
        check.Reason = problems.Length == 0
            ? "certificate does not chain to our CA"
            : "certificate does not chain to our CA (" + string.Join(", ", problems) + ")";
        return false;
    }
}
