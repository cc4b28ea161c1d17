using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Pki.Tests;

/// <summary>What a robot server checks before it listens: its key file's protection, its own certificate, and CRL rollback.</summary>
public sealed class ServerStartChecksTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static KeyFileFacts Facts(UnixFileMode mode, uint owner = 1000, UnixFileMode directory = (UnixFileMode)0x1C0, string resolved = "/home/pi/pki/alex.key") =>
        new("/home/pi/pki/alex.key", resolved, mode, owner, [("/home/pi/pki", directory)], UserId: 1000);

    [Fact]
    public void KeyCheck_OwnerOnly_Accepted()
    {
        Assert.Null(KeyFileProtection.Check(Facts(UnixFileMode.UserRead | UnixFileMode.UserWrite)));
        Assert.Null(KeyFileProtection.Check(Facts(UnixFileMode.UserRead, owner: 0)));
    }

    [Theory]
    [InlineData(0x1A4, "0644")]
    [InlineData(0x1A0, "0640")]
    [InlineData(0x1B6, "0666")]
    public void KeyCheck_OthersMayRead_RefusedWithChmod600(int mode, string octal)
    {
        var problem = KeyFileProtection.Check(Facts((UnixFileMode)mode))!;
        Assert.Equal($"/home/pi/pki/alex.key: the private key is readable or writable by others (mode {octal}); an unprotected key is refused", problem.Message);
        Assert.Equal("chmod 600 /home/pi/pki/alex.key", problem.Hint);
    }

    [Fact]
    public void KeyCheck_AnotherUsersFile_Refused()
    {
        var problem = KeyFileProtection.Check(Facts((UnixFileMode)0x180, owner: 1001))!;
        Assert.Contains("belongs to another user (uid 1001)", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyCheck_WorldWritableDirectory_Refused()
    {
        var problem = KeyFileProtection.Check(Facts((UnixFileMode)0x180, directory: (UnixFileMode)0x1FF))!;
        Assert.Equal("/home/pi/pki/alex.key: the directory /home/pi/pki is writable by everyone (mode 0777), so anyone could replace the key", problem.Message);
    }

    [Fact]
    public void KeyRead_SymlinkToWorldWritableFile_JudgesTheTarget()
    {
        var target = _dir["shared.key"];
        File.WriteAllText(target, "key");
        File.SetUnixFileMode(target, (UnixFileMode)0x1B6);
        var link = _dir["alex.key"];
        File.CreateSymbolicLink(link, target);

        var facts = KeyFileProtection.Read(link)!;
        Assert.Equal(target, facts.ResolvedPath);
        var problem = KeyFileProtection.Check(facts)!;
        Assert.StartsWith($"{link} (a link to {target}): the private key is readable or writable by others (mode 0666)", problem.Message, StringComparison.Ordinal);
        Assert.Equal($"chmod 600 {target}", problem.Hint);
    }

    [Fact]
    public void KeyRead_RealFile_OwnerAndModeAsOnDisk()
    {
        var key = _dir["alex.key"];
        File.WriteAllText(key, "key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var facts = KeyFileProtection.Read(key)!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, facts.Mode);
        Assert.Equal(facts.UserId, facts.OwnerId);
        Assert.Null(KeyFileProtection.Check(facts));
    }

    [Theory]
    [InlineData(-400, -1, "expired on")]
    [InlineData(1, 365, "is not valid until")]
    public void ServingCertificate_OutsideItsDates_Refused(int fromDays, int toDays, string text)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=alex", key, HashAlgorithmName.SHA256).CreateSelfSigned(Now.AddDays(fromDays), Now.AddDays(toDays));
        var problem = ServingCertificate.Check(cert, "alex.crt", Now)!;
        Assert.Contains(text, problem.Message, StringComparison.Ordinal);
        Assert.StartsWith("alex.crt: the server's certificate", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ServingCertificate_Rsa1024_RefusedAsOpenSslWould()
    {
        using var key = RSA.Create(1024);
        using var cert = new CertificateRequest("CN=alex", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        var problem = ServingCertificate.Check(cert, "alex.crt", Now)!;
        Assert.Contains("1024-bit RSA key is too small", problem.Message, StringComparison.Ordinal);
        Assert.Contains("ee key too small", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ServingCertificate_EcP256InDate_Accepted()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=alex", key, HashAlgorithmName.SHA256).CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        Assert.Null(ServingCertificate.Check(cert, "alex.crt", Now));
    }

    [Fact]
    public void CrlSource_OlderCrlAfterNewer_RefusedAlsoAfterARestart()
    {
        var time = new FakeTimeProvider(Now);
        var ca = CertificateAuthority.Create(_dir["ca"], "Rollback CA", KeySpec.EcdsaP256, 365, null, false, time);
        var firstCrl = File.ReadAllBytes(ca.CrlPath);
        var laptop = ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, _dir["l.key"], _dir["l.crt"], null, false).Certificate;
        ca.Revoke(laptop.SerialNumber, X509RevocationReason.KeyCompromise);
        var memory = CrlSource.MemoryPathFor(ca.CrlPath);
        var authorities = new X509Certificate2Collection(ca.Certificate);

        var source = CrlSource.FromFile(ca.CrlPath, memory, authorities);
        Assert.NotNull(source.Current().List);
        Assert.Equal("2", File.ReadAllText(memory).Trim());

        // Number 1 from `pki init`, signed by the same CA, put back.
        File.WriteAllBytes(ca.CrlPath, firstCrl);
        File.SetLastWriteTimeUtc(ca.CrlPath, DateTime.UtcNow.AddMinutes(1));
        var rolledBack = source.Current();
        Assert.Null(rolledBack.List);
        Assert.Equal(TrustFailure.CrlInvalid, rolledBack.Failure);
        Assert.Equal($"{ca.CrlPath} is CRL number 1, older than number 2 seen before: a rolled-back CRL would let revoked certificates back in", rolledBack.Problem);

        // A new process (a restart) remembers.
        var restarted = CrlSource.FromFile(ca.CrlPath, memory, authorities);
        Assert.Equal(TrustFailure.CrlInvalid, restarted.Current().Failure);
        Assert.Equal("2", File.ReadAllText(memory).Trim());
    }

    [Fact]
    public void CrlSource_ForgedCrlWithAHighNumber_DoesNotRaiseTheMemory()
    {
        var time = new FakeTimeProvider(Now);
        var ca = CertificateAuthority.Create(_dir["ca"], "Real CA", KeySpec.EcdsaP256, 365, null, false, time);
        var other = CertificateAuthority.Create(_dir["other"], "Other CA", KeySpec.EcdsaP256, 365, null, false, time);
        for (var i = 0; i < 5; i++)
        {
            other.WriteCrl();
        }

        var crl = _dir["crl.pem"];
        File.Copy(other.CrlPath, crl);
        var memory = CrlSource.MemoryPathFor(crl);
        CrlSource.FromFile(crl, memory, new X509Certificate2Collection(ca.Certificate)).Current();
        Assert.False(File.Exists(memory));
    }

    [Theory]
    [InlineData(2, null, null)]
    [InlineData(2, 2, null)]
    [InlineData(3, 2, null)]
    [InlineData(1, 2, "crl.pem is CRL number 1, older than number 2 seen before: a rolled-back CRL would let revoked certificates back in")]
    [InlineData(null, 2, "crl.pem has no CRL number, but CRL number 2 was seen before: an older list could let revoked certificates back in")]
    public void CrlRollback_Rule(int? number, int? highest, string? problem)
    {
        Assert.Equal(problem, CrlRollback.Problem("crl.pem", number, highest));
    }
}
