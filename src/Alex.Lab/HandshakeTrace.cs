using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Lab;

/// <summary>One check the client made on the server's certificate, and how it came out.</summary>
/// <remarks><see cref="Passed"/> is null for a check this client does not make (it says so rather than tick it).</remarks>
public sealed record HandshakeCheck(string Check, bool? Passed, string Detail);

/// <summary>A certificate of the server's chain as the client built it.</summary>
public sealed record PeerCertificate(string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter, string Status);

/// <summary>Where to connect and with which credentials (the course's files: laptop.crt, laptop.key, signing.pem).</summary>
public sealed record HandshakeSettings(
    string Host,
    int Port,
    string? ServerName,
    X509Certificate2? ClientCertificate,
    X509Certificate2Collection TrustedRoots,
    IReadOnlyList<string> ApplicationProtocols,
    TimeSpan Timeout,
    TimeSpan AlertWait)
{
    public const string AlexLinkProtocol = "alexlink/1";
}

/// <summary>`alex lab handshake`: what a real TLS handshake with Alex did, beside the lecture's step list.</summary>
public sealed record HandshakeResult(
    string Host,
    int Port,
    string ServerName,
    bool Succeeded,
    string? Failure,
    string? Protocol,
    string? CipherSuite,
    string? KeyExchange,
    bool KeyExchangeInferred,
    string? ApplicationProtocol,
    IReadOnlyList<string> OfferedApplicationProtocols,
    IReadOnlyList<PeerCertificate> ServerChain,
    IReadOnlyList<HandshakeCheck> Checks,
    IReadOnlyList<CertificateLink> ServerChainSignatures,
    string? ClientCertificate,
    bool ClientCertificateSent,
    string ServerVerdictOnClient,
    TimeSpan ConnectTime,
    TimeSpan HandshakeTime,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => $"TLS handshake with {Host}:{Port}";
}

/// <summary>
/// A TLS client that records what happened: it presents the client certificate, trusts only the given CA
/// (CustomRootTrust, never the system store, never a callback that says yes regardless), offers ALPN
/// `alexlink/1`, and keeps the chain and every chain-status flag the platform reported. .NET does not expose
/// the key-exchange group; we say what the suite proves and what OpenSSL's defaults imply, marked as inferred.
/// </summary>
public static class HandshakeTrace
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    public static async Task<HandshakeResult> RunAsync(HandshakeSettings settings, TimeProvider time, CancellationToken cancellationToken)
    {
        var serverName = settings.ServerName ?? settings.Host;
        var checks = new List<HandshakeCheck>();
        var chain = new List<PeerCertificate>();
        var chainCertificates = new List<X509Certificate2>();
        var steps = new List<LabStep>();
        var notes = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.Timeout);

        var start = time.GetTimestamp();
        using var tcp = new TcpClient(settings.Host.Contains(':', StringComparison.Ordinal) ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        try
        {
            await tcp.ConnectAsync(settings.Host, settings.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new LabInputException($"cannot connect to {settings.Host}:{settings.Port}: {(e is SocketException s ? s.SocketErrorCode.ToString() : "timed out")}", "is `alex serve` running there? check the host and port");
        }

        var connected = time.GetElapsedTime(start);
        steps.Add(new LabStep("TCP connection (TLS runs entirely over TCP/IP)", $"connected to {tcp.Client.RemoteEndPoint} in {Factoring.FormatDuration(connected)}"));

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(settings.TrustedRoots);
        policy.ApplicationPolicy.Add(new Oid(ServerAuthOid));

        // The callback only records: its answer is the platform's own verdict (no errors), never a constant.
        bool Record(object sender, X509Certificate? certificate, X509Chain? built, SslPolicyErrors errors)
        {
            checks.Add(new HandshakeCheck(
                "the server sent a certificate",
                (errors & SslPolicyErrors.RemoteCertificateNotAvailable) == 0,
                certificate is null ? "none" : certificate.Subject));
            if (built is not null)
            {
                foreach (var element in built.ChainElements)
                {
                    chainCertificates.Add(X509CertificateLoader.LoadCertificate(element.Certificate.RawData));
                    var status = element.ChainElementStatus.Length == 0 ? "ok" : string.Join(", ", element.ChainElementStatus.Select(s => s.Status));
                    chain.Add(new PeerCertificate(element.Certificate.Subject, element.Certificate.Issuer, element.Certificate.NotBefore.ToUniversalTime(), element.Certificate.NotAfter.ToUniversalTime(), status));
                }

                var flags = built.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
                var root = built.ChainElements.Count > 0 ? built.ChainElements[^1].Certificate : null;
                var rootIsOurs = root is not null && settings.TrustedRoots.Any(r => r.Thumbprint == root.Thumbprint);
                checks.Add(new HandshakeCheck(
                    "each signature checks with the next certificate's public key (Charlie's key at the top)",
                    (flags & X509ChainStatusFlags.NotSignatureValid) == 0 && (flags & X509ChainStatusFlags.PartialChain) == 0,
                    $"{built.ChainElements.Count} certificate(s) in the chain"));
                checks.Add(new HandshakeCheck(
                    "the chain ends at the CA we were given (signing.pem), not at one from the system store",
                    rootIsOurs && (flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) == 0,
                    root is null ? "no root" : $"root: {root.Subject}{(rootIsOurs ? " = our CA" : " — not our CA")}"));
                checks.Add(new HandshakeCheck(
                    "every certificate is within its validity dates",
                    (flags & X509ChainStatusFlags.NotTimeValid) == 0,
                    root is null ? string.Empty : $"checked at {time.GetUtcNow():yyyy-MM-dd HH:mm:ss} UTC"));
                checks.Add(new HandshakeCheck(
                    "the key may be used for a TLS server (extended key usage serverAuth, or none at all as in course v1 certificates)",
                    (flags & X509ChainStatusFlags.NotValidForUsage) == 0,
                    "EKU 1.3.6.1.5.5.7.3.1"));
                if (flags != X509ChainStatusFlags.NoError)
                {
                    checks.Add(new HandshakeCheck("no other chain problem", false, string.Join("; ", built.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"))));
                }
            }

            checks.Add(new HandshakeCheck(
                $"the certificate names the server we asked for ({serverName})",
                (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0,
                "DNS or IP subject alternative name (or the common name when there is none)"));
            checks.Add(new HandshakeCheck("revocation (CRL)", null, "not checked by this client: the CRL is the server's to check for client certificates"));
            return errors == SslPolicyErrors.None;
        }

        var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, Record);
        await using (stream.ConfigureAwait(false))
        {
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                ApplicationProtocols = [.. settings.ApplicationProtocols.Select(p => new SslApplicationProtocol(p))],
                CertificateChainPolicy = policy,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                ClientCertificateContext = settings.ClientCertificate is null ? null : SslStreamCertificateContext.Create(settings.ClientCertificate, additionalCertificates: null, offline: true),
            };

            string? failure = null;
            var handshakeStart = time.GetTimestamp();
            try
            {
                await stream.AuthenticateAsClientAsync(options, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                failure = e is OperationCanceledException ? $"the handshake did not finish within {settings.Timeout.TotalSeconds:0} s" : Flatten(e);
            }

            var handshakeTime = time.GetElapsedTime(handshakeStart);
            var verdict = failure is null ? await AwaitServerVerdictAsync(stream, settings.AlertWait, cancellationToken).ConfigureAwait(false) : "not reached";
            if (failure is null && (verdict.StartsWith("rejected", StringComparison.Ordinal) || verdict.StartsWith("closed", StringComparison.Ordinal)))
            {
                failure = $"the server {verdict}";
            }

            var succeeded = failure is null;
            var protocol = succeeded ? Describe(stream.SslProtocol) : null;
            var suite = succeeded ? stream.NegotiatedCipherSuite.ToString() : null;
            var alpn = succeeded && stream.NegotiatedApplicationProtocol.Protocol.Length > 0 ? stream.NegotiatedApplicationProtocol.ToString() : null;
            var (keyExchange, inferred) = succeeded ? KeyExchangeFor(stream.SslProtocol, stream.NegotiatedCipherSuite) : (null, true);
            var signatures = chainCertificates.Count > 0 ? CertificateWalk.Walk(chainCertificates[0], chainCertificates).Links : [];

            AddLectureSteps(steps, settings, serverName, succeeded, protocol, suite, alpn, keyExchange, chain, checks, signatures, verdict, handshakeTime);
            if (!succeeded)
            {
                steps.Add(new LabStep("The handshake failed", $"{failure} ✗"));
            }

            notes.Add("The lecture's step 4 (Bob encrypts a random string with Alice's public key) is RSA key transport, which TLS 1.3 removed: a stolen server key would decrypt every recorded session. Both sides now do an ephemeral Diffie–Hellman — the lecture's DH, on an elliptic curve — and the certificate key only signs the handshake (CertificateVerify).");
            if (inferred && succeeded)
            {
                notes.Add("The key-exchange group is inferred, not observed: .NET does not report it. Run `openssl s_client -connect HOST:PORT -cert laptop.crt -key laptop.key -CAfile signing.pem -alpn alexlink/1 -brief` to see it (\"Peer Temp Key\" / \"Negotiated TLS1.3 group\").");
            }

            return new HandshakeResult(
                settings.Host,
                settings.Port,
                serverName,
                succeeded,
                failure,
                protocol,
                suite,
                keyExchange,
                inferred,
                alpn,
                settings.ApplicationProtocols,
                chain,
                checks,
                signatures,
                settings.ClientCertificate?.Subject,
                succeeded && stream.LocalCertificate is not null,
                verdict,
                connected,
                handshakeTime,
                steps,
                notes);
        }
    }

    /// <summary>Replaces the inferred group with what `openssl s_client` observed in its own handshake.</summary>
    public static HandshakeResult WithObservedGroup(HandshakeResult result, OpenSslProbeResult probe)
    {
        var steps = result.Steps.ToList();
        var index = steps.FindIndex(s => s.Title.Contains("Diffie–Hellman may be used", StringComparison.Ordinal));
        var notes = result.Notes.ToList();
        if (probe.Group is null)
        {
            notes.Add($"openssl s_client could not confirm the group: {probe.Detail}");
            return result with { Notes = notes };
        }

        var observed = $"{probe.Group} — observed by a second handshake with openssl s_client ({probe.Detail}; {probe.Protocol}, {probe.CipherSuite})";
        if (index >= 0)
        {
            steps[index] = steps[index] with { Lines = [.. steps[index].Lines, $"group: {observed}"] };
        }

        notes.RemoveAll(n => n.StartsWith("The key-exchange group is inferred", StringComparison.Ordinal));
        notes.Add("The group line comes from openssl s_client's own connection with the same files and library defaults; .NET still does not report the group of the first connection.");
        return result with { KeyExchange = $"{result.KeyExchange}; {observed}", Steps = steps, Notes = notes };
    }

    private static void AddLectureSteps(
        List<LabStep> steps,
        HandshakeSettings settings,
        string serverName,
        bool succeeded,
        string? protocol,
        string? suite,
        string? alpn,
        string? keyExchange,
        List<PeerCertificate> chain,
        List<HandshakeCheck> checks,
        IReadOnlyList<CertificateLink> signatures,
        string verdict,
        TimeSpan handshakeTime)
    {
        steps.Add(new LabStep(
            "Lecture: \"Bob sends Alice a HELLO message, listing all the symmetric ciphers he understands\" → our ClientHello",
            "offered: TLS 1.3 and TLS 1.2, the platform's (OpenSSL's) AEAD cipher suites, key shares for the default groups",
            $"ALPN (which application protocol to speak): {string.Join(", ", settings.ApplicationProtocols)}; server name: {serverName}"));
        steps.Add(new LabStep(
            "Lecture: \"Alice sends back her own HELLO message, telling Bob which symmetric cipher to use\" → the ServerHello",
            succeeded
                ? [$"version: {protocol}", $"cipher suite: {suite} ({SuiteMeaning(suite!)})", $"ALPN: {alpn ?? "none chosen (the server would speak the classic course protocol)"}"]
                : ["not completed"]));
        var rows = chain.Select((c, i) => (IReadOnlyList<string>)[(i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), c.Subject, c.Issuer, $"{c.NotAfter:yyyy-MM-dd}", c.Status]).ToList();
        steps.Add(new LabStep(
            "Lecture: \"Alice presents her certificate to Bob; Bob uses Charlie's public key to check the digital signature\" → the server's chain and our checks",
            [
                .. checks.Select(c => $"{c.Passed switch { true => "✓", false => "✗", null => "–" }} {c.Check}{(c.Detail.Length > 0 ? $" — {c.Detail}" : string.Empty)}"),
                .. signatures.Select(s => $"{(s.SignatureValid == true ? "✓" : "✗")} by hand (alex lab cert): {s.Subject} signed by {(s.SelfSigned ? "itself" : s.Issuer)}, {s.SignatureAlgorithm}: {s.Method}"),
            ],
            rows.Count > 0 ? new LabTable(["#", "subject", "issuer", "expires", "status"], rows) : null));
        steps.Add(new LabStep(
            "Lecture: \"Bob generates a random string, encrypts it with Alice's public key … both use this to generate a common session key S. Diffie–Hellman may be used here\"",
            succeeded ? [$"key exchange: {keyExchange}", "S is derived from the Diffie–Hellman secret and both hellos (HKDF in TLS 1.3); the server proves it holds its certificate's private key by signing the handshake (CertificateVerify)"] : ["not completed"]));
        steps.Add(new LabStep(
            "Lecture: \"Bob can also be made to present his certificate for Alice to verify\" → mutual TLS: our client certificate",
            settings.ClientCertificate is null ? "no client certificate given: an AlexLink server will refuse the connection" : $"presented: {settings.ClientCertificate.Subject} (issued by {settings.ClientCertificate.Issuer})",
            $"the server's verdict: {verdict}"));
        steps.Add(new LabStep(
            "Lecture: \"Bob uses S and the selected cipher to send a FINISHED message … Alice also …\" → both Finished messages verified",
            succeeded ? $"handshake complete in {Factoring.FormatDuration(handshakeTime)}; from here on every record is encrypted with {SuiteCipher(suite!)} under keys from S" : "not reached"));
    }

    /// <summary>
    /// In TLS 1.3 the server validates our certificate after our side already counts the handshake as done;
    /// a rejection arrives as an alert on the first read. Wait a moment for one.
    /// </summary>
    private static async Task<string> AwaitServerVerdictAsync(SslStream stream, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero)
        {
            return "not awaited";
        }

        using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        window.CancelAfter(wait);
        var buffer = new byte[1];
        try
        {
            var read = await stream.ReadAsync(buffer, window.Token).ConfigureAwait(false);
            return read == 0
                ? "closed the connection right after the handshake without a word: most likely it refused our certificate (in TLS 1.3 the server checks it after our side is done, and may close without an alert)"
                : "accepted (it sent application data)";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"accepted (no alert within {wait.TotalMilliseconds:0} ms)";
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            return $"rejected our certificate ({Flatten(e)})";
        }
    }

    /// <summary>
    /// What the suite proves about the key exchange, and what is only inferred. TLS 1.3 suites name no key
    /// exchange (RFC 8446 §4.2.7/§4.2.8 negotiate it separately); .NET on Linux uses OpenSSL's default group list,
    /// which offers X25519 first (OpenSSL 3.5 puts the hybrid X25519MLKEM768 before it).
    /// </summary>
    public static (string Text, bool Inferred) KeyExchangeFor(SslProtocols protocol, TlsCipherSuite suite)
    {
        var name = suite.ToString();
        var groups = DefaultGroups();
        if (protocol == SslProtocols.Tls13)
        {
            return ($"ephemeral elliptic-curve Diffie–Hellman (TLS 1.3 always uses (EC)DHE for a full handshake); group most likely {groups} — inferred from OpenSSL's defaults, not reported by .NET", true);
        }

        if (name.Contains("_ECDHE_", StringComparison.Ordinal))
        {
            return ($"ECDHE, ephemeral elliptic-curve Diffie–Hellman (named in the suite); curve most likely {groups} — inferred", true);
        }

        if (name.Contains("_DHE_", StringComparison.Ordinal))
        {
            return ("DHE: finite-field Diffie–Hellman exactly as on the lecture's slides, with a 2048-bit or larger p (named in the suite)", false);
        }

        return name.StartsWith("TLS_RSA_", StringComparison.Ordinal)
            ? ("RSA key transport: the lecture's step 4 literally (no forward secrecy)", false)
            : ($"not known for {name}", true);
    }

    private static string DefaultGroups()
    {
        if (OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return "X25519 or P-256 (the platform's default)";
        }

        var version = SafeEvpPKeyHandle.OpenSslVersion;

        var major = (version >> 28) & 0xf;
        var minor = (version >> 20) & 0xff;
        var text = $"OpenSSL {major}.{minor}";
        return major > 3 || (major == 3 && minor >= 5)
            ? $"X25519MLKEM768 or X25519 ({text} sends those key shares first)"
            : $"X25519 ({text} sends an X25519 key share first)";
    }

    private static string SuiteMeaning(string suite) => suite switch
    {
        "TLS_AES_256_GCM_SHA384" => "AES with a 256-bit key in GCM mode, SHA-384 for key derivation",
        "TLS_AES_128_GCM_SHA256" => "AES with a 128-bit key in GCM mode, SHA-256 for key derivation",
        "TLS_CHACHA20_POLY1305_SHA256" => "ChaCha20 stream cipher with Poly1305, SHA-256 for key derivation",
        _ => $"cipher {SuiteCipher(suite)}",
    };

    private static string SuiteCipher(string suite) =>
        suite.Contains("AES_256_GCM", StringComparison.Ordinal) ? "AES-256-GCM"
        : suite.Contains("AES_128_GCM", StringComparison.Ordinal) ? "AES-128-GCM"
        : suite.Contains("CHACHA20", StringComparison.Ordinal) ? "ChaCha20-Poly1305"
        : suite;

    private static string Describe(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        _ => protocol.ToString(),
    };

    private static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x.Message.TrimEnd('.'));
        }

        return string.Join(": ", parts.Distinct());
    }
}
