using Alex.Tests.Shared;
using System.Diagnostics;
using System.Text.Json;

namespace Alex.Lab.Tests;

/// <summary>`alex lab …` as a student runs it: the real executable, plain output (redirected), --json, exit codes.</summary>
public sealed class LabCommandTests
{
    [Fact]
    public async Task Rsa_Json_HasTheLectureNumbers()
    {
        var (code, stdout, _) = await AlexAsync("lab", "rsa", "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal("15", root.GetProperty("n").GetString());
        Assert.Equal("8", root.GetProperty("totient").GetString());
        Assert.Equal("20", root.GetProperty("k").GetString());
        Assert.Equal("23", root.GetProperty("d").GetString());
        Assert.Equal("3", root.GetProperty("ciphertext").GetString());
        Assert.Equal("12", root.GetProperty("decrypted").GetString());
        Assert.Equal("12", root.GetProperty("signature").GetString());
        Assert.Contains("slip", root.GetProperty("notes")[0].GetString(), StringComparison.Ordinal);
    }

    /// <summary>Every result record --json prints (each is a type of its own in the CLI's generated JSON).</summary>
    [Theory]
    [InlineData("title", "lab", "subst")]
    [InlineData("title", "lab", "rsa", "--bits", "64")]
    [InlineData("title", "lab", "hash", "I LOVE TLS")]
    [InlineData("primeFactors", "lab", "factor", "143", "8633")]
    public async Task EveryLabCommand_Json_PrintsTheRecord(string property, params string[] args)
    {
        var (code, stdout, stderr) = await AlexAsync([.. args, "--json"]);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var record = json.RootElement.ValueKind == JsonValueKind.Array ? json.RootElement[json.RootElement.GetArrayLength() - 1] : json.RootElement;
        Assert.True(record.TryGetProperty(property, out _), stdout);
        Assert.True(record.GetProperty("steps").GetArrayLength() > 0, stdout);
    }

    [Fact]
    public async Task Cert_Json_ChecksTheSignatureWithTheIssuer()
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("alex-lab-cert-").FullName, "pki");
        Assert.Equal(0, (await AlexAsync("pki", "init", "--dir", dir)).Code);
        Assert.Equal(0, (await AlexAsync("pki", "issue", "client", "laptop", "--dir", dir)).Code);
        var (code, stdout, stderr) = await AlexAsync("lab", "cert", Path.Combine(dir, "laptop.crt"), "--issuer", Path.Combine(dir, "signing.pem"), "--json");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("allSignaturesValid").GetBoolean());
        Assert.Equal("CN=laptop", json.RootElement.GetProperty("links")[0].GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Subst_Plain_ShowsNumberedStepsAndTheAnswer()
    {
        var (code, stdout, _) = await AlexAsync("lab", "subst");
        Assert.Equal(0, code);
        Assert.Contains("2. Remove all duplicate letters", stdout, StringComparison.Ordinal);
        Assert.Contains("shortened key: THISECOLUR", stdout, StringComparison.Ordinal);
        Assert.Contains("\"I LOVE TLS\" → \"U BGVE PBN\"", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", stdout, StringComparison.Ordinal); // no colour codes when redirected
    }

    [Fact]
    public async Task Dh_Json_Shared2()
    {
        var (code, stdout, _) = await AlexAsync("lab", "dh", "--json", "--no-real");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("8", json.RootElement.GetProperty("alicePublic").GetString());
        Assert.Equal("19", json.RootElement.GetProperty("bobPublic").GetString());
        Assert.Equal("2", json.RootElement.GetProperty("aliceShared").GetString());
    }

    [Fact]
    public async Task Factor_LectureGrouping_FactorsAndTimes()
    {
        var (code, stdout, _) = await AlexAsync("lab", "factor", "175,828,273");
        Assert.Equal(0, code);
        Assert.Contains("N = 175828273 = 10247 × 17159", stdout, StringComparison.Ordinal);
        Assert.Contains("time:", stdout, StringComparison.Ordinal);
        Assert.Contains("2^512", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alex: p = 4 is not prime (4 = 2 × 2)", "lab", "rsa", "--p", "4")]
    [InlineData("alex: gcd(e, t) = gcd(6, 8) = 2, not 1: e has no inverse modulo t(n)", "lab", "rsa", "--e", "6")]
    [InlineData("alex: N = '14x3' is not a whole number (found 'x')", "lab", "factor", "14x3")]
    [InlineData("alex: p = 22 is not prime", "lab", "dh", "--p", "22")]
    public async Task BadInput_OneLineErrorWithHint_Exit2(string expected, params string[] args)
    {
        var (code, stdout, stderr) = await AlexAsync(args);
        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        var lines = stderr.TrimEnd().Split('\n');
        Assert.Equal(expected, lines[0]);
        Assert.StartsWith("hint: ", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
    }

    [Theory]
    [InlineData("subst", "U BGVE PBN")]
    [InlineData("rsa", "p=3, q=5, e=7")]
    [InlineData("factor", "175,828,273")]
    [InlineData("dh", "g=5, p=23, a=6, b=15")]
    [InlineData("hash", "I LOVE TLS")]
    [InlineData("cert", "signing.pem")]
    [InlineData("chain", "signing.pem")]
    [InlineData("handshake", "--pki")]
    public async Task Help_EachSubcommand_StartsWithAnExample(string subcommand, string example)
    {
        var (code, stdout, _) = await AlexAsync("lab", subcommand, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Examples:", stdout, StringComparison.Ordinal);
        Assert.Contains(example, stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chain_Pki_WalksLaptopToCa()
    {
        using var pki = TestPki.CreateEcdsa();
        var dir = pki.WriteCourseFiles();
        var (code, stdout, _) = await AlexAsync("lab", "chain", "--pki", dir, "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(stdout);
        var chains = json.RootElement;
        Assert.Equal(2, chains.GetArrayLength()); // laptop.crt and alex.crt
        foreach (var chain in chains.EnumerateArray())
        {
            Assert.True(chain.GetProperty("allSignaturesValid").GetBoolean());
            Assert.True(chain.GetProperty("endsAtSelfSignedRoot").GetBoolean());
        }
    }

    [Fact]
    public async Task Handshake_AgainstRealAlexServe_ExplainsIt()
    {
        // The whole course flow with our own tools: alex pki makes the files, alex serve runs, alex lab explains.
        var dir = Path.Combine(Directory.CreateTempSubdirectory("alex-lab-serve-").FullName, "pki");
        Assert.Equal(0, (await AlexAsync("pki", "init", "--dir", dir)).Code);
        Assert.Equal(0, (await AlexAsync("pki", "issue", "server", "alex.epp.com", "--ip", "127.0.0.1", "--dir", dir)).Code);
        Assert.Equal(0, (await AlexAsync("pki", "issue", "client", "laptop", "--dir", dir)).Code);

        var start = AlexCli.StartInfo(["serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0", "--quiet"]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;

        using var serve = Process.Start(start)!;
        try
        {
            var port = await ReadListeningPortAsync(serve).WaitAsync(TimeSpan.FromSeconds(60));
            var (code, stdout, stderr) = await AlexAsync("lab", "handshake", $"127.0.0.1:{port}", "--pki", dir, "--name", "alex.epp.com", "--json");
            Assert.True(code == 0, stderr + stdout);
            using var json = JsonDocument.Parse(stdout);
            var root = json.RootElement;
            Assert.True(root.GetProperty("succeeded").GetBoolean());
            Assert.Equal("TLS 1.3", root.GetProperty("protocol").GetString());
            Assert.Equal("alexlink/1", root.GetProperty("applicationProtocol").GetString());
            Assert.Equal("CN=laptop", root.GetProperty("clientCertificate").GetString());
            Assert.All(root.GetProperty("serverChainSignatures").EnumerateArray(), l => Assert.True(l.GetProperty("signatureValid").GetBoolean()));
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>`alex serve` announces its port on standard error (standard output is for the audit log).</summary>
    private static async Task<int> ReadListeningPortAsync(Process serve)
    {
        _ = serve.StandardOutput.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        while (await serve.StandardError.ReadLineAsync() is { } line)
        {
            var match = System.Text.RegularExpressions.Regex.Match(line, @"listening on 127\.0\.0\.1:(\d+)");
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            seen.AppendLine(line);
        }

        throw new InvalidOperationException($"alex serve exited without listening: {seen}");
    }

    internal static Task<(int Code, string Stdout, string Stderr)> AlexAsync(params string[] args) => AlexCli.RunAsync(TimeSpan.FromSeconds(60), args);
}
