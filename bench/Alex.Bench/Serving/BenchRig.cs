// Shared pieces of the serving benchmarks: a per-run PKI, `alex` child processes (the real
// executable, as a user runs it), free loopback ports, statistics and the results file.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Alex.Pki;

namespace Alex.Bench.Serving;

/// <summary>A throwaway CA with the robot's (alex.epp.com, 127.0.0.1), a driver's (laptop) and a watcher's certificates.</summary>
internal sealed class ServingPki : IDisposable
{
    public ServingPki()
    {
        Dir = Directory.CreateTempSubdirectory("alex-bench-").FullName;
        var ca = CertificateAuthority.Create(Dir, "AlexLink Bench CA", KeySpec.EcdsaP256, 30, null, force: false);
        ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com", IpAddresses = [IPAddress.Loopback] }, Path.Combine(Dir, "alex.key"), Path.Combine(Dir, "alex.crt"), null, force: false);
        ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, Path.Combine(Dir, "laptop.key"), Path.Combine(Dir, "laptop.crt"), null, force: false);
        var watcher = Path.Combine(Dir, "watcher");
        Directory.CreateDirectory(watcher);
        ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "watcher" }, Path.Combine(watcher, "laptop.key"), Path.Combine(watcher, "laptop.crt"), null, force: false);
        File.Copy(ca.CertificatePath, Path.Combine(watcher, "signing.pem"));
    }

    public string Dir { get; }

    public string WatcherDir => Path.Combine(Dir, "watcher");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>An `alex` child process; its stderr lines arrive on a channel stamped with the bench's clock.</summary>
internal sealed class AlexProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<(long Timestamp, string Line)> _lines = Channel.CreateUnbounded<(long, string)>();

    private AlexProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public ChannelReader<(long Timestamp, string Line)> Lines => _lines.Reader;

    /// <summary>The `alex` apphost beside the bench (what a user runs), else `dotnet alex.dll`.</summary>
    public static (string File, string[] Prefix) Command()
    {
        if (Environment.GetEnvironmentVariable("ALEX_BENCH_EXE") is { Length: > 0 } published)
        {
            return (Path.GetFullPath(published), []); // the shipped build (build/publish.sh), measured as users run it
        }

        var apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "alex.exe" : "alex");
        return File.Exists(apphost)
            ? (apphost, [])
            : (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [Path.Combine(AppContext.BaseDirectory, "alex.dll")]);
    }

    /// <summary>Which `alex` the benchmarks run, for their reports.</summary>
    public static string Describe()
    {
        var (file, prefix) = Command();
        return Environment.GetEnvironmentVariable("ALEX_BENCH_EXE") is { Length: > 0 }
            ? $"The shipped NativeAOT build `{file}`:"
            : prefix.Length == 0 ? $"The JIT apphost `{Path.GetFileName(file)}`:" : "`dotnet alex.dll`:";
    }

    public static AlexProcess Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>Starts `alex ARGS` with extra environment variables (runtime knobs to compare against the shipped settings).</summary>
    public static AlexProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var (file, prefix) = Command();
        return StartProgram(file, [.. prefix, .. args], environment);
    }

    /// <summary>Any program, with its output lines collected as for `alex`.</summary>
    public static AlexProcess StartProgram(string file, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start alex");
        var alex = new AlexProcess(process);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                alex._lines.Writer.TryWrite((Stopwatch.GetTimestamp(), line));
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                alex._lines.Writer.TryWrite((Stopwatch.GetTimestamp(), line));
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return alex;
    }

    /// <summary>
    /// Waits for a line containing <paramref name="text"/>; returns when it arrived. Lines before it are
    /// dropped; one containing <paramref name="failOn"/> first is an error.
    /// </summary>
    public async Task<long> WaitForLineAsync(string text, TimeSpan timeout, string? failOn = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var (t, line) = await _lines.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return t;
                }

                if (failOn is not null && line.Contains(failOn, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"alex (pid {Id}) printed '{line}' before a line with '{text}'");
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"alex (pid {Id}) printed no line with '{text}' within {timeout.TotalSeconds} s");
        }
    }

    /// <summary>Drops the lines received so far.</summary>
    public void Drain()
    {
        while (_lines.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>Resident set size from /proc/PID/status (VmRSS), in MB.</summary>
    public double RssMegabytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS");
    }

    /// <summary>CPU time the process has used so far, all threads (utime + stime from /proc/PID/stat; 10 ms ticks).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        const double TicksPerSecond = 100; // USER_HZ on Linux
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        _process.Dispose();
    }
}

internal static class BenchStats
{
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The value at quantile <paramref name="q"/> (nearest rank).</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyList<double> values) => Quantile(values, 0.5);

    public static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);
}
