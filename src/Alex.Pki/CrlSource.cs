using System.Security.Cryptography;

namespace Alex.Pki;

/// <summary>The outcome of reading the CRL: the list, or why there is none that can be used.</summary>
public sealed record CrlState(CertificateRevocationList? List, TrustFailure? Failure, string? Problem);

/// <summary>
/// Where the trust policy gets its CRL: a file that is re-read whenever it changes on disk (so
/// `alex pki revoke` takes effect on a running server without a restart), or a fixed list (tests).
/// A missing, unreadable or damaged file is reported, never ignored: the policy fails closed.
/// </summary>
public sealed class CrlSource
{
    private readonly string? _path;
    private readonly Lock _lock = new();
    private CrlState _state;
    private (DateTime WriteTime, long Length)? _stamp;

    private CrlSource(string? path, CrlState state)
    {
        _path = path;
        _state = state;
    }

    public string Description => _path ?? "in-memory CRL";

    public static CrlSource FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new CrlSource(path, new CrlState(null, TrustFailure.CrlMissing, $"{path}: not read yet"));
    }

    public static CrlSource FromList(CertificateRevocationList list) => new(null, new CrlState(list, null, null));

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
                _state = new CrlState(CertificateRevocationList.Load(_path), null, null);
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
}
