using System.Net;
using System.Net.Sockets;
using Alex.Client;
using Alex.Client.Diagnostics;
using Alex.Pki.Diagnostics;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Doctor;

/// <summary>The network checks against loopback: a refused port, and the real robot server admitting or refusing us.</summary>
public sealed class ConnectionCheckupTests : IClassFixture<DoctorPki>, IAsyncLifetime
{
    private readonly DoctorPki _pki;
    private SimulatedRobot _robot = null!;
    private RobotHost _host = null!;

    public ConnectionCheckupTests(DoctorPki pki)
    {
        _pki = pki;
    }

    private int Port => _host.LocalEndPoint.Port;

    public async Task InitializeAsync()
    {
        var robotDir = _pki.Machine(DeviceRole.Robot);
        var set = CertificateSet.InDirectory(robotDir, DeviceRole.Robot);
        _robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), pacing: null, TimeProvider.System, CancellationToken.None).Within();
        _host = RobotHost.Start(
            new RobotHostOptions
            {
                CertificatePath = set.CertificatePath,
                KeyPath = set.KeyPath,
                Policy = new PolicySources(set.CaPath, null, ["laptop=drive"], null, AllowAny: false, Legacy: false),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                AuditPath = Path.Combine(robotDir, "audit.jsonl"),
            },
            _robot.Link,
            TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync().AsTask().Within();
        await _robot.DisposeAsync().AsTask().Within();
    }

    private static async Task<IReadOnlyList<Finding>> CheckAsync(int port, string? laptopDir, string? serverName = null, string host = "127.0.0.1")
    {
        using var credentials = laptopDir is null ? null : AlexCredentials.FromPkiDirectory(laptopDir);
        return await ConnectionCheckup.CheckAsync(
            new ConnectionCheckupOptions { Host = host, Port = port, ServerName = serverName, Credentials = credentials, StepTimeout = TimeSpan.FromSeconds(5) },
            CancellationToken.None).Within(TimeSpan.FromSeconds(20));
    }

    private static string Dump(IEnumerable<Finding> findings) => string.Join("\n", findings.Select(f => $"{f.Level} {f.Message} | {f.Fix}"));

    [Fact]
    public async Task Check_PortBoundThenClosed_Refused()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var findings = await CheckAsync(port, laptopDir: null);
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.Contains($"127.0.0.1:{port}: connection refused: the machine is up but nothing listens on port {port}", f.Message, StringComparison.Ordinal);
        Assert.Contains("alex serve", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_AllowedLaptop_AdmittedWithRole()
    {
        var findings = await CheckAsync(Port, _pki.Machine(DeviceRole.Laptop));
        Assert.True(findings.All(f => f.Level == FindingLevel.Ok), Dump(findings));
        Assert.Contains(findings, f => f.Message.Contains("TLS 1.3", StringComparison.Ordinal) && f.Message.Contains("trusted", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Message.Contains("admits us as 'laptop' (driver)", StringComparison.Ordinal));
        Assert.Equal(0, Finding.ExitCode(findings));
    }

    [Fact]
    public async Task Check_LaptopNotOnAllowList_RobotsRefusalReasonPrinted()
    {
        var findings = await CheckAsync(Port, _pki.Machine(DeviceRole.Laptop, name: "stranger"));
        var f = Assert.Single(findings, x => x.Level == FindingLevel.Problem);
        Assert.StartsWith("the robot refused us: ", f.Message, StringComparison.Ordinal);
        Assert.Contains("stranger", f.Message, StringComparison.Ordinal);
        Assert.Contains("allow-list", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_RevokedLaptop_RefusedAsRevoked()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        _pki.Revoke(dir, DeviceRole.Laptop);

        // This server reads no CRL, so start one that does (fail closed with the CA's crl.pem).
        var robotDir = _pki.Machine(DeviceRole.Robot);
        var set = CertificateSet.InDirectory(robotDir, DeviceRole.Robot);
        File.Copy(_pki.Ca.CrlPath, set.CrlPath!, overwrite: true);
        var host = RobotHost.Start(
            new RobotHostOptions
            {
                CertificatePath = set.CertificatePath,
                KeyPath = set.KeyPath,
                Policy = new PolicySources(set.CaPath, set.CrlPath, ["laptop=drive"], null, AllowAny: false, Legacy: false),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                AuditPath = Path.Combine(robotDir, "audit.jsonl"),
            },
            _robot.Link,
            TimeProvider.System);
        await using (host)
        {
            var findings = await CheckAsync(host.LocalEndPoint.Port, dir);
            var f = Assert.Single(findings, x => x.Level == FindingLevel.Problem);
            Assert.StartsWith("the robot refused us: ", f.Message, StringComparison.Ordinal);
            Assert.Contains("revoked", f.Message, StringComparison.Ordinal);
            Assert.Contains("issue a new one", f.Fix, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Check_WrongServerName_NameMismatchWithFix()
    {
        var findings = await CheckAsync(Port, _pki.Machine(DeviceRole.Laptop), serverName: "robot7.example");
        var f = Assert.Single(findings, x => x.Level == FindingLevel.Problem);
        Assert.StartsWith("name mismatch: the robot's certificate is for 'alex.epp.com', '127.0.0.1', not 'robot7.example'", f.Message, StringComparison.Ordinal);
        Assert.Contains("not 'robot7.example'", f.Message, StringComparison.Ordinal);
        Assert.StartsWith("connect with --name alex.epp.com", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_LaptopFromAnotherCa_DifferentCas()
    {
        // The laptop's files come from another CA entirely: its signing.pem does not know the robot's.
        var dir = Path.Combine(_pki.Root, $"other-laptop-{Guid.NewGuid():N}");
        var other = Alex.Pki.CertificateAuthority.Open(_pki.OtherCaDir);
        other.Issue(new Alex.Pki.IssueRequest { Role = Alex.Pki.CertificateRole.Client, Name = "laptop" }, Path.Combine(dir, "laptop.key"), Path.Combine(dir, "laptop.crt"), null, force: false);
        File.Copy(other.CertificatePath, Path.Combine(dir, "signing.pem"));

        var findings = await CheckAsync(Port, dir);
        var f = Assert.Single(findings, x => x.Level == FindingLevel.Problem);
        Assert.Contains("the robot's certificate was issued by 'CN=Doctor Test CA', but this machine's signing.pem is 'CN=Someone Else's CA'", f.Message, StringComparison.Ordinal);
        Assert.Contains("different CAs", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_NotTls_SaysHandshakeFailed()
    {
        // A plain TCP server that answers with text: the handshake fails, and the finding says so.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
            client.Client.Shutdown(SocketShutdown.Send);
            _ = await stream.ReadAsync(new byte[1024]);
        });
        try
        {
            var findings = await CheckAsync(port, _pki.Machine(DeviceRole.Laptop));
            var f = Assert.Single(findings, x => x.Level == FindingLevel.Problem);
            Assert.StartsWith("TLS handshake failed: ", f.Message, StringComparison.Ordinal);
        }
        finally
        {
            listener.Stop();
            await serve.Within();
        }
    }
}
