using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Alex.Tests.Shared;

/// <summary>
/// A real Mosquitto (Debian's `mosquitto`, installed by .ci/run) started with a configuration file on a loopback
/// port, its log kept for assertions; killed on dispose. Every wait is bounded by the log line it awaits.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly object _gate = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    private MosquittoBroker(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public string Log => string.Join('\n', _log);

    /// <summary>A TCP port free on 127.0.0.1 just now (Mosquitto cannot listen on port 0 and say which it got).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts `mosquitto -c CONF` and waits for "running" in its log.</summary>
    public static async Task<MosquittoBroker> StartAsync(string confPath, int port)
    {
        var start = new ProcessStartInfo("mosquitto") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(confPath);
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start mosquitto");
        var broker = new MosquittoBroker(process, port);
        process.ErrorDataReceived += (_, e) => broker.Add(e.Data);
        process.OutputDataReceived += (_, e) => broker.Add(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var exited = process.WaitForExitAsync();
        var running = broker.WaitForLogAsync(l => l.Contains("running", StringComparison.Ordinal));
        var first = await Task.WhenAny(running, exited).Within(TimeSpan.FromSeconds(30), "mosquitto to start").ConfigureAwait(false);
        if (first != running)
        {
            throw new InvalidOperationException($"mosquitto exited {process.ExitCode}: {broker.Log}");
        }

        return broker;
    }

    /// <summary>The next log line (or one already logged) that <paramref name="match"/> accepts.</summary>
    public Task<string> WaitForLogAsync(Func<string, bool> match)
    {
        lock (_gate)
        {
            foreach (var line in _log)
            {
                if (match(line))
                {
                    return Task.FromResult(line);
                }
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            return done.Task;
        }
    }

    /// <summary>Stops the broker as a crash would (SIGKILL): nothing is said to its clients.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Kills the broker as a crash would and waits until it is gone, its port free for the next one.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().Within(TimeSpan.FromSeconds(60), "mosquitto to die").ConfigureAwait(false);
    }

    /// <summary>Freezes or thaws the broker (SIGSTOP / SIGCONT): connections stay open and nothing is answered.</summary>
    public void Pause(bool paused)
    {
        using var kill = Process.Start("kill", [paused ? "-STOP" : "-CONT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Pause(false);
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _log.Enqueue(line);
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
