using System.Security.Cryptography;
using System.Text;

namespace Alex.Pki;

/// <summary>
/// Reading and writing the PKI's files. Writes go to a temporary file in the same directory that is
/// then renamed over the target, so a crash or a full disk never leaves a half-written key or
/// certificate behind; private keys are created owner-only (0600) from the first byte.
/// </summary>
public static class PkiFile
{
    /// <summary>Largest PEM/DER file we read: certificates and CRLs for a class are a few KB.</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    internal const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    internal const UnixFileMode Public = OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Directories we make are owner-only (0700) whatever the umask: a CA folder holds its key.</summary>
    internal const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    /// <summary>Reads a whole file with a size limit; every failure is a one-line <see cref="PkiException"/> naming the file.</summary>
    public static byte[] ReadAll(string path, string what)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new PkiException(
                    Directory.Exists(path) ? $"{path}: is a directory, not a {what} file" : $"{path}: no such {what} file",
                    hint: "check the path (and --dir)");
            }

            if (info.Length > MaxFileBytes)
            {
                throw new PkiException($"{path}: {info.Length} bytes is too large for a {what} file");
            }

            // Devices (/dev/zero) and pipes report no length: read at most one byte past the limit.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            var buffer = new byte[(int)Math.Min(info.Length == 0 ? 64 * 1024 : info.Length + 1, MaxFileBytes + 1L)];
            var total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > MaxFileBytes)
                    {
                        throw new PkiException($"{path}: more than {MaxFileBytes} bytes is too large for a {what} file");
                    }

                    Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, MaxFileBytes + 1L));
                }

                var read = stream.Read(buffer, total, buffer.Length - total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return buffer[..total];
        }
        catch (UnauthorizedAccessException e)
        {
            throw new PkiException($"{path}: cannot read the {what} file (permission denied)", hint: "check the file's owner and mode", e);
        }
        catch (IOException e)
        {
            throw new PkiException($"{path}: cannot read the {what} file ({e.Message})", hint: null, e);
        }
    }

    /// <summary>Writes text atomically (temp file + rename). Refuses to replace an existing file unless <paramref name="overwrite"/>.</summary>
    public static void WriteAtomic(string path, string text, bool secret, bool overwrite) =>
        WriteAtomic(path, Encoding.ASCII.GetBytes(text), secret, overwrite);

    /// <summary>Writes bytes atomically (temp file + rename); secret files are created 0600.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> bytes, bool secret, bool overwrite)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? ".";
        if (!overwrite && File.Exists(full))
        {
            throw new PkiException($"{path}: already exists; not overwriting it", hint: "pass --force to replace it (the old file is lost)");
        }

        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant()}.tmp");
        try
        {
            CreateDirectory(dir);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = secret ? OwnerOnly : Public;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite);
        }
        catch (IOException e) when (!overwrite && File.Exists(full))
        {
            // Another process created the file between our check and the rename: still never overwrite.
            TryDelete(temp);
            throw new PkiException($"{path}: already exists; not overwriting it", hint: "pass --force to replace it", e);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(temp);
            throw new PkiException($"{path}: cannot write (permission denied)", hint: "check the directory's owner and mode", e);
        }
        catch (IOException e)
        {
            TryDelete(temp);
            throw new PkiException($"{path}: cannot write ({e.Message})", hint: null, e);
        }
    }

    /// <summary>True when a file exists and is readable by group or others (a private key should not be).</summary>
    public static bool IsReadableByOthers(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return false;
        }

        var mode = File.GetUnixFileMode(path);
        return (mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0;
    }

    /// <summary>Makes a directory (and its missing parents) owner-only, 0700, under any umask.</summary>
    public static void CreateDirectory(string dir)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else if (!Directory.Exists(dir))
        {
            // Parents first, each with the mode: CreateDirectory(path, mode) gives it to the last one only.
            var parent = Path.GetDirectoryName(Path.GetFullPath(dir));
            if (parent is not null)
            {
                CreateDirectory(parent);
            }

            Directory.CreateDirectory(dir, OwnerOnlyDirectory);
        }
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temp file has a random hidden name and never replaces anything.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
