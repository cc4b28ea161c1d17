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
        using var credentials = new Alex.Client.CredentialSource { PkiDirectory = dir }.Load();
        Assert.Equal("CN=laptop.test", credentials.Certificate.Subject);
        Assert.True(credentials.Certificate.HasPrivateKey);
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var r = await HandshakeTrace.RunAsync(Settings(server.Port, credentials.Certificate, credentials.Authorities[0]), TimeProvider.System, CancellationToken.None).Within();
        Assert.True(r.Succeeded, r.Failure);
    }

    [Fact]
    public void LoadCredentials_MissingFiles_OneLineError()
    {
        var dir = Directory.CreateTempSubdirectory("alex-lab-empty-").FullName;
        var e = Assert.Throws<Alex.Pki.PkiException>(() => new Alex.Client.CredentialSource { PkiDirectory = dir }.Load());
        Assert.Contains("laptop.crt", e.Message, StringComparison.Ordinal);
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

    [Fact]
    public async Task OpenSslProbe_AgainstOurServer_ObservesTheGroup()
    {
        // Real interop: the openssl CLI with the course's file names against a .NET TLS server requiring a client certificate.
        using var pki = TestPki.CreateEcdsa();
        var dir = pki.WriteCourseFiles();
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var probe = await OpenSslGroupProbe.RunAsync(
            "127.0.0.1", server.Port, "alex.test", Path.Combine(dir, "laptop.crt"), Path.Combine(dir, "laptop.key"), Path.Combine(dir, "signing.pem"), "alexlink/1", TimeSpan.FromSeconds(10), CancellationToken.None).Within(TimeSpan.FromSeconds(20));
        Assert.True(probe.Ran, probe.Detail);
        Assert.NotNull(probe.Group);
        Assert.Matches("X25519|secp256r1|prime256v1|P-256", probe.Group);
        Assert.Equal("CN=laptop.test", await server.ClientSubject.Within());

        var result = new HandshakeResult("127.0.0.1", server.Port, "alex.test", true, null, "TLS 1.3", "TLS_AES_256_GCM_SHA384", "ECDHE (inferred)", true, "alexlink/1", ["alexlink/1"], [], [], [], null, false, "accepted", TimeSpan.Zero, TimeSpan.Zero,
            [new LabStep("Lecture: \"… Diffie–Hellman may be used here\"", "key exchange: …")], ["The key-exchange group is inferred, not observed: …"]);
        var observed = HandshakeTrace.WithObservedGroup(result, probe);
        Assert.Contains(probe.Group, observed.KeyExchange, StringComparison.Ordinal);
        Assert.Contains(observed.Steps[0].Lines, l => l.StartsWith($"group: {probe.Group}", StringComparison.Ordinal));
        Assert.DoesNotContain(observed.Notes, n => n.StartsWith("The key-exchange group is inferred", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Server Temp Key: X25519, 253 bits", "X25519")]
    [InlineData("Peer Temp Key: ECDH, prime256v1, 256 bits", "ECDH")]
    [InlineData("Negotiated TLS1.3 group: X25519MLKEM768", "X25519MLKEM768")]
    public void OpenSslProbe_Parse_ReadsEachVersionsWording(string line, string group)
    {
        Assert.Equal(group, OpenSslGroupProbe.Parse($"CONNECTION ESTABLISHED\nProtocol version: TLSv1.3\n{line}\nDONE").Group);
    }

    [Fact]
    public async Task Cli_Handshake_Json_ReportsTheRealHandshake()
    {
        using var pki = TestPki.CreateEcdsa();
        var dir = pki.WriteCourseFiles();
        await using var server = LoopbackServer.Start(pki.Server, pki.Ca);
        var (code, stdout, stderr) = await LabCommandTests.AlexAsync("lab", "handshake", $"127.0.0.1:{server.Port}", "--pki", dir, "--name", "alex.test", "--json");
        Assert.True(code == 0, stderr + stdout);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("succeeded").GetBoolean());
        Assert.Equal("alexlink/1", json.RootElement.GetProperty("applicationProtocol").GetString());
        Assert.Equal("CN=laptop.test", json.RootElement.GetProperty("clientCertificate").GetString());
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
}
