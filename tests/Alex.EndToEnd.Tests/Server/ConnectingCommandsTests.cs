using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Alex.Cli;
using Alex.Pki;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// Every command that connects to a robot (`drive`, `send`, `web`, `doctor`, `lab handshake`) takes the
/// laptop's credentials the same way: ./pki by default, an encrypted key's passphrase from
/// --passphrase-file, $ALEX_PKI_PASSPHRASE or a prompt; and closes politely.
/// </summary>
public sealed class ConnectingCommandsTests : IClassFixture<TestPki>, IClassFixture<FragileServerBinary>
{
    private const string Passphrase = "laptop pass phrase";
    private static readonly string[] Connecting = ["drive", "send", "web", "doctor", "lab handshake", "scan"];

    private readonly TestPki _pki;
    private readonly FragileServerBinary _fragile;

    public ConnectingCommandsTests(TestPki pki, FragileServerBinary fragile)
    {
        _pki = pki;
        _fragile = fragile;
    }

    [Fact]
    public void ConnectionOptions_SameNamesHelpAndDefaults_InEveryConnectingCommand()
    {
        var root = AlexCommandLine.Build();
        var commands = Connecting.Select(path => path.Split(' ').Aggregate((Command)root, (c, name) => c.Subcommands.Single(s => s.Name == name))).ToList();
        foreach (var name in new[] { "--pki", "--cert", "--key", "--ca", "--passphrase-file", "--name", "--timeout" })
        {
            var options = commands.Select(c => c.Options.SingleOrDefault(o => o.Name == name)).ToList();
            Assert.All(options, o => Assert.NotNull(o));
            Assert.Single(options.Select(o => o!.Description).Distinct());
        }

        Assert.Contains("default: ./pki", commands[0].Options.Single(o => o.Name == "--pki").Description, StringComparison.Ordinal);
        Assert.All(commands, c => Assert.Equal(10.0, c.Options.OfType<Option<double>>().Single(o => o.Name == "--timeout").DefaultValueFactory!(null!)));
    }

    [Fact]
    public async Task EncryptedLaptopKeyInDotPki_WorksInEveryConnectingCommand()
    {
        var work = Directory.CreateTempSubdirectory("alex-crypt-").FullName;
        var pki = Path.Combine(work, "pki");
        Directory.CreateDirectory(pki);
        _pki.Ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "crypt" }, Path.Combine(pki, "laptop.key"), Path.Combine(pki, "laptop.crt"), Passphrase, force: false);
        File.Copy(_pki.CaPath, Path.Combine(pki, "signing.pem"));
        File.Copy(_pki.Ca.CrlPath, Path.Combine(pki, "crl.pem"));
        var passFile = Path.Combine(work, "pass.txt");
        File.WriteAllText(passFile, Passphrase + "\n");
        await using var server = await TestServer.StartAsync(_pki, allow: ["crypt=drive"], handshakeTimeout: TimeSpan.FromSeconds(60)); // a loaded machine starts dotnet slowly
        var target = $"127.0.0.1:{server.EndPoint.Port}";
        var env = new Dictionary<string, string> { [KeyPassphrase.EnvironmentVariable] = Passphrase };
        var none = new Dictionary<string, string>();

        // Without a passphrase: one line that says how to give it, exit 2.
        var refused = await RunAsync(work, none, null, "send", target, "--name", TestPki.ServerName, "g");
        Assert.Equal(2, refused.Code);
        Assert.Contains("--passphrase-file", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains(KeyPassphrase.EnvironmentVariable, refused.Stderr, StringComparison.Ordinal);

        var send = await RunAsync(work, env, null, "send", target, "--name", TestPki.ServerName, "g");
        Assert.True(send.Code == 0, send.Stderr);

        var drive = await RunAsync(work, none, "g\nq\n", "drive", target, "--name", TestPki.ServerName, "--passphrase-file", passFile);
        Assert.True(drive.Code == 0, drive.Stdout + drive.Stderr);
        Assert.Contains("Forward Distance", drive.Stdout, StringComparison.Ordinal);

        var doctor = await RunAsync(work, none, null, "doctor", target, "--name", TestPki.ServerName, "--passphrase-file", passFile);
        Assert.Contains("laptop.crt", doctor.Stdout, StringComparison.Ordinal); // ./pki was checked
        Assert.Contains("admits us as 'crypt'", doctor.Stdout, StringComparison.Ordinal);

        var lab = await RunAsync(work, env, null, "lab", "handshake", target, "--name", TestPki.ServerName);
        Assert.True(lab.Code == 0, lab.Stdout + lab.Stderr);

        var web = await WebPrintsUrlAsync(work, env, "web", "--robot", target, "--name", TestPki.ServerName, "--listen", "127.0.0.1:0");
        Assert.True(web.Printed, web.Output);
    }

    [Fact]
    public async Task Doctor_HostInAFolderWithDotPki_ChecksAndUsesIt()
    {
        var work = Directory.CreateTempSubdirectory("alex-dotpki-").FullName;
        var pki = Path.Combine(work, "pki");
        Directory.CreateDirectory(pki);
        foreach (var (from, to) in new[] { ("laptop.crt", "laptop.crt"), ("laptop.key", "laptop.key") })
        {
            File.Copy(_pki.Path(from), Path.Combine(pki, to));
        }

        File.Copy(_pki.CaPath, Path.Combine(pki, "signing.pem"));
        File.Copy(_pki.Ca.CrlPath, Path.Combine(pki, "crl.pem"));
        await using var server = await TestServer.StartAsync(_pki, handshakeTimeout: TimeSpan.FromSeconds(60));

        var doctor = await RunAsync(work, [], null, "doctor", $"127.0.0.1:{server.EndPoint.Port}", "--name", TestPki.ServerName);
        Assert.True(doctor.Code == 0, doctor.Stdout + doctor.Stderr);
        Assert.Contains("laptop certificate (pki/laptop.crt)", doctor.Stdout, StringComparison.Ordinal);
        Assert.Contains("admits us as 'laptop'", doctor.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CourseStyleServerThatDiesOfSigpipe_SurvivesEveryCommand()
    {
        await using var server = await FragileServer.StartAsync(_fragile.Path, _pki);
        var laptop = new[] { "--cert", _pki.Path("laptop.crt"), "--key", _pki.Path("laptop.key"), "--ca", _pki.CaPath };
        var target = $"127.0.0.1:{server.Port}";
        var runs = new (string? Input, string[] Args)[]
        {
            (null, ["doctor", target, "--name", TestPki.ServerName, .. laptop]),
            (null, ["send", target, "--name", TestPki.ServerName, "--classic", "s", .. laptop]),
            (null, ["send", target, "--name", "not-the-robot.example", "--classic", "s", .. laptop]),
            (null, ["send", target, "--name", TestPki.ServerName, "s", .. laptop]),
            ("s\nq\n", ["drive", target, "--name", TestPki.ServerName, "--classic", .. laptop]),
            (null, ["lab", "handshake", target, "--name", TestPki.ServerName, .. laptop]),
            (null, ["doctor", target, "--name", TestPki.ServerName, .. laptop]),
        };
        var closed = 0;
        foreach (var (input, args) in runs)
        {
            var run = await RunAsync(Path.GetTempPath(), [], input, args);
            closed++;
            var alive = await server.WaitClosedAsync(closed);
            Assert.True(alive, $"`alex {string.Join(' ', args.Take(2))}` killed the server (exit {server.ExitCode}); alex said: {run.Stdout}{run.Stderr}\nserver: {server.Output}");
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task DoctorLegacy_CourseStyleV1Certificates_AgainstACourseStyleServer_Passes()
    {
        // The course's way on both sides: X.509 v1 certificates (openssl x509 -req, no extensions).
        _pki.OpenSsl("genrsa", "-out", "course-robot.key", "2048");
        _pki.OpenSsl("req", "-config", "v1.cnf", "-new", "-key", "course-robot.key", "-out", "course-robot.csr", "-subj", "/CN=alex-v1.epp.com");
        _pki.OpenSsl("x509", "-req", "-in", "course-robot.csr", "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", "course-robot.crt", "-days", "30");
        var laptop = Directory.CreateTempSubdirectory("alex-course-laptop-").FullName;
        File.Copy(_pki.Path("course.crt"), Path.Combine(laptop, "course.crt"));
        File.Copy(_pki.Path("course.key"), Path.Combine(laptop, "course.key"));
        File.SetUnixFileMode(Path.Combine(laptop, "course.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var server = await FragileServer.StartAsync(_fragile.Path, _pki, "course-robot.crt", "course-robot.key");
        string[] args = ["doctor", $"127.0.0.1:{server.Port}", "--name", "alex-v1.epp.com", "--cert", Path.Combine(laptop, "course.crt"), "--key", Path.Combine(laptop, "course.key"), "--ca", _pki.CaPath];

        var strict = await RunAsync(laptop, [], null, args);
        Assert.True(strict.Code == 1, strict.Stdout + strict.Stderr);

        var legacy = await RunAsync(laptop, [], null, [.. args, "--legacy"]);
        Assert.True(legacy.Code == 0, legacy.Stdout + legacy.Stderr);
        Assert.Contains("the robot's certificate is trusted", legacy.Stdout, StringComparison.Ordinal);
        Assert.True(await server.WaitClosedAsync(2), server.Output);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string workingDirectory, Dictionary<string, string> env, string? input, params string[] args)
    {
        using var process = Start(workingDirectory, env, input is not null, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        try
        {
            await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(90), "alex " + string.Join(' ', args));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return (process.ExitCode, await stdout.Within(), await stderr.Within());
    }

    private static async Task<(bool Printed, string Output)> WebPrintsUrlAsync(string workingDirectory, Dictionary<string, string> env, params string[] args)
    {
        using var process = Start(workingDirectory, env, redirectInput: false, args);
        var output = new StringBuilder();
        var url = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = process.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }

                if (line.Contains("open  http://127.0.0.1:", StringComparison.Ordinal))
                {
                    url.TrySetResult(true);
                }
            }

            url.TrySetResult(false);
        });
        try
        {
            var printed = await url.Task.Within(TimeSpan.FromSeconds(90), "alex web to print its URL");
            return (printed, output + await (process.HasExited ? stderr : Task.FromResult(string.Empty)));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync().Within();
            await reader.Within();
        }
    }

    private static Process Start(string workingDirectory, Dictionary<string, string> env, bool redirectInput, string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "alex.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove(KeyPassphrase.EnvironmentVariable);
        start.Environment["XDG_CONFIG_HOME"] = Path.Combine(workingDirectory, ".config");
        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        return Process.Start(start)!;
    }
}

/// <summary>Server/FragileServer/fragile_server.c, compiled once for the test class.</summary>
public sealed class FragileServerBinary : IDisposable
{
    private readonly CProgram _program = new(System.IO.Path.Combine("FragileServer", "fragile_server.c"));

    public string Path => _program.Path;

    public void Dispose() => _program.Dispose();
}

/// <summary>The running fragile server: its port, its output, and whether it still lives.</summary>
internal sealed class FragileServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FragileServer(Process process) => _process = process;

    public int Port { get; private set; }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join(" | ", _lines);
            }
        }
    }

    public static async Task<FragileServer> StartAsync(string binary, TestPki pki, string certificate = "alex.crt", string key = "alex.key")
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { pki.Path(certificate), pki.Path(key), pki.CaPath })
        {
            start.ArgumentList.Add(a);
        }

        var self = new FragileServer(new Process { StartInfo = start, EnableRaisingEvents = true });
        self._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (self._gate)
                {
                    self._lines.Add(line);
                }

                if (line.StartsWith("port ", StringComparison.Ordinal))
                {
                    self._port.TrySetResult(int.Parse(line[5..], System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            self.Signal();
        };
        self._process.Exited += (_, _) => self.Signal();
        self._process.ErrorDataReceived += (_, _) => { };
        self._process.Start();
        self._process.BeginOutputReadLine();
        self._process.BeginErrorReadLine();
        self.Port = await self._port.Task.Within(what: "the fragile server to listen");
        return self;
    }

    /// <summary>Waits until the server has finished <paramref name="connections"/> connections (true) or died (false).</summary>
    public async Task<bool> WaitClosedAsync(int connections)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_lines.Count(l => l == "closed") >= connections)
                {
                    return !_process.HasExited;
                }

                changed = _changed.Task;
            }

            if (_process.HasExited)
            {
                return false;
            }

            await changed.Within(TimeSpan.FromSeconds(30), "the fragile server to finish the connection");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync().Within();
        _process.Dispose();
    }

    private void Signal()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }
}

/// <summary>What a newcomer reads first: `alex --help` is short, and each command's summary describes it.</summary>
public sealed class HelpTextTests
{
    [Fact]
    public async Task TopLevelHelp_IsShort_AndEverySummaryDescribesTheCommand()
    {
        var (code, stdout, stderr) = await AlexCli.RunAsync(TimeSpan.FromSeconds(60), "--help");
        Assert.True(code == 0, stderr);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.True(lines.Length <= 30, $"{lines.Length} lines:\n{stdout}");
        var commands = lines.SkipWhile(l => !l.StartsWith("Commands:", StringComparison.Ordinal)).Skip(1).TakeWhile(l => l.Length > 0).ToList();
        Assert.Equal(AlexCommandLine.Build().Subcommands.Select(c => c.Name), commands.Select(l => l.Trim().Split(' ')[0]));
        Assert.All(commands, l => Assert.DoesNotContain("Examples", l, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("serve", "--extensions")]
    [InlineData("send", "--extensions")]
    [InlineData("drive", "--extensions")]
    [InlineData("web", "--extensions")]
    [InlineData("sim", "--answer")]
    public void CommandsThatTakeADeclaration_ShowItInAnExample(string name, string option)
    {
        var command = AlexCommandLine.Build().Subcommands.Single(c => c.Name == name);
        Assert.Contains(command.Options, o => o.Name == option);
        var examples = command.Description!.Split('\n').SkipWhile(l => !l.StartsWith("Example", StringComparison.Ordinal)).TakeWhile(l => l.Length > 0);
        Assert.Contains(examples, l => l.TrimStart().StartsWith("alex ", StringComparison.Ordinal) && l.Contains(" --extensions ", StringComparison.Ordinal) && l.Contains(option, StringComparison.Ordinal));
    }

    [Fact]
    public void EverySummary_IsOneDescriptiveLine_ExamplesAfter()
    {
        var all = new List<Command>();
        void Walk(Command c)
        {
            all.Add(c);
            foreach (var s in c.Subcommands)
            {
                Walk(s);
            }
        }

        Walk(AlexCommandLine.Build());
        Assert.All(all, c => Assert.False(c.Description!.StartsWith("Examples", StringComparison.Ordinal), $"{c.Name}: {c.Description}"));
    }
}
