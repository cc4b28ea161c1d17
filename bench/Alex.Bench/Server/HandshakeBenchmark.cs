// `handshakes`: full mutual-TLS handshakes per second against `alex serve` (the real executable, in its
// own process) and against `openssl s_server` with the same certificates, both measured by `openssl
// s_time -new` (a new session every time: no resumption), after a warm-up, in rounds that alternate the
// order (goal: at least 0.9x of openssl s_server). Our server does its whole admission per connection:
// chain to the CA, the trust policy with the CRL, the allow-list, and the audit records.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Alex.Pki.Tls;

namespace Alex.Bench.Server;

internal static partial class HandshakeBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        const int WarmUpSeconds = 5;
        var machine = BenchReport.Machine();
        using var pki = new BenchPki();
        var audit = pki.Path("audit.jsonl");
        var port = Serving.BenchStats.FreePort();
        var serve = Serving.AlexProcess.Start(
            "serve", "--cert", pki.Path("alex.crt"), "--key", pki.Path("alex.key"), "--ca", pki.Ca.CertificatePath, "--crl", pki.Ca.CrlPath,
            "--allow", "laptop", "--simulate", "--listen", $"127.0.0.1:{port}", "--audit", audit, "--quiet");
        await using (serve.ConfigureAwait(false))
        {
            await serve.WaitForLineAsync("listening on", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            var opensslPort = Serving.BenchStats.FreePort();
            using var sServer = StartOpenSslServer(pki, opensslPort);
            await WaitForPortAsync(opensslPort);

            // Warm-up, not recorded: the first seconds of a fresh process (JIT tiering, pools growing) are not its steady state.
            _ = STime(pki, port, WarmUpSeconds);
            _ = STime(pki, opensslPort, WarmUpSeconds);

            var ours = new List<Result>();
            var theirs = new List<Result>();
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                // A B, then B A: a drift in the machine's load falls on both alike.
                Result a, b;
                if (round % 2 == 0)
                {
                    a = Measured(() => STime(pki, port, seconds), serve.CpuTime);
                    b = Measured(() => STime(pki, opensslPort, seconds), () => CpuTime(sServer.Id));
                }
                else
                {
                    b = Measured(() => STime(pki, opensslPort, seconds), () => CpuTime(sServer.Id));
                    a = Measured(() => STime(pki, port, seconds), serve.CpuTime);
                }

                ours.Add(a);
                theirs.Add(b);
                ratios.Add(a.Rate / b.Rate);
                Console.WriteLine($"round {round + 1}: alex serve {a}; openssl s_server {b}; ratio {a.Rate / b.Rate:0.00}");
            }

            sServer.Kill();
            var loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
            var accepted = File.ReadLines(audit).Count(l => l.Contains("\"connection-accepted\"", StringComparison.Ordinal));
            var oursRate = ours.Sum(r => r.Connections) / (double)ours.Sum(r => r.RealSeconds);
            var theirRate = theirs.Sum(r => r.Connections) / (double)theirs.Sum(r => r.RealSeconds);
            var oursCpu = ours.Sum(r => r.CpuMs) / ours.Sum(r => r.Connections);
            var theirCpu = theirs.Sum(r => r.CpuMs) / theirs.Sum(r => r.Connections);
            var (file, prefix) = Serving.AlexProcess.Command();
            var what = prefix.Length == 0 ? $"`{Path.GetFileName(file)}` ({file})" : "`dotnet alex.dll`";

            var md = new StringBuilder();
            md.AppendLine("## handshakes: full mutual-TLS handshakes per second");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{machine} Load average at the end: {loadAfter}.");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"{what} `serve --simulate` in its own process against `openssl s_server`, the same certificates. `openssl s_time -new -www / -time {seconds}` with the client certificate (ECDSA P-256, from our CA) against each server, after {WarmUpSeconds} s of the same against each that is not recorded; then {rounds} rounds, each measuring both, the order swapped every round; TLS 1.3, no session reuse, one connection at a time. ");
            md.AppendLine("`-www /` makes s_time wait for the server's first answer, so a handshake counts only once the server has finished it: under TLS 1.3 the client's side completes before the server has even looked at the client certificate, and without `-www` s_time resets the connection at that point (most of those would count handshakes our server never completed). ");
            md.AppendLine("Our server admits every connection in full (chain to the CA, trust policy with the CRL and the allow-list, audit records written by the background writer), then the classic session answers the `GET` with `00 02` (bad packet) and closes; ");
            md.AppendLine("`openssl s_server -Verify 4 -www` verifies the chain and answers with its status page. Server CPU per handshake: utime + stime of the server process over the measured rounds (/proc/PID/stat), divided by the handshakes.");
            md.AppendLine();
            md.AppendLine("| server | connections | real seconds | handshakes/s (pooled) | server CPU per handshake | vs openssl |");
            md.AppendLine("|---|---|---|---|---|---|");
            md.AppendLine(CultureInfo.InvariantCulture, $"| openssl s_server | {theirs.Sum(r => r.Connections)} | {theirs.Sum(r => r.RealSeconds)} | {BenchReport.F(theirRate, "0")} | {BenchReport.F(theirCpu, "0.00")} ms | 1.00× |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| alex serve | {ours.Sum(r => r.Connections)} | {ours.Sum(r => r.RealSeconds)} | {BenchReport.F(oursRate, "0")} | {BenchReport.F(oursCpu, "0.00")} ms ({BenchReport.F(oursCpu / theirCpu)}× openssl's) | {BenchReport.F(oursRate / theirRate)}× |");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Ratio of handshakes/s round by round: median {BenchReport.F(Serving.BenchStats.Median(ratios))}×, range {BenchReport.F(ratios.Min())}–{BenchReport.F(ratios.Max())}× ({string.Join(", ", ratios.Select(r => BenchReport.F(r)))}). Goal: ≥ 0.9× ({(Serving.BenchStats.Median(ratios) >= 0.9 ? "met" : "missed")} by the median).");
            md.AppendLine(CultureInfo.InvariantCulture, $"The audit log recorded {accepted} accepted connections (every handshake was a full admission).");
            var path = BenchReport.WriteSection("handshakes", md.ToString());
            Console.WriteLine(md.ToString());
            Console.WriteLine($"written to {path}");
        }

        return 0;
    }

    private static Result Measured(Func<Result> run, Func<TimeSpan> cpu)
    {
        var before = cpu();
        var result = run();
        return result with { CpuMs = (cpu() - before).TotalMilliseconds };
    }

    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromSeconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0);
    }

    private sealed record Result(int Connections, int RealSeconds, double CpuMs = 0)
    {
        public double Rate => (double)Connections / RealSeconds;

        public override string ToString() => $"{Connections} in {RealSeconds} s = {Rate:0}/s, {CpuMs / Connections:0.00} ms CPU each";
    }

    private static Result STime(BenchPki pki, int port, int seconds)
    {
        var output = BenchReport.Run(
            "openssl", "s_time", "-connect", $"127.0.0.1:{port}", "-new", "-time", seconds.ToString(CultureInfo.InvariantCulture),
            "-www", "/", "-cert", pki.Path("laptop.crt"), "-key", pki.Path("laptop.key"), "-CAfile", pki.Ca.CertificatePath);
        var match = RealRate().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException("openssl s_time said: " + output);
        }

        return new Result(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static Process StartOpenSslServer(BenchPki pki, int port)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "s_server", "-accept", $"127.0.0.1:{port}", "-cert", pki.Path("alex.crt"), "-key", pki.Path("alex.key"),
            "-CAfile", pki.Ca.CertificatePath, "-Verify", "4", "-quiet", "-www",
            "-cipher", TlsProfiles.OpenSslTls12Ciphers,
        })
        {
            start.ArgumentList.Add(a);
        }

        var p = Process.Start(start)!;
        // Drain its output so it never blocks on a full pipe.
        _ = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = p.StandardError.BaseStream.CopyToAsync(Stream.Null);
        return p;
    }

    private static async Task WaitForPortAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    [GeneratedRegex(@"(\d+) connections in (\d+) real seconds")]
    private static partial Regex RealRate();
}
