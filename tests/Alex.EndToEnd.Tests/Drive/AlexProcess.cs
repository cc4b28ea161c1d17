using System.Diagnostics;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>
/// The real `alex` executable as a child process (<see cref="AlexCli"/>) with stdin, stdout and stderr
/// redirected: lines can be written, awaited (bounded) as they appear, and the exit awaited.
/// Its settings go to a private XDG_CONFIG_HOME, never the user's.
/// </summary>
public sealed class AlexProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _gate = new();
    private readonly Task _readers;

    private AlexProcess(Process process, string configHome)
    {
        _process = process;
        ConfigHome = configHome;
        _readers = Task.WhenAll(ReadAsync(process.StandardOutput, _stdout), ReadAsync(process.StandardError, _stderr));
    }

    public string ConfigHome { get; }

    public int Id => _process.Id;

    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _stdout);
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _stderr);
            }
        }
    }

    public static AlexProcess Start(params string[] args)
    {
        var configHome = Directory.CreateTempSubdirectory("alex-xdg-").FullName;
        var start = AlexCli.StartInfo(args);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["XDG_CONFIG_HOME"] = configHome;
        return new AlexProcess(Process.Start(AlexCli.WithDefaultSigint(start))!, configHome);
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line).Within(what: "writing to alex");
        await _process.StandardInput.FlushAsync().Within(what: "flushing to alex");
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>The first stdout line (already seen or still to come) that matches.</summary>
    public Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? limit = null)
    {
        lock (_gate)
        {
            var seen = _stdout.FirstOrDefault(match);
            if (seen is not null)
            {
                return Task.FromResult(seen);
            }

            var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, tcs));
            return WithOutput(tcs.Task.Within(limit, what));
        }
    }

    public Task<string> WaitForLineAsync(string contains, TimeSpan? limit = null) =>
        WaitForLineAsync(l => l.Contains(contains, StringComparison.Ordinal), $"a line with '{contains}'", limit);

    public async Task<int> WaitForExitAsync(TimeSpan? limit = null)
    {
        await WithOutput(_process.WaitForExitAsync().Within(limit ?? TimeSpan.FromSeconds(30), "alex to exit"));
        await _readers.Within(what: "alex's output to end");
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGINT = Ctrl-C) the way a terminal or `kill` would.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        await kill.WaitForExitAsync().Within(what: "kill");
        Assert.Equal(0, kill.ExitCode);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().Within(what: "alex to die");
        }

        _process.Dispose();
        Directory.Delete(ConfigHome, recursive: true);
    }

    private async Task<T> WithOutput<T>(Task<T> task)
    {
        try
        {
            return await task;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n--- stdout:\n{Stdout}\n--- stderr:\n{Stderr}", e);
        }
    }

    private async Task WithOutput(Task task)
    {
        try
        {
            await task;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n--- stdout:\n{Stdout}\n--- stderr:\n{Stderr}", e);
        }
    }

    private async Task ReadAsync(StreamReader reader, List<string> into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_gate)
            {
                into.Add(line);
                if (into != _stdout)
                {
                    continue;
                }

                for (var i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (_waiters[i].Match(line))
                    {
                        _waiters[i].Done.TrySetResult(line);
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }
    }
}
