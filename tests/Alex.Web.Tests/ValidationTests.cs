using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alex.Web.Security;

namespace Alex.Web.Tests;

public sealed class ValidationTests
{
    [Fact]
    public void Validate_Loopback_IsFine()
    {
        Assert.Null(WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }));
        Assert.Null(WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.IPv6Loopback, 0) }));
    }

    [Fact]
    public void Validate_OtherAddress_WithoutExpose_SaysToAddExpose()
    {
        var problem = WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Parse("192.168.1.20"), 8443) });
        Assert.Contains("--expose", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OtherAddress_WithExposeButNoCertificate_NeedsHttps()
    {
        var problem = WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Parse("192.168.1.20"), 8443), Expose = true });
        Assert.Contains("HTTPS", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AnyAddress_IsRefused_BecauseHostCannotBeChecked()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=laptop", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var problem = WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Any, 8443), Expose = true, HttpsCertificate = cert });
        Assert.Contains("one address", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OtherAddress_WithExposeAndCertificate_IsAllowed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=laptop", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Null(WebGateway.Validate(new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Parse("192.168.1.20"), 8443), Expose = true, HttpsCertificate = cert }));
    }

    [Fact]
    public void AccessToken_IsLongRandomAndUrlSafe()
    {
        var a = AccessToken.Create();
        var b = AccessToken.Create();
        Assert.NotEqual(a.Value, b.Value);
        Assert.Equal(43, a.Value.Length); // 256 bits in base64url
        Assert.Matches("^[A-Za-z0-9_-]+$", a.Value);
        Assert.True(a.Matches(a.Value));
        Assert.False(a.Matches(b.Value));
        Assert.False(a.Matches(null));
        Assert.False(a.Matches(""));
        Assert.False(a.Matches(a.Value + "x"));
        Assert.False(a.Matches(a.Value.ToUpperInvariant()) && a.Matches(a.Value.ToLowerInvariant()));
        Assert.DoesNotContain(a.Value, a.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AccessToken_FromString_RefusesShortTokens() =>
        Assert.Throws<ArgumentException>(() => AccessToken.FromString("short"));
}
