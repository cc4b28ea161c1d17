using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki.Tests;

/// <summary>Bad input gets a one-line error naming the file, and nothing half-written is left behind.</summary>
public sealed class HostileFileTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly CertificateAuthority _ca;

    public HostileFileTests()
    {
        _ca = CertificateAuthority.Create(_dir["ca"], "Test CA", KeySpec.EcdsaP256, 100, null, force: false);
        _ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, _dir["laptop.key"], _dir["laptop.crt"], null, force: false);
        _ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex" }, _dir["alex.key"], _dir["alex.crt"], null, force: false);
    }

    public void Dispose() => _dir.Dispose();

    private static void AssertOneLineNaming(PkiException e, string path, string words)
    {
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(words, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var path = _dir["nothing.crt"];
        AssertOneLineNaming(Assert.Throws<PkiException>(() => CertificateFile.Load(path)), path, "no such certificate file");
        AssertOneLineNaming(Assert.Throws<PkiException>(() => PrivateKeyFile.Load(path)), path, "no such private key file");
        AssertOneLineNaming(Assert.Throws<PkiException>(() => CertificateRevocationList.Load(path)), path, "no such CRL file");
    }

    [Fact]
    public void Load_Directory_NamesIt()
    {
        AssertOneLineNaming(Assert.Throws<PkiException>(() => CertificateFile.Load(_dir.Path)), _dir.Path, "is a directory");
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello world\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIBAAAA\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n")]
    public void LoadCertificate_CorruptPem_OneLineError(string content)
    {
        var path = _dir["bad.crt"];
        File.WriteAllText(path, content);
        var e = Assert.Throws<PkiException>(() => CertificateFile.Load(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificate_TruncatedAtEveryLine_OneLineErrorNeverCrash()
    {
        var lines = File.ReadAllLines(_dir["laptop.crt"]);
        for (var keep = 0; keep < lines.Length; keep++)
        {
            var path = _dir[$"cut{keep}.crt"];
            File.WriteAllLines(path, lines[..keep]);
            var e = Assert.Throws<PkiException>(() => CertificateFile.Load(path));
            Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Load_KeyGivenAsCertificateAndBack_SaysWhichIsWhich()
    {
        var e = Assert.Throws<PkiException>(() => CertificateFile.Load(_dir["laptop.key"]));
        Assert.Contains("contains no certificate", e.Message, StringComparison.Ordinal);
        Assert.Contains("key", e.Hint, StringComparison.Ordinal);
        var k = Assert.Throws<PkiException>(() => PrivateKeyFile.Load(_dir["laptop.crt"]));
        Assert.Contains("contains no private key", k.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadCertificateWithKey_KeyOfAnotherCertificate_Refused()
    {
        var e = Assert.Throws<PkiException>(() => PrivateKeyFile.LoadCertificateWithKey(_dir["laptop.crt"], _dir["alex.key"]));
        AssertOneLineNaming(e, _dir["alex.key"], "does not belong to the certificate");
        using var ok = PrivateKeyFile.LoadCertificateWithKey(_dir["laptop.crt"], _dir["laptop.key"]);
        Assert.True(ok.HasPrivateKey);
    }

    [Fact]
    public void LoadKey_WrongOrMissingPassphrase_SaysSo()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PrivateKeyFile.Save(_dir["enc.key"], key, "right passphrase", overwrite: false);
        Assert.True(PrivateKeyFile.IsEncrypted(_dir["enc.key"]));
        AssertOneLineNaming(Assert.Throws<PkiException>(() => PrivateKeyFile.Load(_dir["enc.key"], "wrong")), _dir["enc.key"], "wrong passphrase");
        AssertOneLineNaming(Assert.Throws<PkiException>(() => PrivateKeyFile.Load(_dir["enc.key"])), _dir["enc.key"], "encrypted and no passphrase");
        using var back = PrivateKeyFile.Load(_dir["enc.key"], "right passphrase");
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), back.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void LoadKey_LegacyOpenSslEncryption_ExplainsHowToConvert()
    {
        OpenSsl.Ok(_dir.Path, "genrsa", "-traditional", "-aes256", "-passout", "pass:secret", "-out", "legacy.key", "2048");
        var e = Assert.Throws<PkiException>(() => PrivateKeyFile.Load(_dir["legacy.key"], "secret"));
        AssertOneLineNaming(e, _dir["legacy.key"], "legacy format");
        Assert.Contains("openssl pkcs8 -topk8", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadKey_CourseTraditionalRsaKey_IsRead()
    {
        OpenSsl.Ok(_dir.Path, "genrsa", "-traditional", "-out", "course.key", "2048");
        Assert.Contains("BEGIN RSA PRIVATE KEY", File.ReadAllText(_dir["course.key"]), StringComparison.Ordinal);
        using var key = PrivateKeyFile.Load(_dir["course.key"]);
        Assert.IsAssignableFrom<RSA>(key);
    }

    [Fact]
    public void Issue_ExistingKey_NeverOverwrittenWithoutForce()
    {
        var before = File.ReadAllBytes(_dir["laptop.key"]);
        var request = new IssueRequest { Role = CertificateRole.Client, Name = "laptop" };
        var e = Assert.Throws<PkiException>(() => _ca.Issue(request, _dir["laptop.key"], _dir["laptop.crt"], null, force: false));
        Assert.Contains("--force", e.Hint, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_dir["laptop.key"]));

        _ca.Issue(request, _dir["laptop.key"], _dir["laptop.crt"], null, force: true);
        Assert.NotEqual(before, File.ReadAllBytes(_dir["laptop.key"]));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void Init_ExistingCa_RefusedWithoutForce()
    {
        var before = File.ReadAllBytes(_ca.KeyPath);
        var e = Assert.Throws<PkiException>(() => CertificateAuthority.Create(_dir["ca"], "Other", KeySpec.EcdsaP256, 10, null, force: false));
        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(_ca.KeyPath));
    }

    [Fact]
    public void Issue_UnwritableDirectory_LeavesNoKeyBehind()
    {
        var locked = _dir["locked"];
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            if (Environment.UserName == "root")
            {
                // root ignores directory modes; a file in the way of the certificate makes the write fail instead.
                File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                Directory.CreateDirectory(Path.Combine(locked, "x.crt"));
            }

            var request = new IssueRequest { Role = CertificateRole.Client, Name = "x" };
            Assert.Throws<PkiException>(() => _ca.Issue(request, Path.Combine(locked, "x.key"), Path.Combine(locked, "x.crt"), null, force: true));
            Assert.False(File.Exists(Path.Combine(locked, "x.key")));
            Assert.Empty(Directory.GetFiles(locked, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Fact]
    public void Open_CaKeyOfAnotherCa_RefusedWhenSigning()
    {
        using var other = new TempDir();
        var otherCa = CertificateAuthority.Create(other["ca"], "Other", KeySpec.EcdsaP256, 10, null, force: false);
        File.Copy(otherCa.KeyPath, _ca.KeyPath, overwrite: true);
        var reopened = CertificateAuthority.Open(_dir["ca"]);
        var e = Assert.Throws<PkiException>(() => reopened.WriteCrl());
        AssertOneLineNaming(e, _ca.KeyPath, "does not belong to the CA certificate");
    }

    [Fact]
    public void Open_EncryptedCaKey_AsksForThePassphraseOnlyWhenSigning()
    {
        using var dir = new TempDir();
        CertificateAuthority.Create(dir.Path, "Locked CA", KeySpec.EcdsaP256, 10, "ca passphrase", force: false);
        var asked = 0;
        var ca = CertificateAuthority.Open(dir.Path, () => { asked++; return "ca passphrase"; });
        Assert.NotEmpty(ca.Issued());
        Assert.Equal(0, asked);
        ca.WriteCrl();
        Assert.Equal(1, asked);

        var wrong = CertificateAuthority.Open(dir.Path, () => "nope");
        AssertOneLineNaming(Assert.Throws<PkiException>(() => wrong.WriteCrl()), Path.Combine(dir.Path, "signing.key"), "wrong passphrase");
    }

    [Fact]
    public void Revoke_UnknownSerialOrTheCa_Refused()
    {
        Assert.Contains("was not issued", Assert.Throws<PkiException>(() => _ca.Revoke("0123ABCD", X509RevocationReason.Unspecified)).Message, StringComparison.Ordinal);
        Assert.Contains("cannot revoke itself", Assert.Throws<PkiException>(() => _ca.Revoke(_ca.Certificate.SerialNumber, X509RevocationReason.Unspecified)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ledger_Damaged_NamesTheFile()
    {
        File.WriteAllText(Path.Combine(_dir["ca"], CertificateLedger.FileName), "{ not json");
        var e = Assert.Throws<PkiException>(() => _ca.Issued());
        Assert.Contains(CertificateLedger.FileName, e.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_NameOutOfRange_Refused()
    {
        foreach (var name in new[] { "", " laptop", "lap\ntop", new string('a', 65), "läptop" })
        {
            Assert.Throws<PkiException>(() => _ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = name }, _dir["n.key"], _dir["n.crt"], null, force: true));
        }

        Assert.False(File.Exists(_dir["n.key"]));
    }

    [Fact]
    public void Issue_DaysBeyondTheCa_ClampedWithANote()
    {
        var issued = _ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "long", Days = 1000 }, _dir["long.key"], _dir["long.crt"], null, force: false);
        Assert.Equal(_ca.Certificate.NotAfter, issued.Certificate.NotAfter);
        Assert.Contains(issued.Notes, n => n.Contains("ends with the CA", StringComparison.Ordinal));
    }
}
