// `handshakes`: full mutual-TLS handshakes per second against our robot server and against
// `openssl s_server` with the same certificates, both measured by `openssl s_time -new` (a new
// session every time: no resumption), alternating A B A B in the same run (issue 4 "Benchmark";
// goal: at least 0.8x of openssl s_server). Our server does its whole admission per connection:
// chain to the CA, the trust policy with the CRL, the allow-list, and the audit records.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Alex.Pki.Tls;
using Alex.Robot.Server;
using Alex.Robot.Simulation;

namespace Alex.Bench.Server;

internal static partial class HandshakeBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        using var pki = new BenchPki();
        await using var robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), pacing: null, TimeProvider.System, CancellationToken.None);
        var host = RobotHost.Start(pki.HostOptions() with { AuditPath = pki.Path("audit.jsonl") }, robot.Link, TimeProvider.System);
        await using (host.ConfigureAwait(false))
        {
            var opensslPort = Serving.BenchStats.FreePort();
            using var sServer = StartOpenSslServer(pki, opensslPort);
            await WaitForPortAsync(opensslPort);

            var ours = new List<Result>();
            var theirs = new List<Result>();
            for (var round = 0; round < rounds; round++)
            {
                ours.Add(STime(pki, host.LocalEndPoint.Port, seconds));
                theirs.Add(STime(pki, opensslPort, seconds));
                Console.WriteLine($"round {round + 1}: alex serve {ours[^1]}; openssl s_server {theirs[^1]}");
            }

            sServer.Kill();
            var accepted = File.ReadLines(pki.Path("audit.jsonl")).Count(l => l.Contains("\"connection-accepted\"", StringComparison.Ordinal));
            var oursRate = ours.Sum(r => r.Connections) / (double)ours.Sum(r => r.RealSeconds);
            var theirRate = theirs.Sum(r => r.Connections) / (double)theirs.Sum(r => r.RealSeconds);

            var md = new StringBuilder();
            md.AppendLine("## handshakes: full mutual-TLS handshakes per second");
            md.AppendLine();
            md.AppendLine(BenchReport.Machine());
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"`openssl s_time -new -www / -time {seconds}` with the client certificate (ECDSA P-256, from our CA) against each server, {rounds} rounds alternating; TLS 1.3, no session reuse, one connection at a time. ");
            md.AppendLine("`-www /` makes s_time wait for the server's first answer, so a handshake counts only once the server has finished it: under TLS 1.3 the client's side completes before the server has even looked at the client certificate, and without `-www` s_time resets the connection at that point (most of those would count handshakes our server never completed). ");
            md.AppendLine("Our server admits every connection in full (chain to the CA, trust policy with the CRL and the allow-list, audit records written by the background writer), then the classic session answers the `GET` with `00 02` (bad packet) and closes; ");
            md.AppendLine("`openssl s_server -Verify 4 -www` verifies the chain and answers with its status page.");
            md.AppendLine();
            md.AppendLine("| server | connections | real seconds | handshakes/s | vs openssl |");
            md.AppendLine("|---|---|---|---|---|");
            md.AppendLine(CultureInfo.InvariantCulture, $"| openssl s_server | {theirs.Sum(r => r.Connections)} | {theirs.Sum(r => r.RealSeconds)} | {BenchReport.F(theirRate, "0")} | 1.00× |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| alex serve (RobotServer) | {ours.Sum(r => r.Connections)} | {ours.Sum(r => r.RealSeconds)} | {BenchReport.F(oursRate, "0")} | {BenchReport.F(oursRate / theirRate)}× |");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"The audit log recorded {accepted} accepted connections (every handshake was a full admission).");
            md.AppendLine();
            md.AppendLine("The client chain is built twice per connection, not three times: SslStream builds it with our CA-only policy (CertificateChainPolicy) and the TLS callback reuses that chain when it built cleanly to our CA; the trust policy then builds its own (with the verification time, to judge dates and the CRL). Before that change: 232 handshakes/s (0.81× openssl); after it, earlier runs gave 246/s (0.88×) and 248/s (0.78×), after the command-path changes 204/s (0.83×) and 217/s (0.88×), and with the bench's tier-up setting 220/s (0.83×); this run followed the audit writer's change to write at once after a quiet spell and at most every 10 ms (one run, so read it with the ±10% below). The goal (≥ 0.8×) is at the edge: openssl's own rate moves by ±10% between runs on this shared 2-CPU machine. What is left beyond openssl's work is the trust policy's own chain build, the CRL and allow-list checks and the audit records per connection; none of these can be skipped without weakening admission.");
            var path = BenchReport.WriteSection("handshakes", md.ToString());
            Console.WriteLine(md.ToString());
            Console.WriteLine($"written to {path}");
        }

        return 0;
    }

    private sealed record Result(int Connections, int RealSeconds)
    {
        public override string ToString() => $"{Connections} in {RealSeconds} s = {(double)Connections / RealSeconds:0}/s";
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
