using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki.Tests;

/// <summary>The real `openssl` (3.0) CLI reads, verifies and accepts everything `alex pki` writes.</summary>
public sealed class OpenSslInteropTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private CertificateAuthority NewCa(KeySpec? key = null, string? passphrase = null) =>
        CertificateAuthority.Create(_dir.Path, "Team 7 CA", key ?? KeySpec.EcdsaP256, 1825, passphrase, force: false);

    private IssuedCertificate Issue(CertificateAuthority ca, CertificateRole role, string name, string stem, KeySpec? key = null, string? passphrase = null) =>
        ca.Issue(new IssueRequest { Role = role, Name = name, Key = key ?? KeySpec.EcdsaP256, IpAddresses = role == CertificateRole.Server ? [System.Net.IPAddress.Loopback] : [] },
            _dir[stem + ".key"], _dir[stem + ".crt"], passphrase, force: false);

    [Fact]
    public void Init_OpenSslShowsCaExtensions()
    {
        NewCa();
        var text = OpenSsl.Ok(_dir.Path, "x509", "-in", "signing.pem", "-noout", "-text").Output;
        Assert.Contains("Version: 3", text, StringComparison.Ordinal);
        Assert.Contains("X509v3 Basic Constraints: critical", text, StringComparison.Ordinal);
        Assert.Contains("CA:TRUE", text, StringComparison.Ordinal);
        Assert.Contains("X509v3 Key Usage: critical", text, StringComparison.Ordinal);
        Assert.Contains("Certificate Sign, CRL Sign", text, StringComparison.Ordinal);
        Assert.Contains("X509v3 Subject Key Identifier", text, StringComparison.Ordinal);
        Assert.Contains("ASN1 OID: prime256v1", text, StringComparison.Ordinal);
        Assert.Contains("Subject: CN = Team 7 CA", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Issue_ServerAndClient_OpenSslVerifiesPurposeAndShowsExtensions(bool rsa)
    {
        var key = rsa ? KeySpec.Rsa(2048) : KeySpec.EcdsaP256;
        var ca = NewCa(key);
        Issue(ca, CertificateRole.Server, "alex.epp.com", "alex", key);
        Issue(ca, CertificateRole.Client, "Alex Laptop", "laptop", key);

        Assert.Contains("alex.crt: OK", OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-purpose", "sslserver", "alex.crt").Output, StringComparison.Ordinal);
        Assert.Contains("laptop.crt: OK", OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-purpose", "sslclient", "laptop.crt").Output, StringComparison.Ordinal);
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-verify_hostname", "alex.epp.com", "alex.crt");
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-verify_ip", "127.0.0.1", "alex.crt");

        // The wrong purpose is refused by openssl too.
        Assert.NotEqual(0, OpenSsl.Run(_dir.Path, "verify", "-CAfile", "signing.pem", "-purpose", "sslclient", "alex.crt").ExitCode);

        var server = OpenSsl.Ok(_dir.Path, "x509", "-in", "alex.crt", "-noout", "-text").Output;
        Assert.Contains("TLS Web Server Authentication", server, StringComparison.Ordinal);
        Assert.Contains("DNS:alex.epp.com, IP Address:127.0.0.1", server, StringComparison.Ordinal);
        Assert.Contains("Digital Signature", server, StringComparison.Ordinal);
        Assert.Contains("X509v3 Authority Key Identifier", server, StringComparison.Ordinal);
        Assert.Contains("CA:FALSE", server, StringComparison.Ordinal);
        Assert.Contains(rsa ? "sha256WithRSAEncryption" : "ecdsa-with-SHA256", server, StringComparison.Ordinal);

        var client = OpenSsl.Ok(_dir.Path, "x509", "-in", "laptop.crt", "-noout", "-text").Output;
        Assert.Contains("TLS Web Client Authentication", client, StringComparison.Ordinal);
        Assert.Contains("DNS:Alex Laptop", client, StringComparison.Ordinal);
        Assert.Contains("Subject: CN = Alex Laptop", client, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue_Certificate_IsBackdatedAndHasPositiveRandomSerial()
    {
        var ca = NewCa();
        var before = DateTimeOffset.UtcNow;
        var a = Issue(ca, CertificateRole.Client, "a", "a").Certificate;
        var b = Issue(ca, CertificateRole.Client, "b", "b").Certificate;
        Assert.NotEqual(a.SerialNumber, b.SerialNumber);
        Assert.Equal(32, a.SerialNumber.Length);
        Assert.InRange(Convert.ToByte(a.SerialNumber[..2], 16), 0x40, 0x7F);
        Assert.True(a.NotBefore.ToUniversalTime() <= before.UtcDateTime - TimeSpan.FromMinutes(4));
        Assert.InRange((a.NotAfter.ToUniversalTime() - before.UtcDateTime).TotalDays, 364.9, 365.1);
        var serial = OpenSsl.Ok(_dir.Path, "x509", "-in", "a.crt", "-noout", "-serial").Output.Trim();
        Assert.Equal("serial=" + a.SerialNumber, serial);
    }

    [Fact]
    public void Revoke_OpenSslCrlCheck_FailsWithError23()
    {
        var ca = NewCa();
        var laptop = Issue(ca, CertificateRole.Client, "laptop", "laptop");
        Issue(ca, CertificateRole.Server, "alex.epp.com", "alex");
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "laptop.crt");

        ca.Revoke(laptop.Certificate.SerialNumber, X509RevocationReason.KeyCompromise);
        var revoked = OpenSsl.Run(_dir.Path, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "laptop.crt");
        Assert.NotEqual(0, revoked.ExitCode);
        Assert.Contains("error 23", revoked.All, StringComparison.Ordinal);
        Assert.Contains("certificate revoked", revoked.All, StringComparison.Ordinal);

        // The other certificate is still fine.
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "alex.crt");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Crl_OpenSslVerifiesSignatureNumberAndReason(bool rsa)
    {
        var ca = NewCa(rsa ? KeySpec.Rsa(2048) : KeySpec.EcdsaP256);
        var laptop = Issue(ca, CertificateRole.Client, "laptop", "laptop");
        ca.Revoke(laptop.Certificate.SerialNumber, X509RevocationReason.Superseded);
        var result = OpenSsl.Ok(_dir.Path, "crl", "-in", "crl.pem", "-CAfile", "signing.pem", "-noout", "-text");
        Assert.Contains("verify OK", result.All, StringComparison.Ordinal);
        Assert.Contains("X509v3 CRL Number", result.Output, StringComparison.Ordinal);
        Assert.Contains("Superseded", result.Output, StringComparison.Ordinal);
        Assert.Contains("Serial Number: " + laptop.Certificate.SerialNumber, result.Output, StringComparison.Ordinal);
        Assert.Contains("Next Update", result.Output, StringComparison.Ordinal);

        // And our own parser reads the same facts back.
        var crl = CertificateRevocationList.Load(ca.CrlPath);
        Assert.True(crl.IsSignedBy(ca.Certificate));
        Assert.Equal(2, (int)crl.CrlNumber!.Value);
        Assert.Equal(X509RevocationReason.Superseded, crl.Find(laptop.Certificate.SerialNumber)!.Reason);
    }

    [Fact]
    public void Keys_OpenSslPkeyReadsThem_EncryptedOnlyWithThePassphrase()
    {
        var ca = NewCa(passphrase: "ca secret phrase");
        Issue(ca, CertificateRole.Client, "laptop", "laptop", passphrase: "laptop secret");
        Issue(ca, CertificateRole.Server, "alex.epp.com", "alex", KeySpec.Rsa(2048));

        OpenSsl.Ok(_dir.Path, "pkey", "-in", "alex.key", "-noout");
        OpenSsl.Ok(_dir.Path, "pkey", "-in", "laptop.key", "-passin", "pass:laptop secret", "-noout");
        OpenSsl.Ok(_dir.Path, "pkey", "-in", "signing.key", "-passin", "pass:ca secret phrase", "-noout");
        Assert.NotEqual(0, OpenSsl.Run(_dir.Path, "pkey", "-in", "laptop.key", "-passin", "pass:wrong", "-noout").ExitCode);
        Assert.Contains("BEGIN ENCRYPTED PRIVATE KEY", File.ReadAllText(_dir["laptop.key"]), StringComparison.Ordinal);

        // The key openssl reads is the certificate's key.
        var fromKey = OpenSsl.Ok(_dir.Path, "pkey", "-in", "alex.key", "-pubout").Output;
        var fromCert = OpenSsl.Ok(_dir.Path, "x509", "-in", "alex.crt", "-noout", "-pubkey").Output;
        Assert.Equal(fromCert, fromKey);

        foreach (var key in new[] { "signing.key", "laptop.key", "alex.key" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDir.ModeOf(_dir[key]));
        }
    }

    [Fact]
    public void Csr_OpenSslReqVerifiesIt_AndOurSignAcceptsIt()
    {
        var ca = NewCa();
        CertificateSigningRequest.Create("laptop", [], [], KeySpec.EcdsaP256, _dir["mine.key"], _dir["mine.csr"], null, force: false);
        Assert.Contains("verify OK", OpenSsl.Ok(_dir.Path, "req", "-in", "mine.csr", "-verify", "-noout").All, StringComparison.Ordinal);
        Assert.Contains("CN = laptop", OpenSsl.Ok(_dir.Path, "req", "-in", "mine.csr", "-noout", "-subject").Output, StringComparison.Ordinal);

        var issued = ca.SignRequest(_dir["mine.csr"], CertificateRole.Client, 30, _dir["mine.crt"], force: false);
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-purpose", "sslclient", "mine.crt");
        using var key = PrivateKeyFile.Load(_dir["mine.key"]);
        Assert.True(PrivateKeyFile.Matches(issued.Certificate, key));
    }

    [Theory]
    [InlineData("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")]
    [InlineData("-newkey", "rsa:2048", "", "")]
    public void Sign_CsrMadeByOpenSslReq_IsSignedAndVerifies(string a, string b, string c, string d)
    {
        var ca = NewCa();
        var args = new List<string> { "req", "-new", a, b };
        if (c.Length > 0)
        {
            args.AddRange([c, d]);
        }

        args.AddRange(["-nodes", "-keyout", "pi.key", "-out", "pi.csr", "-subj", "/CN=alex.epp.com", "-addext", "subjectAltName=DNS:alex.epp.com,DNS:alex,IP:10.0.0.7"]);
        OpenSsl.Ok(_dir.Path, [.. args]);

        var issued = ca.SignRequest(_dir["pi.csr"], CertificateRole.Server, 30, _dir["pi.crt"], force: false);
        var facts = CertificateFacts.From(issued.Certificate);
        Assert.Equal(["alex.epp.com", "alex"], facts.DnsNames);
        Assert.Equal("10.0.0.7", Assert.Single(facts.IpAddresses).ToString());
        OpenSsl.Ok(_dir.Path, "verify", "-CAfile", "signing.pem", "-purpose", "sslserver", "-verify_hostname", "alex", "pi.crt");
        using var cert = PrivateKeyFile.LoadCertificateWithKey(_dir["pi.crt"], _dir["pi.key"]);
        Assert.True(cert.HasPrivateKey);
    }

    [Fact]
    public void Sign_ClientCsrAskingForExtraNames_GetsOnlyItsCn()
    {
        var ca = NewCa();
        OpenSsl.Ok(_dir.Path, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "l.key", "-out", "l.csr",
            "-subj", "/CN=team3-laptop", "-addext", "subjectAltName=DNS:team7-laptop");
        var issued = ca.SignRequest(_dir["l.csr"], CertificateRole.Client, 30, _dir["l.crt"], force: false);
        Assert.Equal(["team3-laptop"], CertificateFacts.From(issued.Certificate).DnsNames);
        Assert.Contains(issued.Notes, n => n.Contains("team7-laptop", StringComparison.Ordinal));
    }

    [Fact]
    public void Sign_CsrAskingToBeCa_Refused()
    {
        var ca = NewCa();
        OpenSsl.Ok(_dir.Path, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "evil.key", "-out", "evil.csr",
            "-subj", "/CN=evil", "-addext", "basicConstraints=critical,CA:TRUE");
        var e = Assert.Throws<PkiException>(() => ca.SignRequest(_dir["evil.csr"], CertificateRole.Client, 30, _dir["evil.crt"], force: false));
        Assert.Contains("asks to be a CA", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir["evil.crt"]));
    }

    [Fact]
    public void Sign_CsrWithBrokenSignature_Refused()
    {
        var ca = NewCa();
        OpenSsl.Ok(_dir.Path, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "x.key", "-out", "x.csr", "-subj", "/CN=laptop");
        var der = OpenSsl.Ok(_dir.Path, "req", "-in", "x.csr", "-outform", "DER", "-out", "x.der").ExitCode;
        Assert.Equal(0, der);
        var bytes = File.ReadAllBytes(_dir["x.der"]);
        bytes[^5] ^= 0x01; // inside the signature
        File.WriteAllBytes(_dir["x.der"], bytes);
        var e = Assert.Throws<PkiException>(() => ca.SignRequest(_dir["x.der"], CertificateRole.Client, 30, _dir["x.crt"], force: false));
        Assert.Contains("x.der", e.Message, StringComparison.Ordinal);
        Assert.Contains("signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_CsrWithRsa1024_RefusedAsWeak()
    {
        var ca = NewCa();
        OpenSsl.Ok(_dir.Path, "req", "-new", "-newkey", "rsa:1024", "-nodes", "-keyout", "w.key", "-out", "w.csr", "-subj", "/CN=laptop");
        var e = Assert.Throws<PkiException>(() => ca.SignRequest(_dir["w.csr"], CertificateRole.Client, 30, _dir["w.crt"], force: false));
        Assert.Contains("1024", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_AcceptsWhatOpenSslAccepts_ForOurCertificates()
    {
        var ca = NewCa();
        var laptop = Issue(ca, CertificateRole.Client, "laptop", "laptop");
        var policy = TrustPolicy.FromFiles(_dir["signing.pem"], _dir["crl.pem"], AllowList.Parse(["laptop"]));
        Assert.True(policy.EvaluateClient(laptop.Certificate, null).Accepted);
        ca.Revoke(laptop.Certificate.SerialNumber, X509RevocationReason.KeyCompromise);
        Assert.Equal(TrustFailure.Revoked, policy.EvaluateClient(laptop.Certificate, null).Failure);
    }
}
