using System.Diagnostics;
using System.Numerics;
using System.Security.Cryptography;

namespace Alex.Lab;

/// <summary>`alex lab rsa`: the lecture's RSA example (key generation with k, encrypt, decrypt, sign, verify).</summary>
public sealed record RsaResult(
    BigInteger P,
    BigInteger Q,
    BigInteger N,
    BigInteger Totient,
    BigInteger E,
    BigInteger K,
    BigInteger D,
    BigInteger? Message,
    BigInteger? Ciphertext,
    BigInteger? Decrypted,
    BigInteger? SignedMessage,
    BigInteger? Signature,
    BigInteger? Recovered,
    bool? SignatureValid,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => $"RSA with p = {LabMath.Brief(P)}, q = {LabMath.Brief(Q)}, e = {LabMath.Brief(E)}";
}

/// <summary>`alex lab rsa --bits N`: a real-size key made the same way, with the sizes shown.</summary>
public sealed record RsaKeyGenerationResult(
    int Bits,
    BigInteger P,
    BigInteger Q,
    BigInteger N,
    BigInteger E,
    BigInteger D,
    int ModulusBits,
    int ModulusDigits,
    TimeSpan Elapsed,
    BigInteger Message,
    BigInteger Ciphertext,
    BigInteger Decrypted,
    bool AcceptedByPlatform,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => $"RSA key generation, {Bits}-bit modulus";
}

/// <summary>
/// Textbook RSA exactly as the lecture's slides compute it: n = p·q, t(n) = (p−1)(q−1), gcd(e, t) = 1,
/// d·e = 1 + k·t, c = m^e mod n, m = c^d mod n; signing is the same with the exponents swapped.
/// No padding: this is the lecture's arithmetic, not a way to protect data (real RSA uses OAEP and PSS).
/// </summary>
public static class ToyRsa
{
    public static readonly BigInteger LectureP = 3;
    public static readonly BigInteger LectureQ = 5;
    public static readonly BigInteger LectureE = 7;
    public static readonly BigInteger LectureK = 20;
    public static readonly BigInteger LectureMessage = 12;
    public static readonly BigInteger LectureSignedMessage = 3;

    /// <param name="k">The lecture's k in d·e = 1 + k·t(n); null picks the smallest k that makes d whole.</param>
    /// <param name="signature">A signature to verify instead of the one computed (a student's own answer).</param>
    public static RsaResult Run(BigInteger p, BigInteger q, BigInteger e, BigInteger? k, BigInteger? message, BigInteger? signMessage, BigInteger? signature)
    {
        RequirePrime(p, "p");
        RequirePrime(q, "q");
        if (p == q)
        {
            throw new LabInputException($"p and q are both {p}: they must be different primes", "with p = q, n = p² is trivial to factor; choose, for example, p = 3 and q = 5");
        }

        var n = p * q;
        var t = (p - 1) * (q - 1);
        var steps = new List<LabStep>
        {
            new(
                "Choose two primes p and q, compute the modulus n",
                $"p = {LabMath.Brief(p)}, q = {LabMath.Brief(q)} (both prime: Miller–Rabin)",
                $"n = p × q = {LabMath.Brief(p)} × {LabMath.Brief(q)} = {LabMath.Brief(n)}"),
            new(
                "Compute the totient t(n) = (p − 1) × (q − 1)",
                $"t({LabMath.Brief(n)}) = ({LabMath.Brief(p)} − 1) × ({LabMath.Brief(q)} − 1) = {LabMath.Brief(p - 1)} × {LabMath.Brief(q - 1)} = {LabMath.Brief(t)}"),
        };

        if (e <= 1)
        {
            throw new LabInputException($"e = {e} must be greater than 1", $"choose e > 1 with gcd(e, {LabMath.Brief(t)}) = 1, for example {SmallCoprime(t)}");
        }

        var gcd = BigInteger.GreatestCommonDivisor(e, t);
        if (!gcd.IsOne)
        {
            throw new LabInputException(
                $"gcd(e, t) = gcd({LabMath.Brief(e)}, {LabMath.Brief(t)}) = {LabMath.Brief(gcd)}, not 1: e has no inverse modulo t(n)",
                $"choose an e that shares no factor with {LabMath.Brief(t)}, for example {SmallCoprime(t)}");
        }

        steps.Add(new LabStep(
            "Choose e > 1 with gcd(e, t(n)) = 1; the public key is (e, n)",
            [.. EuclidLines(e, t), $"gcd({LabMath.Brief(e)}, {LabMath.Brief(t)}) = 1 ✓  public key (e, n) = ({LabMath.Brief(e)}, {LabMath.Brief(n)})"]));

        var inverse = LabMath.ModInverse(e, t)!.Value;
        var smallestK = ((inverse * e) - 1) / t;
        var chosenK = k ?? smallestK;
        var numerator = 1 + (chosenK * t);
        if (!(numerator % e).IsZero)
        {
            throw new LabInputException(
                $"with k = {chosenK}, 1 + k × t(n) = {LabMath.Brief(numerator)} is not a multiple of e = {LabMath.Brief(e)}, so d is not a whole number",
                $"use k = {LabMath.Brief(smallestK)} or k = {LabMath.Brief(smallestK)} + a multiple of {LabMath.Brief(e)}");
        }

        var d = numerator / e;
        steps.Add(new LabStep(
            "Choose d with d × e = 1 + k × t(n); the private key is (d, n)",
            $"k = {LabMath.Brief(chosenK)}{(k is null ? " (the smallest k that makes d whole)" : string.Empty)}: {LabMath.Brief(e)}d = 1 + {LabMath.Brief(chosenK)} × {LabMath.Brief(t)} = {LabMath.Brief(numerator)}",
            $"d = {LabMath.Brief(numerator)} / {LabMath.Brief(e)} = {LabMath.Brief(d)}   private key (d, n) = ({LabMath.Brief(d)}, {LabMath.Brief(n)})",
            $"check: d × e mod t(n) = {LabMath.Brief(d)} × {LabMath.Brief(e)} mod {LabMath.Brief(t)} = {LabMath.Brief(d * e % t)}",
            $"any k = {LabMath.Brief(smallestK)} + j × {LabMath.Brief(e)} works (d = {LabMath.Brief(inverse)} + j × {LabMath.Brief(t)}); all give the same decryptions"));

        var notes = new List<string>();
        BigInteger? c = null, decrypted = null, signatureOut = null, recovered = null;
        bool? valid = null;
        if (message is { } m)
        {
            RequireBelow(m, n, "message");
            c = LabMath.ModPow(m, e, n);
            steps.Add(new LabStep("Encrypt with the public key: c = m^e mod n", LabMath.ExplainModPow(m, e, n, "c = ")));
            decrypted = LabMath.ModPow(c.Value, d, n);
            steps.Add(new LabStep(
                "Decrypt with the private key: m = c^d mod n",
                [.. LabMath.ExplainModPow(c.Value, d, n, "m = "), decrypted == m ? $"{LabMath.Brief(decrypted.Value)} = the message ✓" : $"{LabMath.Brief(decrypted.Value)} ≠ {LabMath.Brief(m)} ✗"]));
        }

        if (signMessage is { } s)
        {
            RequireBelow(s, n, "message to sign");
            var computed = LabMath.ModPow(s, d, n);
            steps.Add(new LabStep("Sign: encrypt m with the private key, c = m^d mod n", LabMath.ExplainModPow(s, d, n, "c = ")));
            signatureOut = signature ?? computed;
            RequireBelow(signatureOut.Value, n, "signature");
            recovered = LabMath.ModPow(signatureOut.Value, e, n);
            valid = recovered == s;
            steps.Add(new LabStep(
                $"Verify: send (m, c) = ({LabMath.Brief(s)}, {LabMath.Brief(signatureOut.Value)}); decrypt c with the public key, m' = c^e mod n, compare with m",
                [
                    .. LabMath.ExplainModPow(signatureOut.Value, e, n, "m' = "),
                    valid.Value ? $"m' = {LabMath.Brief(recovered.Value)} = m ✓ the signature is valid" : $"m' = {LabMath.Brief(recovered.Value)} ≠ m = {LabMath.Brief(s)} ✗ the signature is NOT valid",
                ]));

            if (n == 15 && e == 7 && s == 3)
            {
                var withSlip = LabMath.ModPow(2, e, n);
                notes.Add(
                    $"The lecture's signature slide has a slip: it writes c = 3^23 mod 15 = 2, but 3^23 mod 15 = {computed}. " +
                    $"With the lecture's c = 2 Alice would compute m' = 2^7 mod 15 = {withSlip} ≠ 3 and reject the signature; with c = {computed}, m' = {computed}^7 mod 15 = {LabMath.ModPow(computed, e, n)} = m ✓.");
            }
        }

        if (d % t == e % t)
        {
            notes.Add($"Here d ≡ e (mod t(n)): the private exponent does what the public one does. A quirk of tiny moduli (every unit modulo 8 is its own inverse); with real sizes it practically never happens.");
        }

        return new RsaResult(p, q, n, t, e, chosenK, d, message, c, decrypted, signMessage, signatureOut, recovered, valid, steps, notes);
    }

    /// <summary>Generates a real-size key the lecture's way (two random primes, e = 65537) and shows the sizes.</summary>
    /// <param name="progress">Told what is being searched for and how many candidates were tried (a 4096-bit key takes seconds).</param>
    public static RsaKeyGenerationResult Generate(int bits, RandomNumberGenerator rng, CancellationToken cancellationToken, Action<string>? progress = null)
    {
        if (bits is < 64 or > 8192 || bits % 2 != 0)
        {
            throw new LabInputException($"--bits {bits} is not a usable modulus size", "use an even number of bits from 64 to 8192, for example 2048");
        }

        var clock = Stopwatch.StartNew();
        BigInteger e = 65537;
        bool Coprime(BigInteger candidate) => BigInteger.GreatestCommonDivisor(e, candidate - 1).IsOne;
        Action<int>? Counting(string name) => progress is null ? null : n =>
        {
            if (n % 25 == 0)
            {
                progress($"looking for {name}, a {bits / 2}-bit prime: {n} candidates tried");
            }
        };
        progress?.Invoke($"looking for p, a {bits / 2}-bit prime");
        var p = Primality.RandomPrime(bits / 2, rng, cancellationToken, Coprime, Counting("p"));
        BigInteger q;
        do
        {
            progress?.Invoke($"p found; looking for q, a {bits / 2}-bit prime");
            q = Primality.RandomPrime(bits / 2, rng, cancellationToken, Coprime, Counting("q"));
        }
        while (q == p);

        progress?.Invoke("q found; computing d");

        var n = p * q;
        var t = (p - 1) * (q - 1);
        var d = LabMath.ModInverse(e, t)!.Value;
        var k = ((d * e) - 1) / t;
        clock.Stop();

        var m = LabMath.LectureHairCount;
        var c = LabMath.ModPow(m, e, n);
        var back = LabMath.ModPow(c, d, n);
        var accepted = PlatformAccepts(p, q, e, d, rng);

        var steps = new List<LabStep>
        {
            new(
                $"Choose two random {bits / 2}-bit primes p and q (top two bits set, odd, trial division, Miller–Rabin)",
                $"p = {LabMath.Brief(p)}",
                $"q = {LabMath.Brief(q)}",
                $"found in {Factoring.FormatDuration(clock.Elapsed)}"),
            new("n = p × q", $"n = {LabMath.Brief(n)}", $"n has {n.GetBitLength()} bits, {n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length} decimal digits: ciphertexts are {(n.GetBitLength() + 7) / 8} bytes"),
            new("t(n) = (p − 1) × (q − 1)", $"t(n) = {LabMath.Brief(t)}"),
            new("e = 65537 (the usual choice: prime, and 2^16 + 1 makes encryption fast)", $"gcd(65537, t(n)) = 1 ✓ (p and q were chosen so that it is)"),
            new("d with d × e = 1 + k × t(n)", $"k = {LabMath.Brief(k)}", $"d = {LabMath.Brief(d)}"),
            new(
                "Encrypt and decrypt the lecture's 12",
                $"c = 12^65537 mod n = {LabMath.Brief(c)}",
                $"c^d mod n = {back} {(back == m ? "✓" : "✗")}"),
            new(
                "Hand the key to the platform's RSA (System.Security.Cryptography) and round-trip with OAEP padding",
                accepted ? "accepted, OAEP-SHA256 encrypt with our (n, e) and decrypt with our d: ✓" : "the platform rejected the key ✗"),
        };

        var notes = new List<string>
        {
            "Real RSA never encrypts m directly: OAEP (encryption) and PSS (signatures) add randomness and structure, because textbook RSA is deterministic and m^e is multiplicative.",
        };
        return new RsaKeyGenerationResult(bits, p, q, n, e, d, (int)n.GetBitLength(), n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length, clock.Elapsed, m, c, back, accepted, steps, notes);
    }

    /// <summary>The CRT form the platform wants (PKCS #1 §3.2), from p, q, e, d.</summary>
    public static RSAParameters ToParameters(BigInteger p, BigInteger q, BigInteger e, BigInteger d)
    {
        if (p < q)
        {
            (p, q) = (q, p);
        }

        var n = p * q;
        var size = (int)((n.GetBitLength() + 7) / 8);
        var half = (size + 1) / 2;
        return new RSAParameters
        {
            Modulus = Bytes(n, size),
            Exponent = Bytes(e, 0),
            D = Bytes(d, size),
            P = Bytes(p, half),
            Q = Bytes(q, half),
            DP = Bytes(d % (p - 1), half),
            DQ = Bytes(d % (q - 1), half),
            InverseQ = Bytes(LabMath.ModInverse(q, p)!.Value, half),
        };
    }

    private static bool PlatformAccepts(BigInteger p, BigInteger q, BigInteger e, BigInteger d, RandomNumberGenerator rng)
    {
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportParameters(ToParameters(p, q, e, d));
            var secret = new byte[32];
            rng.GetBytes(secret);
            var sealedBytes = rsa.Encrypt(secret, RSAEncryptionPadding.OaepSHA256);
            return rsa.Decrypt(sealedBytes, RSAEncryptionPadding.OaepSHA256).AsSpan().SequenceEqual(secret);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] Bytes(BigInteger value, int length)
    {
        var raw = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (raw.Length >= length)
        {
            return raw;
        }

        var padded = new byte[length];
        raw.CopyTo(padded, length - raw.Length);
        return padded;
    }

    private static void RequirePrime(BigInteger value, string name)
    {
        if (!Primality.IsPrime(value))
        {
            var factor = value < 2 ? null : Primality.SmallPrimes.Select(x => (BigInteger?)x).FirstOrDefault(x => x < value && (value % x!.Value).IsZero);
            var why = factor is { } f ? $" ({value} = {f} × {value / f})" : string.Empty;
            throw new LabInputException($"{name} = {LabMath.Brief(value)} is not prime{why}", "RSA needs two primes, for example p = 3 and q = 5 (or --bits 2048 to generate them)");
        }
    }

    private static void RequireBelow(BigInteger value, BigInteger n, string name)
    {
        if (value >= n)
        {
            throw new LabInputException($"{name} = {LabMath.Brief(value)} is not smaller than n = {LabMath.Brief(n)}", "RSA works modulo n: use a number from 0 to n − 1, or larger primes");
        }
    }

    private static BigInteger SmallCoprime(BigInteger t)
    {
        for (BigInteger candidate = 3; ; candidate += 2)
        {
            if (BigInteger.GreatestCommonDivisor(candidate, t).IsOne)
            {
                return candidate;
            }
        }
    }

    /// <summary>Euclid's algorithm written out, for numbers small enough to check by hand.</summary>
    private static List<string> EuclidLines(BigInteger a, BigInteger b)
    {
        var lines = new List<string>();
        if (a.GetBitLength() > 64 || b.GetBitLength() > 64)
        {
            return lines;
        }

        var (x, y) = a > b ? (a, b) : (b, a);
        while (!y.IsZero)
        {
            var q = x / y;
            lines.Add($"{x} = {q} × {y} + {x % y}");
            (x, y) = (y, x % y);
        }

        return lines;
    }
}
