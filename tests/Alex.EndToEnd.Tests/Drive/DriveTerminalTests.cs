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
    private readonly string _configHome = Directory.CreateTempSubdirectory("alex-xdg-").FullName;
    private TmuxPane _pane = null!;

    public Task InitializeAsync()
    {
        _pane = TmuxPane.Start(120, 40);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _pane.DisposeAsync();
        Directory.Delete(_configHome, recursive: true);
    }

    [Fact]
    public async Task Demo_InATerminal_KeysDriveStopAndQuitRestoresTheTerminal()
    {
        await StartDemoAsync();

        _pane.SendKeys("+");
        await _pane.WaitForScreenAsync(s => s.Contains("speed 70 %", StringComparison.Ordinal), "the speed to go up to 70 %");

        _pane.SendKeys("f");
        await _pane.WaitForScreenAsync(s => s.Contains("commands sent 1  ok 1  failed 0", StringComparison.Ordinal), "the move to be acknowledged");
        await _pane.WaitForScreenAsync(s => ForwardDistance().Match(s) is { Success: true } m && int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "the forward distance to count up");
        await _pane.WaitForScreenAsync(s => s.Contains("lease: you drive", StringComparison.Ordinal), "the lease to be ours");

        _pane.SendKeys("Space");
        // One condition: a capture can catch a redraw halfway, with new counters above an old log.
        await _pane.WaitForScreenAsync(
            s => s.Contains("commands sent 2  ok 2  failed 0", StringComparison.Ordinal) && s.Contains("s: OK (", StringComparison.Ordinal),
            "STOP to be acknowledged");

        _pane.SendKeys("q");
        var after = await _pane.WaitForScreenAsync(s => ExitLine().IsMatch(s), "the demo to exit");
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

        _pane.SendKeys("C-c");
        var after = await _pane.WaitForScreenAsync(s => ExitLine().IsMatch(s), "the demo to exit on Ctrl-C");
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
            _pane.Kill();
            await Bounded.Until(() => Directory.GetFileSystemEntries(temp).Length == 0, TimeSpan.FromSeconds(20), "the demo's temp dir to be removed after SIGHUP");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    private async Task StartDemoAsync(string environment = "")
    {
        _pane.TypeLine($"{environment}XDG_CONFIG_HOME='{_configHome}' {AlexCli.ShellCommand} demo; echo DEMO-EXIT=$?");
        var screen = await _pane.WaitForScreenAsync(
            s => s.Contains("● connected", StringComparison.Ordinal) && s.Contains("commands sent 0", StringComparison.Ordinal) && s.Contains("Arduino up", StringComparison.Ordinal) &&
                s.Contains("lease: free — a move or t makes you the driver", StringComparison.Ordinal),
            "the console to connect",
            TimeSpan.FromSeconds(30));
        Assert.Contains("■ STOP", screen, StringComparison.Ordinal);
    }

    private async Task AssertTerminalRestoredAsync(string screen)
    {
        // Alternate screen left and cursor visible again.
        Assert.Equal("0 1", _pane.Display("#{alternate_on} #{cursor_flag}").Trim());

        // Line editing and echo back on; the answer is computed by the shell so the typed line cannot match it.
        _pane.TypeLine("echo \"$(stty -a | grep -o -- '-\\?icanon\\|-\\?echo ' | tr -d ' \\n') TTY-$((6*7))\"");
        var tty = await _pane.WaitForScreenAsync(s => s.Contains("TTY-42", StringComparison.Ordinal), "stty to answer");
        Assert.True(tty.Contains("icanonecho TTY-42", StringComparison.Ordinal), tty);

        // Nothing left behind: the demo's temp dir (certificates, the pty link) is gone.
        var dir = TempDir().Match(screen);
        Assert.True(dir.Success, screen);
        Assert.False(Directory.Exists(dir.Groups[1].Value), $"{dir.Groups[1].Value} was left behind");
    }

    [GeneratedRegex(@"^DEMO-EXIT=\d+$", RegexOptions.Multiline)]
    private static partial Regex ExitLine();

    [GeneratedRegex(@"Forward Distance\s+(\d+) cm")]
    private static partial Regex ForwardDistance();

    [GeneratedRegex(@"certificates for alex\.demo, laptop and web in (\S+)")]
    private static partial Regex TempDir();
}
