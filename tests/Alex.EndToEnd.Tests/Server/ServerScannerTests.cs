using System.Globalization;
using System.Text.RegularExpressions;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// Issue 4, "TLS configuration": an external scanner must find nothing rated LOW or worse. nmap's
/// ssl-enum-ciphers script grades every suite the server accepts (A best .. F); we require all A,
/// TLS 1.2 and 1.3 only, and no compression. `.ci/run` installs nmap.
/// </summary>
public sealed partial class ServerScannerTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerScannerTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task Nmap_SslEnumCiphers_EverySuiteRatedA_OnlyTls12And13()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var (code, report, errors) = await ToolRun.RunAsync(
            "nmap",
            ["-Pn", "-n", "--script", "ssl-enum-ciphers", "-p", server.EndPoint.Port.ToString(CultureInfo.InvariantCulture), "127.0.0.1"],
            TimeSpan.FromSeconds(120),
            "nmap ssl-enum-ciphers");
        Assert.True(code == 0, report + errors);
        Assert.Contains("least strength: A", report, StringComparison.Ordinal);
        var grades = SuiteGrade().Matches(report).Select(m => (Suite: m.Groups[1].Value, Grade: m.Groups[2].Value)).ToList();
        Assert.True(grades.Count >= 3, report);
        Assert.All(grades, g => Assert.True(g.Grade == "A", $"{g.Suite} rated {g.Grade}\n{report}"));
        Assert.Contains("TLSv1.3:", report, StringComparison.Ordinal);
        Assert.Contains("TLSv1.2:", report, StringComparison.Ordinal);
        Assert.DoesNotContain("TLSv1.1:", report, StringComparison.Ordinal);
        Assert.DoesNotContain("TLSv1.0:", report, StringComparison.Ordinal);
        Assert.DoesNotContain("SSLv3:", report, StringComparison.Ordinal);
        Assert.DoesNotContain("DEFLATE", report, StringComparison.Ordinal);
    }

    // "|       TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (ecdh_x25519) - A"
    [GeneratedRegex(@"^\|\s+(TLS_\w+) \([^)]*\) - ([A-F])\s*$", RegexOptions.Multiline)]
    private static partial Regex SuiteGrade();
}
