using System.Diagnostics;
using System.Globalization;
using System.Net;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;
using Xunit.Abstractions;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// The course client (CourseClient/course_client.c) driving, then frozen (SIGSTOP) or cut off by a network that drops every
/// packet (a network namespace of the test's own, an nft rule: no FIN, no RST). The course protocol has no heartbeat:
/// the server's silent-move limit and its TCP keepalive must stop the robot (docs/security.md "Dead-man").
/// </summary>
public sealed class ClassicDeadManTests : IClassFixture<TestPki>, IClassFixture<CourseClientInteropTests.Binary>
{
    private readonly TestPki _pki;
    private readonly CourseClientInteropTests.Binary _client;
    private readonly ITestOutputHelper _output;

    public ClassicDeadManTests(TestPki pki, CourseClientInteropTests.Binary client, ITestOutputHelper output)
    {
        _pki = pki;
        _client = client;
        _output = output;
    }

    [Fact]
    public async Task FrozenCourseClient_MoveWithoutEnd_StoppedAfterTheSilentMoveLimit()
    {
        var limit = TimeSpan.FromSeconds(2);
        await using var server = await TestServer.StartAsync(_pki, legacy: true, classicSilence: limit);
        await using var client = await CourseClientRun.StartAsync(_client.Program.Path, _pki, server.EndPoint, netns: null);
        await client.TypeAsync("f\n0 50\n");
        var moved = await server.WaitForAuditAsync("command", r => r.Field("command") == "f 0 50");
        Assert.Equal("ok", moved.Field("result"));
        var clock = Stopwatch.StartNew();
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);

        client.Signal("STOP");
        var deadMan = await server.WaitForAuditAsync("dead-man", r => r.Field("kind") == "HeartbeatMissed");
        await server.WaitForAuditAsync("command", r => r.Field("name") == "server" && r.Field("command") == "s");
        var stoppedAfter = clock.Elapsed;
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        Assert.Contains("during a move without end (limit 2000 ms)", deadMan.Field("reason"), StringComparison.Ordinal);
        Assert.True(stoppedAfter >= limit - TimeSpan.FromMilliseconds(100), $"stopped after {stoppedAfter.TotalMilliseconds:0} ms, before the limit");

        // A frozen program's kernel still answers: the connection stays, and so does the lease.
        Assert.DoesNotContain(server.Records, r => r.Event == "connection-closed");
        _output.WriteLine($"frozen course client: robot stopped {stoppedAfter.TotalMilliseconds:0} ms after its last command (limit {limit.TotalMilliseconds:0} ms)");
        client.Signal("CONT");
    }

    [Fact]
    public async Task FrozenCourseClient_BoundedMove_RunsToItsEnd()
    {
        await using var server = await TestServer.StartAsync(_pki, legacy: true, classicSilence: TimeSpan.FromMilliseconds(300));
        await using var client = await CourseClientRun.StartAsync(_client.Program.Path, _pki, server.EndPoint, netns: null);
        await client.TypeAsync("f\n20 50\n");
        await server.WaitForAuditAsync("command", r => r.Field("command") == "f 20 50");
        client.Signal("STOP");

        // The simulator ends the 20 cm by itself, as the firmware does; the server sends no STOP of its own meanwhile.
        await Bounded.Until(() => server.Robot.Alex.Motion == MotionKind.Stopped, TimeSpan.FromSeconds(30), "the 20 cm move to end");
        Assert.DoesNotContain(server.Records, r => r.Event == "dead-man");
        client.Signal("CONT");
    }

    [NetworkNamespaceFact]
    public async Task BlackHoledCourseClient_BoundedMove_StoppedWhenTheKeepaliveGivesUp()
    {
        await using var net = await NetworkNamespace.CreateAsync();
        // A long silent-move limit and a long move: only the dead network can stop this robot.
        await using var server = await TestServer.StartAsync(_pki, legacy: true, classicSilence: TimeSpan.FromMinutes(5), listen: net.HostAddress);
        await using var client = await CourseClientRun.StartAsync(_client.Program.Path, _pki, server.EndPoint, net.Name);
        await client.TypeAsync("f\n100000 50\n");
        var moved = await server.WaitForAuditAsync("command", r => r.Field("command") == "f 100000 50");
        Assert.Equal("ok", moved.Field("result"));
        Assert.Equal(MotionKind.Forward, server.Robot.Alex.Motion);

        await net.DropEverythingAsync();
        var clock = Stopwatch.StartNew();
        await server.WaitForAuditAsync("dead-man", r => r.Field("kind") == "DriverLeft").Within(TimeSpan.FromSeconds(20), "the dead network to be noticed");
        await server.WaitForAuditAsync("command", r => r.Field("name") == "server" && r.Field("command") == "s");
        var stoppedAfter = clock.Elapsed;
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);
        var closed = await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "course-laptop");
        _output.WriteLine($"black-holed course client: robot stopped {stoppedAfter.TotalMilliseconds:0} ms after the drop rule ({closed.Field("reason")})");

        // The kernel gives up 2 s after the last packet (NetworkLiveness); the bound leaves room for a loaded machine.
        Assert.True(stoppedAfter < TimeSpan.FromSeconds(8), $"stopped only {stoppedAfter.TotalMilliseconds:0} ms after the network died");
    }

    /// <summary>course_client with the course's file names in a directory of its own; stdin stays open until disposed.</summary>
    private sealed class CourseClientRun : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _dir;

        private readonly Task<string> _stderr;

        private CourseClientRun(Process process, string dir, Task<string> stderr)
        {
            _process = process;
            _dir = dir;
            _stderr = stderr;
        }

        public static async Task<CourseClientRun> StartAsync(string program, TestPki pki, IPEndPoint server, string? netns)
        {
            var dir = Directory.CreateTempSubdirectory("alex-course-client-").FullName;
            File.Copy(pki.Path("course.crt"), Path.Combine(dir, "laptop.crt"));
            File.Copy(pki.Path("course.key"), Path.Combine(dir, "laptop.key"));
            File.Copy(pki.CaPath, Path.Combine(dir, "signing.pem"));
            var start = new ProcessStartInfo(netns is null ? program : "ip")
            {
                WorkingDirectory = dir,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (netns is not null)
            {
                // `ip netns exec` execs the program (same process id), so SIGSTOP reaches the client itself.
                foreach (var a in new[] { "netns", "exec", netns, program })
                {
                    start.ArgumentList.Add(a);
                }
            }

            start.ArgumentList.Add(server.Address.ToString());
            start.ArgumentList.Add(server.Port.ToString(CultureInfo.InvariantCulture));
            var process = Process.Start(start)!;
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            return new CourseClientRun(process, dir, process.StandardError.ReadToEndAsync());
        }

        public async Task TypeAsync(string lines)
        {
            try
            {
                await _process.StandardInput.WriteAsync(lines).Within();
                await _process.StandardInput.FlushAsync().Within();
            }
            catch (IOException)
            {
                await _process.WaitForExitAsync().Within();
                Assert.Fail($"the course client exited ({_process.ExitCode}): {await _stderr.Within()}");
            }
        }

        public void Signal(string name)
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + name, _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            kill.WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().Within(what: "the course client to die");
            }

            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}

/// <summary>A test that needs root, `ip` and `nft` to make a network namespace of its own; skipped, saying why, without them.</summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (Environment.UserName != "root")
        {
            Skip = "needs root to create a network namespace";
        }
        else if (NetworkNamespace.MissingTool() is { } tool)
        {
            Skip = $"needs `{tool}` to make a network namespace and a black-hole rule (apt-get install iproute2 nftables)";
        }
    }
}

/// <summary>
/// A network namespace made for one test, joined to this one by a veth pair on a private /30: the server listens on the
/// host end, the client runs inside. Deleting the namespace deletes the pair.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name, IPAddress hostAddress)
    {
        Name = name;
        HostAddress = hostAddress;
    }

    public string Name { get; }

    public IPAddress HostAddress { get; }

    public static string? MissingTool() =>
        new[] { "ip", "nft" }.FirstOrDefault(t => !new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(Path.Combine(d, t))));

    public static async Task<NetworkNamespace> CreateAsync()
    {
        var id = Random.Shared.Next(0x1000, 0xFFFF).ToString("x4", CultureInfo.InvariantCulture);
        var subnet = Random.Shared.Next(0, 64) * 4;
        var octet = Random.Shared.Next(0, 256);
        var name = $"alexdm-{id}";
        var host = IPAddress.Parse($"10.213.{octet}.{subnet + 1}");
        var inside = $"10.213.{octet}.{subnet + 2}";
        var ns = new NetworkNamespace(name, host);
        try
        {
            await RunAsync("ip", "netns", "add", name);
            await RunAsync("ip", "link", "add", $"adm{id}h", "type", "veth", "peer", "name", $"adm{id}n", "netns", name);
            await RunAsync("ip", "addr", "add", $"{host}/30", "dev", $"adm{id}h");
            await RunAsync("ip", "link", "set", $"adm{id}h", "up");
            await RunAsync("ip", "-n", name, "addr", "add", $"{inside}/30", "dev", $"adm{id}n");
            await RunAsync("ip", "-n", name, "link", "set", $"adm{id}n", "up");
            await RunAsync("ip", "-n", name, "link", "set", "lo", "up");
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>Inside the namespace, every packet in or out is dropped: the peer sees silence, no FIN, no RST.</summary>
    public Task DropEverythingAsync() =>
        RunAsync(
            "ip", "netns", "exec", Name, "nft",
            "add table inet blackhole; " +
            "add chain inet blackhole in { type filter hook input priority 0; policy drop; }; " +
            "add chain inet blackhole out { type filter hook output priority 0; policy drop; }");

    public async ValueTask DisposeAsync() => await RunAsync("ip", "netns", "del", Name).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().Within(what: program + " " + string.Join(' ', args));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}");
        }
    }
}
