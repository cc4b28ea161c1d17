using System.Text.Json;

namespace Alex.Tests.Shared;

/// <summary>
/// The reference MCAP reader, npm's @mcap/core under Debian's node (tests/mcap-reader/read.mjs): reads a file with the
/// indexed and the streaming reader, CRCs checked, and returns its JSON summary. CI installs the package with `npm ci`
/// (.ci/run); a machine without node_modules runs `npm ci` here when npm is there.
/// </summary>
public static class McapReferenceReader
{
    private static readonly SemaphoreSlim Installing = new(1, 1);

    public static string Folder
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Alex.slnx")))
            {
                dir = dir.Parent;
            }

            return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root (Alex.slnx) not found"), "tests", "mcap-reader");
        }
    }

    /// <summary>Why the reference reader cannot run here, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (!OnPath("node"))
        {
            return "needs node to run the reference MCAP reader (apt-get install nodejs npm)";
        }

        return Directory.Exists(Path.Combine(Folder, "node_modules", "@mcap", "core")) || OnPath("npm")
            ? null
            : "needs tests/mcap-reader/node_modules (npm ci there) or npm to install it (apt-get install npm)";
    }

    /// <summary>Reads <paramref name="path"/>; fails the test with the reader's own error when the file is not valid.</summary>
    public static async Task<JsonElement> ReadAsync(string path)
    {
        await EnsureInstalledAsync();
        var run = await ToolRun.RunAsync("node", [Path.Combine(Folder, "read.mjs"), path], TimeSpan.FromSeconds(60), "node read.mjs");
        Assert.True(run.Code == 0, $"the reference reader refused {path}: {run.Stderr}");
        using var doc = JsonDocument.Parse(run.Stdout);
        return doc.RootElement.Clone();
    }

    /// <summary>Runs the reader expecting it to refuse the file; returns its error line.</summary>
    public static async Task<string> RefusalAsync(string path)
    {
        await EnsureInstalledAsync();
        var run = await ToolRun.RunAsync("node", [Path.Combine(Folder, "read.mjs"), path], TimeSpan.FromSeconds(60), "node read.mjs");
        Assert.True(run.Code != 0, $"the reference reader accepted {path}: {run.Stdout}");
        return run.Stderr.Trim();
    }

    private static async Task EnsureInstalledAsync()
    {
        await Installing.WaitAsync();
        try
        {
            if (!Directory.Exists(Path.Combine(Folder, "node_modules", "@mcap", "core")))
            {
                var install = await ToolRun.RunAsync("npm", ["ci", "--prefix", Folder, "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), "npm ci (tests/mcap-reader)");
                Assert.True(install.Code == 0, "npm ci in tests/mcap-reader failed: " + install.Stderr);
            }
        }
        finally
        {
            Installing.Release();
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, program)));
}

/// <summary>A test that needs the reference MCAP reader; skipped, saying why, without node (or without npm and node_modules).</summary>
public sealed class McapReferenceFactAttribute : FactAttribute
{
    public McapReferenceFactAttribute()
    {
        if (McapReferenceReader.Unavailable() is { } why)
        {
            Skip = why;
        }
    }
}
