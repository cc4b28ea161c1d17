using System.Diagnostics;
using System.Text.RegularExpressions;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>
/// The drive console in a real terminal: `alex demo` runs in a tmux pane (its own tmux server), keys
/// are typed with `tmux send-keys`, and the screen is read with `tmux capture-pane` (bounded polling).
/// After quitting, the terminal must be as it was: normal screen, cursor shown, line editing and echo on.
/// </summary>
public sealed partial class DriveTerminalTests : IAsyncLifetime
{
    private const string Pane = "demo";
    private readonly string _socket = $"alex-test-{Guid.NewGuid():N}";
    private readonly string _configHome = Directory.CreateTempSubdirectory("alex-xdg-").FullName;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await TmuxAsync(allowFailure: true, "kill-server");
        Directory.Delete(_configHome, recursive: true);
    }

    [Fact]
    public async Task Demo_InATerminal_KeysDriveStopAndQuitRestoresTheTerminal()
    {
        await StartDemoAsync();

        await TmuxAsync("send-keys", "-t", Pane, "+");
        await WaitForScreenAsync(s => s.Contains("speed 70 %", StringComparison.Ordinal), "the speed to go up to 70 %");

        await TmuxAsync("send-keys", "-t", Pane, "f");
        await WaitForScreenAsync(s => s.Contains("commands sent 1  ok 1  failed 0", StringComparison.Ordinal), "the move to be acknowledged");
        await WaitForScreenAsync(s => ForwardDistance().Match(s) is { Success: true } m && int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "the forward distance to count up");
        await WaitForScreenAsync(s => s.Contains("lease: you drive", StringComparison.Ordinal), "the lease to be ours");

        await TmuxAsync("send-keys", "-t", Pane, "Space");
        // One condition: a capture can catch a redraw halfway, with new counters above an old log.
        await WaitForScreenAsync(
            s => s.Contains("commands sent 2  ok 2  failed 0", StringComparison.Ordinal) && s.Contains("s: OK (", StringComparison.Ordinal),
            "STOP to be acknowledged");

        await TmuxAsync("send-keys", "-t", Pane, "q");
        var after = await WaitForScreenAsync(s => ExitLine().IsMatch(s), "the demo to exit");
        Assert.Contains("DEMO-EXIT=0", after, StringComparison.Ordinal);
        await AssertTerminalRestoredAsync(after);

        // The speed was remembered for next time.
        var settings = await File.ReadAllTextAsync(Path.Combine(_configHome, "alexlink", "drive.json"));
        Assert.Contains("\"speedPercent\": 70", settings, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_InATerminal_CtrlCQuitsCleanly()
    {
        await StartDemoAsync();

        await TmuxAsync("send-keys", "-t", Pane, "C-c");
        var after = await WaitForScreenAsync(s => ExitLine().IsMatch(s), "the demo to exit on Ctrl-C");
        Assert.True(after.Contains("DEMO-EXIT=0", StringComparison.Ordinal), after);
        await AssertTerminalRestoredAsync(after);
    }

    [Fact]
    public async Task Demo_TerminalWindowClosed_StillCleansUp()
    {
        var temp = Directory.CreateTempSubdirectory("alex-tmp-").FullName;
        try
        {
            await StartDemoAsync($"TMPDIR='{temp}' ");
            Assert.Single(Directory.GetDirectories(temp));

            // Closing the window: the terminal hangs up (SIGHUP), writes to it fail from then on.
            await TmuxAsync("kill-server");
            await Bounded.Until(() => Directory.GetFileSystemEntries(temp).Length == 0, TimeSpan.FromSeconds(20), "the demo's temp dir to be removed after SIGHUP");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private async Task StartDemoAsync(string environment = "")
    {
        await TmuxAsync("-f", "/dev/null", "new-session", "-d", "-s", Pane, "-x", "120", "-y", "40", "bash --norc --noprofile");
        var command = $"{environment}XDG_CONFIG_HOME='{_configHome}' {AlexCli.ShellCommand} demo; echo DEMO-EXIT=$?";
        await TmuxAsync("send-keys", "-t", Pane, "-l", command);
        await TmuxAsync("send-keys", "-t", Pane, "Enter");
        var screen = await WaitForScreenAsync(
            s => s.Contains("● connected", StringComparison.Ordinal) && s.Contains("commands sent 0", StringComparison.Ordinal) && s.Contains("Arduino up", StringComparison.Ordinal) &&
                s.Contains("lease: free — a move or t makes you the driver", StringComparison.Ordinal),
            "the console to connect",
            TimeSpan.FromSeconds(30));
        Assert.Contains("■ STOP", screen, StringComparison.Ordinal);
    }

    private async Task AssertTerminalRestoredAsync(string screen)
    {
        // Alternate screen left and cursor visible again.
        Assert.Equal("0 1", (await TmuxAsync("display-message", "-p", "-t", Pane, "#{alternate_on} #{cursor_flag}")).Trim());

        // Line editing and echo back on; the answer is computed by the shell so the typed line cannot match it.
        await TmuxAsync("send-keys", "-t", Pane, "-l", "echo \"$(stty -a | grep -o -- '-\\?icanon\\|-\\?echo ' | tr -d ' \\n') TTY-$((6*7))\"");
        await TmuxAsync("send-keys", "-t", Pane, "Enter");
        var tty = await WaitForScreenAsync(s => s.Contains("TTY-42", StringComparison.Ordinal), "stty to answer");
        Assert.True(tty.Contains("icanonecho TTY-42", StringComparison.Ordinal), tty);

        // Nothing left behind: the demo's temp dir (certificates, the pty link) is gone.
        var dir = TempDir().Match(screen);
        Assert.True(dir.Success, screen);
        Assert.False(Directory.Exists(dir.Groups[1].Value), $"{dir.Groups[1].Value} was left behind");
    }

    private async Task<string> WaitForScreenAsync(Func<string, bool> condition, string what, TimeSpan? limit = null)
    {
        var screen = string.Empty;
        try
        {
            await Bounded.Until(
                () =>
                {
                    screen = Capture();
                    return condition(screen);
                },
                limit ?? TimeSpan.FromSeconds(20),
                what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the screen was:\n{screen}", e);
        }

        return screen;
    }

    private string Capture()
    {
        var (code, output) = Run("capture-pane", "-p", "-t", Pane);
        return code == 0 ? output : string.Empty;
    }

    private async Task<string> TmuxAsync(params string[] args) => await TmuxAsync(false, args);

    private Task<string> TmuxAsync(bool allowFailure, params string[] args)
    {
        var (code, output) = Run(args);
        if (!allowFailure)
        {
            Assert.True(code == 0, $"tmux {string.Join(' ', args)} failed ({code}): {output}");
        }

        return Task.FromResult(output);
    }

    private (int Code, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("tmux is needed for the terminal tests: apt-get install -y tmux (.ci/run installs it)", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill();
                throw new TimeoutException($"tmux {string.Join(' ', args)} did not finish");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    [GeneratedRegex(@"^DEMO-EXIT=\d+$", RegexOptions.Multiline)]
    private static partial Regex ExitLine();

    [GeneratedRegex(@"Forward Distance\s+(\d+) cm")]
    private static partial Regex ForwardDistance();

    [GeneratedRegex(@"certificates for alex\.demo, laptop and web in (\S+)")]
    private static partial Regex TempDir();
}
