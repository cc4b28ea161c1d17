using System.Security.Cryptography;

namespace Alex.Lab.Tests;

/// <summary>`alex lab rsa --bits 4096` takes seconds: it says what it is doing meanwhile.</summary>
public sealed class RsaProgressTests
{
    [Fact]
    public void Generate_ReportsEachPrimeSearchAndTheCandidatesTried()
    {
        var lines = new List<string>();
        using var rng = RandomNumberGenerator.Create();
        var result = ToyRsa.Generate(1024, rng, CancellationToken.None, lines.Add);

        Assert.Equal(1024, result.ModulusBits);
        Assert.Equal("looking for p, a 512-bit prime", lines[0]);
        Assert.Contains("p found; looking for q, a 512-bit prime", lines);
        Assert.Equal("q found; computing d", lines[^1]);
        Assert.All(lines.Where(l => l.Contains("tried", StringComparison.Ordinal)), l => Assert.Matches("^looking for [pq], a 512-bit prime: [0-9]+ candidates tried$", l));
    }
}
