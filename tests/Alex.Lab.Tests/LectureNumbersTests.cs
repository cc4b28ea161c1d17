using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Alex.Lab.Tests;

/// <summary>Every number on the lecture's slides, exactly (and the one slip, computed right).</summary>
public sealed class LectureNumbersTests
{
    [Fact]
    public void Substitution_LectureKey_ShortensToTHISECOLUR()
    {
        Assert.Equal("THISECOLUR", SubstitutionCipher.ShortenKey("THIS IS THE COOLEST COURSE!"));
    }

    [Fact]
    public void Substitution_LectureKey_BuildsTheSlideTable()
    {
        // The slide's three blocks: A–J / K–T / U–Z over their cipher letters.
        Assert.Equal("THISECOLUR" + "ABDFGJKMNP" + "QVWXYZ", SubstitutionCipher.CipherAlphabetFor("THISECOLUR"));
        var table = SubstitutionCipher.Run(SubstitutionCipher.LectureKey, "", decrypt: false).Steps[3].Table!;
        Assert.Equal(["plain", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T"], table.Rows[3]);
        Assert.Equal(["cipher", "A", "B", "D", "F", "G", "J", "K", "M", "N", "P"], table.Rows[4]);
    }

    [Fact]
    public void Substitution_ILoveTls_EncryptsToUBgvePbn()
    {
        var result = SubstitutionCipher.Run("THIS IS THE COOLEST COURSE!", "I LOVE TLS", decrypt: false);
        Assert.Equal("U BGVE PBN", result.Output);
        Assert.Contains(result.Notes, n => n.StartsWith("Matches the lecture", StringComparison.Ordinal));
    }

    [Fact]
    public void Substitution_UBgvePbn_DecryptsToILoveTls()
    {
        Assert.Equal("I LOVE TLS", SubstitutionCipher.Run(SubstitutionCipher.LectureKey, "U BGVE PBN", decrypt: true).Output);
    }

    [Fact]
    public void Rsa_LectureInputs_GiveTheSlideKeys()
    {
        var r = ToyRsa.Run(3, 5, 7, k: 20, message: 12, signMessage: 3, signature: null);
        Assert.Equal(15, (int)r.N);
        Assert.Equal(8, (int)r.Totient);
        Assert.Equal(23, (int)r.D);
        Assert.Contains(r.Steps[3].Lines, l => l.Contains("7d = 1 + 20 × 8 = 161", StringComparison.Ordinal));
    }

    [Fact]
    public void Rsa_LectureMessage_12Encrypts_To3_AndBack()
    {
        var r = ToyRsa.Run(3, 5, 7, 20, 12, null, null);
        Assert.Equal(3, (int)r.Ciphertext!.Value);
        Assert.Equal(12, (int)r.Decrypted!.Value);
    }

    [Fact]
    public void Rsa_LectureSignature_IsTwelveNotTwo_AndSaysSo()
    {
        var r = ToyRsa.Run(3, 5, 7, 20, null, signMessage: 3, signature: null);
        Assert.Equal(12, (int)r.Signature!.Value);
        Assert.Equal(3, (int)r.Recovered!.Value);
        Assert.True(r.SignatureValid);
        var note = Assert.Single(r.Notes, n => n.Contains("slip", StringComparison.Ordinal));
        Assert.Contains("3^23 mod 15 = 12", note, StringComparison.Ordinal);
        Assert.Contains("2^7 mod 15 = 8", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Rsa_LecturesWrongSignature2_FailsVerification()
    {
        var r = ToyRsa.Run(3, 5, 7, 20, null, signMessage: 3, signature: 2);
        Assert.Equal(8, (int)r.Recovered!.Value);
        Assert.False(r.SignatureValid);
    }

    [Fact]
    public void Rsa_OtherInputs_HaveNoSlipNote()
    {
        var r = ToyRsa.Run(61, 53, 17, null, 65, 65, null);
        Assert.DoesNotContain(r.Notes, n => n.Contains("slip", StringComparison.Ordinal));
        Assert.Equal(2753, (int)r.D); // the textbook's 61·53 example: d = 2753, 65 → 2790
        Assert.Equal(2790, (int)r.Ciphertext!.Value);
    }

    [Theory]
    [InlineData(143, 11, 13)]
    [InlineData(8633, 89, 97)]
    [InlineData(175828273, 10247, 17159)]
    public void Factor_LectureModuli_SplitIntoTwoPrimes(long n, long p, long q)
    {
        var r = Factoring.Factor(n, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(r.Complete);
        Assert.Equal([new BigInteger(p), new BigInteger(q)], r.PrimeFactors);
        Assert.Contains("2^512", r.OutOfReach, StringComparison.Ordinal);
    }

    [Fact]
    public void Factor_175828273_NeedsRhoNotJustSmallTrialDivision()
    {
        var r = Factoring.Factor(175828273, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Contains(r.Found, f => f.Method.StartsWith("Pollard", StringComparison.Ordinal));
    }

    [Fact]
    public void DiffieHellman_LectureNumbers_Give8_19_Shared2()
    {
        var r = DiffieHellman.Run(5, 23, 6, 15, withRealExchange: false, CancellationToken.None);
        Assert.Equal(8, (int)r.AlicePublic);
        Assert.Equal(19, (int)r.BobPublic);
        Assert.Equal(2, (int)r.AliceShared);
        Assert.Equal(2, (int)r.BobShared);
        Assert.Equal([new BigInteger(2), new BigInteger(11)], r.OrderPrimeFactors);
    }

    [Fact]
    public void DiffieHellman_RealP256Exchange_BothSidesAgree()
    {
        var r = DiffieHellman.Run(5, 23, 6, 15, withRealExchange: true, CancellationToken.None);
        Assert.NotNull(r.Real);
        Assert.True(r.Real.Agree);
        Assert.Equal(64, r.Real.AliceShared.Length);
        Assert.Equal(r.Real.AliceShared, r.Real.BobShared);
    }

    [Fact]
    public void Hash_ILoveTls_IsSha256_AndLastBitFlipMakesTLR()
    {
        var r = Avalanche.Run("I LOVE TLS", null, null);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("I LOVE TLS"))), r.Hash);
        Assert.Equal("I LOVE TLR", r.ChangedText);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("I LOVE TLR"u8)), r.ChangedHash);
        Assert.Equal(80, r.EveryFlipCount);
    }
}
