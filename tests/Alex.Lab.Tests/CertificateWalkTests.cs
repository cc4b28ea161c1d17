using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Lab.Tests;

public sealed class CertificateWalkTests
{
    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa")]
    public void Walk_LeafToRoot_EveryLinkValid_ByHandAndPlatform(string kind)
    {
        using var pki = kind == "rsa" ? TestPki.CreateRsa(keySize: 1024) : TestPki.CreateEcdsa();
        var r = CertificateWalk.Walk(pki.Client, [pki.Ca]);
        Assert.Equal(2, r.Links.Count);
        Assert.True(r.EndsAtSelfSignedRoot);
        Assert.True(r.AllSignaturesValid);
        Assert.All(r.Links, l => Assert.True(l.PlatformAgrees));
        Assert.Equal("CN=laptop.test", r.Links[0].Subject);
        Assert.True(r.Links[1].SelfSigned);
    }

    [Fact]
    public void Inspect_TbsDigest_IsSha256OfTheDerTbs()
    {
        using var pki = TestPki.CreateEcdsa();
        var link = CertificateWalk.Inspect(pki.Client, pki.Ca).Link;

        // Independent cut: the TBS is the first element of the outer SEQUENCE; find it by its length header.
        var raw = pki.Client.RawData;
        var outerHeader = raw[1] < 0x80 ? 2 : 2 + (raw[1] & 0x7f);
        var tbsLengthBytes = raw[outerHeader + 1] < 0x80 ? 0 : raw[outerHeader + 1] & 0x7f;
        var tbsLength = tbsLengthBytes == 0 ? raw[outerHeader + 1] : raw.AsSpan(outerHeader + 2, tbsLengthBytes).ToArray().Aggregate(0, (a, b) => (a << 8) | b);
        var tbs = raw.AsSpan(outerHeader, 2 + tbsLengthBytes + tbsLength);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(tbs)), link.SignedDigest);
        Assert.Equal(tbs.Length, link.SignedBytes);
        Assert.Equal("ecdsa-with-SHA256", link.SignatureAlgorithm);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa")]
    public void Inspect_WrongIssuer_SignatureInvalid(string kind)
    {
        using var pki = kind == "rsa" ? TestPki.CreateRsa(keySize: 1024) : TestPki.CreateEcdsa();
        using var other = kind == "rsa" ? TestPki.CreateRsa(keySize: 1024) : TestPki.CreateEcdsa();
        var link = CertificateWalk.Inspect(pki.Client, other.Ca).Link;
        Assert.False(link.SignatureValid);
        Assert.False(link.PlatformAgrees);
    }

    [Fact]
    public void Inspect_TamperedTbs_SignatureInvalid()
    {
        using var pki = TestPki.CreateRsa(keySize: 1024);
        var raw = pki.Client.RawData.ToArray();
        var name = System.Text.Encoding.ASCII.GetBytes("laptop.test");
        var at = raw.AsSpan().IndexOf(name);
        raw[at] = (byte)'L'; // CN=Laptop.test: same length, different bytes under the signature
        using var tampered = X509CertificateLoader.LoadCertificate(raw);
        var link = CertificateWalk.Inspect(tampered, pki.Ca).Link;
        Assert.False(link.SignatureValid);
        Assert.False(link.PlatformAgrees);
    }

    [Fact]
    public void Walk_NoIssuerGiven_StopsAndSaysSo()
    {
        using var pki = TestPki.CreateEcdsa();
        var r = CertificateWalk.Walk(pki.Client, []);
        Assert.Single(r.Links);
        Assert.Null(r.Links[0].SignatureValid);
        Assert.False(r.EndsAtSelfSignedRoot);
        Assert.Contains(r.Steps[^1].Lines, l => l.Contains("not given", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_PemWithTwoCertificates_ReadsBoth_AndKeyFileIsRefused()
    {
        using var pki = TestPki.CreateEcdsa();
        var dir = pki.WriteCourseFiles();
        var bundle = Path.Combine(dir, "bundle.pem");
        File.WriteAllText(bundle, pki.Client.ExportCertificatePem() + "\n" + pki.Ca.ExportCertificatePem());
        Assert.Equal(2, CertificateWalk.Load(bundle).Count);
        var e = Assert.Throws<LabInputException>(() => CertificateWalk.Load(Path.Combine(dir, "laptop.key")));
        Assert.Contains("laptop.key", e.Message, StringComparison.Ordinal);
        Assert.Throws<LabInputException>(() => CertificateWalk.Load(Path.Combine(dir, "missing.crt")));
    }

    [Fact]
    public void Walk_OpenSslCourseStyleV1Certificates_RsaChainChecks()
    {
        // The course makes X.509 v1 certificates with the openssl CLI (PROTOCOL.md §5): prove we read those.
        var dir = Directory.CreateTempSubdirectory("alex-lab-openssl-").FullName;
        void OpenSsl(string args)
        {
            using var p = Process.Start(new ProcessStartInfo("openssl", args) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(30_000));
            Assert.Equal(0, p.ExitCode);
        }

        OpenSsl("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out signing.pem -days 30 -subj /CN=Course-CA");
        OpenSsl("req -newkey rsa:2048 -nodes -keyout laptop.key -out laptop.csr -subj /CN=laptop.epp.com");
        OpenSsl("x509 -req -in laptop.csr -CA signing.pem -CAkey ca.key -CAcreateserial -out laptop.crt -days 30");
        var leaf = CertificateWalk.Load(Path.Combine(dir, "laptop.crt"))[0];
        var r = CertificateWalk.Walk(leaf, CertificateWalk.Load(Path.Combine(dir, "signing.pem")));
        Assert.True(r.AllSignaturesValid);
        Assert.True(r.EndsAtSelfSignedRoot);
        Assert.Contains(r.Steps[1].Lines, l => l.Contains("(version 1: no version field)", StringComparison.Ordinal));
        Assert.Contains(r.Steps[3].Lines, l => l.Contains("digest inside c = h(TBS) ✓", StringComparison.Ordinal));
    }
}
