using System.Net;

namespace Alex.Pki.Tests;

/// <summary>`alex pki issue --batch`: a teaching team's CA for a whole class, checked by openssl.</summary>
public sealed class ClassBatchTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly AlexCli _cli;

    public ClassBatchTests()
    {
        _cli = new AlexCli(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Parse_DefaultsHeaderCommentsAndAddresses()
    {
        var teams = ClassRoster.Parse("team,robot,laptop,ip\n# lab A\nteam1\n\nteam2,alex2.epp.com,Team 2 Laptop,192.168.1.52 10.0.0.2\n", "teams.csv");
        Assert.Equal(2, teams.Count);
        Assert.Equal(new TeamCredentials("team1", "alex-team1", "team1-laptop", []), teams[0] with { RobotAddresses = [] });
        Assert.Equal("Team 2 Laptop", teams[1].LaptopName);
        Assert.Equal([IPAddress.Parse("192.168.1.52"), IPAddress.Parse("10.0.0.2")], teams[1].RobotAddresses);
    }

    [Theory]
    [InlineData("team1\nteam1\n", "listed twice")]
    [InlineData("../etc\n", "letters, digits")]
    [InlineData("t1,,,192.168.1.300\n", "not an IP address")]
    [InlineData("t1,,same\nt2,,same\n", "used twice")]
    [InlineData("t1,a,b,1.2.3.4,extra\n", "5 fields")]
    [InlineData("# nothing\n", "no teams")]
    public void Parse_BadLines_OneLineNamingTheLine(string text, string words)
    {
        var e = Assert.Throws<PkiException>(() => ClassRoster.Parse(text, "teams.csv"));
        Assert.StartsWith("teams.csv", e.Message, StringComparison.Ordinal);
        Assert.Contains(words, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Batch_FortyTeams_OpenSslAcceptsEveryOne_TeamRevokedAtOnce()
    {
        _cli.Ok("pki", "init", "--dir", "class", "--name", "EPP 2026 CA");
        File.WriteAllLines(_dir["teams.csv"], ["team,robot,laptop,ip", .. Enumerable.Range(1, 40).Select(i => $"team{i},,,192.168.1.{100 + i}")]);
        var batch = _cli.Ok("pki", "issue", "--batch", "teams.csv", "--dir", "class");
        Assert.Contains("40 teams, 80 certificates", batch.Output, StringComparison.Ordinal);

        for (var i = 1; i <= 40; i++)
        {
            var folder = _dir[$"class/teams/team{i}"];
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, TempDir.ModeOf(folder));
            Assert.Contains($"--allow team{i}-laptop=drive", File.ReadAllText(Path.Combine(folder, "README.txt")), StringComparison.Ordinal);
            OpenSsl.Ok(folder, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslserver", "-verify_ip", $"192.168.1.{100 + i}", "alex.crt");
            OpenSsl.Ok(folder, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslclient", "laptop.crt");
        }

        var list = _cli.Ok("pki", "list", "--dir", "class", "--team", "team7").Output;
        Assert.Contains("alex-team7", list, StringComparison.Ordinal);
        Assert.Contains("team7-laptop", list, StringComparison.Ordinal);
        Assert.DoesNotContain("team8", list, StringComparison.Ordinal);

        _cli.Ok("pki", "revoke", "--team", "team7", "--dir", "class");
        Assert.Equal(2, CertificateRevocationList.Load(_dir["class/crl.pem"]).Revoked.Count);
        foreach (var cert in new[] { "alex.crt", "laptop.crt" })
        {
            Assert.Contains("error 23", OpenSsl.Run(_dir["class/teams/team7"], "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "../../crl.pem", cert).All, StringComparison.Ordinal);
        }

        OpenSsl.Ok(_dir["class/teams/team8"], "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "../../crl.pem", "laptop.crt");
        _cli.Ok("pki", "check", "--dir", "class");

        // Again without --force: refused, nothing changed.
        var again = _cli.Refused("pki", "issue", "--batch", "teams.csv", "--dir", "class");
        Assert.Contains("already exists", again.Error, StringComparison.Ordinal);
        Assert.Equal(81, CertificateAuthority.Open(_dir["class"]).Issued().Count);
    }

    [Fact]
    public void Batch_Fleet_FortyRobotsWithTheirFleetIdentity_OneCommand_BrokerAclNamesEach()
    {
        _cli.Ok("pki", "init", "--dir", "class", "--name", "EPP 2026 CA");
        File.WriteAllLines(_dir["teams.csv"], ["team,robot,laptop,ip", .. Enumerable.Range(1, 40).Select(i => $"team{i}")]);
        var batch = _cli.Ok("pki", "issue", "--batch", "teams.csv", "--dir", "class", "--fleet");
        Assert.Contains("40 teams, 120 certificates", batch.Output, StringComparison.Ordinal);
        Assert.Contains("next: alex pki issue instructor NAME --dir class, then alex pki fleet-broker", batch.Output, StringComparison.Ordinal);

        for (var i = 1; i <= 40; i++)
        {
            var folder = _dir[$"class/teams/team{i}"];
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDir.ModeOf(Path.Combine(folder, "alex-fleet.key")));
            using var fleet = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder, "alex-fleet.crt"));
            Assert.Equal($"alex-team{i}", fleet.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false));
            var readme = File.ReadAllText(Path.Combine(folder, "README.txt"));
            Assert.Contains("alex-fleet.key, alex-fleet.crt", readme, StringComparison.Ordinal);
            Assert.Contains($"alex serve --pki FOLDER --allow team{i}-laptop=drive --serial /dev/ttyUSB0 --fleet mqtts://BROKER:8883", readme, StringComparison.Ordinal);
        }

        // One of them, as Mosquitto's OpenSSL will check it: a client certificate of the CA, not revoked.
        var team7 = _dir["class/teams/team7"];
        OpenSsl.Ok(team7, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "-purpose", "sslclient", "alex-fleet.crt");
        Assert.NotEqual(0, OpenSsl.Run(team7, "verify", "-CAfile", "signing.pem", "-purpose", "sslserver", "alex-fleet.crt").ExitCode);

        var issued = CertificateAuthority.Open(_dir["class"]).Issued();
        Assert.Equal(40, issued.Count(e => e.Role == CertificateRole.Fleet));
        Assert.Equal("team7", issued.Single(e => e.Role == CertificateRole.Fleet && e.Name == "alex-team7").Team);

        // The broker's ACL follows the ledger: each robot publishes under its own name, the team's revocation covers all three.
        _cli.Ok("pki", "issue", "instructor", "teacher", "--dir", "class");
        var broker = _cli.Ok("pki", "fleet-broker", "--dir", "class", "--host", "localhost", "--bind", "127.0.0.1", "--user", Environment.UserName);
        Assert.Contains("acl: 40 robots, 1 instructor", broker.Output, StringComparison.Ordinal);
        Assert.Contains("user alex-team7\ntopic write alexlink/alex-team7/#\n", File.ReadAllText(_dir["class/mosquitto/acl"]), StringComparison.Ordinal);
        _cli.Ok("pki", "revoke", "--team", "team7", "--dir", "class");
        Assert.Equal(3, CertificateRevocationList.Load(_dir["class/crl.pem"]).Revoked.Count);
        _cli.Ok("pki", "check", "--dir", "class");
    }

    [Fact]
    public void Batch_Fleet_RobotNamedLikeTheFleetLevel_RefusedBeforeIssuingAnything()
    {
        _cli.Ok("pki", "init", "--dir", "class");
        File.WriteAllLines(_dir["teams.csv"], ["team1", "team2,fleet"]);
        var refused = _cli.Refused("pki", "issue", "--batch", "teams.csv", "--dir", "class", "--fleet");
        Assert.StartsWith("alex: team team2: the robot name 'fleet' is 'fleet', the level that addresses every robot", refused.Error, StringComparison.Ordinal);
        Assert.Single(CertificateAuthority.Open(_dir["class"]).Issued());

        var alone = _cli.Refused("pki", "issue", "--fleet", "--dir", "class");
        Assert.Contains("--fleet goes with --batch teams.csv", alone.Error, StringComparison.Ordinal);
    }
}
