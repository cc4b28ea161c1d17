// May this process open the Arduino's serial port for reading and writing, and if not, why not?
// On Raspberry Pi OS and Debian the port (/dev/ttyACM0, /dev/ttyUSB0) is root:dialout mode 0660, so
// the usual answer is "you are not in the dialout group" — or "you were added, but this login
// session started before that" (groups are read at login), which deserve different fixes.
// .NET has no API for a file's owner and group, so they come from statx(2), whose struct layout is
// the same on every Linux architecture (include/uapi/linux/stat.h), unlike struct stat.
using System.Globalization;
using System.Runtime.InteropServices;
using Alex.Pki.Diagnostics;

namespace Alex.Robot.Diagnostics;

/// <summary>A file's owner, group and permission bits.</summary>
public readonly record struct FileOwnership(uint Uid, uint Gid, UnixFileMode Mode);

/// <summary>Who this process is: user id, name, and the groups it runs with (not those it could have after a new login).</summary>
public sealed record ProcessIdentity(uint Uid, string UserName, IReadOnlyCollection<uint> Groups);

/// <summary>Group names and members as /etc/group lists them.</summary>
public sealed record GroupDatabase(IReadOnlyDictionary<uint, (string Name, IReadOnlyList<string> Members)> Groups)
{
    public static GroupDatabase Empty { get; } = new(new Dictionary<uint, (string, IReadOnlyList<string>)>());

    public string NameOf(uint gid) => Groups.TryGetValue(gid, out var g) ? g.Name : gid.ToString(CultureInfo.InvariantCulture);

    public bool Lists(uint gid, string user) => Groups.TryGetValue(gid, out var g) && g.Members.Contains(user, StringComparer.Ordinal);

    /// <summary>Parses /etc/group lines "name:x:gid:member,member".</summary>
    public static GroupDatabase Parse(IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var groups = new Dictionary<uint, (string, IReadOnlyList<string>)>();
        foreach (var line in lines)
        {
            var parts = line.Split(':');
            if (parts.Length >= 4 && uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
            {
                groups.TryAdd(gid, (parts[0], parts[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            }
        }

        return new GroupDatabase(groups);
    }
}

/// <summary>Decides and explains whether a serial port can be opened read-write.</summary>
public static class SerialAccess
{
    public const string Subject = "serial";

    /// <summary>The decision, from facts only (testable without being a given user).</summary>
    public static Finding Decide(string path, FileOwnership file, ProcessIdentity me, GroupDatabase groups)
    {
        ArgumentNullException.ThrowIfNull(me);
        ArgumentNullException.ThrowIfNull(groups);
        const UnixFileMode ownerRw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode groupRw = UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        const UnixFileMode otherRw = UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        var mode = Octal(file.Mode);
        var group = groups.NameOf(file.Gid);
        if (me.Uid == 0)
        {
            return Finding.Ok(Subject, $"{path} (group {group}, mode {mode}) can be opened: running as root");
        }

        bool allowed;
        string how;
        if (file.Uid == me.Uid)
        {
            allowed = (file.Mode & ownerRw) == ownerRw;
            how = "as its owner";
        }
        else if (me.Groups.Contains(file.Gid))
        {
            allowed = (file.Mode & groupRw) == groupRw;
            how = $"through group {group}";
        }
        else
        {
            allowed = (file.Mode & otherRw) == otherRw;
            how = "as any user";
        }

        if (allowed)
        {
            return Finding.Ok(Subject, $"{path} can be opened by {me.UserName} {how} (group {group}, mode {mode})");
        }

        var groupWouldDo = (file.Mode & groupRw) == groupRw && !me.Groups.Contains(file.Gid) && file.Uid != me.Uid;
        if (groupWouldDo && groups.Lists(file.Gid, me.UserName))
        {
            return Finding.Problem(Subject,
                $"{path} belongs to group {group} (mode {mode}); {me.UserName} was added to {group}, but this login session started before that, so it does not have the group yet",
                $"log out and back in (or reboot; for this shell only: newgrp {group})");
        }

        if (groupWouldDo)
        {
            return Finding.Problem(Subject,
                $"{path} belongs to group {group} (mode {mode}) and {me.UserName} is not in it: permission denied",
                $"sudo usermod -aG {group} {me.UserName}, then log out and back in");
        }

        return Finding.Problem(Subject,
            $"{path} (owner uid {file.Uid}, group {group}, mode {mode}) cannot be opened for reading and writing by {me.UserName}",
            $"sudo chgrp dialout {path} && sudo chmod 660 {path} (a udev rule makes it last), and add {me.UserName} to dialout");
    }

    /// <summary>The file's owner, group and mode from statx(2); null where that is not available.</summary>
    public static FileOwnership? Stat(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        // struct statx: stx_mask u32 @0, stx_blksize u32 @4, stx_attributes u64 @8, stx_nlink u32 @16,
        // stx_uid u32 @20, stx_gid u32 @24, stx_mode u16 @28; 256 bytes in all.
        const int AtFdCwd = -100;
        const uint StatxBasicStats = 0x7FF;
        var buffer = new byte[256];
        try
        {
            if (NativeMethods.Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null; // a libc without statx (glibc before 2.28)
        }

        // Native byte order: the kernel fills the struct in the machine's own order.
        var uid = BitConverter.ToUInt32(buffer, 20);
        var gid = BitConverter.ToUInt32(buffer, 24);
        var mode = BitConverter.ToUInt16(buffer, 28);
        return new FileOwnership(uid, gid, (UnixFileMode)(mode & 0xFFF));
    }

    /// <summary>This process's user and groups from /proc/self/status (effective uid, supplementary groups, and the primary group).</summary>
    public static ProcessIdentity? CurrentProcess()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return null;
        }

        uint? uid = null;
        var groups = new HashSet<uint>();
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var fields = line[4..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 1 && uint.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var euid))
                {
                    uid = euid;
                }
            }
            else if (line.StartsWith("Gid:", StringComparison.Ordinal) || line.StartsWith("Groups:", StringComparison.Ordinal))
            {
                var fields = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                var take = line.StartsWith("Gid:", StringComparison.Ordinal) ? fields.Skip(1).Take(1) : fields;
                foreach (var field in take)
                {
                    if (uint.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
                    {
                        groups.Add(gid);
                    }
                }
            }
        }

        return uid is { } u ? new ProcessIdentity(u, Environment.UserName, groups) : null;
    }

    /// <summary>/etc/group, or an empty database where it cannot be read.</summary>
    public static GroupDatabase SystemGroups()
    {
        try
        {
            return File.Exists("/etc/group") ? GroupDatabase.Parse(File.ReadLines("/etc/group")) : GroupDatabase.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return GroupDatabase.Empty;
        }
    }

    internal static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

    private static partial class NativeMethods
    {
        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
    }
}
