
namespace Alex.Pki.Tests;

/// <summary>The `alex pki` commands as a user runs them: the real executable, real files, real openssl.</summary>
public sealed class PkiCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private AlexCli.Run Alex(params string[] args) => new AlexCli(_dir.Path).Alex(args);

    private AlexCli.Run Ok(params string[] args) => new AlexCli(_dir.Path).Ok(args);

    [Fact]
    public void Help_ShowsExamplesFirst()
    {
        var help = Ok("pki", "--help").Output;
        Assert.Contains("Examples:", help, StringComparison.Ordinal);
        Assert.True(help.IndexOf("Examples:", StringComparison.Ordinal) < help.IndexOf("Usage:", StringComparison.Ordinal));
        foreach (var command in new[] { "init", "issue", "csr", "sign", "revoke", "crl", "list", "show", "verify" })
        {
            Assert.Contains($"alex pki {command}", help, StringComparison.Ordinal);
        }

        Assert.Contains("365", Ok("pki", "issue", "client", "--help").Output, StringComparison.Ordinal);
    }

    [Fact]
    public void InitIssueRevoke_TheCourseFiles_OpenSslAgrees()
    {
        Ok("pki", "init", "--dir", "pki", "--name", "Team 7 CA");
        Ok("pki", "issue", "server", "alex.epp.com", "--ip", "127.0.0.1");
        Ok("pki", "issue", "client", "laptop");
        foreach (var file in new[] { "signing.key", "signing.pem", "crl.pem", "alex.key", "alex.crt", "laptop.key", "laptop.crt", "issued.json" })
        {
            Assert.True(File.Exists(_dir[Path.Combine("pki", file)]), file);
        }

        var pki = _dir["pki"];
        OpenSsl.Ok(pki, "verify", "-CAfile", "signing.pem", "-purpose", "sslserver", "-verify_hostname", "alex.epp.com", "alex.crt");
        OpenSsl.Ok(pki, "verify", "-CAfile", "signing.pem", "-purpose", "sslclient", "-crl_check", "-CRLfile", "crl.pem", "laptop.crt");
        Assert.Contains("OK pki/laptop.crt: accepted client 'laptop'", Ok("pki", "verify", "pki/laptop.crt").Output, StringComparison.Ordinal);

        var revoke = Ok("pki", "revoke", "laptop", "--reason", "keyCompromise");
        Assert.Contains("revoked 'laptop'", revoke.Output, StringComparison.Ordinal);
        Assert.Contains("error 23", OpenSsl.Run(pki, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "laptop.crt").All, StringComparison.Ordinal);

        var verify = Alex("pki", "verify", "pki/laptop.crt");
        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("was revoked on", verify.Error, StringComparison.Ordinal);
        Assert.Contains("keyCompromise", verify.Error, StringComparison.Ordinal);

        var list = Ok("pki", "list").Output;
        Assert.Contains("alex.epp.com", list, StringComparison.Ordinal);
        Assert.Matches("laptop +client +[0-9A-F]+ +\\d{4}-\\d\\d-\\d\\d +revoked", list);
    }

    [Fact]
    public void Issue_ExistingKey_ExitTwoWithOneLineAndHint()
    {
        Ok("pki", "init", "--dir", "pki");
        Ok("pki", "issue", "client", "laptop");
        var before = File.ReadAllBytes(_dir["pki/laptop.key"]);
        var again = Alex("pki", "issue", "client", "laptop");
        Assert.Equal(2, again.ExitCode);
        Assert.Equal(
            "alex: pki/laptop.key: the key file already exists; not overwriting it\nhint: pass --force to replace it, or choose another name with --out\n",
            again.Error);
        Assert.Equal(before, File.ReadAllBytes(_dir["pki/laptop.key"]));
        Ok("pki", "issue", "client", "laptop", "--force");
        Assert.NotEqual(before, File.ReadAllBytes(_dir["pki/laptop.key"]));
    }

    [Fact]
    public void Issue_FilesNamedAfterName_NeverAnotherDevicesKey()
    {
        Ok("pki", "init", "--dir", "pki");
        Ok("pki", "issue", "server", "alex.epp.com", "--ip", "127.0.0.1");
        Ok("pki", "issue", "client", "laptop");
        var laptopKey = File.ReadAllBytes(_dir["pki/laptop.key"]);
        Ok("pki", "issue", "client", "mallory");
        Ok("pki", "issue", "client", "laptop2");
        Ok("pki", "issue", "client", "Team 7 Laptop");
        foreach (var stem in new[] { "alex", "laptop", "mallory", "laptop2", "team-7-laptop" })
        {
            Assert.True(File.Exists(_dir[$"pki/{stem}.key"]), stem);
            Assert.True(File.Exists(_dir[$"pki/{stem}.crt"]), stem);
        }

        Assert.Equal(laptopKey, File.ReadAllBytes(_dir["pki/laptop.key"]));
        Ok("pki", "issue", "client", "Mallory", "--out", "elsewhere/m");
        Assert.True(File.Exists(_dir["elsewhere/m.crt"]));
    }

    [Fact]
    public void CsrThenSign_KeyStaysHome_EncryptedKeyReadByOpenSsl()
    {
        Ok("pki", "init", "--dir", "ca");
        File.WriteAllText(_dir["pw"], "laptop passphrase\n");
        var csr = Ok("pki", "csr", "Alex Laptop", "--dir", "home", "--encrypt-key", "--passphrase-file", "pw").Output;
        Assert.Contains("verify OK", OpenSsl.Ok(_dir.Path, "req", "-in", "home/alex-laptop.csr", "-verify", "-noout").All, StringComparison.Ordinal);
        OpenSsl.Ok(_dir.Path, "pkey", "-in", "home/alex-laptop.key", "-passin", "pass:laptop passphrase", "-noout");

        var noRole = Alex("pki", "sign", "home/alex-laptop.csr", "--dir", "ca");
        Assert.Equal(2, noRole.ExitCode);
        Assert.StartsWith("alex: say what the certificate is for", noRole.Error, StringComparison.Ordinal);

        // The sign command the csr step printed works as printed (here the CA is in ca/).
        var printed = csr.Split('\n').Single(l => l.StartsWith("next: ", StringComparison.Ordinal));
        var command = printed[(printed.IndexOf("runs: alex ", StringComparison.Ordinal) + "runs: alex ".Length)..];
        Assert.Equal("pki sign home/alex-laptop.csr --client", command);
        Ok([.. RevocationDurabilityTests.Words(command), "--dir", "ca"]);
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "ca/signing.pem", "-purpose", "sslclient", "home/alex-laptop.crt");
        Ok("pki", "verify", "home/alex-laptop.crt", "--dir", "ca", "--key", "home/alex-laptop.key", "--passphrase-file", "pw", "--allow", "alex laptop=watch");

        File.WriteAllText(_dir["bad"], "wrong\n");
        var wrong = Alex("pki", "verify", "home/alex-laptop.crt", "--dir", "ca", "--key", "home/alex-laptop.key", "--passphrase-file", "bad");
        Assert.Equal(2, wrong.ExitCode);
        Assert.StartsWith("alex: home/alex-laptop.key: wrong passphrase", wrong.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_OtherCaAndWrongUsage_OneLineEach()
    {
        Ok("pki", "init", "--dir", "a");
        Ok("pki", "init", "--dir", "b");
        Ok("pki", "issue", "server", "alex.epp.com", "--dir", "b");
        var run = Alex("pki", "verify", "b/alex.crt", "--dir", "a", "--client");
        Assert.Equal(1, run.ExitCode);
        var lines = run.Error.TrimEnd('\n').Split('\n');
        Assert.Contains(lines, l => l.Contains("unknown CA", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("is not for clientAuth", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.StartsWith("alex: b/alex.crt (client): ", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_CourseCertificate_LegacyFlagDecides()
    {
        OpenSsl.MakeCourseCa(_dir.Path);
        OpenSsl.MakeCourseDevice(_dir.Path, "laptop", "Alex Laptop");
        var strict = Alex("pki", "verify", "laptop.crt", "--ca", "signing.pem");
        Assert.Equal(1, strict.ExitCode);
        Assert.Contains("accepted only in legacy mode", strict.Error, StringComparison.Ordinal);
        Ok("pki", "verify", "laptop.crt", "--ca", "signing.pem", "--legacy", "--allow", "alex laptop");
    }

    [Fact]
    public void Show_CertificateCsrCrl_ReadableSummary()
    {
        Ok("pki", "init", "--dir", "pki");
        Ok("pki", "issue", "client", "laptop");
        var cert = Ok("pki", "show", "pki/laptop.crt").Output;
        Assert.Contains("client (laptop)", cert, StringComparison.Ordinal);
        Assert.Contains("expires in 364 days", cert, StringComparison.Ordinal);
        Assert.Contains("DNS:laptop", cert, StringComparison.Ordinal);
        var fingerprint = OpenSsl.Ok(_dir["pki"], "x509", "-in", "laptop.crt", "-noout", "-fingerprint", "-sha256").Output.Trim().Split('=')[1];
        Assert.Contains(fingerprint, cert, StringComparison.Ordinal);
        Assert.Contains("CRL number", Ok("pki", "show", "pki/crl.pem").Output, StringComparison.Ordinal);

        File.WriteAllText(_dir["junk.pem"], "-----BEGIN CERTIFICATE-----\nAAAA");
        var junk = Alex("pki", "show", "junk.pem");
        Assert.Equal(2, junk.ExitCode);
        Assert.StartsWith("alex: junk.pem: ", junk.Error, StringComparison.Ordinal);
        Assert.Equal(2, junk.Error.TrimEnd('\n').Split('\n').Length); // the error and its hint
    }
}
