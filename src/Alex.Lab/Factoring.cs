using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;

namespace Alex.Lab;

/// <summary>How one prime factor was found.</summary>
public sealed record FoundFactor(BigInteger Factor, string Method, long Steps);

/// <summary>`alex lab factor N`: the lecture's "try it if you aren't convinced" exercise, timed.</summary>
public sealed record FactorResult(
    BigInteger N,
    IReadOnlyList<BigInteger> PrimeFactors,
    IReadOnlyList<FoundFactor> Found,
    bool Complete,
    TimeSpan Elapsed,
    double RhoStepSeconds2048,
    double RhoYears2048,
    string OutOfReach,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => $"Factoring N = {LabMath.Brief(N)}";
}

/// <summary>
/// Trial division by the small primes, then Pollard's rho in Brent's variant (R. P. Brent, "An improved Monte
/// Carlo factorization algorithm", BIT 20, 1980) for what is left, recursing until every factor is prime.
/// </summary>
public static class Factoring
{
    /// <summary>The moduli of the lecture's exercise slide.</summary>
    public static IReadOnlyList<BigInteger> LectureModuli { get; } = [143, 8633, 175828273];

    public static FactorResult Factor(BigInteger n, TimeSpan budget, CancellationToken cancellationToken)
    {
        if (n < 2)
        {
            throw new LabInputException($"N = {n} has no prime factors", "give a whole number of at least 2, for example 143");
        }

        var clock = Stopwatch.StartNew();
        var found = new List<FoundFactor>();
        var steps = new List<LabStep>();
        var rest = n;

        // 1. Trial division: cheap, and it takes the small factors out before rho.
        var divisions = 0L;
        var lastTried = 2;
        var trialFound = new List<string>();
        foreach (var p in Primality.SmallPrimes)
        {
            if ((BigInteger)p * p > rest)
            {
                break;
            }

            divisions++;
            lastTried = p;
            while ((rest % p).IsZero)
            {
                rest /= p;
                found.Add(new FoundFactor(p, "trial division", divisions));
                trialFound.Add($"{rest * p} = {p} × {rest}");
            }
        }

        steps.Add(new LabStep(
            "Trial division: divide by 2, 3, 5, 7, … in turn",
            [
                divisions == 0 ? "nothing to try: N is below 4" : $"{divisions} divisions (primes up to {lastTried})",
                .. trialFound.Count == 0 ? ["no small factor"] : trialFound,
            ]));

        var complete = true;
        var pending = new Stack<BigInteger>();
        if (rest > 1)
        {
            pending.Push(rest);
        }

        var rhoLines = new List<string>();
        while (pending.Count > 0)
        {
            var m = pending.Pop();
            if (Primality.IsPrime(m))
            {
                found.Add(new FoundFactor(m, found.Count == 0 && m == n ? "prime (Miller–Rabin)" : "remaining cofactor, prime (Miller–Rabin)", 0));
                rhoLines.Add($"{LabMath.Brief(m)} is prime (Miller–Rabin)");
                continue;
            }

            var left = budget - clock.Elapsed;
            var split = left > TimeSpan.Zero ? PollardBrent(m, left, cancellationToken) : null;
            if (split is null)
            {
                complete = false;
                rhoLines.Add($"gave up on {LabMath.Brief(m)} after {budget.TotalSeconds:0.#} s: composite, but its factors are too large for rho in the time allowed");
                found.Add(new FoundFactor(m, "composite, not split", 0));
                continue;
            }

            var (d, c, iterations) = split.Value;
            rhoLines.Add($"Pollard's rho on {LabMath.Brief(m)}: x ← x² + {c} mod {LabMath.Brief(m)}, gcd(|x − y|, {LabMath.Brief(m)}) = {LabMath.Brief(d)} after {iterations} steps");
            rhoLines.Add($"  {LabMath.Brief(m)} = {LabMath.Brief(d)} × {LabMath.Brief(m / d)}");
            foreach (var part in new[] { d, m / d })
            {
                if (Primality.IsPrime(part))
                {
                    found.Add(new FoundFactor(part, "Pollard's rho (Brent)", iterations));
                    rhoLines.Add($"  {LabMath.Brief(part)} is prime (Miller–Rabin)");
                }
                else
                {
                    pending.Push(part);
                }
            }
        }

        if (rhoLines.Count > 0)
        {
            steps.Add(new LabStep("What is left: prime test, else Pollard's rho (Brent's variant)", rhoLines));
        }

        clock.Stop();
        var primes = found.Where(f => f.Method != "composite, not split").Select(f => f.Factor).Order().ToList();
        var product = string.Join(" × ", found.Select(f => f.Factor).Order().Select(LabMath.Brief));
        steps.Add(new LabStep(
            complete ? "Result" : "Result (incomplete)",
            $"N = {LabMath.Brief(n)} = {product}",
            $"time: {FormatDuration(clock.Elapsed)}"));

        var (stepSeconds, years) = EstimateRho2048();
        var outOfReach =
            $"Why 2048-bit moduli are out of reach: rho needs about √p steps to find a factor p, and an RSA-2048 modulus has two 1024-bit primes, so about 2^512 ≈ 10^154 steps. One step on a 2048-bit number takes {stepSeconds * 1e6:0.#} µs on this machine: about 10^{Math.Log10(years):0} years. Trial division is worse (about 2^1024 / ln 2^1024 divisions). The best known method, the number field sieve, factored the record RSA-250 (829 bits) in 2020 with about 2,700 CPU core-years; 2048 bits is estimated to be billions of times harder.";
        var notes = new List<string>();
        if (!complete)
        {
            notes.Add("Not fully factored in the time allowed: that is the point of large RSA moduli (try --seconds to allow more).");
        }

        return new FactorResult(n, primes, found, complete, clock.Elapsed, stepSeconds, years, outOfReach, steps, notes);
    }

    /// <summary>
    /// Brent's variant of Pollard's rho: iterate x ← x² + c, compare with a saved y at power-of-two distances,
    /// and batch the |x − y| products so gcd is taken once every 128 steps. Returns null when the budget runs out.
    /// </summary>
    public static (BigInteger Divisor, int C, long Iterations)? PollardBrent(BigInteger n, TimeSpan budget, CancellationToken cancellationToken)
    {
        if (n.IsEven)
        {
            return (2, 0, 1);
        }

        var clock = Stopwatch.StartNew();
        var total = 0L;
        for (var c = 1; ; c++)
        {
            BigInteger y = 2, x = 2, ys = 2, q = 1, g = 1;
            long r = 1;
            const int Batch = 128;
            while (g.IsOne)
            {
                x = y;
                for (var i = 0L; i < r; i++)
                {
                    y = ((y * y) + c) % n;
                }

                total += r;
                for (var k = 0L; k < r && g.IsOne; k += Batch)
                {
                    ys = y;
                    var count = Math.Min(Batch, r - k);
                    for (var i = 0L; i < count; i++)
                    {
                        y = ((y * y) + c) % n;
                        q = q * BigInteger.Abs(x - y) % n;
                    }

                    total += count;
                    g = BigInteger.GreatestCommonDivisor(q, n);
                    if (clock.Elapsed > budget)
                    {
                        return null;
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }

                r *= 2;
            }

            if (g == n)
            {
                // The batch overshot: step again one at a time from the saved ys.
                do
                {
                    ys = ((ys * ys) + c) % n;
                    g = BigInteger.GreatestCommonDivisor(BigInteger.Abs(x - ys), n);
                    total++;
                }
                while (g.IsOne);
            }

            if (g != n)
            {
                return (g, c, total);
            }

            // This c cycles through n itself; another c gives another pseudo-random sequence.
        }
    }

    // Measured once per process: every factoring (and every DH check of p − 1) reports it.
    private static readonly Lazy<(double StepSeconds, double Years)> Rho2048 = new(MeasureRho2048);

    /// <summary>Times rho steps on a random 2048-bit odd number and scales to the 2^512 steps RSA-2048 would need.</summary>
    public static (double StepSeconds, double Years) EstimateRho2048() => Rho2048.Value;

    private static (double StepSeconds, double Years) MeasureRho2048()
    {
        using var rng = RandomNumberGenerator.Create();
        var n = Primality.RandomBelow(BigInteger.One << 2048, rng) | (BigInteger.One << 2047) | BigInteger.One;
        var y = Primality.RandomBelow(n, rng);
        BigInteger q = 1;
        const int Steps = 2000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Steps; i++)
        {
            y = ((y * y) + 1) % n;
            q = q * y % n;
        }

        clock.Stop();
        var stepSeconds = Math.Max(clock.Elapsed.TotalSeconds / Steps, 1e-9);
        var years = Math.Pow(2, 512) * stepSeconds / (365.25 * 24 * 3600);
        return (stepSeconds, years);
    }

    public static string FormatDuration(TimeSpan t) =>
        t.TotalMilliseconds < 1 ? $"{t.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture)} µs"
        : t.TotalSeconds < 1 ? $"{t.TotalMilliseconds.ToString("0.##", CultureInfo.InvariantCulture)} ms"
        : $"{t.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)} s";
}
