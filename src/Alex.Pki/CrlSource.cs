using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>The outcome of reading the CRL: the list, or why there is none that can be used.</summary>
public sealed record CrlState(CertificateRevocationList? List, TrustFailure? Failure, string? Problem);

/// <summary>
/// Where the trust policy gets its CRL: a file that is re-read whenever it changes on disk (so
/// `alex pki revoke` takes effect on a running server without a restart), or a fixed list (tests).
/// A missing, unreadable or damaged file is reported, never ignored: the policy fails closed.
/// With a memory file (the robot server keeps one beside the CRL: crl.pem.highest), the highest CRL
/// number seen from the CA is remembered across restarts and an older CRL is refused (CrlRollback):
/// a CRL the CA signed before a revocation must not let the revoked certificate back in.
/// </summary>
public sealed class CrlSource
{
    private readonly string? _path;
    private readonly string? _memoryPath;
    private readonly X509Certificate2Collection? _authorities;
    private readonly Lock _lock = new();
    private CrlState _state;
    private (DateTime WriteTime, long Length)? _stamp;

    private CrlSource(string? path, CrlState state, string? memoryPath = null, X509Certificate2Collection? authorities = null)
    {
        _path = path;
        _state = state;
        _memoryPath = memoryPath;
        _authorities = authorities;
    }

    public string Description => _path ?? "in-memory CRL";

    /// <summary>The memory file could not be written (the highest number is then not kept across restarts), or null.</summary>
    public string? MemoryProblem { get; private set; }

    public static CrlSource FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new CrlSource(path, new CrlState(null, TrustFailure.CrlMissing, $"{path}: not read yet"));
    }

    /// <summary>
    /// A CRL file whose highest number is kept in <paramref name="memoryPath"/>. Only CRLs signed by one of
    /// <paramref name="authorities"/> count: a forged list cannot raise the number (the policy refuses it anyway).
    /// </summary>
    public static CrlSource FromFile(string path, string memoryPath, X509Certificate2Collection authorities)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(memoryPath);
        ArgumentNullException.ThrowIfNull(authorities);
        return new CrlSource(path, new CrlState(null, TrustFailure.CrlMissing, $"{path}: not read yet"), memoryPath, authorities);
    }

    public static CrlSource FromList(CertificateRevocationList list) => new(null, new CrlState(list, null, null));

    /// <summary>The memory file kept beside a CRL.</summary>
    public static string MemoryPathFor(string crlPath) => crlPath + ".highest";

    /// <summary>The current CRL; re-reads the file when its time stamp or length changed.</summary>
    public CrlState Current()
    {
        if (_path is null)
        {
            return _state;
        }

        lock (_lock)
        {
            var info = new FileInfo(_path);
            if (!info.Exists)
            {
                _stamp = null;
                _state = new CrlState(null, TrustFailure.CrlMissing, $"the CRL {_path} is missing");
                return _state;
            }

            var stamp = (info.LastWriteTimeUtc, info.Length);
            if (_stamp == stamp)
            {
                return _state;
            }

            try
            {
                _state = Remember(CertificateRevocationList.Load(_path));
            }
            catch (PkiException e)
            {
                _state = new CrlState(null, TrustFailure.CrlInvalid, e.Message);
            }
            catch (CryptographicException e)
            {
                _state = new CrlState(null, TrustFailure.CrlInvalid, $"{_path}: {e.Message}");
            }

            _stamp = stamp;
            return _state;
        }
    }

    /// <summary>Forgets the cached CRL so the next <see cref="Current"/> reads the file again.</summary>
    public void Reload()
    {
        lock (_lock)
        {
            _stamp = null;
        }
    }

    private CrlState Remember(CertificateRevocationList list)
    {
        if (_memoryPath is null || _authorities is null || !_authorities.Cast<X509Certificate2>().Any(list.IsSignedBy))
        {
            return new CrlState(list, null, null);
        }

        var highest = ReadMemory();
        if (CrlRollback.Problem(_path!, list.CrlNumber, highest) is { } problem)
        {
            return new CrlState(null, TrustFailure.CrlInvalid, problem);
        }

        if (list.CrlNumber is { } number && number != highest)
        {
            try
            {
                PkiFile.WriteAtomic(_memoryPath, number.ToString(CultureInfo.InvariantCulture) + "\n", secret: false, overwrite: true);
                MemoryProblem = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or PkiException)
            {
                MemoryProblem = $"{_memoryPath}: cannot keep the highest CRL number ({e.Message.TrimEnd('.')})";
            }
        }

        return new CrlState(list, null, null);
    }

    private BigInteger? ReadMemory()
    {
        if (!File.Exists(_memoryPath))
        {
            return null;
        }

        var text = File.ReadAllText(_memoryPath!).Trim();
        return BigInteger.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new PkiException($"{_memoryPath}: not a CRL number (\"{(text.Length > 20 ? text[..20] : text)}\")", hint: $"it holds the highest CRL number seen; put that number back, or delete the file to trust the current {Path.GetFileName(_path)} as the newest");
    }
}

/// <summary>Never go back to an older CRL (RFC 5280 §5.2.3: cRLNumber increases with every CRL the CA issues).</summary>
public static class CrlRollback
{
    /// <summary>Null when a CRL numbered <paramref name="number"/> may be used after <paramref name="highestSeen"/>, else why not.</summary>
    public static string? Problem(string what, BigInteger? number, BigInteger? highestSeen)
    {
        if (highestSeen is not { } highest)
        {
            return null;
        }

        if (number is not { } n)
        {
            return $"{what} has no CRL number, but CRL number {highest} was seen before: an older list could let revoked certificates back in";
        }

        return n < highest
            ? $"{what} is CRL number {n}, older than number {highest} seen before: a rolled-back CRL would let revoked certificates back in"
            : null;
    }
}
