using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Alex.Pki;
using Alex.Robot.Server;

namespace Alex.Bench.Server;

/// <summary>Certificates for a benchmark run (minted per run, ECDSA P-256 as `alex pki` makes them) and the report plumbing.</summary>
internal sealed class BenchPki : IDisposable
{
    public BenchPki()
    {
        Dir = Directory.CreateTempSubdirectory("alex-bench-").FullName;
        Ca = CertificateAuthority.Create(Dir, "AlexLink Bench CA", KeySpec.EcdsaP256, 30, null, force: false);
        Ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com", IpAddresses = [IPAddress.Loopback] }, Path("alex.key"), Path("alex.crt"), null, force: false);
        Ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, Path("laptop.key"), Path("laptop.crt"), null, force: false);
    }

    public string Dir { get; }

    public CertificateAuthority Ca { get; }

    public string Path(string file) => System.IO.Path.Combine(Dir, file);

    public RobotHostOptions HostOptions(bool crl = true) => new()
    {
        CertificatePath = Path("alex.crt"),
        KeyPath = Path("alex.key"),
        Policy = new PolicySources(Ca.CertificatePath, crl ? Ca.CrlPath : null, ["laptop"], null, AllowAny: false, Legacy: false),
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        Hub = new HubOptions { LeaseWindow = TimeSpan.FromSeconds(30) },
    };

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

internal static class BenchReport
{
    /// <summary>Machine, OS, runtime, OpenSSL and date, for the head of a section.</summary>
    public static string Machine()
    {
        var cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (model is not null)
            {
                cpu = model[(model.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }

        var openssl = Run("openssl", "version").Trim();
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        return $"Machine: {cpu}, {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}; " +
               $".NET {Environment.Version}; {openssl}. Load average at start: {load}. Date: {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}.";
    }

    /// <summary>Replaces (or appends) the section between <c>&lt;!-- bench:NAME --&gt;</c> markers in docs/BENCHMARKS.md.</summary>
    public static string WriteSection(string name, string markdown)
    {
        var root = RepoRoot();
        var path = System.IO.Path.Combine(root, "docs", "BENCHMARKS.md");
        var begin = $"<!-- bench:{name} -->";
        var end = $"<!-- /bench:{name} -->";
        var text = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\nWritten by `dotnet run -c Release --project bench/Alex.Bench -- NAME`; each section says on what machine and when.\n";
        var block = $"{begin}\n{markdown.TrimEnd()}\n{end}";
        var pattern = new Regex(Regex.Escape(begin) + ".*?" + Regex.Escape(end), RegexOptions.Singleline);
        text = pattern.IsMatch(text) ? pattern.Replace(text, block.Replace("$", "$$", StringComparison.Ordinal)) : text.TrimEnd() + "\n\n" + block + "\n";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return output.Result + error.Result;
    }

    public static string Micro(double seconds) => (seconds * 1e6).ToString("0", CultureInfo.InvariantCulture) + " µs";

    public static string F(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(Environment.CurrentDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Alex.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Environment.CurrentDirectory;
    }
}

/// <summary>Latency samples: percentiles of a sorted copy.</summary>
internal sealed class Samples(int capacity)
{
    private readonly List<double> _seconds = new(capacity);

    public void Add(TimeSpan elapsed) => _seconds.Add(elapsed.TotalSeconds);

    public void AddAll(Samples other) => _seconds.AddRange(other._seconds);

    public double Percentile(double p)
    {
        var sorted = _seconds.Order().ToArray();
        var index = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    public string Row(string what, Samples? floor = null)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"| {what} | {BenchReport.Micro(Percentile(50))} | {BenchReport.Micro(Percentile(99))} |");
        if (floor is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {BenchReport.F(Percentile(50) / floor.Percentile(50))}× | {BenchReport.F(Percentile(99) / floor.Percentile(99))}× |");
        }
        else
        {
            sb.Append(" 1.00× | 1.00× |");
        }

        return sb.ToString();
    }
}
