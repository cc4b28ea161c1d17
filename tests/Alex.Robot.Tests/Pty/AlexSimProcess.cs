using System.Diagnostics;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Pty;

/// <summary>`alex sim --pty ...` as a child process (<see cref="AlexCli"/>).</summary>
internal sealed class AlexSimProcess : IAsyncDisposable
{
    private readonly Process _process;

    private AlexSimProcess(Process process, string devicePath)
    {
        _process = process;
        DevicePath = devicePath;
    }

    public string DevicePath { get; }

    public static async Task<AlexSimProcess> StartAsync(params string[] args)
    {
        var start = AlexCli.StartInfo(["sim", "--pty", .. args]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { }; // drain the frame log
        process.BeginErrorReadLine();
        var line = await process.StandardOutput.ReadLineAsync().Within(TimeSpan.FromSeconds(30), "alex sim to print its device path");
        Assert.NotNull(line);
        Assert.StartsWith("/dev/pts/", line, StringComparison.Ordinal);
        return new AlexSimProcess(process, line);
    }

    /// <summary>Ends the simulator the hard way (SIGKILL): its pty vanishes under the client.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().Within(what: "alex sim to die");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }
}
