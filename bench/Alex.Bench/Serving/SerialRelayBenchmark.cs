// `serial-relay`: the serial path of `alex serve --serial` against a minimal relay doing the same job, in the same run.
// Both talk to their own unpaced fake Arduino on a pseudo-terminal: a small C program compiled here (independent of the
// simulator), which answers each 140-byte frame at once (STOP: OK; GET_STATS: OK then STATUS). The relay is a plain
// SslStream server (same TLS profile and certificates) that turns each AlexLink/1 request into a serial frame written to
// its pty with a blocking write, reads the reply frame(s) with blocking reads, and answers; nothing else.
//   round trip of STOP and GET_STATS, p50 and p99, ours against the relay (goal ≤ 1.2× at p50, p99 ≤ 3× p50)
//   idle wake-ups per second of each process (context switches over 10 s, all threads, from /proc/PID/task/*/status)
//   STOP flood: 10,000 STOPs from a watcher, the fake Arduino paced at 9600 baud: the driver's next move ack time, RSS
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Alex.Bench.Server;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Bench.Serving;

internal static class SerialRelayBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private const string FakeArduinoSource = """
        #define _XOPEN_SOURCE 600
        #include <errno.h>
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <termios.h>
        #include <unistd.h>
        /* An Arduino that answers at once (or paced at argv[1] baud): STOP and the rest OK, GET_STATS OK then STATUS. */
        static unsigned frame_us;
        static void reply(int fd, unsigned char type, unsigned char code, int status) {
            unsigned char f[140];
            memset(f, 0, sizeof f);
            f[0] = 0xFF; f[1] = 0xFE; f[2] = 0xFD; f[3] = 0xFC; f[4] = 100;
            f[8] = type; f[9] = code;
            if (status) for (int i = 0; i < 10; i++) f[8 + 36 + 4 * i] = (unsigned char)(i + 1);
            unsigned char x = 0;
            for (int i = 0; i < 100; i++) x ^= f[8 + i];
            f[136] = x;
            if (frame_us) usleep(frame_us);
            for (size_t done = 0; done < sizeof f;) {
                ssize_t n = write(fd, f + done, sizeof f - done);
                if (n > 0) done += (size_t)n; else if (errno != EINTR && errno != EAGAIN) return;
            }
        }
        int main(int argc, char **argv) {
            int baud = argc > 1 ? atoi(argv[1]) : 0;
            frame_us = baud > 0 ? (unsigned)(1400.0e6 / baud) : 0;
            int m = posix_openpt(O_RDWR | O_NOCTTY);
            if (m < 0 || grantpt(m) || unlockpt(m)) { perror("pty"); return 1; }
            struct termios t;
            tcgetattr(m, &t); cfmakeraw(&t); tcsetattr(m, TCSANOW, &t);
            printf("%s\n", ptsname(m)); fflush(stdout);
            unsigned char buf[4096]; size_t held = 0;
            for (;;) {
                ssize_t n = read(m, buf + held, sizeof buf - held);
                if (n < 0) { if (errno == EIO || errno == EINTR || errno == EAGAIN) { usleep(10000); continue; } return 1; }
                held += (size_t)n;
                size_t at = 0;
                while (held - at >= 140) {
                    if (buf[at] != 0xFF || buf[at + 1] != 0xFE || buf[at + 2] != 0xFD || buf[at + 3] != 0xFC) { at++; continue; }
                    unsigned char type = buf[at + 8], code = buf[at + 9];
                    at += 140;
                    if (frame_us) usleep(frame_us);
                    if (type != 0) continue; /* HELLO and the rest: no reply */
                    reply(m, 1, 0, 0);
                    if (code == 5) reply(m, 1, 1, 1);
                }
                memmove(buf, buf + at, held - at); held -= at;
            }
        }
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 40;
        var perRound = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
        using var pki = new ServingPki();
        var fake = CompileFakeArduino(pki.Dir);
        await using var oursArduino = await FakeArduino.StartAsync(fake, 0);
        await using var relayArduino = await FakeArduino.StartAsync(fake, 0);
        var port = BenchStats.FreePort();
        await using var serve = AlexProcess.Start(
            "serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--serial", oursArduino.Path,
            "--baud", "115200", "--listen", $"127.0.0.1:{port}", "--lease-ms", "60000", "--quiet");
        await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
        var relayPort = BenchStats.FreePort();
        await using var relay = AlexProcessOfBench("serial-relay-child", pki.Dir, relayArduino.Path, relayPort.ToString(CultureInfo.InvariantCulture));
        await relay.WaitForLineAsync("ready", StartTimeout).ConfigureAwait(false);

        var laptop = PrivateKeyFile.LoadCertificateWithKey(Path.Combine(pki.Dir, "laptop.crt"), Path.Combine(pki.Dir, "laptop.key"));
        var ca = CertificateFile.Load(Path.Combine(pki.Dir, CertificateAuthority.CertificateFileName));
        await using var ours = await ConnectAsync(port, laptop, ca);
        await using var floor = await ConnectAsync(relayPort, laptop, ca);
        await ours.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.None, 0), TimeSpan.FromSeconds(30));

        // `alex serve` waits out the Uno's reset (2 s) and HELLO before the first frame.
        var stop = new AlexLinkStop();
        var stats = new AlexLinkCommand(CommandCode.GetStats, 0, 0);
        await ours.RequestAsync(stats, StartTimeout);
        Console.WriteLine($"serial-relay: {rounds} rounds of {perRound} per case, alternating ours (pid {serve.Id}) and the relay (pid {relay.Id})");
        for (var i = 0; i < 500; i++)
        {
            await ours.RequestAsync(i % 2 == 0 ? stop : stats, TimeSpan.FromSeconds(10));
            await floor.RequestAsync(i % 2 == 0 ? stop : stats, TimeSpan.FromSeconds(10));
        }

        var results = new Dictionary<string, (List<double> Ours, List<double> Floor, List<double> Ratios)>
        {
            ["STOP"] = ([], [], []),
            ["GET_STATS"] = ([], [], []),
        };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, request) in new[] { ("STOP", (AlexLinkMessage)stop), ("GET_STATS", stats) })
            {
                var (o, f, ratios) = results[name];
                var a = new List<double>();
                var b = new List<double>();
                foreach (var first in round % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    var into = first ? a : b;
                    var client = first ? ours : floor;
                    for (var i = 0; i < perRound; i++)
                    {
                        var started = Stopwatch.GetTimestamp();
                        await client.RequestAsync(request, TimeSpan.FromSeconds(10));
                        into.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }

                o.AddRange(a);
                f.AddRange(b);
                ratios.Add(BenchStats.Median(a) / BenchStats.Median(b));
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var (oursIdle, relayIdle) = await WakeUpsAsync(serve.Id, relay.Id, TimeSpan.FromSeconds(10));
        var flood = await StopFloodAsync(pki, fake);

        var md = new StringBuilder();
        md.AppendLine("## serial-relay: alex serve --serial against a minimal TLS→pty relay");
        md.AppendLine();
        md.AppendLine(BenchReport.Machine());
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Each side has its own unpaced fake Arduino on a pseudo-terminal (a 60-line C program compiled by the benchmark, not the simulator: it answers every frame at once, GET_STATS with OK then STATUS). Ours: `alex serve --serial PTY` (TLS, session, hub, SerialExchange, ArduinoLink, TtyStream). The relay: a plain SslStream server with the same TLS profile and certificates, a blocking write of the serial frame to its pty and blocking reads of the reply frame(s), in a process of its own. {rounds} rounds of {perRound} round trips per case, ours and the relay back to back, the order swapped every round, after 500 warm-up round trips each.");
        md.AppendLine();
        md.AppendLine("| case | ours p50 | ours p99 | relay p50 | relay p99 | p50 ratio (pooled) | p50 ratio, median of rounds (range) | ours p99/p50 |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var (name, (o, f, ratios)) in results)
        {
            var sorted = ratios.Order().ToList();
            md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {BenchStats.Ms(BenchStats.Median(o))} ms | {BenchStats.Ms(BenchStats.Quantile(o, 0.99))} ms | {BenchStats.Ms(BenchStats.Median(f))} ms | {BenchStats.Ms(BenchStats.Quantile(f, 0.99))} ms | {BenchReport.F(BenchStats.Median(o) / BenchStats.Median(f))}× | {BenchReport.F(sorted[sorted.Count / 2])}× ({BenchReport.F(sorted[0])}–{BenchReport.F(sorted[^1])}×) | {BenchReport.F(BenchStats.Quantile(o, 0.99) / BenchStats.Median(o))}× |");
        }

        md.AppendLine();
        md.AppendLine("GET_STATS back to back is not the same job on both sides: ours answers from a reading at most 50 ms old when no command was written since (the exchange's ReadingMaxAge), so most of these never reach the line, while the relay always goes to the line. STOP always goes to the line on both.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Idle wake-ups (context switches over 10 s, each thread sampled every second, connections open, nothing sent): `alex serve --serial` {BenchReport.F(oursIdle, "0.0")}/s, the relay {BenchReport.F(relayIdle, "0.0")}/s.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"STOP flood (fake Arduino paced at 9600 baud: a frame takes 146 ms, a STOP exchange 292 ms): a watcher sends 10,000 STOPs in one burst and disconnects; the driver's next `f 5 30` was acknowledged in {BenchStats.Ms(flood.MoveMs)} ms (its own exchange alone: {BenchStats.Ms(flood.UnloadedMs)} ms); {flood.StopFrames} STOP frames reached the Arduino; RSS {BenchReport.F(flood.RssBefore, "0.0")} MB before, {BenchReport.F(flood.RssPeak, "0.0")} MB right after the flood, {BenchReport.F(flood.RssAfter, "0.0")} MB 5 s later.");
        var path = BenchReport.WriteSection("serial-relay", md.ToString());
        Console.WriteLine(md.ToString());
        Console.WriteLine($"written to {path}");
        return 0;
    }

    /// <summary>`serial-relay-child DIR PTY PORT`: the minimal relay (run by serial-relay).</summary>
    public static async Task<int> RelayAsync(string[] args)
    {
        var dir = args[0];
        var ca = CertificateFile.Load(Path.Combine(dir, CertificateAuthority.CertificateFileName));
        using var serverCertificate = PrivateKeyFile.LoadCertificateWithKey(Path.Combine(dir, "alex.crt"), Path.Combine(dir, "alex.key"));
        var context = TlsProfiles.CreateServerContext(serverCertificate);
        await using var tty = new FileStream(args[1], FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        var listener = new TcpListener(IPAddress.Loopback, int.Parse(args[2], CultureInfo.InvariantCulture));
        listener.Start();
        Console.WriteLine("ready");
        while (true)
        {
            var socket = await listener.AcceptSocketAsync();
            socket.NoDelay = true;
            _ = Task.Run(async () =>
            {
                await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
                try
                {
                    await ssl.AuthenticateAsServerAsync(TlsProfiles.Server(context, ca, new ClientCertificateCheck(), offerAlexLink: true));
                    var header = new byte[AlexLinkFrame.HeaderSize];
                    var frame = new byte[SerialFrame.Size];
                    while (true)
                    {
                        await ssl.ReadExactlyAsync(header);
                        var payload = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(AlexLinkFrame.LengthOffset))];
                        await ssl.ReadExactlyAsync(payload);
                        var whole = header.Concat(payload).ToArray();
                        var sequence = new System.Buffers.ReadOnlySequence<byte>(whole);
                        AlexLinkReader.TryRead(ref sequence, out var request, out _, AlexLinkFrame.MaxPayload);
                        AlexLinkMessage reply;
                        if (request is AlexLinkCommand { Command: CommandCode.GetStats })
                        {
                            SerialFrame.Write(SerialPacket.ForCommand(CommandCode.GetStats), frame);
                            tty.Write(frame);
                            tty.ReadExactly(frame);
                            tty.ReadExactly(frame);
                            reply = new AlexLinkStatus(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), SerialPacket.Read(frame.AsSpan(SerialFrame.PayloadOffset, SerialPacket.Size)).Status);
                        }
                        else
                        {
                            SerialFrame.Write(SerialPacket.ForCommand(CommandCode.Stop), frame);
                            tty.Write(frame);
                            tty.ReadExactly(frame);
                            reply = new AlexLinkOk();
                        }

                        await ssl.WriteAsync(AlexLinkWriter.Encode(reply, request!.RequestId));
                    }
                }
                catch (Exception e) when (e is EndOfStreamException or IOException or System.Security.Authentication.AuthenticationException)
                {
                    // The bench closed its connection.
                }
            });
        }
    }

    private static AlexProcess AlexProcessOfBench(params string[] args) => AlexProcess.StartProgram(
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [typeof(SerialRelayBenchmark).Assembly.Location, .. args]);

    private static string CompileFakeArduino(string dir)
    {
        var source = Path.Combine(dir, "fake-arduino.c");
        var binary = Path.Combine(dir, "fake-arduino");
        File.WriteAllText(source, FakeArduinoSource);
        BenchReport.Run("cc", "-O2", "-o", binary, source);
        return binary;
    }

    // Sampled every second per thread: a thread pool thread that retires mid-interval takes its count with it, so a sum
    // over the threads alive at both ends can even go negative. Each thread adds what it did since it was last seen;
    // a thread that ends between two samples loses at most one second of its switches.
    private static async Task<(double Ours, double Relay)> WakeUpsAsync(int ours, int relay, TimeSpan over)
    {
        var (oursSeen, relaySeen) = (Switches(ours), Switches(relay));
        long oursTotal = 0, relayTotal = 0;
        var until = Stopwatch.GetTimestamp() + (long)(over.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            oursTotal += Advance(oursSeen, Switches(ours));
            relayTotal += Advance(relaySeen, Switches(relay));
        }

        return (oursTotal / over.TotalSeconds, relayTotal / over.TotalSeconds);
    }

    private static long Advance(Dictionary<int, long> seen, Dictionary<int, long> now)
    {
        long added = 0;
        foreach (var (tid, count) in now)
        {
            added += count - seen.GetValueOrDefault(tid);
            seen[tid] = count;
        }

        return added;
    }

    // Voluntary and involuntary context switches of each thread of a process, by thread id.
    private static Dictionary<int, long> Switches(int pid)
    {
        var byThread = new Dictionary<int, long>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                long total = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                    }
                }

                byThread[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = total;
            }
            catch (IOException)
            {
                // The thread ended.
            }
        }

        return byThread;
    }

    private static async Task<(double MoveMs, double UnloadedMs, int StopFrames, double RssBefore, double RssPeak, double RssAfter)> StopFloodAsync(ServingPki pki, string fake)
    {
        await using var arduino = await FakeArduino.StartAsync(fake, 9600);
        var port = BenchStats.FreePort();
        await using var serve = AlexProcess.Start(
            "serve", "--pki", pki.Dir, "--allow", "laptop=drive", "--allow", "watcher=watch", "--serial", arduino.Path,
            "--baud", "9600", "--listen", $"127.0.0.1:{port}", "--lease-ms", "60000", "--quiet");
        await serve.WaitForLineAsync("listening on", StartTimeout).ConfigureAwait(false);
        var ca = CertificateFile.Load(Path.Combine(pki.Dir, CertificateAuthority.CertificateFileName));
        await using var driver = await ConnectAsync(port, PrivateKeyFile.LoadCertificateWithKey(Path.Combine(pki.Dir, "laptop.crt"), Path.Combine(pki.Dir, "laptop.key")), ca);
        await driver.RequestAsync(new AlexLinkSubscribe(AlexLinkTopics.None, 0), TimeSpan.FromSeconds(30));
        var move = new AlexLinkCommand(CommandCode.Forward, 5, 30);
        await driver.RequestAsync(move, StartTimeout);
        var started = Stopwatch.GetTimestamp();
        await driver.RequestAsync(move, TimeSpan.FromSeconds(30));
        var unloaded = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var rssBefore = serve.RssMegabytes();
        var stopsBefore = arduino.Frames;

        var watcher = await ConnectAsync(port, PrivateKeyFile.LoadCertificateWithKey(Path.Combine(pki.WatcherDir, "laptop.crt"), Path.Combine(pki.WatcherDir, "laptop.key")), ca);
        var burst = new List<byte>();
        for (var i = 1; i <= 10_000; i++)
        {
            burst.AddRange(AlexLinkWriter.Encode(new AlexLinkStop(), (uint)i));
        }

        await watcher.Ssl.WriteAsync(burst.ToArray());
        await watcher.Ssl.FlushAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        await watcher.DisposeAsync();
        started = Stopwatch.GetTimestamp();
        await driver.RequestAsync(move, TimeSpan.FromSeconds(300));
        var moveMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var rssPeak = serve.RssMegabytes();
        await Task.Delay(TimeSpan.FromSeconds(5));
        return (moveMs, unloaded, arduino.Frames - stopsBefore - 1, rssBefore, rssPeak, serve.RssMegabytes());
    }

    private static async Task<RawClient> ConnectAsync(int port, X509Certificate2 certificate, X509Certificate2 ca)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(TlsProfiles.Client(certificate, ca, "alex.epp.com", alexLink: true));
        return new RawClient(ssl);
    }

    /// <summary>An AlexLink/1 connection that sends one request and reads up to its reply (pushed frames skipped).</summary>
    private sealed class RawClient(SslStream ssl) : IAsyncDisposable
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _held;
        private uint _nextId = 1;

        public SslStream Ssl => ssl;

        public async Task<AlexLinkMessage> RequestAsync(AlexLinkMessage request, TimeSpan limit)
        {
            var id = _nextId++;
            await ssl.WriteAsync(AlexLinkWriter.Encode(request, id));
            using var cts = new CancellationTokenSource(limit);
            while (true)
            {
                var unread = new System.Buffers.ReadOnlySequence<byte>(_buffer, 0, _held);
                if (AlexLinkReader.TryRead(ref unread, out var message, out _, AlexLinkFrame.MaxPayload) == System.Buffers.OperationStatus.Done)
                {
                    var consumed = _held - (int)unread.Length;
                    _buffer.AsSpan(consumed, _held - consumed).CopyTo(_buffer);
                    _held -= consumed;
                    if (message!.RequestId == id)
                    {
                        return message is AlexLinkError e ? throw new InvalidOperationException($"{request}: {e.Text}") : message;
                    }

                    continue;
                }

                var n = await ssl.ReadAsync(_buffer.AsMemory(_held), cts.Token);
                if (n == 0)
                {
                    throw new EndOfStreamException("the server closed the connection");
                }

                _held += n;
            }
        }

        public ValueTask DisposeAsync() => ssl.DisposeAsync();
    }

    /// <summary>The compiled fake Arduino: prints its pty's path; counts the frames it answered (a line per frame is not printed).</summary>
    private sealed class FakeArduino : IAsyncDisposable
    {
        private readonly Process _process;

        private FakeArduino(Process process, string path)
        {
            _process = process;
            Path = path;
        }

        public string Path { get; }

        public int Frames => CountCommands();

        public static async Task<FakeArduino> StartAsync(string binary, int baud)
        {
            var start = new ProcessStartInfo(binary, baud.ToString(CultureInfo.InvariantCulture)) { RedirectStandardOutput = true, UseShellExecute = false };
            var process = Process.Start(start)!;
            var path = await process.StandardOutput.ReadLineAsync().WaitAsync(StartTimeout) ?? throw new InvalidOperationException("the fake Arduino did not start");
            return new FakeArduino(process, path);
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        // Bytes the fake Arduino has read from its pty (rchar in /proc/PID/io), in frames.
        private int CountCommands()
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/io"))
            {
                if (line.StartsWith("rchar:", StringComparison.Ordinal))
                {
                    return (int)(long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture) / SerialFrame.Size);
                }
            }

            return 0;
        }
    }
}
