// The network half of `alex doctor`: connect to the robot the way `alex drive`
// does, one step at a time, and say which step fails and what that means: the name, the TCP port
// (refused / timed out / unreachable), the TLS handshake (an alert and what it means), the robot's
// certificate against our CA and the host name, and finally whether the robot admits us (its
// AlexLink/1 Welcome, or a Refusal frame whose reason we print).
//
// The TLS settings are TlsProfiles' (the one place they are made) and the robot's certificate is
// judged by the same TrustPolicy the client uses; validation is never switched off.
using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alex.Client.Discovery;
using Alex.Pki;
using Alex.Pki.Diagnostics;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;

namespace Alex.Client.Diagnostics;

/// <summary>Where and how to connect for the check.</summary>
public sealed record ConnectionCheckupOptions
{
    public required string Host { get; init; }

    public int Port { get; init; } = AlexClientOptions.DefaultPort;

    /// <summary>The name the robot's certificate must carry; the host when null.</summary>
    public string? ServerName { get; init; }

    /// <summary>Our certificate and CA; null: only the name and the port are checked.</summary>
    public AlexCredentials? Credentials { get; init; }

    /// <summary>Accept a course-style v1 robot certificate (no key usage, RSA 1024), as `--legacy` does for the other commands.</summary>
    public bool AcceptLegacyCertificates { get; init; }

    /// <summary>Bound on each step (connect, handshake, first frame).</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock difference with the robot above which we warn (certificates are backdated 5 minutes).</summary>
    public TimeSpan ClockSkewWarning { get; init; } = TimeSpan.FromMinutes(2);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Why there are no <see cref="Credentials"/>, and what to do, for the line that says TLS was not checked.</summary>
    public (string Reason, string Fix) WithoutCredentials { get; init; } =
        ("this machine's certificate files could not be used", "fix the certificate problems above, then run alex doctor again");

    internal string ExpectedName => string.IsNullOrWhiteSpace(ServerName) ? Host : ServerName;
}

/// <summary>Connects to the robot step by step and reports each step as a <see cref="Finding"/>.</summary>
public static class ConnectionCheckup
{
    public const string Subject = "network";

    public static async Task<IReadOnlyList<Finding>> CheckAsync(ConnectionCheckupOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var findings = new List<Finding>();
        var hostPort = $"{options.Host}:{options.Port}";

        using var tcp = await ConnectTcpAsync(options, hostPort, findings, cancellationToken).ConfigureAwait(false);
        if (tcp is null)
        {
            return findings;
        }

        if (options.Credentials is null)
        {
            findings.Add(Finding.Warning(Subject, $"TLS with {hostPort} not checked: {options.WithoutCredentials.Reason}", options.WithoutCredentials.Fix));
            await PoliteClose.CloseAsync(null, tcp.Client, tlsUp: false, PoliteClose.Limit).ConfigureAwait(false);
            return findings;
        }

        await CheckTlsAsync(options, tcp, hostPort, findings, cancellationToken).ConfigureAwait(false);
        return findings;
    }

    private static async Task<TcpClient?> ConnectTcpAsync(ConnectionCheckupOptions options, string hostPort, List<Finding> findings, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        var port = options.Port;
        var literal = IPAddress.TryParse(options.Host, out var parsed) ? parsed : null;
        try
        {
            // DNS, then mDNS (a robot's announced name or a HOST.local), as every connecting command resolves HOST.
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(options.StepTimeout);
            (addresses, port) = await RobotNames.ResolveAsync(options.Host, options.Port, TimeProvider.System, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AlexConnectException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            findings.Add(Finding.Problem(Subject, $"no such host '{options.Host}' (the name does not resolve, in DNS or by mDNS on the local network)",
                "use the robot's IP address instead (run `hostname -I` on the Pi), or run `alex discover` to list the robots announced here"));
            return null;
        }

        var address = addresses[0];
        var tcp = new TcpClient(address.AddressFamily) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.StepTimeout);
        try
        {
            await tcp.ConnectAsync(address, port, deadline.Token).ConfigureAwait(false);
            var via = literal is null ? $" ({address})" : string.Empty;
            findings.Add(Finding.Ok(Subject, $"{hostPort}{via} accepts TCP connections"));
            return tcp;
        }
        catch (SocketException e)
        {
            tcp.Dispose();
            findings.Add(e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => Finding.Problem(Subject,
                    $"{hostPort}: connection refused: the machine is up but nothing listens on port {options.Port}",
                    $"start the server on the robot (alex serve --pki DIR --allow NAME), or use its port ({AlexClientOptions.DefaultPort} by default; the course's server uses 5000 or 5001)"),
                SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable => Finding.Problem(Subject,
                    $"{hostPort}: {(e.SocketErrorCode == SocketError.NetworkUnreachable ? "network" : "host")} unreachable: no route to {address}",
                    "are both machines on the same network (Wi-Fi)? check the address with `hostname -I` on the Pi"),
                SocketError.TimedOut => TimedOut(options, hostPort),
                _ => Finding.Problem(Subject, $"{hostPort}: cannot connect ({e.Message.TrimEnd('.')})", "check the address and the port"),
            });
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            tcp.Dispose();
            findings.Add(TimedOut(options, hostPort));
            return null;
        }
    }

    private static Finding TimedOut(ConnectionCheckupOptions options, string hostPort) => Finding.Problem(Subject,
        $"{hostPort}: no answer within {options.StepTimeout.TotalSeconds:0.#} s: a wrong address, the robot switched off or on another network, or a firewall dropping packets",
        $"ping {options.Host}; check the address with `hostname -I` on the Pi");

    private static async Task CheckTlsAsync(ConnectionCheckupOptions options, TcpClient tcp, string hostPort, List<Finding> findings, CancellationToken cancellationToken)
    {
        var credentials = options.Credentials!;
        var expected = options.ExpectedName;
        var trust = new TrustPolicy(credentials.Authorities, new TrustPolicyOptions
        {
            AllowList = AllowList.None,
            Legacy = options.AcceptLegacyCertificates,
            TimeProvider = options.Time,
            ExpiryWarning = TimeSpan.FromDays(30),
        });
        TrustDecision? serverTrust = null;
        string? serverIssuer = null;
        IReadOnlyList<string> serverNames = [];
        var tls = TlsProfiles.Client(credentials.Certificate, credentials.Authorities[0], expected, alexLink: true);

        // As AlexLinkClient does: SNI only for a DNS name; the name itself is checked by the trust policy.
        tls.TargetHost = Uri.CheckHostName(expected) == UriHostNameType.Dns ? expected : string.Empty;
        tls.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
        {
            using var leaf = certificate is null ? null : new X509Certificate2(certificate);
            serverIssuer = leaf?.Issuer;
            serverNames = leaf is null ? [] : NamesOf(leaf);
            serverTrust = trust.EvaluateServer(leaf, chain?.ChainPolicy.ExtraStore, expected);
            return serverTrust.Accepted;
        };

        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        var tlsUp = false;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.StepTimeout);
            try
            {
                await ssl.AuthenticateAsClientAsync(tls, deadline.Token).ConfigureAwait(false);
                tlsUp = true;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                if (serverTrust is { Accepted: false } refused)
                {
                    foreach (var problem in refused.Problems)
                    {
                        findings.Add(RobotCertificateProblem(problem, options, serverIssuer, serverNames, credentials));
                    }
                }
                else
                {
                    var words = TlsFailureText.FromHandshake(e, hostPort);
                    findings.Add(Finding.Problem(Subject, $"TLS handshake failed: {words.Message}", words.Hint));
                }

                return;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                findings.Add(Finding.Problem(Subject, $"{hostPort}: the TLS handshake did not finish within {options.StepTimeout.TotalSeconds:0.#} s: is this port a TLS server?",
                    $"check the port (alex serve listens on {AlexClientOptions.DefaultPort} by default)"));
                return;
            }

            var version = ssl.SslProtocol == SslProtocols.Tls13 ? "TLS 1.3" : ssl.SslProtocol == SslProtocols.Tls12 ? "TLS 1.2" : ssl.SslProtocol.ToString();
            findings.Add(Finding.Ok(Subject, $"{version} ({ssl.NegotiatedCipherSuite}); the robot's certificate is trusted: {serverTrust!.Reason}"));
            foreach (var note in serverTrust.Notes)
            {
                findings.Add(Finding.Warning(Subject, $"the robot's certificate: {note}", "issue a new one on the CA before then: alex pki issue server NAME --force, and copy alex.crt and alex.key to the robot"));
            }

            if (ssl.NegotiatedApplicationProtocol != TlsProfiles.AlexLink1)
            {
                findings.Add(Finding.Warning(Subject, $"{hostPort} chose no ALPN protocol: a course (classic) server, not alex serve; driving works, but without leases, telemetry or reasons for refusals",
                    "alex drive and alex send speak to it with --classic"));
                return;
            }

            await CheckAdmissionAsync(options, ssl, hostPort, findings, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A clean goodbye, so the robot's log shows a normal disconnect and no peer sees a reset.
            await PoliteClose.CloseAsync(ssl, tcp.Client, tlsUp, PoliteClose.Limit).ConfigureAwait(false);
        }
    }

    // After the handshake the AlexLink/1 server's first frame is Welcome (admitted) or Refusal (why not).
    // Under TLS 1.3 a server that rejects our certificate in the handshake shows it only now: EOF or an alert.
    private static async Task CheckAdmissionAsync(ConnectionCheckupOptions options, SslStream ssl, string hostPort, List<Finding> findings, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var filled = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.StepTimeout);
        var tls13 = ssl.SslProtocol == SslProtocols.Tls13;
        try
        {
            while (true)
            {
                var sequence = new ReadOnlySequence<byte>(buffer, 0, filled);
                var status = AlexLinkReader.TryRead(ref sequence, out var message, out var error);
                if (status == OperationStatus.Done)
                {
                    findings.Add(Admission(message!, options, hostPort));
                    return;
                }

                if (status == OperationStatus.InvalidData)
                {
                    findings.Add(Finding.Problem(Subject, $"{hostPort}: the server's first frame is not AlexLink/1 ({error.Text})", "is it alex serve? a course server speaks the classic protocol (--classic)"));
                    return;
                }

                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var n = await ssl.ReadAsync(buffer.AsMemory(filled), deadline.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    var words = TlsFailureText.AfterHandshake(null, hostPort, tls13);
                    findings.Add(Finding.Problem(Subject, words.Message, words.Hint));
                    return;
                }

                filled += n;
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException)
        {
            var words = TlsFailureText.AfterHandshake(e, hostPort, tls13);
            findings.Add(Finding.Problem(Subject, words.Message, words.Hint));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            findings.Add(Finding.Warning(Subject, $"{hostPort}: the server said nothing within {options.StepTimeout.TotalSeconds:0.#} s after the handshake (an AlexLink/1 server sends Welcome at once)", "see the robot's log"));
        }
    }

    private static Finding Admission(AlexLinkMessage message, ConnectionCheckupOptions options, string hostPort)
    {
        switch (message)
        {
            case AlexLinkWelcome welcome:
                var skew = options.Time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(welcome.ServerTimeUnixMs);
                if (skew.Duration() > options.ClockSkewWarning)
                {
                    var which = skew > TimeSpan.Zero ? "behind" : "ahead of";
                    return Finding.Warning(Subject,
                        $"the robot admits us as '{welcome.ClientName}' ({welcome.Role.ToString().ToLowerInvariant()}), but its clock is {CertificateCheckup.Span(skew)} {which} this machine's: certificates made here may not be valid there yet",
                        "on the Pi: sudo timedatectl set-ntp true (a Pi has no clock battery)");
                }

                return Finding.Ok(Subject, $"the robot ('{welcome.ServerName}') admits us as '{welcome.ClientName}' ({welcome.Role.ToString().ToLowerInvariant()}); lease window {welcome.LeaseWindowMs} ms; clocks agree");
            case AlexLinkRefusal refusal:
                return Finding.Problem(Subject, $"the robot refused us: {refusal.Text}", RefusalFix(refusal.Code));
            default:
                return Finding.Problem(Subject, $"{hostPort}: the server's first frame was {message.Type}, not Welcome", "is it alex serve of the same version?");
        }
    }

    private static string RefusalFix(AlexLinkRefusalCode code) => code switch
    {
        AlexLinkRefusalCode.NotAllowed => "on the robot, add this laptop's name to the allow-list (alex serve --allow NAME)",
        AlexLinkRefusalCode.Revoked => "this certificate was revoked: issue a new one on the CA (alex pki issue client NAME --force)",
        AlexLinkRefusalCode.NotTimeValid => "check both clocks (a Pi has no clock battery: sudo timedatectl set-ntp true) and the certificate's dates",
        AlexLinkRefusalCode.WrongUsage => "issue a client certificate (clientAuth): alex pki issue client NAME; course certificates need alex serve --legacy-certs",
        AlexLinkRefusalCode.WeakKey => "issue a new certificate with a stronger key (the default ECDSA P-256 is fine)",
        AlexLinkRefusalCode.Busy => "the robot has too many connections: try again shortly",
        AlexLinkRefusalCode.CannotCheck => "the robot's CRL is missing, stale or forged: on the CA run alex pki crl and copy crl.pem to the robot",
        AlexLinkRefusalCode.ShuttingDown => "the server is stopping: start it again on the robot",
        _ => "see the robot's log for details",
    };

    private static IReadOnlyList<string> NamesOf(X509Certificate2 certificate)
    {
        try
        {
            var facts = CertificateFacts.From(certificate);
            return [.. facts.PeerNames.Concat(facts.IpAddresses.Select(a => a.ToString())).Distinct(StringComparer.OrdinalIgnoreCase)];
        }
        catch (PkiException)
        {
            return [];
        }
    }

    private static Finding RobotCertificateProblem(TrustProblem problem, ConnectionCheckupOptions options, string? serverIssuer, IReadOnlyList<string> serverNames, AlexCredentials credentials)
    {
        var robotName = serverNames.Count > 0 ? serverNames[0] : "NAME";
        var ours = string.Join("' or '", credentials.Authorities.Cast<X509Certificate2>().Select(a => a.Subject));
        return problem.Failure switch
        {
            TrustFailure.UnknownCa => Finding.Problem(Subject,
                $"the robot's certificate was issued by '{serverIssuer}', but this machine's signing.pem is '{ours}': the laptop's and the robot's files come from different CAs",
                "use one CA for both: copy the signing.pem that signed the robot's alex.crt here, or issue alex.crt again from this CA"),
            TrustFailure.NameMismatch => Finding.Problem(Subject,
                $"name mismatch: the robot's certificate is for '{string.Join("', '", serverNames)}', not '{options.ExpectedName}': we would refuse it",
                $"connect with --name {robotName}, or issue alex.crt again to include '{options.ExpectedName}': alex pki issue server {robotName} {(IPAddress.TryParse(options.ExpectedName, out _) ? "--ip" : "--dns")} {options.ExpectedName} --force"),
            TrustFailure.Expired or TrustFailure.NotYetValid => Finding.Problem(Subject,
                $"the robot's certificate: {problem.Message}; this machine's clock is {CertificateCheckup.When(options.Time.GetUtcNow())}",
                "check the clocks on both machines (a Pi has no clock battery: sudo timedatectl set-ntp true); renew alex.crt if it really expired"),
            TrustFailure.WrongUsage => Finding.Problem(Subject, $"the robot's certificate: {problem.Message}",
                "the robot needs a server certificate: alex pki issue server NAME (a course v1 certificate: connect with --legacy)"),
            _ => Finding.Problem(Subject, $"the robot's certificate: {problem.Message}", "check it on the robot with alex doctor --role robot"),
        };
    }
}
