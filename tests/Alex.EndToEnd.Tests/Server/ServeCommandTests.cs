using System.Diagnostics;
using System.Text.RegularExpressions;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Pty;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>The real `alex serve` executable: refusals to start, and a run over the simulator and over a pty.</summary>
public sealed partial class ServeCommandTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServeCommandTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task Serve_NoAllowList_RefusesToStartWithOneLine()
    {
        var run = await AlexAsync("serve", "--pki", _pki.Dir, "--simulate");
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("alex: no allow-list", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("--allow-any", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_MissingKey_NamesTheFile()
    {
        var missing = _pki.Path("nope.key");
        var run = await AlexAsync("serve", "--cert", _pki.Path("alex.crt"), "--key", missing, "--ca", _pki.CaPath, "--allow", "laptop", "--simulate");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"alex: {missing}: no such private key file", run.Stderr.Split('\n')[0]);
    }

    [Fact]
    public async Task Serve_KeyOfAnotherCertificate_NamesBothFiles()
    {
        var run = await AlexAsync("serve", "--cert", _pki.Path("alex.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath, "--crl", _pki.Ca.CrlPath, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("laptop.key", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("does not belong", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-sessions", "0", "alex: --max-sessions 0: must be between 1 and 10000")]
    [InlineData("--audit-max-size", "12Q", "alex: --audit-max-size 12Q: not a size")]
    [InlineData("--audit-keep", "-1", "alex: --audit-keep -1: must be between 0 and 1000")]
    public async Task Serve_BadCapacity_OneLineExit2(string option, string value, string error)
    {
        var run = await AlexAsync("serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(error, run.Stderr.Split('\n')[0]);
    }

    [Fact]
    public async Task Serve_NoRobot_SaysSerialOrSimulate()
    {
        var run = await AlexAsync("serve", "--pki", _pki.Dir, "--allow", "laptop");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--serial PATH or --simulate", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PkiDirectoryWithoutCrl_RefusesToStartUnlessNoCrl()
    {
        var dir = Directory.CreateTempSubdirectory("alex-no-crl-").FullName;
        foreach (var file in new[] { "alex.crt", "alex.key", "signing.pem" })
        {
            File.Copy(_pki.Path(file), Path.Combine(dir, file));
        }

        var refused = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, refused.ExitCode);
        var lines = refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"alex: {Path.Combine(dir, "crl.pem")}: no such CRL file: without it a revoked certificate would get in", lines[0]);
        Assert.Contains("--no-crl", lines[1], StringComparison.Ordinal);

        var audit = Path.Combine(dir, "audit.jsonl");
        await using var serve = await ServeProcess.StartWithAsync(_pki, ["serve", "--pki", dir, "--no-crl", "--allow", "laptop", "--listen", "127.0.0.1:0", "--audit", audit, "--quiet", "--simulate"]);
        Assert.Contains(serve.Preamble, l => l.StartsWith("alex serve: WARNING: --no-crl", StringComparison.Ordinal));
        serve.Signal("TERM");
        Assert.Equal(0, await serve.WaitForExitAsync());
        Assert.Contains(File.ReadLines(audit), l => l.Contains("\"warning\"", StringComparison.Ordinal) && l.Contains("no CRL (--no-crl)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0x1A4)]
    [InlineData(0x1A0)]
    [InlineData(0x1B6)]
    public async Task Serve_KeyReadableByOthers_RefusedWithTheFix(int mode)
    {
        var dir = CopyServerFiles();
        var key = Path.Combine(dir, "alex.key");
        Chmod(key, mode);
        var run = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"alex: {key}: the private key is readable or writable by others (mode 0{Convert.ToString(mode, 8)})", lines[0], StringComparison.Ordinal);
        Assert.Equal($"hint: chmod 600 {key}", lines[1]);
    }

    [Fact]
    public async Task Serve_KeyInWorldWritableDirectoryOrOwnedByAnother_Refused()
    {
        var dir = CopyServerFiles();
        Chmod(dir, 0x1FF);
        var run = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"the directory {dir} is writable by everyone (mode 0777)", run.Stderr, StringComparison.Ordinal);

        Chmod(dir, 0x1C0);
        if (Environment.UserName == "root")
        {
            using var chown = Process.Start(new ProcessStartInfo("chown", ["65534", Path.Combine(dir, "alex.key")]) { UseShellExecute = false })!;
            await chown.WaitForExitAsync().Within();
            run = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("the private key belongs to another user (uid 65534)", run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Serve_KeySymlinkToWorldWritableFile_Refused()
    {
        var dir = CopyServerFiles();
        var shared = Path.Combine(Directory.CreateTempSubdirectory("alex-shared-").FullName, "shared.key");
        File.Move(Path.Combine(dir, "alex.key"), shared);
        Chmod(shared, 0x1B6);
        File.CreateSymbolicLink(Path.Combine(dir, "alex.key"), shared);
        var run = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"(a link to {shared}): the private key is readable or writable by others (mode 0666)", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_EncryptedKey_StartsWithPassphraseFileOrEnvironment_RefusedWithout()
    {
        var dir = CopyServerFiles();
        var key = Path.Combine(dir, "alex.key");
        using (var plain = Alex.Pki.PrivateKeyFile.Load(key))
        {
            Alex.Pki.PrivateKeyFile.Save(key, plain, "robot secret", overwrite: true);
        }

        var without = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, without.ExitCode);
        Assert.StartsWith($"alex: {key}: the private key is encrypted and no passphrase was given", without.Stderr, StringComparison.Ordinal);

        var passphrase = Path.Combine(dir, "passphrase.txt");
        File.WriteAllText(passphrase, "robot secret\n");
        await using (var serve = await ServeProcess.StartWithAsync(_pki, ["serve", "--pki", dir, "--passphrase-file", passphrase, "--allow", "laptop", "--listen", "127.0.0.1:0", "--quiet", "--simulate"]))
        {
            await using var client = await ConnectAsync(serve);
            Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
        }

        var start = AlexProcess("serve", "--pki", dir, "--allow", "laptop", "--listen", "127.0.0.1:0", "--quiet", "--simulate");
        start.Environment["ALEX_PKI_PASSPHRASE"] = "robot secret";
        await using (var serve = await ServeProcess.StartWithAsync(_pki, start))
        {
            await using var client = await ConnectAsync(serve);
            Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
        }
    }

    [Fact]
    public async Task Serve_OwnCertificateExpiredOrWeak_RefusesToStartWithTheReason()
    {
        var dir = CopyServerFiles();
        var past = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-30));
        var ca = Alex.Pki.CertificateAuthority.Open(_pki.Dir, timeProvider: past);
        ca.Issue(new Alex.Pki.IssueRequest { Role = Alex.Pki.CertificateRole.Server, Name = TestPki.ServerName, Days = 1 }, Path.Combine(dir, "alex.key"), Path.Combine(dir, "alex.crt"), null, force: true);
        var expired = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, expired.ExitCode);
        Assert.Contains("the server's certificate expired on", expired.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening", expired.Stderr, StringComparison.Ordinal);

        // RSA-1024, signed by the CA as the course's openssl commands do.
        File.WriteAllText(Path.Combine(dir, "v1.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n");
        _pki.OpenSsl("genrsa", "-out", Path.Combine(dir, "alex.key"), "1024");
        _pki.OpenSsl("req", "-config", Path.Combine(dir, "v1.cnf"), "-new", "-key", Path.Combine(dir, "alex.key"), "-out", Path.Combine(dir, "alex.csr"), "-subj", "/CN=" + TestPki.ServerName);
        _pki.OpenSsl("x509", "-req", "-in", Path.Combine(dir, "alex.csr"), "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", Path.Combine(dir, "alex.crt"), "-days", "30");
        Chmod(Path.Combine(dir, "alex.key"), 0x180);
        var weak = await AlexAsync("serve", "--pki", dir, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0");
        Assert.Equal(2, weak.ExitCode);
        Assert.Contains("1024-bit RSA key is too small for OpenSSL's default security level", weak.Stderr, StringComparison.Ordinal);
    }

    private static void Chmod(string path, int mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Unix file modes");
        }

        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    // alex.crt, alex.key, signing.pem and crl.pem in a directory of their own (owner-only, as `alex pki init` makes it).
    private string CopyServerFiles()
    {
        var dir = Directory.CreateTempSubdirectory("alex-serve-files-").FullName;
        foreach (var file in new[] { "alex.crt", "alex.key", "signing.pem", "crl.pem" })
        {
            File.Copy(_pki.Path(file), Path.Combine(dir, file));
        }

        return dir;
    }

    [Theory]
    [InlineData("--max-angle", "0", "alex: --max-angle 0: must be 1 degree or more")]
    [InlineData("--classic-silence-ms", "50", "alex: --classic-silence-ms 50: must be between 100 and 600000")]
    public async Task Serve_LimitOutOfRange_OneLineExit2(string option, string value, string error)
    {
        var run = await AlexAsync("serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(error, run.Stderr.Split('\n')[0]);
    }

    [Fact]
    public async Task Serve_Simulate_DrivesReloadsOnSighupAndStopsOnSigterm()
    {
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeProcess.StartAsync(_pki, audit, "--simulate");
        await using (var client = await ConnectAsync(serve))
        {
            Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());
            Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 10, 50)));
            Assert.IsType<AlexLinkStatus>(await client.RequestAsync(new AlexLinkCommand(CommandCode.GetStats, 0, 0)));
        }

        serve.Signal("HUP");
        await Bounded.Until(() => File.ReadAllText(audit).Contains("\"SIGHUP\"", StringComparison.Ordinal), what: "the SIGHUP reload in the audit log");
        serve.Signal("TERM");
        Assert.Equal(0, await serve.WaitForExitAsync());
        var lines = File.ReadAllLines(audit);
        Assert.Contains(lines, l => l.Contains("\"event\":\"command\"", StringComparison.Ordinal) && l.Contains("f 10 50", StringComparison.Ordinal));
        Assert.Contains("\"server-stopped\"", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_CtrlC_StopsTheMovingRobotAndEndsTheLog()
    {
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeProcess.StartAsync(_pki, audit, "--simulate");
        Assert.False(serve.IgnoresSigint(), "alex serve started with SIGINT ignored: Ctrl+C could not be tested");
        var client = await ConnectAsync(serve);
        Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 50)));

        // Ctrl+C while the driver is still connected and the robot moving (no distance given: it runs until stopped).
        serve.Signal("INT");
        Assert.Equal(0, await serve.WaitForExitAsync());
        await client.DisposeAsync();
        var lines = File.ReadAllLines(audit);
        Assert.Contains(lines, l => l.Contains("\"event\":\"dead-man\"", StringComparison.Ordinal) && l.Contains("\"DriverLeft\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"name\":\"server\",\"command\":\"s\",\"result\":\"ok\"", StringComparison.Ordinal));
        Assert.Contains("\"server-stopped\"", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_SerialPty_CommandsReachTheSimulatorBehindThePty()
    {
        await using var pty = PtySimulator.Start(new SimulatorSettings(), new SerialLinePacing(9600), null, TimeProvider.System, null);
        var hello = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var forward = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pty.Pump.Exchanged += e =>
        {
            if (e.Received.Packet is { Type: PacketType.Hello })
            {
                hello.TrySetResult();
            }
            else if (e.Received.Packet is { Type: PacketType.Command, Command: CommandCode.Forward })
            {
                forward.TrySetResult();
            }
        };
        var audit = _pki.Path($"serve-{Guid.NewGuid():N}.jsonl");
        await using var serve = await ServeProcess.StartAsync(_pki, audit, "--serial", pty.DevicePath);
        await using var client = await ConnectAsync(serve);
        Assert.IsType<AlexLinkWelcome>(await client.ReadAsync());

        // The link waits out the Uno's reset (2 s), then says HELLO. This raw client sends no heartbeats, so a move
        // sent before that would wait past the lease window: the dead-man would stop the robot and drop the move
        // (ServerSafetyTests covers that); here the move is sent once the Arduino is reachable.
        await hello.Task.Within(TimeSpan.FromSeconds(15), "the server's HELLO on the pty");
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkCommand(CommandCode.Forward, 0, 60), TimeSpan.FromSeconds(15)));
        // The frame on the pty, not the wheels: this client sends no heartbeats, so on a loaded machine the dead-man may
        // rightly stop the move before a poll of the wheels sees it.
        await forward.Task.Within(TimeSpan.FromSeconds(60), "the forward command on the pty");
        Assert.IsType<AlexLinkOk>(await client.RequestAsync(new AlexLinkStop()));
        Assert.Equal(MotionKind.Stopped, pty.Alex.Motion);
    }

    internal static async Task<AlexLinkTestClient> ConnectAsync(ServeProcess serve)
    {
        var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, serve.Port).Within();
        var ssl = new System.Net.Security.SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(Alex.Pki.Tls.TlsProfiles.Client(serve.Pki.Load("laptop"), serve.Pki.LoadCa(), TestPki.ServerName)).Within();
        return new AlexLinkTestClient(ssl, tcp);
    }

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static ProcessStartInfo AlexProcess(params string[] args)
    {
        var start = AlexCli.StartInfo(args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        return start;
    }

    private static async Task<Run> AlexAsync(params string[] args)
    {
        var (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(30), args);
        return new Run(code, stdout, stderr);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();

    internal sealed class ServeProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ServeProcess(Process process, TestPki pki, int port)
        {
            _process = process;
            Pki = pki;
            Port = port;
        }

        public TestPki Pki { get; }

        public int Port { get; }

        /// <summary>What alex serve wrote to standard error before "listening".</summary>
        public List<string> Preamble { get; } = [];

        /// <summary>What alex serve wrote to standard error after "listening", so far.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<string> Stderr { get; } = new();

        public static Task<ServeProcess> StartAsync(TestPki pki, string audit, params string[] robot) =>
            StartWithAsync(pki, ["serve", "--pki", pki.Dir, "--allow", "laptop", "--listen", "127.0.0.1:0", "--audit", audit, "--quiet", .. robot]);

        public static Task<ServeProcess> StartWithAsync(TestPki pki, string[] args) => StartWithAsync(pki, AlexProcess(args));

        public static async Task<ServeProcess> StartWithAsync(TestPki pki, ProcessStartInfo start)
        {
            var preamble = new List<string>();
            var process = Process.Start(AlexCli.WithDefaultSigint(start))!;
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            var port = 0;
            try
            {
                while (port == 0)
                {
                    var line = await process.StandardError.ReadLineAsync().Within(TimeSpan.FromSeconds(30), "alex serve to listen")
                        ?? throw new InvalidOperationException("alex serve exited before listening");
                    preamble.Add(line);
                    var m = Listening().Match(line);
                    if (m.Success)
                    {
                        port = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
            catch
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw;
            }

            var serve = new ServeProcess(process, pki, port);
            serve.Preamble.AddRange(preamble);
            _ = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync() is { } line)
                {
                    serve.Stderr.Enqueue(line);
                }
            });
            return serve;
        }

        /// <summary>True when the process ignores SIGINT (SigIgn in /proc/PID/status has bit 1 set).</summary>
        public bool IgnoresSigint()
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
        }

        public void Signal(string name)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            kill.WaitForExit();
        }

        public async Task<int> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().Within(TimeSpan.FromSeconds(15), "alex serve to stop");
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
