using System.Diagnostics;
using Alex.Tests.Shared;

namespace Alex.Pki.Tests.Fleet;

/// <summary>
/// The CA, its fleet identities (robotN-fleet.crt) and `alex pki fleet-broker`'s files, made once with the real `alex` for the class:
/// robots robot1 and robot2 (fleet certificates), the instructor teacher, the watcher laptop, and robot1's
/// server certificate (serverAuth only).
/// </summary>
public sealed class FleetPki : IDisposable
{
    public FleetPki()
    {
        Port = MosquittoBroker.FreePort();
        var cli = new AlexCli(Dir.Path);
        cli.Ok("pki", "init", "--dir", "pki");
        cli.Ok("pki", "issue", "fleet", "robot1");
        cli.Ok("pki", "issue", "fleet", "robot2");
        cli.Ok("pki", "issue", "instructor", "teacher");
        cli.Ok("pki", "issue", "client", "laptop");
        cli.Ok("pki", "issue", "server", "robot1", "--out", "robot1-server");
        Assert.True(File.Exists(Path.Combine(Pki, "robot1-fleet.crt")), "the fleet certificate's default name");
        Written = cli.Ok("pki", "fleet-broker", "--host", "localhost", "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--user", Environment.UserName);
    }

    public TempDir Dir { get; } = new();

    public int Port { get; }

    public AlexCli.Run Written { get; }

    public string Pki => Dir["pki"];

    public string Broker => Path.Combine(Pki, "mosquitto");

    public string Cert(string stem) => Path.Combine(Pki, stem + ".crt");

    public string Key(string stem) => Path.Combine(Pki, stem + ".key");

    public void Dispose() => Dir.Dispose();
}

/// <summary>`alex pki fleet-broker` and a real Mosquitto started with what it wrote (docs/fleet.md).</summary>
public sealed class FleetBrokerTests(FleetPki pki) : IClassFixture<FleetPki>
{
    /// <summary>How long a message that must not arrive is waited for: the broker answers in milliseconds when it delivers.</summary>
    private const int AbsentSeconds = 3;

    private MosquittoClients Clients(int? port = null) => new(Path.Combine(pki.Broker, "ca.pem"), port ?? pki.Port);

    [Fact]
    public void FleetBroker_Files_OpenSslAgreesAndTheKeyIsOwnerOnly()
    {
        Assert.Contains("acl: 2 robots, 1 instructor", pki.Written.Output, StringComparison.Ordinal);
        var dir = pki.Broker;
        foreach (var file in new[] { "broker.crt", "broker.key", "ca.pem", "crl.pem", "acl", "mosquitto.conf" })
        {
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDir.ModeOf(Path.Combine(dir, "broker.key")));
        OpenSsl.Ok(dir, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslserver", "-verify_hostname", "localhost", "broker.crt");
        OpenSsl.Ok(dir, "verify", "-CAfile", "ca.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslclient", pki.Cert("robot1-fleet"), pki.Cert("teacher"));
        Assert.Contains("TLS Web Client Authentication", OpenSsl.Ok(dir, "x509", "-in", pki.Cert("robot1-fleet"), "-noout", "-ext", "extendedKeyUsage").Output, StringComparison.Ordinal);

        // The robot's serving certificate is not a client certificate: Mosquitto (OpenSSL) would refuse it.
        Assert.NotEqual(0, OpenSsl.Run(dir, "verify", "-CAfile", "ca.pem", "-purpose", "sslclient", pki.Cert("robot1-server")).ExitCode);

        var conf = File.ReadAllText(Path.Combine(dir, "mosquitto.conf"));
        foreach (var line in new[] { $"listener {pki.Port} 127.0.0.1", "require_certificate true", "use_identity_as_username true", "allow_anonymous false", $"crlfile {Path.Combine(dir, "crl.pem")}", $"acl_file {Path.Combine(dir, "acl")}" })
        {
            Assert.Contains(line + "\n", conf, StringComparison.Ordinal);
        }

        var acl = File.ReadAllText(Path.Combine(dir, "acl"));
        Assert.Contains("user robot1\ntopic write alexlink/robot1/#\ntopic read alexlink/fleet/stop\ntopic read alexlink/robot1/stop\n", acl, StringComparison.Ordinal);
        Assert.Contains("user teacher\ntopic write alexlink/fleet/stop\ntopic write alexlink/+/stop\ntopic read alexlink/#\n", acl, StringComparison.Ordinal);
        Assert.DoesNotContain("user laptop", acl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mosquitto_NoClientCertificateOrAServerCertificate_RefusedInTheHandshake()
    {
        await using var broker = await MosquittoBroker.StartAsync(Path.Combine(pki.Broker, "mosquitto.conf"), pki.Port);
        var clients = Clients();

        var none = clients.Publish(null, null, "alexlink/robot1/status", "anonymous");
        Assert.NotEqual(0, none.ExitCode);
        await broker.WaitForLogAsync(l => l.Contains("peer did not return a certificate", StringComparison.Ordinal)).Within(what: "the broker's refusal of a client without a certificate");

        var server = clients.Publish(pki.Cert("robot1-server"), pki.Key("robot1-server"), "alexlink/robot1/status", "server key");
        Assert.NotEqual(0, server.ExitCode);
        await broker.WaitForLogAsync(l => l.Contains("certificate verify failed", StringComparison.Ordinal)).Within(what: "the broker's refusal of a serverAuth-only certificate");

        // The same broker takes the robot's fleet certificate.
        Assert.Equal(0, clients.Publish(pki.Cert("robot1-fleet"), pki.Key("robot1-fleet"), "alexlink/robot1/status", "up").ExitCode);
    }

    [Fact]
    public async Task Mosquitto_RobotPublishesAsAnother_NotAuthorizedAndNeverDelivered()
    {
        await using var broker = await MosquittoBroker.StartAsync(Path.Combine(pki.Broker, "mosquitto.conf"), pki.Port);
        var clients = Clients();

        var forged = clients.Publish(pki.Cert("robot1-fleet"), pki.Key("robot1-fleet"), "alexlink/robot2/status", "{\"state\":\"forged\"}", retain: true);
        Assert.Contains("Not authorized", forged.All, StringComparison.Ordinal);
        Assert.Equal(0, clients.Publish(pki.Cert("robot1-fleet"), pki.Key("robot1-fleet"), "alexlink/robot1/status", "{\"state\":\"own\"}", retain: true).ExitCode);

        // Retained messages reach a new subscriber at once: robot1's own status does, the forged one never appears.
        var own = clients.Subscribe(pki.Cert("teacher"), pki.Key("teacher"), "alexlink/robot1/status", 1, 30);
        Assert.Equal("alexlink/robot1/status {\"state\":\"own\"}", Assert.Single(own.Lines));
        var other = clients.Subscribe(pki.Cert("teacher"), pki.Key("teacher"), "alexlink/robot2/status", 1, AbsentSeconds);
        Assert.Equal(27, other.ExitCode);
        Assert.Empty(other.Lines);

        // A watcher reads status, and may not publish it either.
        Assert.Equal("alexlink/robot1/status {\"state\":\"own\"}", Assert.Single(clients.Subscribe(pki.Cert("laptop"), pki.Key("laptop"), "alexlink/robot1/status", 1, 30).Lines));
        Assert.Contains("Not authorized", clients.Publish(pki.Cert("laptop"), pki.Key("laptop"), "alexlink/robot1/status", "x").All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mosquitto_WatcherOrRobotStop_NotAuthorized_InstructorStop_Delivered()
    {
        await using var broker = await MosquittoBroker.StartAsync(Path.Combine(pki.Broker, "mosquitto.conf"), pki.Port);
        var clients = Clients();

        Assert.Contains("Not authorized", clients.Publish(pki.Cert("laptop"), pki.Key("laptop"), "alexlink/fleet/stop", "{\"by\":\"laptop\"}", retain: true).All, StringComparison.Ordinal);
        Assert.Contains("Not authorized", clients.Publish(pki.Cert("robot1-fleet"), pki.Key("robot1-fleet"), "alexlink/robot2/stop", "{\"by\":\"robot1\"}", retain: true).All, StringComparison.Ordinal);
        var fleetStop = clients.Subscribe(pki.Cert("robot2-fleet"), pki.Key("robot2-fleet"), "alexlink/fleet/stop", 1, AbsentSeconds);
        Assert.Equal(27, fleetStop.ExitCode);
        Assert.Empty(fleetStop.Lines);
        var ownStop = clients.Subscribe(pki.Cert("robot2-fleet"), pki.Key("robot2-fleet"), "alexlink/robot2/stop", 1, AbsentSeconds);
        Assert.Empty(ownStop.Lines);

        var instructor = clients.Publish(pki.Cert("teacher"), pki.Key("teacher"), "alexlink/robot2/stop", "{\"by\":\"teacher\"}", retain: true);
        Assert.DoesNotContain("Not authorized", instructor.All, StringComparison.Ordinal);
        Assert.Equal("alexlink/robot2/stop {\"by\":\"teacher\"}", Assert.Single(clients.Subscribe(pki.Cert("robot2-fleet"), pki.Key("robot2-fleet"), "alexlink/robot2/stop", 1, 30).Lines));

        // A robot hears only its own STOP and the fleet's.
        Assert.Empty(clients.Subscribe(pki.Cert("robot1-fleet"), pki.Key("robot1-fleet"), "alexlink/robot2/stop", 1, AbsentSeconds).Lines);
    }

    [Fact]
    public async Task Mosquitto_KilledRobot_LastWillMarksItOffline()
    {
        await using var broker = await MosquittoBroker.StartAsync(Path.Combine(pki.Broker, "mosquitto.conf"), pki.Port);
        var clients = Clients();
        var connected = broker.WaitForLogAsync(l => l.Contains("u'robot2'", StringComparison.Ordinal));
        using var robot = clients.StartSubscriber(pki.Cert("robot2-fleet"), pki.Key("robot2-fleet"), "alexlink/robot2/stop",
            ["--will-topic", "alexlink/robot2/status", "--will-payload", "{\"state\":\"offline\"}", "--will-retain", "--will-qos", "1"]);
        try
        {
            await connected.Within(TimeSpan.FromSeconds(30), "robot2 to connect");
            Assert.Empty(clients.Subscribe(pki.Cert("teacher"), pki.Key("teacher"), "alexlink/robot2/status", 1, AbsentSeconds).Lines);
        }
        finally
        {
            robot.Kill();
            await robot.WaitForExitAsync().Within(what: "the killed robot to exit");
        }

        var status = clients.Subscribe(pki.Cert("teacher"), pki.Key("teacher"), "alexlink/robot2/status", 1, 30);
        Assert.Equal("alexlink/robot2/status {\"state\":\"offline\"}", Assert.Single(status.Lines));
    }

    [Fact]
    public async Task Mosquitto_RevokedRobot_RefusedByTheBrokersCrl()
    {
        var cli = new AlexCli(pki.Dir.Path);
        var port = MosquittoBroker.FreePort();
        using var dir = new TempDir();
        var ca = Path.Combine(dir.Path, "ca");
        CopyDirectory(pki.Pki, ca);
        cli.Ok("pki", "revoke", Path.Combine(ca, "robot2-fleet.crt"), "--dir", ca, "--reason", "keyCompromise");
        cli.Ok("pki", "fleet-broker", "--dir", ca, "--host", "localhost", "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--user", Environment.UserName);
        Assert.DoesNotContain("user robot2", File.ReadAllText(Path.Combine(ca, "mosquitto", "acl")), StringComparison.Ordinal);

        await using var broker = await MosquittoBroker.StartAsync(Path.Combine(ca, "mosquitto", "mosquitto.conf"), port);
        var clients = new MosquittoClients(Path.Combine(ca, "mosquitto", "ca.pem"), port);
        var revoked = clients.Publish(Path.Combine(ca, "robot2-fleet.crt"), Path.Combine(ca, "robot2-fleet.key"), "alexlink/robot2/status", "still here");
        Assert.NotEqual(0, revoked.ExitCode);
        await broker.WaitForLogAsync(l => l.Contains("certificate verify failed", StringComparison.Ordinal)).Within(what: "the broker's refusal");

        // Why: the broker's TLS alert names the revocation (alert 44, RFC 5246 §7.2.2). Over TLS 1.2, where the alert
        // ends the handshake: over TLS 1.3 it comes after, and s_client may have quit before reading it.
        var handshake = OpenSsl.RunWithInput(ca, string.Empty, "s_client", "-tls1_2", "-connect", $"127.0.0.1:{port}", "-CAfile", Path.Combine("mosquitto", "ca.pem"), "-cert", "robot2-fleet.crt", "-key", "robot2-fleet.key");
        Assert.Contains("alert certificate revoked", handshake.All, StringComparison.Ordinal);
        Assert.Equal(0, clients.Publish(Path.Combine(ca, "robot1-fleet.crt"), Path.Combine(ca, "robot1-fleet.key"), "alexlink/robot1/status", "up").ExitCode);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
