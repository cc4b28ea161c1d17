using System.Diagnostics;
using Xunit;

namespace Alex.Tests.Shared;

/// <summary>
/// A small ext4 file system on a loop device, mounted with errors=remount-ro, for one test: <see cref="FailToReadOnly"/>
/// makes the kernel flip it read-only under open files, as it does on a real disk error (writes then fail with EROFS).
/// Needs root and loop devices.
/// </summary>
public sealed class Ext4Image : IDisposable
{
    private readonly string _image;

    public Ext4Image(int megabytes = 8)
    {
        Dir = Directory.CreateTempSubdirectory("alex-ext4-").FullName;
        _image = Dir + ".img";
        using (var file = File.Create(_image))
        {
            file.SetLength(megabytes * 1024L * 1024L);
        }

        Run("mkfs.ext4", "-q", "-F", _image);
        Run("mount", "-o", "loop,errors=remount-ro", _image, Dir);
        Device = System.IO.Path.GetFileName(Capture("findmnt", "-n", "-o", "SOURCE", "--target", Dir).Trim());
    }

    public string Dir { get; }

    /// <summary>The loop device's name (loop0 …), as under /sys/fs/ext4.</summary>
    public string Device { get; }

    public string Path(string file) => System.IO.Path.Combine(Dir, file);

    /// <summary>Whether the kernel has made the file system read-only.</summary>
    public bool IsReadOnly => File.ReadLines("/proc/mounts")
        .Select(l => l.Split(' '))
        .Any(f => f.Length > 3 && f[1] == Dir && f[3].Split(',').Any(o => o is "ro" or "emergency_ro"));

    /// <summary>Reports a file system error to ext4 (its trigger_fs_error knob): with errors=remount-ro it goes read-only.</summary>
    public void FailToReadOnly() => File.WriteAllText($"/sys/fs/ext4/{Device}/trigger_fs_error", "alex test: simulated disk error\n");

    /// <summary>Why a test that needs this cannot run here, or null.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root")
        {
            return "needs root to mount a loop device";
        }

        if (!File.Exists("/dev/loop-control"))
        {
            return "needs loop devices (/dev/loop-control)";
        }

        return File.Exists("/usr/sbin/mkfs.ext4") || File.Exists("/sbin/mkfs.ext4") ? null : "needs mkfs.ext4 (apt-get install e2fsprogs)";
    }

    public void Dispose()
    {
        Run("umount", "-l", Dir);
        Directory.Delete(Dir);
        File.Delete(_image);
    }

    private static void Run(string file, params string[] args) => Capture(file, args);

    private static string Capture(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), $"{file} did not finish");
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
        return output.Result;
    }
}

/// <summary>A test that needs <see cref="Ext4Image"/>; skipped, saying why, without root or loop devices.</summary>
public sealed class Ext4ImageFactAttribute : FactAttribute
{
    public Ext4ImageFactAttribute()
    {
        if (Ext4Image.Unavailable() is { } why)
        {
            Skip = why;
        }
    }
}
