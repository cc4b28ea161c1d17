using System.Diagnostics;

namespace Alex.Tests.Shared;

/// <summary>
/// A C stand-in for one of the course's programs, compiled once per test run with gcc against OpenSSL
/// (Debian: gcc, libssl-dev; `.ci/run` installs them) into a temporary directory removed on dispose.
/// </summary>
public sealed class CProgram : IDisposable
{
    private readonly string _dir;

    /// <param name="source">The .c file, relative to the test's output directory.</param>
    public CProgram(string source)
    {
        _dir = Directory.CreateTempSubdirectory("alex-c-").FullName;
        var full = System.IO.Path.Combine(AppContext.BaseDirectory, source);
        Path = System.IO.Path.Combine(_dir, System.IO.Path.GetFileNameWithoutExtension(full));
        var start = new ProcessStartInfo("gcc") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-O1", "-o", Path, full, "-lssl", "-lcrypto" })
        {
            start.ArgumentList.Add(a);
        }

        using var gcc = Process.Start(start) ?? throw new InvalidOperationException("cannot start gcc (these tests need gcc and libssl-dev)");
        var errors = gcc.StandardError.ReadToEnd();
        if (!gcc.WaitForExit(TimeSpan.FromSeconds(60)) || gcc.ExitCode != 0)
        {
            throw new InvalidOperationException($"gcc could not build {source} (needs libssl-dev): {errors}");
        }
    }

    /// <summary>The compiled executable.</summary>
    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
