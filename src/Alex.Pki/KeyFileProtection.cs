// A private key file the server will not use unless only its owner can read or replace it, as OpenSSH
// refuses an "UNPROTECTED PRIVATE KEY FILE" (ssh(1), sshd(8) StrictModes): the key (after following a
// symlink) must be owned by this user or root and have no group or other permission bits, and neither
// the directory named nor the one the key really lives in may be writable by everyone (anyone could swap
// the key there). The rule is Check, a pure decision over KeyFileFacts; Read gathers the facts.
using System.Runtime.InteropServices;

namespace Alex.Pki;

/// <summary>What the permission rule looks at: the key file as resolved, its owner and mode, and the directories involved.</summary>
public sealed record KeyFileFacts(
    string Path,
    string ResolvedPath,
    UnixFileMode Mode,
    uint OwnerId,
    IReadOnlyList<(string Path, UnixFileMode Mode)> Directories,
    uint UserId);

/// <summary>Refuses a private key that others can read or replace.</summary>
public static partial class KeyFileProtection
{
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Null when the key is protected, else the problem (message and the fix).</summary>
    public static PkiException? Check(KeyFileFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var shown = facts.ResolvedPath == facts.Path ? facts.Path : $"{facts.Path} (a link to {facts.ResolvedPath})";
        if (facts.OwnerId != facts.UserId && facts.OwnerId != 0)
        {
            return new PkiException(
                $"{shown}: the private key belongs to another user (uid {facts.OwnerId}), who could read or change it",
                hint: $"run as that user, or take it over: chown {facts.UserId} {facts.ResolvedPath} && chmod 600 {facts.ResolvedPath}");
        }

        if ((facts.Mode & GroupOrOther) != 0)
        {
            return new PkiException(
                $"{shown}: the private key is readable or writable by others (mode {Octal(facts.Mode)}); an unprotected key is refused",
                hint: $"chmod 600 {facts.ResolvedPath}");
        }

        foreach (var (dir, mode) in facts.Directories)
        {
            if ((mode & UnixFileMode.OtherWrite) != 0)
            {
                return new PkiException(
                    $"{shown}: the directory {dir} is writable by everyone (mode {Octal(mode)}), so anyone could replace the key",
                    hint: $"chmod o-w {dir}, or keep the key in a directory of your own (chmod 700)");
            }
        }

        return null;
    }

    /// <summary>Reads the facts about <paramref name="path"/> from the file system (Unix); null on Windows, where modes do not apply.</summary>
    public static KeyFileFacts? Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var full = System.IO.Path.GetFullPath(path);
        var resolved = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        var status = Stat(resolved);
        var directories = new List<(string, UnixFileMode)>();
        foreach (var dir in new[] { System.IO.Path.GetDirectoryName(full), System.IO.Path.GetDirectoryName(resolved) }.Distinct())
        {
            if (dir is not null)
            {
                directories.Add((dir, File.GetUnixFileMode(dir)));
            }
        }

        return new KeyFileFacts(path, resolved, (UnixFileMode)(status.Mode & 0xFFF), status.Uid, directories, GetEffectiveUserId());
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0xFFF, 8).PadLeft(4, '0');

    private static FileStatus Stat(string path)
    {
        if (SystemNativeStat(path, out var status) != 0)
        {
            throw new PkiException($"{path}: cannot read the key file's owner and mode ({Marshal.GetLastPInvokeErrorMessage()})");
        }

        return status;
    }

    // The runtime's own portable stat (the same struct on every architecture), as System.IO uses it.
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SystemNativeStat(string path, out FileStatus output);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [StructLayout(LayoutKind.Sequential)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
        public uint Uid;
        public uint Gid;
        public long Size;
        public long ATime;
        public long ATimeNsec;
        public long MTime;
        public long MTimeNsec;
        public long CTime;
        public long CTimeNsec;
        public long BirthTime;
        public long BirthTimeNsec;
        public long Dev;
        public long RDev;
        public long Ino;
        public uint UserFlags;
    }
}
