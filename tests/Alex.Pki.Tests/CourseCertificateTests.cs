using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki.Tests;

/// <summary>One course CA with a laptop ("Alex Laptop") and a robot (alex.epp.com), made once for the class (RSA keys are slow to make).</summary>
public sealed class CourseCa : IDisposable
{
    public CourseCa()
    {
        OpenSsl.MakeCourseCa(Dir.Path);
        OpenSsl.MakeCourseDevice(Dir.Path, "laptop", "Alex Laptop");
        OpenSsl.MakeCourseDevice(Dir.Path, "alex", "alex.epp.com");
    }

    public TempDir Dir { get; } = new();

    public void Dispose() => Dir.Dispose();
}

/// <summary>The course's own openssl-made certificates (v1, RSA, CN only; PROTOCOL.md §5) against our policy.</summary>
public sealed class CourseCertificateTests : IDisposable, IClassFixture<CourseCa>
{
    private readonly TempDir _dir = new();
    private readonly CourseCa _course;

    public CourseCertificateTests(CourseCa course)
    {
        _course = course;
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CourseCertificates_AreVersion1_WithNoExtensions()
    {
        var dir = _course.Dir;
        using var laptop = CertificateFile.Load(dir["laptop.crt"]);
        using var ca = CertificateFile.Load(dir["signing.pem"]);
        Assert.Equal(1, laptop.Version);
        Assert.Equal(1, ca.Version);
        Assert.Empty(laptop.Extensions);
    }

    [Fact]
    public void EvaluateClient_CourseV1Client_AcceptedInLegacyModeOnly()
    {
        var dir = _course.Dir;
        using var laptop = CertificateFile.Load(dir["laptop.crt"]);

        var legacy = TrustPolicy.FromFiles(dir["signing.pem"], null, AllowList.Parse(["alex laptop"]), legacy: true);
        var decision = legacy.EvaluateClient(laptop, null);
        Assert.True(decision.Accepted, decision.Reason);
        Assert.Equal("Alex Laptop", decision.PeerName);

        var strict = TrustPolicy.FromFiles(dir["signing.pem"], null, AllowList.Parse(["alex laptop"]));
        var refused = strict.EvaluateClient(laptop, null);
        Assert.Equal(TrustFailure.WrongUsage, refused.Failure);
        Assert.Contains("legacy", refused.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateServer_CourseV1Server_AcceptedInLegacyModeByCn()
    {
        var dir = _course.Dir;
        using var alex = CertificateFile.Load(dir["alex.crt"]);
        var legacy = TrustPolicy.FromFiles(dir["signing.pem"], null, AllowList.None, legacy: true);
        Assert.True(legacy.EvaluateServer(alex, null, "alex.epp.com").Accepted);
        Assert.Equal(TrustFailure.NameMismatch, legacy.EvaluateServer(alex, null, "bob.epp.com").Failure);
    }

    [Fact]
    public void EvaluateClient_CourseRsa1024_WeakKeyUnlessLegacy()
    {
        OpenSsl.MakeCourseCa(_dir.Path, bits: 1024);
        OpenSsl.MakeCourseDevice(_dir.Path, "laptop", "laptop", bits: 1024);
        using var laptop = CertificateFile.Load(_dir["laptop.crt"]);
        var legacy = TrustPolicy.FromFiles(_dir["signing.pem"], null, AllowList.Any, legacy: true);
        Assert.True(legacy.EvaluateClient(laptop, null).Accepted, legacy.EvaluateClient(laptop, null).Reason);

        // Without legacy the EKU is missing too; the weak key must be named among the problems.
        var strict = TrustPolicy.FromFiles(_dir["signing.pem"], null, AllowList.Any);
        var refused = strict.EvaluateClient(laptop, null);
        var weak = Assert.Single(refused.Problems, p => p.Failure == TrustFailure.WeakKey && p.Message.StartsWith("'laptop'", StringComparison.Ordinal));
        Assert.Contains("legacy", weak.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateClient_TwoCommonNames_AmbiguousName()
    {
        var dir = _course.Dir;
        OpenSsl.Ok(dir.Path, "genrsa", "-out", "two.key", "2048");
        OpenSsl.Ok(dir.Path, "req", "-config", "v1.cnf", "-new", "-key", "two.key", "-out", "two.csr", "-subj", "/CN=laptop/CN=team3-laptop");
        OpenSsl.Ok(dir.Path, "x509", "-req", "-in", "two.csr", "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", "two.crt", "-days", "500");
        using var two = CertificateFile.Load(dir["two.crt"]);
        var decision = TrustPolicy.FromFiles(dir["signing.pem"], null, AllowList.Parse(["laptop"]), legacy: true).EvaluateClient(two, null);
        Assert.Equal(TrustFailure.AmbiguousName, decision.Failure);
    }

    [Fact]
    public void EvaluateClient_Sha1Signature_WeakSignatureEvenInLegacyMode()
    {
        var dir = _course.Dir;
        OpenSsl.Ok(dir.Path, "genrsa", "-out", "old.key", "2048");
        OpenSsl.Ok(dir.Path, "req", "-config", "v1.cnf", "-new", "-key", "old.key", "-out", "old.csr", "-subj", "/CN=laptop");
        OpenSsl.Ok(dir.Path, "x509", "-req", "-sha1", "-in", "old.csr", "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", "old.crt", "-days", "500");
        using var old = CertificateFile.Load(dir["old.crt"]);
        var decision = TrustPolicy.FromFiles(dir["signing.pem"], null, AllowList.Any, legacy: true).EvaluateClient(old, null);
        Assert.Contains(decision.Problems, p => p.Failure == TrustFailure.WeakSignature);
        Assert.False(decision.Accepted);
    }
}
