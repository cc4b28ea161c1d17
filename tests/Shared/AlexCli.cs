using System.Diagnostics;

namespace Alex.Tests.Shared;

/// <summary>Runs the real `alex` executable (alex.dll in the test's output directory) to completion, bounded.</summary>
public static class AlexCli
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan limit, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "alex.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().Within(limit, "alex " + string.Join(' ', args));
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
