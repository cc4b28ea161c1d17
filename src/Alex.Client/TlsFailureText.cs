// Turns what .NET / OpenSSL report when a TLS connection fails into words. The alert names are the
// TLS alerts of RFC 8446 §6.2 as OpenSSL prints them ("tlsv1 alert unknown ca", "sslv3 alert bad
// certificate", ...); the course server sends unknown_ca or bad_certificate (docs/course-protocol.md §5).
namespace Alex.Client;

internal static class TlsFailureText
{
    private static readonly (string Alert, ConnectFailure Failure, string Words, string Hint)[] Alerts =
    [
        ("alert unknown ca", ConnectFailure.ClientCertificateRejected, "the server does not trust the CA that issued our certificate (TLS alert unknown_ca)", "use a laptop certificate issued by the robot's CA (the same signing.pem the server uses)"),
        ("alert bad certificate", ConnectFailure.ClientCertificateRejected, "the server rejected our certificate (TLS alert bad_certificate): usually its name is not the one the server expects", "check the server's allow-list, or issue a laptop certificate with the name it expects"),
        ("alert certificate revoked", ConnectFailure.ClientCertificateRejected, "the server says our certificate is revoked (TLS alert certificate_revoked)", "ask the CA for a new laptop certificate"),
        ("alert certificate expired", ConnectFailure.ClientCertificateRejected, "the server says a certificate has expired or is not valid yet (TLS alert certificate_expired)", "check both clocks (a Pi has no clock battery) and the certificates' dates with `alex doctor`"),
        ("alert certificate unknown", ConnectFailure.ClientCertificateRejected, "the server rejected our certificate (TLS alert certificate_unknown)", "check the certificate with `alex pki verify`"),
        ("alert unsupported certificate", ConnectFailure.ClientCertificateRejected, "the server cannot use our certificate's type or usage (TLS alert unsupported_certificate)", "issue a client certificate (extended key usage clientAuth)"),
        ("alert certificate required", ConnectFailure.ClientCertificateRejected, "the server requires a client certificate and got none it would take (TLS alert certificate_required)", "give --pki DIR or --cert/--key/--ca"),
        ("alert access denied", ConnectFailure.ClientCertificateRejected, "the server denied access to our certificate (TLS alert access_denied)", "check the server's allow-list"),
        ("alert no application protocol", ConnectFailure.ProtocolMismatch, "the server does not speak alexlink/1 (TLS alert no_application_protocol)", "try --classic for a course server"),
        ("alert protocol version", ConnectFailure.TlsFailed, "the server and we share no TLS version (we speak TLS 1.2 and 1.3 only)", "the server must allow TLS 1.2 or 1.3"),
        ("alert handshake failure", ConnectFailure.TlsFailed, "the TLS handshake failed (TLS alert handshake_failure): no common cipher suite, or the server wanted something we lack", "the server must allow a modern AEAD cipher suite with ECDHE"),
        ("alert decrypt error", ConnectFailure.TlsFailed, "the TLS handshake failed (TLS alert decrypt_error): a signature did not verify", "is the key file the one that belongs to the certificate?"),
        ("wrong version number", ConnectFailure.TlsFailed, "the server did not answer with TLS (is this port a TLS server?)", "check the port; `alex serve` listens on 5000 by default"),
    ];

    /// <summary>A handshake exception in words; <paramref name="hostPort"/> names the server.</summary>
    public static AlexConnectException FromHandshake(Exception e, string hostPort)
    {
        var all = Flatten(e);
        foreach (var (alert, failure, words, hint) in Alerts)
        {
            if (all.Contains(alert, StringComparison.OrdinalIgnoreCase))
            {
                return new AlexConnectException(failure, $"{hostPort}: {words}", hint, e);
            }
        }

        if (all.Contains("end of stream", StringComparison.OrdinalIgnoreCase) || all.Contains("unexpected eof", StringComparison.OrdinalIgnoreCase) || all.Contains("connection reset", StringComparison.OrdinalIgnoreCase))
        {
            return new AlexConnectException(
                ConnectFailure.TlsFailed,
                $"{hostPort}: the server closed the connection during the TLS handshake",
                "is it a TLS server, and does it accept our certificate? `alex doctor` checks both",
                e);
        }

        return new AlexConnectException(ConnectFailure.TlsFailed, $"{hostPort}: TLS handshake failed: {Innermost(e)}", "run `alex doctor` to check certificates, names and clocks", e);
    }

    /// <summary>
    /// The server closed or sent an alert right after a completed handshake, before saying anything.
    /// Under TLS 1.3 the client's handshake completes before the server has judged the client's
    /// certificate, so this is how such a server rejects it.
    /// </summary>
    public static AlexConnectException AfterHandshake(Exception? e, string hostPort, bool tls13)
    {
        if (e is not null)
        {
            var fromAlert = FromHandshake(e, hostPort);
            if (fromAlert.Failure != ConnectFailure.TlsFailed)
            {
                return fromAlert;
            }
        }

        var why = tls13
            ? "the server closed the connection right after the TLS 1.3 handshake without a word: that is how a TLS server rejects a client certificate (not from its CA, expired, revoked, or a name it does not allow)"
            : "the server closed the connection right after the handshake without a word";
        return new AlexConnectException(ConnectFailure.ClientCertificateRejected, $"{hostPort}: {why}", "check the laptop certificate with `alex doctor`, and the server's allow-list and log", e);
    }

    private static string Flatten(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            parts.Add(x.Message);
        }

        return string.Join(" | ", parts);
    }

    private static string Innermost(Exception e)
    {
        var x = e;
        while (x.InnerException is not null)
        {
            x = x.InnerException;
        }

        return x.Message.TrimEnd('.');
    }
}
