using System.Security.Cryptography;
using System.Text;

namespace Alex.Web.Security;

/// <summary>
/// The per-run secret that the printed URL carries. Anyone who can reach the gateway's port but did
/// not see the URL (another local user, a web page doing DNS rebinding) is refused.
/// 256 bits from the OS generator, base64url so it survives a URL without escaping.
/// </summary>
public sealed class AccessToken
{
    private const int Bytes = 32;
    private readonly byte[] _utf8;

    private AccessToken(string value)
    {
        Value = value;
        _utf8 = Encoding.ASCII.GetBytes(value);
    }

    public string Value { get; }

    public static AccessToken Create(RandomNumberGenerator? random = null)
    {
        var bytes = new byte[Bytes];
        if (random is null)
        {
            RandomNumberGenerator.Fill(bytes);
        }
        else
        {
            random.GetBytes(bytes);
        }

        return new AccessToken(Base64Url(bytes));
    }

    /// <summary>For tests and for a token chosen by the caller; must be at least 128 bits of base64url.</summary>
    public static AccessToken FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length < 22 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException("a token is at least 22 base64url characters (128 bits)", nameof(value));
        }

        return new AccessToken(value);
    }

    /// <summary>Constant-time comparison, so response timing does not leak how much of a guess was right.</summary>
    public bool Matches(string? candidate)
    {
        if (string.IsNullOrEmpty(candidate) || candidate.Length > 256)
        {
            return false;
        }

        Span<byte> given = stackalloc byte[candidate.Length];
        for (var i = 0; i < candidate.Length; i++)
        {
            // Non-ASCII can never match; map it to a byte that is not in the alphabet.
            given[i] = candidate[i] < 128 ? (byte)candidate[i] : (byte)0;
        }

        return CryptographicOperations.FixedTimeEquals(given, _utf8);
    }

    public override string ToString() => "AccessToken(…)";

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
