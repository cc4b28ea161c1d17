using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Pki.Tests;

/// <summary>Every fix `alex doctor` and `alex pki` print is run here as printed: it works, and it touches no other device's key.</summary>
public sealed class PrintedCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly AlexCli _cli;

    public PrintedCommandTests()
    {
        _cli = new AlexCli(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    private static string Command(string fix)
    {
        var start = fix.IndexOf("alex pki ", StringComparison.Ordinal);
        Assert.True(start >= 0, fix);
        return fix[(start + "alex ".Length)..];
    }

    [Fact]
    public void DoctorFix_RevokedLaptop2_NewLaptop2AndLaptopsKeyUntouched()
    {
        var pki = _dir["pki"];
        _cli.Ok("pki", "init", "--dir", "pki");
        _cli.Ok("pki", "issue", "client", "laptop");
        _cli.Ok("pki", "issue", "client", "laptop2");
        _cli.Ok("pki", "revoke", "laptop2");
        var laptopKey = File.ReadAllBytes(_dir["pki/laptop.key"]);

        var set = new CertificateSet(DeviceRole.Laptop, Path.Combine(pki, "laptop2.crt"), Path.Combine(pki, "laptop2.key"), Path.Combine(pki, "signing.pem"), Path.Combine(pki, "crl.pem"));
        var revoked = Assert.Single(CertificateCheckup.Check(set), f => f.Level == FindingLevel.Problem && f.Message.Contains("was revoked", StringComparison.Ordinal));
        var command = Command(revoked.Fix!);
        Assert.DoesNotContain("--out laptop ", command + " ", StringComparison.Ordinal);
        _cli.Ok(RevocationDurabilityTests.Words(command));

        Assert.Equal(laptopKey, File.ReadAllBytes(_dir["pki/laptop.key"]));
        Assert.DoesNotContain(CertificateCheckup.Check(set), f => f.Level == FindingLevel.Problem);
    }

    [Fact]
    public void DoctorFix_ExpiredRobot_KeepsItsAddressesAndNames()
    {
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-40));
        var robot = _dir["robot"];
        var ca = CertificateAuthority.Create(robot, "CA", KeySpec.EcdsaP256, 3650, null, force: false, past);
        ca.Issue(
            new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com", DnsNames = ["alex.local"], IpAddresses = [IPAddress.Parse("192.168.1.50")], Days = 10 },
            Path.Combine(robot, "alex.key"),
            Path.Combine(robot, "alex.crt"),
            null,
            force: false);

        var set = CertificateSet.InDirectory(robot, DeviceRole.Robot);
        var expired = Assert.Single(CertificateCheckup.Check(set), f => f.Level == FindingLevel.Problem && f.Message.Contains("expired", StringComparison.Ordinal));
        var command = Command(expired.Fix!);
        Assert.Contains("--ip 192.168.1.50", command, StringComparison.Ordinal);
        Assert.Contains("--dns alex.local", command, StringComparison.Ordinal);
        _cli.Ok(RevocationDurabilityTests.Words(command.Split(" (", 2)[0]));

        using var renewed = CertificateFile.Load(Path.Combine(robot, "alex.crt"));
        var facts = CertificateFacts.From(renewed);
        Assert.Equal(["alex.epp.com", "alex.local"], facts.DnsNames);
        Assert.Equal([IPAddress.Parse("192.168.1.50")], facts.IpAddresses);
        Assert.True(renewed.NotAfter > DateTime.UtcNow);
        Assert.DoesNotContain(CertificateCheckup.Check(set), f => f.Level == FindingLevel.Problem);
    }

    [Fact]
    public void InitHint_NextCommandsWorkAsPrinted()
    {
        var init = _cli.Ok("pki", "init", "--dir", "my ca").Output;
        var next = init.Split('\n').Single(l => l.StartsWith("next: ", StringComparison.Ordinal))["next: ".Length..];
        foreach (var part in next.Split("   and   "))
        {
            _cli.Ok(RevocationDurabilityTests.Words(part["alex ".Length..]));
        }

        Assert.True(File.Exists(_dir["my ca/alex.crt"]));
        Assert.True(File.Exists(_dir["my ca/laptop.crt"]));
    }
}
