using System.Numerics;
using System.Security.Cryptography;

namespace Alex.Lab;

/// <summary>
/// Miller–Rabin. Below 3.3 × 10^24 the first thirteen primes as bases give a proof (Sorenson and Webster 2015,
/// "Strong pseudoprimes to twelve prime bases"); above it, random bases from a <see cref="RandomNumberGenerator"/>,
/// each of which a composite passes with probability at most 1/4.
/// </summary>
public static class Primality
{
    /// <summary>Bound below which the deterministic bases decide primality (ψ13 from Sorenson–Webster).</summary>
    private static readonly BigInteger DeterministicBound = BigInteger.Parse("3317044064679887385961981", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly int[] DeterministicBases = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41];

    /// <summary>The primes below 2000, for trial division before the expensive test.</summary>
    public static IReadOnlyList<int> SmallPrimes { get; } = Sieve(2000);

    public static bool IsPrime(BigInteger n, RandomNumberGenerator? rng = null, int randomRounds = 40)
    {
        if (n < 2)
        {
            return false;
        }

        foreach (var p in SmallPrimes)
        {
            if (n == p)
            {
                return true;
            }

            if ((n % p).IsZero)
            {
                return false;
            }
        }

        var d = n - 1;
        var s = 0;
        while (d.IsEven)
        {
            d >>= 1;
            s++;
        }

        if (n < DeterministicBound)
        {
            foreach (var a in DeterministicBases)
            {
                if (IsWitness(a, d, s, n))
                {
                    return false;
                }
            }

            return true;
        }

        var random = rng ?? RandomNumberGenerator.Create();
        try
        {
            for (var i = 0; i < randomRounds; i++)
            {
                if (IsWitness(RandomBelow(n - 3, random) + 2, d, s, n))
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            if (rng is null)
            {
                random.Dispose();
            }
        }
    }

    /// <summary>
    /// A random prime of exactly <paramref name="bits"/> bits with the top two bits set, so the product of two
    /// of them has exactly twice the bits (what RSA key generation does, FIPS 186-5 B.3.1).
    /// </summary>
    /// <param name="tried">Called with the number of candidates tried so far, after each one (for progress).</param>
    public static BigInteger RandomPrime(int bits, RandomNumberGenerator rng, CancellationToken cancellationToken, Func<BigInteger, bool>? accept = null, Action<int>? tried = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 4);
        var bytes = new byte[(bits + 7) / 8];
        for (var count = 1; ; count++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            rng.GetBytes(bytes);
            var candidate = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            candidate &= (BigInteger.One << bits) - 1;
            candidate |= (BigInteger.One << (bits - 1)) | (BigInteger.One << (bits - 2)) | BigInteger.One;

            // A random odd candidate is prime with probability about 2 / ln(2^bits); a few Miller–Rabin rounds
            // suffice for random candidates (FIPS 186-5 table B.1 gives 4 rounds at 1024 bits); we use 8.
            if (IsPrime(candidate, rng, randomRounds: 8) && (accept is null || accept(candidate)))
            {
                return candidate;
            }

            tried?.Invoke(count);
        }
    }

    /// <summary>A uniform random number in [0, bound).</summary>
    public static BigInteger RandomBelow(BigInteger bound, RandomNumberGenerator rng)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bound, BigInteger.One);
        var bits = (int)bound.GetBitLength();
        var bytes = new byte[(bits + 7) / 8];
        var mask = (BigInteger.One << bits) - 1;
        while (true)
        {
            rng.GetBytes(bytes);
            var candidate = new BigInteger(bytes, isUnsigned: true, isBigEndian: true) & mask;
            if (candidate < bound)
            {
                return candidate;
            }
        }
    }

    private static bool IsWitness(BigInteger a, BigInteger d, int s, BigInteger n)
    {
        var x = BigInteger.ModPow(a, d, n);
        if (x.IsOne || x == n - 1)
        {
            return false;
        }

        for (var r = 1; r < s; r++)
        {
            x = x * x % n;
            if (x == n - 1)
            {
                return false;
            }
        }

        return true;
    }

    private static int[] Sieve(int limit)
    {
        var composite = new bool[limit];
        var primes = new List<int>();
        for (var i = 2; i < limit; i++)
        {
            if (composite[i])
            {
                continue;
            }

            primes.Add(i);
            for (var j = i * i; j < limit; j += i)
            {
                composite[j] = true;
            }
        }

        return [.. primes];
    }
}
