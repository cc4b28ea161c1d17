using System.Numerics;

namespace Alex.Lab.Tests;

/// <summary>Bad input gives one line that says what is wrong, and a hint.</summary>
public sealed class BadInputTests
{
    [Fact]
    public void Rsa_NonPrimeP_SaysNotPrimeWithFactors()
    {
        var e = Assert.Throws<LabInputException>(() => ToyRsa.Run(4, 5, 7, null, null, null, null));
        Assert.Equal("p = 4 is not prime (4 = 2 × 2)", e.Message);
        Assert.NotNull(e.Hint);
    }

    [Fact]
    public void Rsa_ENotCoprime_SaysGcd()
    {
        var e = Assert.Throws<LabInputException>(() => ToyRsa.Run(3, 5, 6, null, null, null, null));
        Assert.Equal("gcd(e, t) = gcd(6, 8) = 2, not 1: e has no inverse modulo t(n)", e.Message);
        Assert.Contains("for example 3", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Rsa_KThatLeavesAFraction_SuggestsAWorkingK()
    {
        var e = Assert.Throws<LabInputException>(() => ToyRsa.Run(3, 5, 7, 3, null, null, null));
        Assert.StartsWith("with k = 3, 1 + k × t(n) = 25 is not a multiple of e = 7", e.Message, StringComparison.Ordinal);
        Assert.Contains("k = 6", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Rsa_MessageNotBelowN_Refused()
    {
        var e = Assert.Throws<LabInputException>(() => ToyRsa.Run(3, 5, 7, null, 15, null, null));
        Assert.Equal("message = 15 is not smaller than n = 15", e.Message);
    }

    [Fact]
    public void Rsa_SamePrimes_Refused()
    {
        Assert.Throws<LabInputException>(() => ToyRsa.Run(5, 5, 3, null, null, null, null));
    }

    [Theory]
    [InlineData("12a", "p = '12a' is not a whole number (found 'a')")]
    [InlineData("-3", "p = '-3' is not a whole number (found '-')")]
    [InlineData("1.5", "p = '1.5' is not a whole number (found '.')")]
    [InlineData("  ", "p is empty")]
    public void ParseWhole_Letters_OneLineError(string text, string message)
    {
        var e = Assert.Throws<LabInputException>(() => LabMath.ParseWhole(text, "p"));
        Assert.Equal(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ParseWhole_LectureGrouping_Accepted()
    {
        Assert.Equal(new BigInteger(175828273), LabMath.ParseWhole("175,828,273", "N"));
    }

    [Fact]
    public void DiffieHellman_CompositeP_Refused()
    {
        var e = Assert.Throws<LabInputException>(() => DiffieHellman.Run(5, 21, 6, 15, false, CancellationToken.None));
        Assert.Equal("p = 21 is not prime", e.Message);
    }

    [Fact]
    public void DiffieHellman_NotAPrimitiveRoot_SaysWhichPowerIsOne()
    {
        var e = Assert.Throws<LabInputException>(() => DiffieHellman.Run(4, 23, 6, 15, false, CancellationToken.None));
        Assert.StartsWith("g = 4 is not a primitive root modulo 23: 4^11 mod 23 = 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("g = 5", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void DiffieHellman_SecretOutOfRange_Refused()
    {
        Assert.Throws<LabInputException>(() => DiffieHellman.Run(5, 23, 0, 15, false, CancellationToken.None));
        Assert.Throws<LabInputException>(() => DiffieHellman.Run(5, 23, 6, 22, false, CancellationToken.None));
    }

    [Fact]
    public void Substitution_KeyWithoutLetters_Refused()
    {
        var e = Assert.Throws<LabInputException>(() => SubstitutionCipher.Run("1234 !", "HI", false));
        Assert.Equal("the key phrase '1234 !' has no letters A–Z", e.Message);
    }

    [Fact]
    public void Factor_BelowTwo_Refused()
    {
        Assert.Throws<LabInputException>(() => Factoring.Factor(1, TimeSpan.FromSeconds(1), CancellationToken.None));
    }

    [Fact]
    public void Hash_EmptyText_NothingToFlip()
    {
        Assert.Throws<LabInputException>(() => Avalanche.Run(string.Empty, null, null));
        Assert.Throws<LabInputException>(() => Avalanche.Run("A", 8, null));
    }

    [Fact]
    public void Generate_OddBits_Refused()
    {
        using var rng = System.Security.Cryptography.RandomNumberGenerator.Create();
        Assert.Throws<LabInputException>(() => ToyRsa.Generate(2047, rng, CancellationToken.None));
    }
}
