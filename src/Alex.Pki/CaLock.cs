namespace Alex.Pki;

/// <summary>
/// The CA's lock (DIR/.issued.lock), held for a whole change: read the ledger and the CRL, decide,
/// write. .NET opens a file with <see cref="FileShare.None"/> under an exclusive flock(2) on Linux, so
/// two `alex pki` runs on one CA take turns instead of both reading the same ledger and one of them
/// losing the other's certificate or revocation.
/// </summary>
public sealed class CaLock : IDisposable
{
    public const string FileName = ".issued.lock";

    /// <summary>How long a run waits for another one on the same CA before giving up.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(25);

    private readonly FileStream _file;

    private CaLock(FileStream file)
    {
        _file = file;
    }

    /// <summary>Takes the lock of the CA in <paramref name="dir"/>, waiting up to <paramref name="wait"/> for another run to finish.</summary>
    public static CaLock Acquire(string dir, TimeSpan? wait = null)
    {
        var path = Path.Combine(dir, FileName);
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PkiFile.OwnerOnly;
        }

        var deadline = DateTime.UtcNow + (wait ?? DefaultWait);
        while (true)
        {
            try
            {
                return new CaLock(new FileStream(path, options));
            }
            catch (UnauthorizedAccessException e)
            {
                throw new PkiException($"{path}: cannot lock the CA (permission denied)", hint: "run as the CA's owner, or check the directory's mode", e);
            }
            catch (DirectoryNotFoundException e)
            {
                throw new PkiException($"{dir}: no such CA directory", hint: $"make a CA first: alex pki init --dir {dir}", e);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // Held by another run: a short wait, then try again (flock has no timeout of its own).
                Thread.Sleep(Retry);
            }
            catch (IOException e)
            {
                throw new PkiException($"{dir}: another alex pki command has held this CA for {(wait ?? DefaultWait).TotalSeconds:0} s", hint: "wait for it to finish and try again", e);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
