using System.Text;

namespace Alex.Lab;

/// <summary>`alex lab subst`: the lecture's substitution cipher, key phrase to table to message.</summary>
public sealed record SubstitutionResult(
    string KeyPhrase,
    string ShortenedKey,
    string PlainAlphabet,
    string CipherAlphabet,
    bool Decrypting,
    string Input,
    string Output,
    IReadOnlyList<LabStep> Steps,
    IReadOnlyList<string> Notes) : ILabReport
{
    public string Title => Decrypting ? "Substitution cipher: decrypt" : "Substitution cipher: encrypt";
}

/// <summary>
/// The cipher from the lecture's "Example" slides: remove duplicate letters from the key phrase, write the
/// shortened key under A, B, C, … and fill the rest of the row with the unused letters in alphabetical order.
/// Letters keep their case; anything that is not A–Z passes through unchanged.
/// </summary>
public static class SubstitutionCipher
{
    public const string LectureKey = "THIS IS THE COOLEST COURSE!";

    public const string LectureMessage = "I LOVE TLS";

    public const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    public static string ShortenKey(string keyPhrase)
    {
        var sb = new StringBuilder(26);
        foreach (var ch in keyPhrase.ToUpperInvariant())
        {
            if (ch is >= 'A' and <= 'Z' && sb.ToString().IndexOf(ch, StringComparison.Ordinal) < 0)
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }

    public static string CipherAlphabetFor(string shortenedKey) =>
        shortenedKey + new string([.. Alphabet.Where(c => shortenedKey.IndexOf(c, StringComparison.Ordinal) < 0)]);

    public static SubstitutionResult Run(string keyPhrase, string message, bool decrypt)
    {
        var shortened = ShortenKey(keyPhrase);
        if (shortened.Length == 0)
        {
            throw new LabInputException($"the key phrase '{keyPhrase}' has no letters A–Z", $"use a phrase with letters, for example \"{LectureKey}\"");
        }

        var cipherAlphabet = CipherAlphabetFor(shortened);
        var from = decrypt ? cipherAlphabet : Alphabet;
        var to = decrypt ? Alphabet : cipherAlphabet;
        var output = new StringBuilder(message.Length);
        var lookups = new List<string>();
        foreach (var ch in message)
        {
            var upper = char.ToUpperInvariant(ch);
            var index = upper is >= 'A' and <= 'Z' ? from.IndexOf(upper, StringComparison.Ordinal) : -1;
            if (index < 0)
            {
                output.Append(ch);
                continue;
            }

            var mapped = to[index];
            output.Append(char.IsLower(ch) ? char.ToLowerInvariant(mapped) : mapped);
            var lookup = $"{upper}→{mapped}";
            if (!lookups.Contains(lookup))
            {
                lookups.Add(lookup);
            }
        }

        var dropped = keyPhrase.ToUpperInvariant().Count(c => c is >= 'A' and <= 'Z') - shortened.Length;
        var steps = new List<LabStep>
        {
            new("Decide on a key", $"key phrase: \"{keyPhrase}\""),
            new(
                "Remove all duplicate letters (and anything that is not a letter)",
                $"shortened key: {shortened}  ({shortened.Length} letters kept, {dropped} repeated letters dropped)"),
            new("Tell your friend the shortened key", $"{shortened}"),
            new(
                "Both build the substitution table: the shortened key under A, B, C, …, then the unused letters in order",
                [$"plain:  {Alphabet}", $"cipher: {cipherAlphabet}"],
                LectureLayout(cipherAlphabet)),
            new(
                decrypt
                    ? "Decrypt: find each letter in the bottom (cipher) row, write the letter above it"
                    : "Encrypt: find each letter in the top (plain) row, write the letter below it",
                [$"{string.Join(", ", lookups)}", $"\"{message}\" → \"{output}\""]),
        };

        var notes = new List<string>();
        if (!decrypt && keyPhrase == LectureKey && message == LectureMessage)
        {
            notes.Add(output.ToString() == "U BGVE PBN"
                ? "Matches the lecture: I LOVE TLS → U BGVE PBN."
                : $"Differs from the lecture's U BGVE PBN: {output}");
        }

        if (shortened.Length < 26)
        {
            var fixedLetters = Enumerable.Range(0, 26).Where(i => Alphabet[i] == cipherAlphabet[i]).Select(i => Alphabet[i]).ToList();
            if (fixedLetters.Count > 0)
            {
                notes.Add($"Letters that encrypt to themselves with this key: {string.Join(" ", fixedLetters)} (a weakness of short keys: the tail of the alphabet often stays put).");
            }
        }

        return new SubstitutionResult(keyPhrase, shortened, Alphabet, cipherAlphabet, decrypt, message, output.ToString(), steps, notes);
    }

    /// <summary>The table as the lecture draws it: three blocks of ten columns, plain row above cipher row.</summary>
    private static LabTable LectureLayout(string cipherAlphabet)
    {
        var rows = new List<IReadOnlyList<string>>();
        for (var start = 0; start < 26; start += 10)
        {
            if (start > 0)
            {
                // A blank row between the slide's three blocks.
                rows.Add([.. Enumerable.Repeat(string.Empty, 11)]);
            }

            var plain = new List<string> { "plain" };
            var cipher = new List<string> { "cipher" };
            for (var i = start; i < start + 10; i++)
            {
                plain.Add(i < 26 ? Alphabet[i].ToString() : string.Empty);
                cipher.Add(i < 26 ? cipherAlphabet[i].ToString() : string.Empty);
            }

            rows.Add(plain);
            rows.Add(cipher);
        }

        return new LabTable([string.Empty, .. Enumerable.Range(1, 10).Select(i => string.Empty)], rows);
    }
}
