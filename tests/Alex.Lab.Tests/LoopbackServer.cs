using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Alex.Tests.Shared;

namespace Alex.Lab.Tests;

/// <summary>
/// A one-connection TLS server like `alex serve`: requires a client certificate from the CA (CustomRootTrust),
/// speaks ALPN alexlink/1, and after the handshake writes one byte so the client learns it was accepted.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task<string?> _serve;

    private LoopbackServer(TcpListener listener, X509Certificate2 certificate, X509Certificate2 ca)
    {
        _listener = listener;
        _serve = ServeAsync(certificate, ca);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The accepted client's subject, or null when the handshake failed on the server's side.</summary>
    public Task<string?> ClientSubject => _serve;

    public static LoopbackServer Start(X509Certificate2 certificate, X509Certificate2 ca)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new LoopbackServer(listener, certificate, ca);
    }

    private async Task<string?> ServeAsync(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var tcp = await _listener.AcceptTcpClientAsync();
        await using var ssl = new SslStream(tcp.GetStream());
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate, [ca], offline: true),
                ClientCertificateRequired = true,
                CertificateChainPolicy = policy,
                ApplicationProtocols = [new SslApplicationProtocol(HandshakeSettings.AlexLinkProtocol)],
            });
            // Who it was is known once the handshake is done; a client that has already gone again (openssl s_client
            // closes as soon as its input ends) makes the write below fail, not the handshake.
            var subject = ssl.RemoteCertificate?.Subject;
            try
            {
                await ssl.WriteAsync("k"u8.ToArray());
                await ssl.FlushAsync();
            }
            catch (IOException)
            {
            }

            return subject;
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _serve.Within();
        }
        catch (SocketException)
        {
            // Stopped before anyone connected (a test that failed early).
        }
    }
}
