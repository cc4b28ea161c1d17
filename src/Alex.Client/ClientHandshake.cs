// Reaching the server: TCP, the TLS handshake with our client certificate, and the server's certificate
// checked by the trust policy (chain to our CA only, validity, serverAuth, key strength, the name we
// asked for). What comes out is a TLS stream and the protocol the server chose by ALPN; which client
// speaks it is AlexLinkClient.ConnectAsync's one choice.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alex.Client.Discovery;
using Alex.Pki;
using Alex.Pki.Tls;

namespace Alex.Client;

/// <summary>A finished handshake: the socket, the TLS stream on it, what we found about the server, the protocol it chose.</summary>
internal sealed record HandshakeResult(TcpClient Tcp, SslStream Ssl, TrustDecision ServerTrust, AlexProtocol Protocol);

internal static class ClientHandshake
{
    /// <summary>
    /// Connects and handshakes within <paramref name="deadline"/>. Failures are
    /// <see cref="AlexConnectException"/>s with the reason in words; nothing is left open after one.
    /// </summary>
    public static async Task<HandshakeResult> RunAsync(AlexClientOptions options, CancellationToken deadline)
    {
        var hostPort = $"{options.Host}:{options.Port}";

        // Only where to connect comes from the lookup (DNS, else mDNS): the name checked below is still options' own.
        var (addresses, port) = await RobotNames.ResolveAsync(options.Host, options.Port, options.Time, deadline).ConfigureAwait(false);
        var tcp = addresses.All(a => a.AddressFamily == AddressFamily.InterNetwork) ? new TcpClient(AddressFamily.InterNetwork) : new TcpClient();
        tcp.NoDelay = true;
        SslStream? ssl = null;
        var tlsUp = false;
        try
        {
            try
            {
                await tcp.ConnectAsync(addresses, port, deadline).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new AlexConnectException(
                    ConnectFailure.Unreachable,
                    $"cannot reach {hostPort}: {Describe(e)}",
                    "is `alex serve` running there? check the address and the port (default 5000)",
                    e);
            }

            ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            var trust = new TrustPolicy(options.Credentials.Authorities, new TrustPolicyOptions
            {
                AllowList = AllowList.None,
                Legacy = options.AcceptLegacyCertificates,
                TimeProvider = options.Time,
            });
            TrustDecision? serverTrust = null;
            var expected = options.ExpectedServerName;
            var offerAlexLink = options.Protocol != AlexProtocol.Classic;
            var tls = TlsProfiles.Client(options.Credentials.Certificate, options.Credentials.Authorities[0], expected, alexLink: offerAlexLink);

            // SNI: the course client sends none (docs/course-protocol.md §5), so classic sends none either; an IP
            // address is never sent as SNI. The name is checked by the trust policy below either way.
            tls.TargetHost = offerAlexLink && Uri.CheckHostName(expected) == UriHostNameType.Dns ? expected : string.Empty;
            tls.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                // The whole check is the trust policy's: chain to our CA only, validity, serverAuth
                // usage, key strength, and the name we asked for in SAN (or CN when there is no SAN).
                using var leaf = certificate is null ? null : new X509Certificate2(certificate);
                serverTrust = trust.EvaluateServer(leaf, chain?.ChainPolicy.ExtraStore, expected);
                return serverTrust.Accepted;
            };

            try
            {
                await ssl.AuthenticateAsClientAsync(tls, deadline).ConfigureAwait(false);
                tlsUp = true;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                if (serverTrust is { Accepted: false } refused)
                {
                    throw new AlexConnectException(
                        ConnectFailure.ServerNotTrusted,
                        $"{hostPort}: we do not trust the server: {refused.Reason}",
                        HintFor(refused, expected),
                        e);
                }

                throw TlsFailureText.FromHandshake(e, hostPort);
            }

            var protocol = ssl.NegotiatedApplicationProtocol == TlsProfiles.AlexLink1 ? AlexProtocol.AlexLink1 : AlexProtocol.Classic;
            if (options.Protocol == AlexProtocol.AlexLink1 && protocol != AlexProtocol.AlexLink1)
            {
                throw new AlexConnectException(
                    ConnectFailure.ProtocolMismatch,
                    $"{hostPort}: the server does not speak alexlink/1 (it chose no ALPN protocol): it looks like the course's classic server",
                    "use --classic to drive it with the course protocol");
            }

            return new HandshakeResult(tcp, ssl, serverTrust!, protocol);
        }
        catch
        {
            await PoliteClose.CloseAsync(ssl, tcp.Client, tlsUp, PoliteClose.Limit).ConfigureAwait(false);
            tcp.Dispose();
            throw;
        }
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused (nothing listens on that port)",
        SocketError.HostNotFound or SocketError.NoData => "no such host",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "network unreachable",
        SocketError.TimedOut => "timed out",
        _ => e.Message.TrimEnd('.'),
    };

    private static string HintFor(TrustDecision refused, string expected) => refused.Failure switch
    {
        TrustFailure.NameMismatch => $"we asked for '{expected}': give the name in the robot's certificate with --name (e.g. --name alex.epp.com)",
        TrustFailure.UnknownCa => "give the CA that issued the robot's certificate (--ca signing.pem, or --pki DIR)",
        TrustFailure.Expired or TrustFailure.NotYetValid => "check both clocks (a Pi has no clock battery) and renew the certificate if needed",
        TrustFailure.WrongUsage or TrustFailure.WeakKey or TrustFailure.WeakSignature => "a course certificate? --legacy accepts the course's v1 certificates (weaker)",
        _ => "run `alex doctor` to check certificates, names and clocks",
    };
}
