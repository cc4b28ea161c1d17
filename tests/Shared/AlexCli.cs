using System.Diagnostics;

namespace Alex.Tests.Shared;

/// <summary>
/// The real `alex` executable: `dotnet alex.dll` from the test's output directory, or, when ALEX_TEST_EXE names a
/// published binary (the NativeAOT build: docs/install.md), that binary, so the same end-to-end cases check the
/// build that ships. Every test that runs the CLI starts it through here.
/// </summary>
public static class AlexCli
{
    /// <summary>The published binary under test, or null for `dotnet alex.dll`.</summary>
    public static string? PublishedExe => Environment.GetEnvironmentVariable("ALEX_TEST_EXE") is { Length: > 0 } exe ? Path.GetFullPath(exe) : null;

    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The program and the arguments before alex's own; <paramref name="alexDll"/> defaults to the one beside the test.</summary>
    public static (string Program, string[] Prefix) Command(string? alexDll = null) =>
        PublishedExe is { } exe ? (exe, []) : (Dotnet, [alexDll ?? Path.Combine(AppContext.BaseDirectory, "alex.dll")]);

    /// <summary>The command as a shell word list, quoted, for tests that run alex inside a terminal.</summary>
    public static string ShellCommand
    {
        get
        {
            var (program, prefix) = Command();
            return string.Join(' ', new[] { program }.Concat(prefix).Select(w => $"'{w}'"));
        }
    }

    /// <summary>A start description for `alex ARGS`, output not redirected (the caller sets what it needs).</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, string? alexDll = null)
    {
        var (program, prefix) = Command(alexDll);
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var a in prefix.Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>
    /// Runs <paramref name="start"/> through python3, which puts SIGINT back to its default before it execs the program
    /// (same process id), as a shell does for a foreground job: a test runner started as a background job ignores
    /// SIGINT, and its children would inherit that, so a test's Ctrl-C would never arrive.
    /// </summary>
    public static ProcessStartInfo WithDefaultSigint(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.ArgumentList.Insert(0, start.FileName);
        start.ArgumentList.Insert(0, "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])");
        start.ArgumentList.Insert(0, "-c");
        start.FileName = "python3";
        return start;
    }

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan limit, params string[] args)
    {
        var (program, prefix) = Command();
        return ToolRun.RunAsync(program, [.. prefix, .. args], limit, "alex " + string.Join(' ', args));
    }
}

/// <summary>Runs a program (alex, nmap, ...) to completion with its output captured, bounded; killed if it outlives the limit.</summary>
public static class ToolRun
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string program, IEnumerable<string> args, TimeSpan limit, string what)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().Within(limit, what);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await stdout.Within(), await stderr.Within());
    }
}
