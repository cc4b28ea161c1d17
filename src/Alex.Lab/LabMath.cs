using System.Globalization;
using System.Numerics;
using System.Text;

namespace Alex.Lab;

/// <summary>
/// Number theory the lecture uses, on <see cref="BigInteger"/> so the same code runs on 15 and on a 2048-bit
/// modulus. <see cref="ModPow"/> is our own square-and-multiply (tests compare it with BigInteger.ModPow),
/// because its intermediate squares are the steps a student writes down.
/// </summary>
public static class LabMath
{
    /// <summary>Alice's 12 strands of hair, the lecture's RSA plaintext.</summary>
    public static readonly BigInteger LectureHairCount = 12;

    /// <summary>Parses a whole number as a student types it: digits, optionally grouped with ',' or '_' (the lecture writes 175,828,273).</summary>
    public static BigInteger ParseWhole(string? text, string name)
    {
        var trimmed = (text ?? string.Empty).Trim();
        var digits = new StringBuilder(trimmed.Length);
        foreach (var ch in trimmed)
        {
            if (ch is ',' or '_')
            {
                continue;
            }

            if (ch is < '0' or > '9')
            {
                throw new LabInputException(
                    $"{name} = '{trimmed}' is not a whole number (found '{ch}')",
                    "use digits only, for example 143 or 175,828,273");
            }

            digits.Append(ch);
        }

        if (digits.Length == 0)
        {
            throw new LabInputException($"{name} is empty", "give a whole number, for example 143");
        }

        return BigInteger.Parse(digits.ToString(), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>b^e mod m by right-to-left square-and-multiply: the method the lecture's numbers are worked with by hand.</summary>
    public static BigInteger ModPow(BigInteger b, BigInteger e, BigInteger m)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(e);
        ArgumentOutOfRangeException.ThrowIfLessThan(m, BigInteger.One);
        var result = BigInteger.One % m;
        var square = Mod(b, m);
        while (!e.IsZero)
        {
            if (!e.IsEven)
            {
                result = result * square % m;
            }

            e >>= 1;
            if (!e.IsZero)
            {
                square = square * square % m;
            }
        }

        return result;
    }

    /// <summary>
    /// The hand computation of b^e mod m: e in binary, the repeated squares b^(2^i) mod m, and the product of
    /// those whose bit is set. Only for exponents a student would work by hand (up to 16 bits); beyond that a
    /// one-line summary.
    /// </summary>
    public static IReadOnlyList<string> ExplainModPow(BigInteger b, BigInteger e, BigInteger m, string? label = null)
    {
        var result = ModPow(b, e, m);
        var head = $"{label ?? string.Empty}{Brief(b)}^{Brief(e)} mod {Brief(m)} = {Brief(result)}";
        if (e.IsZero || e.GetBitLength() > 16)
        {
            return [head];
        }

        var lines = new List<string> { head, $"  by square-and-multiply, {e} = {ToBinary(e)} in binary:" };
        var used = new List<string>();
        var usedValues = new List<BigInteger>();
        var square = Mod(b, m);
        var power = BigInteger.One;
        for (var rest = e; !rest.IsZero; rest >>= 1)
        {
            var set = !rest.IsEven;
            lines.Add($"    {b}^{power} mod {m} = {square}{(set ? "   <- bit set, use it" : string.Empty)}");
            if (set)
            {
                used.Add($"{b}^{power}");
                usedValues.Add(square);
            }

            square = square * square % m;
            power *= 2;
        }

        lines.Add($"  {b}^{e} = {string.Join(" * ", used)} ≡ {string.Join(" * ", usedValues)} ≡ {result} (mod {m})");
        return lines;
    }

    public static BigInteger Mod(BigInteger a, BigInteger m)
    {
        var r = a % m;
        return r.Sign < 0 ? r + m : r;
    }

    /// <summary>The inverse of a modulo m, or null when gcd(a, m) is not 1.</summary>
    public static BigInteger? ModInverse(BigInteger a, BigInteger m)
    {
        // Extended Euclid, keeping only the coefficient of a.
        BigInteger oldR = Mod(a, m), r = m, oldS = BigInteger.One, s = BigInteger.Zero;
        while (!r.IsZero)
        {
            var q = BigInteger.Divide(oldR, r);
            (oldR, r) = (r, oldR - (q * r));
            (oldS, s) = (s, oldS - (q * s));
        }

        return oldR.IsOne ? Mod(oldS, m) : null;
    }

    public static string ToBinary(BigInteger value)
    {
        if (value.IsZero)
        {
            return "0";
        }

        var sb = new StringBuilder();
        for (var v = value; !v.IsZero; v >>= 1)
        {
            sb.Insert(0, v.IsEven ? '0' : '1');
        }

        return sb.ToString();
    }

    /// <summary>Decimal for numbers a person can read; the head and tail of a long one, with its size.</summary>
    public static string Brief(BigInteger value)
    {
        var s = value.ToString(CultureInfo.InvariantCulture);
        return s.Length <= 60 ? s : $"{s[..24]}…{s[^24..]} ({s.Length} digits, {value.GetBitLength()} bits)";
    }
}
