using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Pki.Tests;

public sealed class CertificateRevocationListTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 10, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly CertificateAuthority _ca;
    private readonly X509Certificate2 _laptop;

    public CertificateRevocationListTests()
    {
        _ca = CertificateAuthority.Create(_dir["ca"], "CRL CA", KeySpec.EcdsaP256, 365, null, false, _time);
        _laptop = _ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, _dir["l.key"], _dir["l.crt"], null, false).Certificate;
        _ca.Revoke(_laptop.SerialNumber, X509RevocationReason.CessationOfOperation);
    }

    public void Dispose() => _dir.Dispose();

    private byte[] Der => CertificateRevocationList.Load(_ca.CrlPath).RawData;

    [Fact]
    public void Parse_OurCrl_ReadsEveryField()
    {
        var crl = CertificateRevocationList.Parse(Der);
        Assert.Equal("CN=CRL CA", crl.Issuer.Name);
        Assert.Equal(_time.GetUtcNow() - CertificateAuthority.Backdate, crl.ThisUpdate);
        Assert.Equal(_time.GetUtcNow().AddDays(CertificateAuthority.DefaultCrlDays), crl.NextUpdate);
        Assert.Equal(2, (int)crl.CrlNumber!.Value);
        var entry = Assert.Single(crl.Revoked);
        Assert.Equal(CertificateRevocationList.NormalizeSerial(_laptop.SerialNumber), entry.SerialHex);
        Assert.Equal(X509RevocationReason.CessationOfOperation, entry.Reason);
        Assert.True(crl.IsSignedBy(_ca.Certificate));
        Assert.Equal("ecdsa-with-SHA256", crl.SignatureAlgorithm);
    }

    [Fact]
    public void WriteCrl_NumberOnlyIncreases()
    {
        var first = _ca.WriteCrl().CrlNumber!.Value;
        var second = _ca.WriteCrl().CrlNumber!.Value;
        Assert.True(second > first);
    }

    [Fact]
    public void Parse_TruncatedAtEveryOffset_ThrowsCryptographicException()
    {
        var der = Der;
        for (var length = 0; length < der.Length; length++)
        {
            Assert.Throws<CryptographicException>(() => CertificateRevocationList.Parse(der.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Parse_EveryBitFlip_EitherRefusedOrSignatureFails()
    {
        var der = Der;
        for (var i = 0; i < der.Length; i++)
        {
            for (var bit = 0; bit < 8; bit += 3)
            {
                var copy = (byte[])der.Clone();
                copy[i] ^= (byte)(1 << bit);
                try
                {
                    var crl = CertificateRevocationList.Parse(copy);
                    Assert.False(crl.IsSignedBy(_ca.Certificate), $"flip at byte {i} bit {bit} still verifies");
                }
                catch (CryptographicException)
                {
                    // Refused as malformed: fine.
                }
            }
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public void Parse_RandomBytes_OnlyCryptographicException(byte[] bytes)
    {
        try
        {
            CertificateRevocationList.Parse(bytes);
        }
        catch (CryptographicException)
        {
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 100)]
    public Property Find_SerialWithLeadingZerosOrColons_SameEntry(PositiveInt zeros)
    {
        var crl = CertificateRevocationList.Parse(Der);
        var padded = new string('0', zeros.Get % 6) + _laptop.SerialNumber.ToLowerInvariant();
        return (crl.Find(padded) is not null).ToProperty();
    }

    [Fact]
    public void Load_CrlFromOpenSslCa_ReadWithReasonAndSignature()
    {
        // A CRL made by `openssl ca -gencrl`, the way a course TA might have done it.
        var d = _dir["openssl"];
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "index.txt"), string.Empty);
        File.WriteAllText(Path.Combine(d, "crlnumber"), "1000\n");
        File.WriteAllText(Path.Combine(d, "ca.cnf"),
            "[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n" +
            "certificate=signing.pem\nprivate_key=signing.key\nnew_certs_dir=.\nserial=serial\npolicy=p\n[p]\ncommonName=supplied\n" +
            "[req]\ndistinguished_name=dn\n[dn]\n");
        OpenSsl.Ok(d, "genrsa", "-out", "signing.key", "2048");
        OpenSsl.Ok(d, "req", "-config", "ca.cnf", "-x509", "-new", "-key", "signing.key", "-out", "signing.pem", "-days", "100", "-subj", "/CN=OpenSSL CA");
        File.WriteAllText(Path.Combine(d, "serial"), "1234\n");
        OpenSsl.Ok(d, "req", "-config", "ca.cnf", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "dev.key", "-out", "dev.csr", "-subj", "/CN=laptop");
        OpenSsl.Ok(d, "ca", "-config", "ca.cnf", "-batch", "-notext", "-in", "dev.csr", "-out", "dev.crt", "-days", "30");
        OpenSsl.Ok(d, "ca", "-config", "ca.cnf", "-revoke", "dev.crt", "-crl_reason", "keyCompromise");
        OpenSsl.Ok(d, "ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem");

        var crl = CertificateRevocationList.Load(Path.Combine(d, "crl.pem"));
        using var ca = CertificateFile.Load(Path.Combine(d, "signing.pem"));
        using var dev = CertificateFile.Load(Path.Combine(d, "dev.crt"));
        Assert.True(crl.IsSignedBy(ca));
        Assert.False(crl.IsSignedBy(_ca.Certificate));
        Assert.Equal(0x1000, (int)crl.CrlNumber!.Value);
        Assert.Equal(X509RevocationReason.KeyCompromise, crl.Find(dev.SerialNumber)!.Reason);

        var policy = TrustPolicy.FromFiles(Path.Combine(d, "signing.pem"), Path.Combine(d, "crl.pem"), AllowList.Any, legacy: true);
        Assert.Equal(TrustFailure.Revoked, policy.EvaluateClient(dev, null).Failure);
    }
}
