using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Alex.Client;
using Alex.Pki;
using Alex.Tests.Shared;

namespace Alex.Web.Tests;

/// <summary>
/// A real `alex serve --simulate` (the built executable, as a child process) on 127.0.0.1 with
/// certificates minted for this run: the robot (alex.epp.com), a driver laptop and a watcher (tutor).
/// </summary>
public partial class RobotRig : IAsyncLifetime
{
    public const string ServerName = "alex.epp.com";

    private readonly StringBuilder _serverOutput = new();
    private readonly string[] _serveOptions;
    private Process? _server;

    public RobotRig()
        : this([])
    {
    }

    /// <summary>A rig whose server gets <paramref name="serveOptions"/> too (e.g. --extensions FILE).</summary>
    protected RobotRig(string[] serveOptions) => _serveOptions = serveOptions;

    public string Dir { get; } = Directory.CreateTempSubdirectory("alex-web-").FullName;

    /// <summary>laptop.crt, laptop.key, signing.pem: what `alex web --pki` reads.</summary>
    public string LaptopDir => Path.Combine(Dir, "laptop");

    public string TutorDir => Path.Combine(Dir, "tutor");

    public int Port { get; private set; }

    public string ServerOutput
    {
        get
        {
            lock (_serverOutput)
            {
                return _serverOutput.ToString();
            }
        }
    }

    public async Task InitializeAsync()
    {
        var ca = CertificateAuthority.Create(Path.Combine(Dir, "pki"), "AlexLink Web Test CA", KeySpec.EcdsaP256, 30, null, force: false);
        ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = ServerName, IpAddresses = [IPAddress.Loopback] }, Path.Combine(ca.Directory, "alex.key"), Path.Combine(ca.Directory, "alex.crt"), null, force: false);
        foreach (var (dir, name) in new[] { (LaptopDir, "laptop"), (TutorDir, "tutor") })
        {
            Directory.CreateDirectory(dir);
            ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = name }, Path.Combine(dir, AlexCredentials.KeyFileName), Path.Combine(dir, AlexCredentials.CertificateFileName), null, force: false);
            File.Copy(ca.CertificatePath, Path.Combine(dir, AlexCredentials.CaFileName));
        }

        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _server = StartAlex(
            line =>
            {
                if (ListeningOn().Match(line) is { Success: true } m)
                {
                    listening.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                }
            },
            ["serve", "--pki", ca.Directory, "--allow", "laptop=drive", "--allow", "tutor=watch", "--simulate",
            "--listen", "127.0.0.1:0", "--lease-ms", "3000", .. _serveOptions]);
        var exited = _server.WaitForExitAsync();
        var first = await Task.WhenAny(listening.Task, exited).Within(TimeSpan.FromSeconds(30), "alex serve to listen");
        if (first == exited)
        {
            throw new InvalidOperationException($"alex serve exited with {_server.ExitCode}:\n{ServerOutput}");
        }

        Port = await listening.Task;
    }

    public AlexClientOptions ClientOptions(string dir) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        ServerName = ServerName,
        Credentials = AlexCredentials.FromPkiDirectory(dir),
        Protocol = AlexProtocol.AlexLink1,
    };

    /// <summary>Runs the built `alex` with <paramref name="args"/>; output is kept for failure messages and passed to <paramref name="onLine"/>.</summary>
    public Process StartAlex(Action<string> onLine, params string[] args) => AlexProcess.Start(
        line =>
        {
            lock (_serverOutput)
            {
                _serverOutput.AppendLine(line);
            }

            onLine(line);
        },
        args);

    public async Task DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync().Within();
        }

        _server?.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}

/// <summary>The built `alex` executable (next to the tests), run as a child process.</summary>
internal static class AlexProcess
{
    public static Process Start(Action<string> onLine, params string[] args)
    {
        var start = AlexCli.StartInfo(args);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;

        var process = new Process { StartInfo = start };
        DataReceivedEventHandler handler = (_, e) =>
        {
            if (e.Data is not null)
            {
                onLine(e.Data);
            }
        };
        process.OutputDataReceived += handler;
        process.ErrorDataReceived += handler;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
