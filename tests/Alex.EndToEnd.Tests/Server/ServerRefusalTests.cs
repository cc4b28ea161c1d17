using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// Every refusal case of issue 4 item 2, each with the reason seen by the client (AlexLink/1 refusal
/// frame, or the TLS alert) and in the audit log.
/// </summary>
public sealed class ServerRefusalTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerRefusalTests(TestPki pki)
    {
        _pki = pki;
    }

    public static TheoryData<string, AlexLinkRefusalCode, string> PolicyRefusals => new()
    {
        { "stranger", AlexLinkRefusalCode.NotAllowed, "stranger" },
        { "expired", AlexLinkRefusalCode.NotTimeValid, "expired" },
        { "wrong-eku", AlexLinkRefusalCode.WrongUsage, "serverAuth" },
        { "course", AlexLinkRefusalCode.WrongUsage, "legacy" },
    };

    [Theory]
    [MemberData(nameof(PolicyRefusals))]
    public async Task AlexLink_ChainIsOursButPolicySaysNo_RefusalFrameWithReason(string stem, AlexLinkRefusalCode code, string reasonWord)
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var client = await server.ConnectAlexLinkAsync(stem);
        var refusal = Assert.IsType<AlexLinkRefusal>(await client.ReadAsync());
        Assert.Equal(code, refusal.Code);
        Assert.Contains(reasonWord, refusal.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Null(await client.ReadAsync());

        var audited = await server.WaitForAuditAsync("connection-refused", r => r.Field("subject") is { } s && s.Length > 0);
        Assert.Equal(refusal.Text, audited.Field("reason"));
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", audited.Field("fingerprint"));
    }

    [Fact]
    public async Task AlexLink_Revoked_RefusalFrameSaysRevoked()
    {
        _pki.Client("lost-laptop");
        _pki.Revoke("lost-laptop");
        await using var server = await TestServer.StartAsync(_pki, allow: ["lost-laptop"]);
        await using var client = await server.ConnectAlexLinkAsync("lost-laptop");
        var refusal = Assert.IsType<AlexLinkRefusal>(await client.ReadAsync());
        Assert.Equal(AlexLinkRefusalCode.Revoked, refusal.Code);
        Assert.Contains("revoked", refusal.Text, StringComparison.OrdinalIgnoreCase);
        var audited = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("revoked", audited.Field("reason"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Legacy_CourseV1Certificate_AcceptedOnlyWithTheOption()
    {
        await using var server = await TestServer.StartAsync(_pki, legacy: true);
        await using var ssl = await server.ConnectAsync("course", alexLink: false);
        await ssl.WriteAsync(Classic.Command('s')).AsTask().Within();
        Assert.Equal("0000", Convert.ToHexString(await Classic.ReadRecordAsync(ssl)));
        var accepted = await server.WaitForAuditAsync("connection-accepted");
        Assert.Equal("course-laptop", accepted.Field("name"));
    }

    [Fact]
    public async Task Classic_PolicySaysNo_ClosedAndLogged()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var ssl = await server.ConnectAsync("stranger", alexLink: false);
        var buffer = new byte[64];
        var n = await ReadOrFailAsync(ssl, buffer);
        Assert.Equal(0, n);
        var audited = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("stranger", audited.Field("reason"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCertificate_RefusedAtTheHandshake_Logged()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var failure = await ConnectAndReadFailureAsync(server, null);
        Assert.NotNull(failure);
        var audited = await server.WaitForAuditAsync("connection-refused");
        Assert.Equal("no client certificate", audited.Field("reason"));
    }

    [Fact]
    public async Task OtherCa_RefusedAtTheHandshake_Logged()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var failure = await ConnectAndReadFailureAsync(server, "other-ca");
        Assert.NotNull(failure);
        var audited = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("does not chain to our CA", audited.Field("reason"), StringComparison.Ordinal);
        Assert.Contains("laptop", audited.Field("subject"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StalledHandshake_DoesNotBlockAnotherClient_AndIsCutAtTheDeadline()
    {
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromMilliseconds(800));
        using var stalled = new TcpClient();
        await stalled.ConnectAsync(server.EndPoint.Address, server.EndPoint.Port).Within();
        // Half a TLS record header, then silence.
        await stalled.GetStream().WriteAsync(new byte[] { 0x16, 0x03 }).AsTask().Within();

        await using var client = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());

        var cut = await server.WaitForAuditAsync("connection-refused", r => r.Field("reason")!.Contains("not finished within", StringComparison.Ordinal));
        Assert.Contains("800 ms", cut.Field("reason"), StringComparison.Ordinal);
        var n = await stalled.GetStream().ReadAsync(new byte[16]).AsTask().Within();
        Assert.Equal(0, n);
    }

    [Fact]
    public async Task TooManyUnauthenticated_ExtraConnectionsClosedAtOnce_OthersServedAfter()
    {
        // No random early refusals below the limit: this test counts exactly.
        await using var server = await TestServer.StartAsync(_pki, maxUnauthenticated: 2, earlyDropStart: 2, handshakeTimeout: TimeSpan.FromSeconds(2));
        using var a = new TcpClient();
        using var b = new TcpClient();
        using var c = new TcpClient();
        await a.ConnectAsync(server.EndPoint.Address, server.EndPoint.Port).Within();
        await b.ConnectAsync(server.EndPoint.Address, server.EndPoint.Port).Within();
        await Bounded.Until(() => server.Host.Server.Unauthenticated == 2, what: "two handshakes pending");
        await c.ConnectAsync(server.EndPoint.Address, server.EndPoint.Port).Within();
        Assert.Equal(0, await c.GetStream().ReadAsync(new byte[16]).AsTask().Within());
        var refused = await server.WaitForAuditAsync("connection-refused", r => r.Field("reason")!.Contains("too many", StringComparison.Ordinal));
        Assert.Contains("limit 2", refused.Field("reason"), StringComparison.Ordinal);

        a.Dispose();
        b.Dispose();
        await Bounded.Until(() => server.Host.Server.Unauthenticated == 0, what: "the stalled handshakes to end");
        await using var client = await server.ConnectAlexLinkAsync("laptop");
        Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());
    }

    // A client the server refuses in the handshake: under TLS 1.3 the client's own handshake may
    // "complete" and the refusal shows on the first read (an alert); under 1.2 the handshake fails.
    private static async Task<Exception?> ConnectAndReadFailureAsync(TestServer server, string? stem)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.EndPoint.Address, server.EndPoint.Port).Within();
        await using var ssl = new SslStream(tcp.GetStream());
        var options = TlsProfiles.Client(stem is null ? null : server.Pki.Load(stem), server.Pki.LoadCa(), TestPki.ServerName, alexLink: true);
        try
        {
            await ssl.AuthenticateAsClientAsync(options).Within();
            var n = await ssl.ReadAsync(new byte[64]).AsTask().Within();
            Assert.Equal(0, n);
            return new EndOfStreamException("closed without a word");
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            return e;
        }
    }

    private static async Task<int> ReadOrFailAsync(SslStream ssl, byte[] buffer)
    {
        try
        {
            return await ssl.ReadAsync(buffer).AsTask().Within();
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
