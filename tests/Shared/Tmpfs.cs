using System.Diagnostics;
using Xunit;

namespace Alex.Tests.Shared;

/// <summary>A small tmpfs mounted for one test (needs root, as the test machine and CI run): a disk that really fills up.</summary>
public sealed class Tmpfs : IDisposable
{
    public Tmpfs(string size)
    {
        Dir = Directory.CreateTempSubdirectory("alex-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", Dir);
    }

    public string Dir { get; }

    public string Path(string file) => System.IO.Path.Combine(Dir, file);

    /// <summary>Makes a named pipe (mkfifo(1)).</summary>
    public static void Fifo(string path) => Run("mkfifo", "-m", "600", path);

    /// <summary>Writes <paramref name="path"/> until the disk is full.</summary>
    public static void Fill(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            for (var i = 0; i < 1 << 20; i++)
            {
                file.Write(block);
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    public void Dispose()
    {
        Run("umount", "-l", Dir);
        Directory.Delete(Dir);
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000), $"{file} did not finish");
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error} (these tests need root to mount a tmpfs)");
    }
}
