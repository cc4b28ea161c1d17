using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Alex.Protocol.AlexLink;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// The admin role over real TLS on loopback: the server's health and its audit log, live; a watcher or a
/// driver asking is refused Forbidden and stays connected; `alex status` and `alex logs` show the same.
/// </summary>
public sealed class AdminStatusTests : IClassFixture<TestPki>
{
    private static readonly string[] Allow = ["laptop=drive", "tutor=watch", "admin=admin"];

    // A freshly started `alex` process does its first TLS handshake cold (JIT, OpenSSL set-up): on a loaded 2-core
    // machine that takes seconds, past the server's default 5 s handshake deadline.
    private static readonly TimeSpan CliHandshake = TimeSpan.FromSeconds(60);

    private readonly TestPki _pki;

    public AdminStatusTests(TestPki pki)
    {
        _pki = pki;
        _pki.Client("admin");
    }

    [Fact]
    public async Task GetServerStatus_Admin_ReportsServerLinkSessionsLeaseCrlCertificateAndAudit()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow);
        await using var driver = await server.ConnectAlexLinkAsync("laptop");
        await driver.ReadAsync();
        Assert.IsType<AlexLinkOk>(await driver.RequestAsync(new AlexLinkTakeLease()));
        await using var admin = await server.ConnectAlexLinkAsync("admin");
        Assert.Equal(AlexLinkRole.Admin, Assert.IsType<AlexLinkWelcome>(await admin.ReadAsync()).Role);
        await server.WaitForAuditAsync("connection-accepted", r => r.Field("name") == "admin");

        var status = Assert.IsType<AlexLinkServerStatus>(await admin.RequestAsync(new AlexLinkGetServerStatus()));

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.InRange(status.ServerTimeUnixMs, now - 60_000, now + 60_000);
        Assert.InRange(status.StartedUnixMs, now - 600_000, status.ServerTimeUnixMs);
        Assert.Equal(TestPki.ServerName, status.ServerName);
        Assert.NotEmpty(status.Version);
        Assert.Equal(AlexLinkLinkStatus.Up, status.Link);
        Assert.Equal("simulated Alex", status.LinkDetail);
        Assert.Contains(status.Counters, c => c.Name == "link lost" && c.Value == 0);
        Assert.Equal("laptop", status.LeaseHolder);
        Assert.NotEqual(0, status.LeaseSinceUnixMs);
        Assert.Equal(2, status.SessionCount);
        Assert.Equal(
            [("laptop", AlexLinkRole.Driver), ("admin", AlexLinkRole.Admin)],
            status.Sessions.Select(s => (s.Name, s.Role)).ToArray());
        Assert.All(status.Sessions, s => Assert.StartsWith("127.0.0.1:", s.Peer, StringComparison.Ordinal));

        using var robotCertificate = X509CertificateLoader.LoadCertificateFromFile(_pki.Path("alex.crt"));
        Assert.Equal(new DateTimeOffset(robotCertificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds(), status.CertificateNotAfterUnixMs);
        Assert.NotEqual(0, status.CrlThisUpdateUnixMs);
        Assert.True(status.CrlNextUpdateUnixMs > now, "the CRL's next update is ahead");
        Assert.Matches("^[0-9]+$", status.CrlNumber);
        Assert.Equal(Path.GetFullPath(server.AuditPath), status.AuditPath);
        Assert.True(status.AuditSizeBytes > 0, "the audit file has records");
        Assert.True(status.AuditFreeBytes > 0, "free space is known");
    }

    [Fact]
    public async Task GetServerStatus_WatcherSeatsFull_AdminStillGetsIn()
    {
        // Two seats, one kept for drivers: one watcher fills the watchers' share.
        await using var server = await TestServer.StartAsync(_pki, Allow, maxSessions: 2);
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        Assert.IsType<AlexLinkWelcome>(await watcher.ReadAsync());
        await using var second = await server.ConnectAlexLinkAsync("tutor");
        Assert.IsType<AlexLinkRefusal>(await second.ReadAsync());

        await using var admin = await server.ConnectAlexLinkAsync("admin");
        Assert.Equal(AlexLinkRole.Admin, Assert.IsType<AlexLinkWelcome>(await admin.ReadAsync()).Role);
        var status = Assert.IsType<AlexLinkServerStatus>(await admin.RequestAsync(new AlexLinkGetServerStatus()));
        Assert.Equal(2, status.SessionCount);
    }

    [Theory]
    [InlineData("tutor")]
    [InlineData("laptop")]
    public async Task AdminRequests_WatcherOrDriver_ForbiddenAndStillConnected(string who)
    {
        await using var server = await TestServer.StartAsync(_pki, Allow);
        await using var client = await server.ConnectAlexLinkAsync(who);
        await client.ReadAsync();

        var status = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkGetServerStatus()));
        Assert.Equal(AlexLinkErrorCode.Forbidden, status.Code);
        Assert.Contains("admin role", status.Text, StringComparison.Ordinal);
        var logs = Assert.IsType<AlexLinkError>(await client.RequestAsync(new AlexLinkFollowAudit(10, Follow: true)));
        Assert.Equal(AlexLinkErrorCode.Forbidden, logs.Code);

        // Refused, not disconnected; and nothing of the log was sent before the refusal.
        Assert.IsType<AlexLinkHeartbeat>(await client.RequestAsync(new AlexLinkHeartbeat(7)));
        Assert.DoesNotContain(server.Records, r => r.Event == "audit-followed");
    }

    [Fact]
    public async Task FollowAudit_Admin_BacklogThenOkThenLiveRecords()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow);
        await using (var early = await server.ConnectAlexLinkAsync("tutor"))
        {
            await early.ReadAsync();
        }

        await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "tutor");
        await using var admin = await server.ConnectAlexLinkAsync("admin");
        await admin.ReadAsync();
        await server.WaitForAuditAsync("connection-accepted", r => r.Field("name") == "admin");

        var id = admin.NextId();
        await admin.SendAsync(new AlexLinkFollowAudit(3, Follow: true) { RequestId = id });
        var backlog = new List<string>();
        while (await admin.ReadAsync() is var m && m is not AlexLinkOk)
        {
            var line = Assert.IsType<AlexLinkAuditLine>(m);
            Assert.Equal(id, line.RequestId);
            backlog.Add(line.Json);
        }

        // The file's last three records, in order: the tutor leaving, the admin arriving (server-started is older).
        Assert.Equal(3, backlog.Count);
        Assert.Equal(["connection-accepted", "connection-closed", "connection-accepted"], backlog.Select(Event).ToArray());
        Assert.Contains("\"name\":\"admin\"", backlog[^1], StringComparison.Ordinal);

        // Live: the follow itself, then a watcher connecting, pushed with request id 0.
        await using var watcher = await server.ConnectAlexLinkAsync("tutor");
        var live = new List<AlexLinkAuditLine>();
        while (!live.Any(l => Event(l.Json) == "connection-accepted"))
        {
            live.Add(Assert.IsType<AlexLinkAuditLine>(await admin.ReadUntilAsync(m => m is AlexLinkAuditLine)));
        }

        Assert.All(live, l => Assert.Equal(0u, l.RequestId));
        Assert.Contains(live, l => Event(l.Json) == "audit-followed" && l.Json.Contains("\"name\":\"admin\"", StringComparison.Ordinal));
        Assert.Contains("\"name\":\"tutor\"", live.Last().Json, StringComparison.Ordinal);
        Assert.Equal(live.Count, live.Select(l => l.Json).Distinct().Count());
    }

    [Fact]
    public async Task StatusAndLogsCommands_Admin_PrintTextAndJson()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow, handshakeTimeout: CliHandshake);
        string[] connect = ["--cert", _pki.Path("admin.crt"), "--key", _pki.Path("admin.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName];
        var host = $"127.0.0.1:{server.EndPoint.Port}";

        var (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["status", host, .. connect, "--json"]);
        Assert.True(code == 0, stderr);
        using (var json = JsonDocument.Parse(stdout))
        {
            Assert.Equal(TestPki.ServerName, json.RootElement.GetProperty("server").GetString());
            Assert.True(json.RootElement.GetProperty("arduino").GetProperty("up").GetBoolean());
            Assert.Equal("admin", json.RootElement.GetProperty("sessions")[0].GetProperty("role").GetString());
            Assert.Equal(Path.GetFullPath(server.AuditPath), json.RootElement.GetProperty("audit").GetProperty("path").GetString());
        }

        (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["status", host, .. connect]);
        Assert.True(code == 0, stderr);
        Assert.Contains("Arduino:      up (simulated Alex)", stdout, StringComparison.Ordinal);
        Assert.Contains("admin  admin  alexlink/1", stdout, StringComparison.Ordinal);

        await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "admin");
        (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["logs", host, .. connect, "--lines", "50", "--json"]);
        Assert.True(code == 0, stderr);
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Event).ToArray();
        Assert.Equal("server-started", events[0]);
        Assert.Contains("connection-closed", events);

        (code, stdout, _) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), ["logs", host, .. connect, "--lines", "1"]);
        Assert.Equal(0, code);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT[0-9:.]+Z connection-[a-z]+ peer=127\.0\.0\.1:\d+ ", stdout);
    }

    [Fact]
    public async Task StatusAndLogsCommands_Watcher_RefusedWithTheRoleToAsk()
    {
        await using var server = await TestServer.StartAsync(_pki, Allow, handshakeTimeout: CliHandshake);
        var host = $"127.0.0.1:{server.EndPoint.Port}";
        foreach (var command in new[] { "status", "logs" })
        {
            var (code, stdout, stderr) = await AlexCli.RunAsync(
                TimeSpan.FromSeconds(60),
                [command, host, "--cert", _pki.Path("tutor.crt"), "--key", _pki.Path("tutor.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName]);
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("alex: ", lines[0], StringComparison.Ordinal);
            Assert.Contains("admin role", lines[0], StringComparison.Ordinal);
            Assert.Equal("hint: the robot must list this certificate's name as admin: alex serve --allow NAME=admin (or NAME=admin in its allow file)", lines[1]);
        }
    }

    private static string Event(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("event").GetString()!;
    }
}
