using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Alex.Web.Tests;

/// <summary>
/// A class on a real Mosquitto, all made by the real `alex`: `alex pki issue --batch --fleet` for one team per robot, an
/// instructor (teacher) and a watcher (laptop), `alex pki fleet-broker`'s configuration, and one
/// `alex serve --simulate --fleet` per robot with its audit log. Each kind of rig starts its own `alex fleet --web`
/// gateways.
/// </summary>
public abstract partial class FleetRig : IAsyncLifetime
{
    public static readonly TimeSpan Slow = TimeSpan.FromSeconds(90);

    private readonly StringBuilder _output = new();
    private readonly Dictionary<string, Process> _robots = [];
    private readonly List<Process> _gateways = [];

    protected FleetRig(string directoryPrefix, IReadOnlyList<string> robots)
    {
        Dir = Directory.CreateTempSubdirectory(directoryPrefix).FullName;
        Robots = robots;
    }

    public IReadOnlyList<string> Robots { get; }

    public string Dir { get; }

    public string Pki => Path.Combine(Dir, "pki");

    public string Conf => Path.Combine(Pki, "mosquitto", "mosquitto.conf");

    public int Port { get; } = MosquittoBroker.FreePort();

    public string Broker => $"mqtts://localhost:{Port}";

    /// <summary>The broker; a test that kills it and starts another on <see cref="Port"/> puts that one here.</summary>
    public MosquittoBroker? Mosquitto { get; set; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string AuditPath(string robot) => Path.Combine(Dir, robot + ".audit.jsonl");

    public async Task InitializeAsync()
    {
        await OkAsync("pki", "init", "--dir", Pki, "--name", "Fleet Test CA");
        var roster = Path.Combine(Dir, "teams.csv");
        await File.WriteAllLinesAsync(roster, ["team,robot,laptop,ip", .. Robots.Select((r, i) => $"team{i + 1},{r}")]);
        await OkAsync("pki", "issue", "--batch", roster, "--dir", Pki, "--fleet");
        await OkAsync("pki", "issue", "instructor", "teacher", "--dir", Pki);
        await OkAsync("pki", "issue", "client", "laptop", "--dir", Pki);
        await OkAsync("pki", "fleet-broker", "--dir", Pki, "--host", "localhost", "--bind", "127.0.0.1", "--port", Port.ToString(CultureInfo.InvariantCulture), "--user", Environment.UserName);
        Mosquitto = await MosquittoBroker.StartAsync(Conf, Port);

        for (var i = 0; i < Robots.Count; i++)
        {
            _robots[Robots[i]] = Start(
                "serve", "--pki", Path.Combine(Pki, "teams", $"team{i + 1}"), "--allow-any", "--simulate", "--listen", "127.0.0.1:0", "--no-announce", "--quiet",
                "--audit", AuditPath(Robots[i]), "--fleet", Broker);
        }

        await StartGatewaysAsync();
    }

    /// <summary>Kills a robot's `alex serve` as a crash or a pulled plug would: the broker publishes its Last Will.</summary>
    public async Task KillRobotAsync(string robot)
    {
        var process = _robots[robot];
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync().Within(Slow, $"{robot}'s alex serve to die");
    }

    /// <summary>The STOPs the robot's server sent its Arduino on the serial line for the fleet (audit "command" records by "server").</summary>
    public IReadOnlyList<string> FleetStopsOnTheSerialLine(string robot)
    {
        var stops = new List<string>();
        if (!File.Exists(AuditPath(robot)))
        {
            return stops;
        }

        using var stream = new FileStream(AuditPath(robot), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || !line.EndsWith('}'))
            {
                continue;
            }

            using var record = JsonDocument.Parse(line);
            var r = record.RootElement;
            if (r.GetProperty("event").GetString() == "command" && r.TryGetProperty("name", out var name) && name.GetString() == "server"
                && r.GetProperty("command").GetString() == "s" && r.TryGetProperty("why", out var why) && why.GetString() is { } text
                && text.StartsWith("STOP from the fleet", StringComparison.Ordinal))
            {
                stops.Add($"{text} -> {r.GetProperty("result").GetString()}");
            }
        }

        return stops;
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _gateways.Concat(_robots.Values))
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().Within(Slow);
            }

            process.Dispose();
        }

        if (Mosquitto is not null)
        {
            await Mosquitto.DisposeAsync();
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Starts this rig's `alex fleet --web` gateways (<see cref="StartGatewayAsync"/>).</summary>
    protected abstract Task StartGatewaysAsync();

    /// <summary>Starts `alex fleet --web` as <paramref name="who"/> (its certificate in the CA directory) and returns the URL it prints.</summary>
    protected async Task<Uri> StartGatewayAsync(string who, params string[] trust)
    {
        var opened = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = AlexProcess.Start(
            line =>
            {
                lock (_output)
                {
                    _output.AppendLine($"[{who}] {line}");
                }

                if (OpenLine().Match(line) is { Success: true } m)
                {
                    opened.TrySetResult(new Uri(m.Groups[1].Value));
                }
            },
            ["fleet", Broker, "--cert", Path.Combine(Pki, who + ".crt"), "--key", Path.Combine(Pki, who + ".key"), .. trust, "--web", "--listen", "127.0.0.1:0"]);
        _gateways.Add(process);
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(opened.Task, exited).Within(Slow, $"alex fleet --web as {who} to print its URL");
        if (first == exited)
        {
            throw new InvalidOperationException($"alex fleet --web as {who} exited with {process.ExitCode}:\n{Output}");
        }

        return await opened.Task;
    }

    private async Task OkAsync(params string[] args)
    {
        var run = await AlexCli.RunAsync(Slow, args);
        Assert.True(run.Code == 0, $"alex {string.Join(' ', args)} exited {run.Code}: {run.Stdout}{run.Stderr}");
    }

    private Process Start(params string[] args) => AlexProcess.Start(
        line =>
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        },
        args);

    [GeneratedRegex(@"^\s+open\s+(http://127\.0\.0\.1:\d+/\?token=\S+)$")]
    private static partial Regex OpenLine();
}
