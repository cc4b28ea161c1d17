using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Alex.Lab;

/// <summary>`alex lab hash`: SHA-256 of a text, and how much of the hash one flipped bit changes.</summary>
public sealed record AvalancheResult(
    string Text,
    string TextHex,
    string Hash,
    string ChangedText,
    string ChangedTextHex,
    int FlippedBit,
    string ChangedHash,
    int ChangedBits,
    string ChangedBitMap,
    int EveryFlipMin,
    double EveryFlipMean,
    int EveryFlipMax,
    int EveryFlipCount,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => "SHA-256 and the avalanche effect";
}

/// <summary>
/// The lecture's hash properties, measured: fixed size whatever the input, and "the tiniest change to m changes
/// h(m) drastically" — one flipped input bit changes about half (128) of the 256 output bits.
/// Bits are numbered from 0 = the most significant bit of the first byte.
/// </summary>
public static class Avalanche
{
    public static AvalancheResult Run(string text, int? flipBit, string? other)
    {
        var input = Encoding.UTF8.GetBytes(text);
        byte[] changed;
        int flipped;
        if (other is not null)
        {
            changed = Encoding.UTF8.GetBytes(other);
            flipped = -1;
        }
        else
        {
            if (input.Length == 0)
            {
                throw new LabInputException("the text is empty: there is no bit to flip", "give some text, for example \"I LOVE TLS\"");
            }

            flipped = flipBit ?? ((input.Length * 8) - 1);
            if (flipped < 0 || flipped >= input.Length * 8)
            {
                throw new LabInputException($"--bit {flipped} is outside the text's {input.Length * 8} bits (0 … {(input.Length * 8) - 1})", "leave --bit out to flip the last bit");
            }

            changed = (byte[])input.Clone();
            changed[flipped / 8] ^= (byte)(0x80 >> (flipped % 8));
        }

        var hash = SHA256.HashData(input);
        var changedHash = SHA256.HashData(changed);
        var differing = CountDifferentBits(hash, changedHash);
        var map = new StringBuilder(256);
        for (var i = 0; i < 256; i++)
        {
            var mask = 0x80 >> (i % 8);
            map.Append(((hash[i / 8] ^ changedHash[i / 8]) & mask) != 0 ? 'x' : '.');
        }

        // Every single-bit flip of the input (up to 4096 of them): the spread around 128.
        var counts = new List<int>();
        var scratch = (byte[])input.Clone();
        for (var bit = 0; bit < Math.Min(input.Length * 8, 4096); bit++)
        {
            scratch[bit / 8] ^= (byte)(0x80 >> (bit % 8));
            counts.Add(CountDifferentBits(hash, SHA256.HashData(scratch)));
            scratch[bit / 8] ^= (byte)(0x80 >> (bit % 8));
        }

        var changedText = Encoding.UTF8.GetString(changed);
        var steps = new List<LabStep>
        {
            new(
                "Hash the text with SHA-256",
                $"m = \"{text}\" ({input.Length} bytes: {Convert.ToHexStringLower(input)})",
                $"h(m) = {Convert.ToHexStringLower(hash)}",
                "256 bits, whatever the length of m"),
            new(
                other is null ? $"Flip one bit of m (bit {flipped}: byte {flipped / 8}, {Describe(input[flipped / 8])} → {Describe(changed[flipped / 8])})" : "Take the other text",
                $"m' = \"{changedText}\" ({Convert.ToHexStringLower(changed)})",
                $"h(m') = {Convert.ToHexStringLower(changedHash)}"),
            new(
                "Count the output bits that changed (h(m) XOR h(m'), x = changed)",
                [.. Chunk(map.ToString(), 64), $"{differing} of 256 bits changed ({differing * 100.0 / 256:0.#}%); a good hash changes about half"]),
        };

        if (counts.Count > 0)
        {
            steps.Add(new LabStep(
                $"Do it for every single-bit flip of m ({counts.Count} flips)",
                $"bits changed: min {counts.Min()}, mean {counts.Average():0.0}, max {counts.Max()} (expected 128 ± 8)"));
        }

        return new AvalancheResult(
            text,
            Convert.ToHexStringLower(input),
            Convert.ToHexStringLower(hash),
            changedText,
            Convert.ToHexStringLower(changed),
            flipped,
            Convert.ToHexStringLower(changedHash),
            differing,
            map.ToString(),
            counts.Count > 0 ? counts.Min() : 0,
            counts.Count > 0 ? counts.Average() : 0,
            counts.Count > 0 ? counts.Max() : 0,
            counts.Count,
            steps,
            ["Without the hash, nothing in h(m) tells you m: the only way back is to guess m and compare (that is why short passwords are weak)."]);
    }

    public static int CountDifferentBits(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        var count = 0;
        for (var i = 0; i < x.Length; i++)
        {
            count += BitOperations.PopCount((uint)(x[i] ^ y[i]));
        }

        return count;
    }

    private static string Describe(byte b) =>
        b is >= 0x20 and < 0x7f ? $"0x{b:x2} '{(char)b}'" : $"0x{b:x2}";

    private static IEnumerable<string> Chunk(string s, int size)
    {
        for (var i = 0; i < s.Length; i += size)
        {
            yield return s.Substring(i, Math.Min(size, s.Length - i));
        }
    }
}
