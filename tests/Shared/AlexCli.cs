using System.Diagnostics;

namespace Alex.Tests.Shared;

/// <summary>Runs the real `alex` executable (alex.dll in the test's output directory) to completion, bounded.</summary>
public static class AlexCli
{
    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan limit, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        return ToolRun.RunAsync(dotnet, [Path.Combine(AppContext.BaseDirectory, "alex.dll"), .. args], limit, "alex " + string.Join(' ', args));
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
