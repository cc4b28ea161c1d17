using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Alex.Tests.Shared;

namespace Alex.Lab.Tests;

/// <summary>The handshake trace against a real TLS server on loopback, with per-run certificates.</summary>
public sealed class HandshakeTraceTests
{
    [Fact]
    public async Task Run_MutualTls_RecordsVersionSuiteAlpnChainAndChecks()
    {
        using var pki = TestPki.CreateEcdsa();
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var r = await HandshakeTrace.RunAsync(Settings(server.Port, pki.Client, pki.Ca), TimeProvider.System, CancellationToken.None).Within();

        Assert.True(r.Succeeded, r.Failure);
        Assert.Equal("TLS 1.3", r.Protocol);
        Assert.StartsWith("TLS_", r.CipherSuite, StringComparison.Ordinal);
        Assert.Equal("alexlink/1", r.ApplicationProtocol);
        Assert.True(r.ClientCertificateSent);
        Assert.Equal("CN=laptop.test", r.ClientCertificate);
        Assert.Equal(["CN=alex.test", "CN=Test Alex CA"], r.ServerChain.Select(c => c.Subject));
        Assert.All(r.Checks.Where(c => c.Passed is not null), c => Assert.True(c.Passed, c.Check));
        Assert.All(r.ServerChainSignatures, l => Assert.True(l.SignatureValid));
        Assert.True(r.KeyExchangeInferred);
        Assert.Contains("inferred", r.KeyExchange, StringComparison.Ordinal);
        Assert.StartsWith("accepted", r.ServerVerdictOnClient, StringComparison.Ordinal);
        Assert.Equal("CN=laptop.test", (await server.ClientSubject.Within())!);
    }

    [Fact]
    public async Task Run_ServerFromAnotherCa_FailsAtTheTrustCheck()
    {
        using var pki = TestPki.CreateEcdsa();
        using var stranger = TestPki.CreateEcdsa("CN=Eve CA");
        await using var server = LoopbackServer.Start(stranger.Server, pki.Ca);
        var r = await HandshakeTrace.RunAsync(Settings(server.Port, pki.Client, pki.Ca), TimeProvider.System, CancellationToken.None).Within();

        Assert.False(r.Succeeded);
        Assert.NotNull(r.Failure);
        Assert.Contains(r.Checks, c => c.Passed == false && c.Check.Contains("the CA we were given", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_WrongServerName_FailsAtTheNameCheck()
    {
        using var pki = TestPki.CreateEcdsa();
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var settings = Settings(server.Port, pki.Client, pki.Ca) with { ServerName = "robot.elsewhere" };
        var r = await HandshakeTrace.RunAsync(settings, TimeProvider.System, CancellationToken.None).Within();

        Assert.False(r.Succeeded);
        Assert.Contains(r.Checks, c => c.Passed == false && c.Check.Contains("robot.elsewhere", StringComparison.Ordinal));
        Assert.Contains(r.Checks, c => c.Passed == true && c.Check.Contains("the CA we were given", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_ClientCertificateFromAnotherCa_ServerRejects()
    {
        using var pki = TestPki.CreateEcdsa();
        using var stranger = TestPki.CreateEcdsa("CN=Eve CA");
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var r = await HandshakeTrace.RunAsync(Settings(server.Port, stranger.Client, pki.Ca), TimeProvider.System, CancellationToken.None).Within();

        Assert.False(r.Succeeded, r.ServerVerdictOnClient);
        Assert.Matches("^(rejected|closed)", r.ServerVerdictOnClient);
        Assert.Null(await server.ClientSubject.Within());
    }

    [Fact]
    public async Task LoadCredentials_CourseFileNames_HandshakeWorks()
    {
        using var pki = TestPki.CreateRsa();
        var dir = pki.WriteCourseFiles();
        var (client, roots) = HandshakeTrace.LoadCredentials(dir, null, null, null);
        using (client)
        {
            Assert.Equal("CN=laptop.test", client!.Subject);
            Assert.True(client.HasPrivateKey);
            await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
            var r = await HandshakeTrace.RunAsync(Settings(server.Port, client, roots[0]), TimeProvider.System, CancellationToken.None).Within();
            Assert.True(r.Succeeded, r.Failure);
        }
    }

    [Fact]
    public void LoadCredentials_MissingFiles_OneLineError()
    {
        var dir = Directory.CreateTempSubdirectory("alex-lab-empty-").FullName;
        var e = Assert.Throws<LabInputException>(() => HandshakeTrace.LoadCredentials(dir, null, null, null));
        Assert.Contains("signing.pem", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NothingListening_OneLineError()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var pki = TestPki.CreateEcdsa();
        var e = await Assert.ThrowsAsync<LabInputException>(() => HandshakeTrace.RunAsync(Settings(port, pki.Client, pki.Ca), TimeProvider.System, CancellationToken.None).Within());
        Assert.StartsWith($"cannot connect to 127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12, System.Net.Security.TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE", true)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12, System.Net.Security.TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, "DHE: finite-field", false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12, System.Net.Security.TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384, "RSA key transport", false)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls13, System.Net.Security.TlsCipherSuite.TLS_AES_256_GCM_SHA384, "ephemeral elliptic-curve", true)]
    public void KeyExchangeFor_Suites_SaysWhatIsKnownAndWhatIsInferred(System.Security.Authentication.SslProtocols protocol, TlsCipherSuite suite, string expected, bool inferred)
    {
        var (text, isInferred) = HandshakeTrace.KeyExchangeFor(protocol, suite);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.Equal(inferred, isInferred);
    }

    private static HandshakeSettings Settings(int port, X509Certificate2 client, X509Certificate2 ca) =>
        new("127.0.0.1", port, "alex.test", client, [ca], [HandshakeSettings.AlexLinkProtocol], TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));

    /// <summary>
    /// A one-connection TLS server like `alex serve`: requires a client certificate from the CA (CustomRootTrust),
    /// speaks ALPN alexlink/1, and after the handshake writes one byte so the client learns it was accepted.
    /// </summary>
    private sealed class LoopbackServer : IAsyncDisposable
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
                await ssl.WriteAsync("k"u8.ToArray());
                await ssl.FlushAsync();
                return ssl.RemoteCertificate?.Subject;
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
}
