using System.Diagnostics;

namespace Alex.Pki.Tests;

/// <summary>Runs the real `alex` executable in a directory, as a user would, optionally under a given umask.</summary>
public sealed class AlexCli(string workingDirectory)
{
    public sealed record Run(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    /// <summary>bin/…/Alex.Pki.Tests.dll → the matching src/Alex.Cli/bin/…/alex.dll (same configuration and framework).</summary>
    public static string AlexDll
    {
        get
        {
            var here = AppContext.BaseDirectory.TrimEnd('/');
            var framework = Path.GetFileName(here);
            var configuration = Path.GetFileName(Path.GetDirectoryName(here)!);
            var repo = Path.GetFullPath(Path.Combine(here, "../../../../.."));
            return Path.Combine(repo, "src/Alex.Cli/bin", configuration, framework, "alex.dll");
        }
    }

    public Run Alex(params string[] args) => AlexWithUmask(null, args);

    public Run AlexWithUmask(string? umask, params string[] args)
    {
        // `dotnet alex.dll`, or the published binary named by ALEX_TEST_EXE (tests/Shared/AlexCli.cs).
        var (program, prefix) = global::Alex.Tests.Shared.AlexCli.Command(AlexDll);
        ProcessStartInfo start;
        if (umask is null)
        {
            start = new ProcessStartInfo(program);
        }
        else
        {
            start = new ProcessStartInfo("/bin/sh");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"umask {umask} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add(program);
        }

        foreach (var a in prefix)
        {
            start.ArgumentList.Add(a);
        }

        start.WorkingDirectory = workingDirectory;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        start.UseShellExecute = false;
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("ALEX_PKI_PASSPHRASE");
        start.Environment.Remove("ALEX_PKI_CA_PASSPHRASE");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill();
            throw new TimeoutException($"alex {string.Join(' ', args)} did not finish");
        }

        return new Run(process.ExitCode, output.Result, error.Result);
    }

    public Run Ok(params string[] args)
    {
        var run = Alex(args);
        Assert.True(run.ExitCode == 0, $"alex {string.Join(' ', args)} exited {run.ExitCode}: {run.Output}{run.Error}");
        return run;
    }

    /// <summary>Exit 2 with exactly one `alex: ` line (and at most a hint), no stack trace.</summary>
    public Run Refused(params string[] args)
    {
        var run = Alex(args);
        Assert.True(run.ExitCode == 2, $"alex {string.Join(' ', args)} exited {run.ExitCode}: {run.Output}{run.Error}");
        var lines = run.Error.TrimEnd('\n').Split('\n');
        Assert.StartsWith("alex: ", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length == 1 || (lines.Length == 2 && lines[1].StartsWith("hint: ", StringComparison.Ordinal)), run.Error);
        return run;
    }
}
