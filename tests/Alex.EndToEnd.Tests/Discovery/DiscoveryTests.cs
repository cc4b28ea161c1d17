using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Alex.EndToEnd.Tests.Server;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Discovery;

/// <summary>
/// `alex serve` announcing itself and `alex discover` / `alex send NAME` finding it, each in a network namespace of the
/// test's own joined by a veth pair: the multicast never leaves the pair. dig (bind9-dnsutils) asks as an outside tool.
/// </summary>
public sealed class DiscoveryTests : IClassFixture<TestPki>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private readonly TestPki _pki;

    public DiscoveryTests(TestPki pki)
    {
        _pki = pki;
    }

    [NetworkNamespaceFact]
    public async Task Discover_ServerOnTheLan_ListedWithAddressPortFingerprintAndOurCa()
    {
        await using var net = await NamespacePair.CreateAsync();
        await using var server = await ServeIn(net.Robot);

        var (code, stdout, stderr) = await net.Laptop.RunAlexAsync(Limit, "discover", "--json", "--timeout", "5", "--pki", _pki.Dir);
        Assert.True(code == 0, stderr);
        var robot = Assert.Single(JsonDocument.Parse(stdout).RootElement.EnumerateArray());
        Assert.Equal(TestPki.ServerName, robot.GetProperty("name").GetString());
        Assert.Equal(TestPki.ServerName, robot.GetProperty("certificateName").GetString());
        Assert.Equal([net.RobotAddress], robot.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(5000, robot.GetProperty("port").GetInt32());
        Assert.Equal(Sha256(_pki.Path("alex.crt")), robot.GetProperty("fingerprint").GetString());
        Assert.Equal("ours", robot.GetProperty("ca").GetString());

        var table = await net.Laptop.RunAlexAsync(Limit, "discover", "--timeout", "5");
        Assert.Equal(0, table.Code);
        Assert.Contains($"{TestPki.ServerName}  {net.RobotAddress}  5000  unchecked", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("not authenticated", table.Stdout, StringComparison.Ordinal);
    }

    [NetworkNamespaceFact]
    public async Task Send_ByAnnouncedName_ResolvedByMdnsAndCheckedByTls()
    {
        await using var net = await NamespacePair.CreateAsync();
        await using var server = await ServeIn(net.Robot);

        var byName = await net.Laptop.RunAlexAsync(Limit, "send", TestPki.ServerName, "--pki", _pki.Dir, "--json", "g");
        Assert.True(byName.Code == 0, byName.Stderr);

        // The host's .local name leads to the same robot; TLS still wants the certificate's name.
        var host = Dns().Split('.')[0] + ".local";
        var byHost = await net.Laptop.RunAlexAsync(Limit, "send", host, "--pki", _pki.Dir, "g");
        Assert.Equal(1, byHost.Code);
        Assert.Contains("--name", byHost.Stderr, StringComparison.Ordinal);
        var byHostNamed = await net.Laptop.RunAlexAsync(Limit, "send", host, "--name", TestPki.ServerName, "--pki", _pki.Dir, "g");
        Assert.True(byHostNamed.Code == 0, byHostNamed.Stderr);

        var unknown = await net.Laptop.RunAlexAsync(Limit, "send", "no-such-robot", "--pki", _pki.Dir, "g");
        Assert.Equal(1, unknown.Code);
        Assert.Equal(
            "alex: cannot reach no-such-robot:5000: no such host (not in DNS, and no robot or host of that name answered by mDNS on the local network)",
            unknown.Stderr.Split('\n')[0]);
        Assert.Contains("alex discover", unknown.Stderr, StringComparison.Ordinal);
    }

    [NetworkNamespaceFact]
    public async Task Watch_ServerStops_GoodbyeRemovesIt()
    {
        await using var net = await NamespacePair.CreateAsync();
        var server = await ServeIn(net.Robot);
        await using var watch = NamespacedProcess.StartAlex(net.Laptop.Name, "discover", "--watch", "--timeout", "120");
        await watch.WaitForLineAsync(l => l.StartsWith("+ " + TestPki.ServerName, StringComparison.Ordinal), "the robot seen", Limit);

        await server.DisposeAsync(); // SIGTERM: the server says goodbye (TTL 0) before it exits
        var gone = await watch.WaitForLineAsync(l => l.StartsWith("- " + TestPki.ServerName, StringComparison.Ordinal), "the goodbye", Limit);
        Assert.Contains(net.RobotAddress, gone, StringComparison.Ordinal);
    }

    [NetworkNamespaceFact]
    public async Task NetworkComesUpAfterServeAndWatchStarted_RobotAnnouncedAndSeen()
    {
        // As at boot, when `alex serve` starts before the Wi-Fi: no interface is up on either side yet.
        await using var net = await NamespacePair.CreateAsync(up: false);
        await using var server = await ServeIn(net.Robot);
        Assert.Contains(server.Output.Split('\n'), l => l.Contains("to be announced as", StringComparison.Ordinal) && l.Contains("none is up yet", StringComparison.Ordinal));
        await using var watch = NamespacedProcess.StartAlex(net.Laptop.Name, "discover", "--watch", "--timeout", "120");

        await net.BringUpAsync();
        await server.WaitForLineAsync(l => l.Contains("mDNS: announced on " + net.Robot.Device + " " + net.RobotAddress, StringComparison.Ordinal), "the new link announced", Limit);
        var seen = await watch.WaitForLineAsync(l => l.StartsWith("+ " + TestPki.ServerName, StringComparison.Ordinal), "the robot seen", Limit);
        Assert.Contains(net.RobotAddress, seen, StringComparison.Ordinal);
    }

    [NetworkNamespaceFact]
    public async Task HostilePackets_Refused_ServerStillAnswersDig()
    {
        await using var net = await NamespacePair.CreateAsync();
        await using var server = await ServeIn(net.Robot);

        // Every hostile packet of the codec's corpus, plus a datagram over 9000 bytes, sent to the responder by unicast and multicast.
        var corpus = HostileDnsPackets.All.Select(p => p.Hex).Append(new string('c', 2 * 9100)).ToArray();
        const string Sender = """
            import socket, sys, binascii
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[2]))
            for h in sys.argv[3:]:
                for to in (sys.argv[1], '224.0.0.251'):
                    s.sendto(binascii.unhexlify(h), (to, 5353))
            print('sent')
            """;
        var sent = await net.Laptop.RunAsync(Limit, "/usr/bin/python3", ["-c", Sender, net.RobotAddress, net.LaptopAddress, .. corpus]);
        Assert.True(sent.Code == 0, sent.Stderr);

        // dig: a one-shot (legacy unicast) query from another program entirely (RFC 6762 §6.7).
        var dig = await net.Laptop.RunAsync(Limit, "dig", ["-p", "5353", "@" + net.RobotAddress, "_alexlink._tcp.local", "PTR", "+time=5", "+tries=3"]);
        Assert.True(dig.Code == 0, dig.Stdout + dig.Stderr);
        Assert.Contains("_alexlink._tcp.local.\t10\tIN\tPTR\talex\\.epp\\.com._alexlink._tcp.local.", dig.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"fp=" + Sha256(_pki.Path("alex.crt")) + "\"", dig.Stdout, StringComparison.Ordinal);
        Assert.Contains("IN\tA\t" + net.RobotAddress, dig.Stdout, StringComparison.Ordinal);
        Assert.False(server.HasExited);
    }

    private static string Dns() => System.Net.Dns.GetHostName();

    private static string Sha256(string pemPath)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(pemPath));
        return string.Join(':', SHA256.HashData(certificate.RawData).Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
    }

    private async Task<NamespacedProcess> ServeIn(NamespacePair.Side robot)
    {
        var server = NamespacedProcess.StartAlex(robot.Name, "serve", "--pki", _pki.Dir, "--allow", "laptop", "--simulate", "--quiet", "--handshake-timeout-ms", "30000");
        try
        {
            await server.WaitForLineAsync(l => l.Contains("announced as", StringComparison.Ordinal), "alex serve to announce itself", Limit);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }
}

/// <summary>Two network namespaces of the test's own (robot, laptop) joined by a veth pair on a private /30; deleting them deletes the pair.</summary>
public sealed class NamespacePair : IAsyncDisposable
{
    private NamespacePair(Side robot, Side laptop, string robotAddress, string laptopAddress)
    {
        Robot = robot;
        Laptop = laptop;
        RobotAddress = robotAddress;
        LaptopAddress = laptopAddress;
    }

    public Side Robot { get; }

    public Side Laptop { get; }

    public string RobotAddress { get; }

    public string LaptopAddress { get; }

    /// <summary>
    /// The pair, its links up (both ends' operational state "up": the kernel may report the second end's carrier up to a
    /// second late, longer under load) unless <paramref name="up"/> is false; then <see cref="BringUpAsync"/> does it.
    /// </summary>
    public static async Task<NamespacePair> CreateAsync(bool up = true)
    {
        var id = Random.Shared.Next(0x1000, 0xFFFF).ToString("x4", CultureInfo.InvariantCulture);
        var octet = Random.Shared.Next(0, 256);
        var subnet = Random.Shared.Next(0, 64) * 4;
        var robot = new Side($"alexmr-{id}", $"amr{id}");
        var laptop = new Side($"alexml-{id}", $"aml{id}");
        var pair = new NamespacePair(robot, laptop, $"10.215.{octet}.{subnet + 1}", $"10.215.{octet}.{subnet + 2}");
        try
        {
            await Run("ip", "netns", "add", robot.Name);
            await Run("ip", "netns", "add", laptop.Name);
            await Run("ip", "link", "add", robot.Device, "netns", robot.Name, "type", "veth", "peer", "name", laptop.Device, "netns", laptop.Name);
            await Run("ip", "-n", robot.Name, "addr", "add", $"{pair.RobotAddress}/30", "dev", robot.Device);
            await Run("ip", "-n", laptop.Name, "addr", "add", $"{pair.LaptopAddress}/30", "dev", laptop.Device);
            foreach (var side in new[] { robot, laptop })
            {
                await Run("ip", "-n", side.Name, "link", "set", "lo", "up");
            }

            if (up)
            {
                await pair.BringUpAsync();
            }

            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sets both ends up and waits until the kernel reports both operationally up.</summary>
    public async Task BringUpAsync()
    {
        foreach (var side in new[] { Robot, Laptop })
        {
            await Run("ip", "-n", side.Name, "link", "set", side.Device, "up");
        }

        foreach (var side in new[] { Robot, Laptop })
        {
            await Bounded.UntilAsync(
                async () => (await ToolRun.RunAsync("ip", ["-n", side.Name, "-br", "link", "show", "dev", side.Device], TimeSpan.FromSeconds(60), "ip link show")).Stdout.Contains(" UP ", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60),
                $"{side.Device} in {side.Name} to be up");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Run("ip", "netns", "del", Robot.Name).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Run("ip", "netns", "del", Laptop.Name).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private static async Task Run(string program, params string[] args)
    {
        var (code, _, stderr) = await ToolRun.RunAsync(program, args, TimeSpan.FromSeconds(60), program + " " + string.Join(' ', args));
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({code}): {stderr}");
        }
    }

    /// <summary>One namespace: programs run inside it with `ip netns exec`.</summary>
    public sealed record Side(string Name, string Device)
    {
        public Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan limit, string program, IEnumerable<string> args) =>
            ToolRun.RunAsync("ip", ["netns", "exec", Name, program, .. args], limit, $"{program} in {Name}");

        public Task<(int Code, string Stdout, string Stderr)> RunAlexAsync(TimeSpan limit, params string[] args)
        {
            var (program, prefix) = AlexCli.Command();
            return RunAsync(limit, program, [.. prefix, .. args]);
        }
    }
}

/// <summary>A long-running program inside a namespace, its output lines awaitable; disposing sends SIGTERM and waits.</summary>
public sealed class NamespacedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly Lock _gate = new();
    private readonly Task _readers;

    private NamespacedProcess(Process process)
    {
        _process = process;
        _readers = Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
    }

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static NamespacedProcess StartAlex(string ns, params string[] args)
    {
        var (program, prefix) = AlexCli.Command();
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns, program }.Concat(prefix).Concat(args))
        {
            start.ArgumentList.Add(a);
        }

        return new NamespacedProcess(Process.Start(start)!);
    }

    /// <summary>The first line of stdout or stderr (seen or to come) that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan limit)
    {
        Task<string> task;
        lock (_gate)
        {
            if (_lines.FirstOrDefault(match) is { } seen)
            {
                return seen;
            }

            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, done));
            task = done.Task;
        }

        var exited = _process.WaitForExitAsync();
        Task first;
        try
        {
            first = await Task.WhenAny(task, exited).Within(limit, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the program said so far:\n{Output}", e);
        }

        if (first != task)
        {
            await _readers.Within(what: "the output to end");
            lock (_gate)
            {
                if (_lines.FirstOrDefault(match) is { } last)
                {
                    return last;
                }
            }

            throw new InvalidOperationException($"exited ({_process.ExitCode}) before {what}:\n{Output}");
        }

        return await task;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // `ip netns exec` execs the program: the signal reaches alex itself.
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            await kill.WaitForExitAsync().Within(what: "kill");
            try
            {
                await _process.WaitForExitAsync().Within(TimeSpan.FromSeconds(60), "alex to stop");
            }
            finally
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
        }

        await _readers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }

    private async Task ReadAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_gate)
            {
                _lines.Add(line);
                foreach (var waiter in _waiters.Where(w => w.Match(line)).ToArray())
                {
                    _waiters.Remove(waiter);
                    waiter.Done.TrySetResult(line);
                }
            }
        }
    }
}
