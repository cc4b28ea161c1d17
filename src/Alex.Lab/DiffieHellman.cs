using System.Numerics;
using System.Security.Cryptography;

namespace Alex.Lab;

/// <summary>`alex lab dh`: the lecture's Diffie–Hellman numbers, and a real elliptic-curve exchange beside them.</summary>
public sealed record DiffieHellmanResult(
    BigInteger G,
    BigInteger P,
    BigInteger AliceSecret,
    BigInteger BobSecret,
    BigInteger AlicePublic,
    BigInteger BobPublic,
    BigInteger AliceShared,
    BigInteger BobShared,
    IReadOnlyList<BigInteger> OrderPrimeFactors,
    EcdhExchange? Real,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => $"Diffie–Hellman with g = {LabMath.Brief(G)}, p = {LabMath.Brief(P)}";
}

/// <summary>The same idea on the NIST P-256 curve (what TLS does, with X25519 or P-256), computed by the platform.</summary>
public sealed record EcdhExchange(
    string Curve,
    string AlicePublicX,
    string AlicePublicY,
    string BobPublicX,
    string BobPublicY,
    string AliceShared,
    string BobShared,
    bool Agree);

/// <summary>
/// Finite-field Diffie–Hellman as on the lecture's slides: A = g^a mod p, B = g^b mod p, and both sides reach
/// g^(ab) mod p. We check what the slides require: p prime, g a primitive root modulo p (g^((p−1)/r) ≠ 1 for
/// every prime r dividing p − 1), and secrets in 1 … p − 2.
/// </summary>
public static class DiffieHellman
{
    public static readonly BigInteger LectureG = 5;
    public static readonly BigInteger LectureP = 23;
    public static readonly BigInteger LectureA = 6;
    public static readonly BigInteger LectureB = 15;

    public static DiffieHellmanResult Run(BigInteger g, BigInteger p, BigInteger a, BigInteger b, bool withRealExchange, CancellationToken cancellationToken)
    {
        if (!Primality.IsPrime(p))
        {
            throw new LabInputException($"p = {LabMath.Brief(p)} is not prime", "the modulus must be prime, for example p = 23");
        }

        if (p < 5)
        {
            throw new LabInputException($"p = {p} is too small to keep any secret", "use a prime of at least 5, for example p = 23");
        }

        if (g < 2 || g > p - 2)
        {
            throw new LabInputException($"g = {LabMath.Brief(g)} is outside 2 … p − 2 = {LabMath.Brief(p - 2)}", "choose a primitive root modulo p, for example g = 5 for p = 23");
        }

        foreach (var (secret, name) in new[] { (a, "a"), (b, "b") })
        {
            if (secret < 1 || secret > p - 2)
            {
                throw new LabInputException($"{name} = {LabMath.Brief(secret)} is outside 1 … p − 2 = {LabMath.Brief(p - 2)}", $"choose a secret from 1 to {LabMath.Brief(p - 2)}");
            }
        }

        var order = p - 1;
        var factoring = Factoring.Factor(order, TimeSpan.FromSeconds(10), cancellationToken);
        if (!factoring.Complete)
        {
            throw new LabInputException($"cannot check that g is a primitive root: p − 1 = {LabMath.Brief(order)} could not be factored in 10 s", "use a smaller p, or a safe prime p = 2r + 1 with r prime");
        }

        var primes = factoring.PrimeFactors.Distinct().ToList();
        var rootLines = new List<string> { $"p − 1 = {LabMath.Brief(order)} = {string.Join(" × ", factoring.PrimeFactors.Select(LabMath.Brief))}" };
        foreach (var r in primes)
        {
            var value = LabMath.ModPow(g, order / r, p);
            rootLines.Add($"g^((p−1)/{LabMath.Brief(r)}) = {LabMath.Brief(g)}^{LabMath.Brief(order / r)} mod {LabMath.Brief(p)} = {LabMath.Brief(value)} {(value.IsOne ? "= 1 ✗" : "≠ 1 ✓")}");
            if (value.IsOne)
            {
                var root = SmallestPrimitiveRoot(p, order, primes);
                throw new LabInputException(
                    $"g = {LabMath.Brief(g)} is not a primitive root modulo {LabMath.Brief(p)}: {LabMath.Brief(g)}^{LabMath.Brief(order / r)} mod {LabMath.Brief(p)} = 1, so g^x takes only some of the values",
                    $"use a primitive root, for example g = {LabMath.Brief(root)}");
            }
        }

        rootLines.Add($"so the powers of {LabMath.Brief(g)} run through all of 1 … {LabMath.Brief(order)}: g is a primitive root ✓");

        var alicePublic = LabMath.ModPow(g, a, p);
        var bobPublic = LabMath.ModPow(g, b, p);
        var aliceShared = LabMath.ModPow(bobPublic, a, p);
        var bobShared = LabMath.ModPow(alicePublic, b, p);
        var steps = new List<LabStep>
        {
            new("Alice and Bob agree on a prime modulus p and a base g (both public)", $"p = {LabMath.Brief(p)} (prime: Miller–Rabin), g = {LabMath.Brief(g)}"),
            new("Check that g is a primitive root modulo p", rootLines),
            new("Each keeps a secret number", $"Alice: a = {LabMath.Brief(a)}", $"Bob:   b = {LabMath.Brief(b)}"),
            new("Alice sends A = g^a mod p", LabMath.ExplainModPow(g, a, p, "A = ")),
            new("Bob sends B = g^b mod p", LabMath.ExplainModPow(g, b, p, "B = ")),
            new("Alice computes S = B^a mod p", LabMath.ExplainModPow(bobPublic, a, p, "S(Alice) = ")),
            new("Bob computes S = A^b mod p", LabMath.ExplainModPow(alicePublic, b, p, "S(Bob) = ")),
            new(
                "Both have the same key",
                aliceShared == bobShared
                    ? $"S(Alice) = S(Bob) = {LabMath.Brief(aliceShared)} = g^(ab) mod p ✓, and only A = {LabMath.Brief(alicePublic)} and B = {LabMath.Brief(bobPublic)} crossed the wire"
                    : $"S(Alice) = {LabMath.Brief(aliceShared)} ≠ S(Bob) = {LabMath.Brief(bobShared)} ✗"),
        };

        var notes = new List<string>();
        if (!Primality.IsPrime(g))
        {
            notes.Add($"The lecture calls g \"a prime base\"; g need not be prime — only a primitive root modulo p, as g = {LabMath.Brief(g)} is.");
        }
        else if (p < 1000)
        {
            var composite = Enumerable.Range(4, (int)p - 5).Select(x => (BigInteger)x).FirstOrDefault(x => !Primality.IsPrime(x) && primes.All(r => !LabMath.ModPow(x, order / r, p).IsOne));
            if (!composite.IsZero)
            {
                notes.Add($"The lecture calls g \"a prime base\"; g need not be prime — only a primitive root modulo p (for p = {p}, {composite} is a primitive root too).");
            }
        }

        EcdhExchange? real = null;
        if (withRealExchange)
        {
            real = RealExchange();
            steps.Add(new LabStep(
                "For contrast, a real exchange on the P-256 elliptic curve (System.Security.Cryptography)",
                $"Alice's public point A = (x, y) = ({Head(real.AlicePublicX)}, {Head(real.AlicePublicY)})",
                $"Bob's public point   B = ({Head(real.BobPublicX)}, {Head(real.BobPublicY)})",
                $"Alice: a·B → {real.AliceShared}",
                $"Bob:   b·A → {real.BobShared}",
                real.Agree ? "the same 256-bit secret ✓ (\"g^a\" becomes \"a·G\", a point multiplied on the curve)" : "the secrets differ ✗"));
            notes.Add("TLS 1.3 does the elliptic-curve version (usually X25519, sometimes P-256) with fresh secrets for every connection; recovering a from A is the discrete-logarithm problem, out of reach at these sizes.");
        }

        return new DiffieHellmanResult(g, p, a, b, alicePublic, bobPublic, aliceShared, bobShared, primes, real, steps, notes);
    }

    public static EcdhExchange RealExchange()
    {
        using var alice = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var bob = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var alicePoint = alice.ExportParameters(false).Q;
        var bobPoint = bob.ExportParameters(false).Q;
        var aliceShared = alice.DeriveRawSecretAgreement(bob.PublicKey);
        var bobShared = bob.DeriveRawSecretAgreement(alice.PublicKey);
        return new EcdhExchange(
            "P-256 (secp256r1)",
            Convert.ToHexStringLower(alicePoint.X!),
            Convert.ToHexStringLower(alicePoint.Y!),
            Convert.ToHexStringLower(bobPoint.X!),
            Convert.ToHexStringLower(bobPoint.Y!),
            Convert.ToHexStringLower(aliceShared),
            Convert.ToHexStringLower(bobShared),
            aliceShared.AsSpan().SequenceEqual(bobShared));
    }

    private static string Head(string hex) => hex.Length > 16 ? $"{hex[..16]}…" : hex;

    private static BigInteger SmallestPrimitiveRoot(BigInteger p, BigInteger order, List<BigInteger> primes)
    {
        for (BigInteger x = 2; x < p; x++)
        {
            if (primes.All(r => !LabMath.ModPow(x, order / r, p).IsOne))
            {
                return x;
            }
        }

        return 0;
    }
}
