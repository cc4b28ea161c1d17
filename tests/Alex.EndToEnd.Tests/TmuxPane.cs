using System.Diagnostics;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests;

/// <summary>
/// A real terminal for a console under test: a bash in a tmux pane on a tmux server of its own, keys typed with
/// `tmux send-keys`, the screen read with `tmux capture-pane` (bounded polling). Disposing kills that tmux server.
/// </summary>
public sealed class TmuxPane : IAsyncDisposable
{
    private const string Pane = "test";
    private readonly string _socket = $"alex-test-{Guid.NewGuid():N}";

    private TmuxPane()
    {
    }

    /// <summary>A new pane of <paramref name="columns"/> × <paramref name="rows"/> running bash.</summary>
    public static TmuxPane Start(int columns = 120, int rows = 40)
    {
        var pane = new TmuxPane();
        pane.Tmux("-f", "/dev/null", "new-session", "-d", "-s", Pane, "-x", columns.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", rows.ToString(System.Globalization.CultureInfo.InvariantCulture), "bash --norc --noprofile");
        return pane;
    }

    /// <summary>Types <paramref name="line"/> literally and presses Enter.</summary>
    public void TypeLine(string line)
    {
        Tmux("send-keys", "-t", Pane, "-l", line);
        Tmux("send-keys", "-t", Pane, "Enter");
    }

    /// <summary>Presses keys by tmux's names ("q", "Space", "C-c").</summary>
    public void SendKeys(string keys) => Tmux("send-keys", "-t", Pane, keys);

    /// <summary>Asks tmux a question about the pane (display-message -p FORMAT).</summary>
    public string Display(string format) => Tmux("display-message", "-p", "-t", Pane, format);

    /// <summary>The screen, once <paramref name="condition"/> holds for it; fails with the last screen after <paramref name="limit"/>.</summary>
    public async Task<string> WaitForScreenAsync(Func<string, bool> condition, string what, TimeSpan? limit = null)
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
                limit ?? TimeSpan.FromSeconds(60),
                what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the screen was:\n{screen}", e);
        }

        return screen;
    }

    /// <summary>Closes the terminal window: the tmux server and everything in it get SIGHUP.</summary>
    public void Kill() => Tmux("kill-server");

    public ValueTask DisposeAsync()
    {
        Run("kill-server");
        return ValueTask.CompletedTask;
    }

    private string Capture()
    {
        var (code, output) = Run("capture-pane", "-p", "-t", Pane);
        return code == 0 ? output : string.Empty;
    }

    private string Tmux(params string[] args)
    {
        var (code, output) = Run(args);
        Assert.True(code == 0, $"tmux {string.Join(' ', args)} failed ({code}): {output}");
        return output;
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
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill();
                throw new TimeoutException($"tmux {string.Join(' ', args)} did not finish");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }
}
