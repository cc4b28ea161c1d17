using System.Net;
using System.Net.Sockets;
using Alex.EndToEnd.Tests.Server;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>
/// `alex drive` in line mode (stdin and stdout are pipes here), as a child process against the real
/// robot server on loopback with certificates minted for this run.
/// </summary>
public sealed class DriveLineModeTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public DriveLineModeTests(TestPki pki)
    {
        _pki = pki;
    }

    private string[] Args(IPEndPoint server, params string[] more) =>
        ["drive", server.ToString(), "--pki", _pki.Dir, "--name", TestPki.ServerName, .. more];

    [Fact]
    public async Task LineMode_CourseClientStyle_DrivesAndReadsTheOdometry()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var alex = AlexProcess.Start(Args(server.EndPoint));

        // As the course client: the letter, then "distance speed" on the next line.
        await alex.WriteLineAsync("f");
        await alex.WriteLineAsync("50 75");
        await alex.WaitForLineAsync("f 50 75: OK (");
        await alex.WriteLineAsync("g");
        await alex.WaitForLineAsync("g: OK (");
        await alex.WriteLineAsync("q");

        Assert.Equal(0, await alex.WaitForExitAsync());
        var output = alex.Stdout;
        Assert.StartsWith($"connected to {TestPki.ServerName} at {server.EndPoint} as laptop (driver), alexlink/1, TLS 1.", output, StringComparison.Ordinal);
        Assert.Contains("lease: ", output, StringComparison.Ordinal);
        Assert.Contains("\n  Forward Distance: ", output, StringComparison.Ordinal);
        Assert.Contains("\n  Left Forward Ticks: ", output, StringComparison.Ordinal);
        Assert.Equal(string.Empty, alex.Stderr);
    }

    [Fact]
    public async Task LineMode_OneLineCommandsAndTypos_ReportsEachAndExitsOne()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var alex = AlexProcess.Start(Args(server.EndPoint));
        foreach (var line in new[] { "# a comment", "f 10 100", "f 50", "z", "s", "c", "g", "l" })
        {
            await alex.WriteLineAsync(line);
        }

        alex.CloseInput(); // the end of input quits, like q

        Assert.Equal(1, await alex.WaitForExitAsync());
        var output = alex.Stdout;
        Assert.Contains("f 10 100: OK (", output, StringComparison.Ordinal);
        Assert.Contains("'f' takes two numbers: the distance in cm and the speed in percent, e.g. 'f 50 75'", output, StringComparison.Ordinal);
        Assert.Contains("unknown command 'z' (use f, b, l, r, s, g or c)", output, StringComparison.Ordinal);
        Assert.Contains("s: OK (", output, StringComparison.Ordinal);
        Assert.Contains("c: OK (", output, StringComparison.Ordinal);
        Assert.Contains("\n  Forward Distance: 0", output, StringComparison.Ordinal); // cleared just before
        Assert.EndsWith("'l' was not sent: the distance and speed never came (e.g. '50 75' on the next line)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LineMode_TeamsDeclaredRead_ByName_ReplyNamedWithItsSwatch()
    {
        var file = Path.Combine(AppContext.BaseDirectory, "examples", "colour-sensor.json");
        var extensions = Alex.Protocol.Extensions.ExtensionFile.Parse(File.ReadAllText(file), out _)!;
        await using var server = await TestServer.StartAsync(_pki, extensions: extensions);
        await using var alex = AlexProcess.Start(Args(server.EndPoint, "--extensions", file));

        await alex.WriteLineAsync("colour");
        await alex.WaitForLineAsync("colour: OK (");
        await alex.WriteLineAsync("q");

        Assert.Equal(0, await alex.WaitForExitAsync());
        Assert.Matches(@"(?m)^colour: OK \(\d+ ms\): red 750 Hz, green 500 Hz, blue 250 Hz, colour #bf7f3f$", alex.Stdout);
        Assert.Equal(string.Empty, alex.Stderr);
    }

    [Fact]
    public async Task LineMode_Watcher_MayStopButNotDrive()
    {
        await using var server = await TestServer.StartAsync(_pki);
        await using var alex = AlexProcess.Start(
            "drive", server.EndPoint.ToString(), "--cert", _pki.Path("tutor.crt"), "--key", _pki.Path("tutor.key"), "--ca", _pki.CaPath, "--name", TestPki.ServerName);
        await alex.WriteLineAsync("f 10 50");
        await alex.WriteLineAsync("s");
        await alex.WriteLineAsync("q");

        Assert.Equal(1, await alex.WaitForExitAsync());
        Assert.Contains("as tutor (watcher)", alex.Stdout, StringComparison.Ordinal);
        Assert.Contains("\nf 10 50: tutor may only watch", alex.Stdout, StringComparison.Ordinal);
        Assert.Contains("\ns: OK (", alex.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LineMode_NothingListening_OneLineErrorWithHint()
    {
        var port = FreePort();
        await using var alex = AlexProcess.Start(Args(new IPEndPoint(IPAddress.Loopback, port)));
        alex.CloseInput();

        Assert.Equal(1, await alex.WaitForExitAsync());
        Assert.StartsWith($"alex: cannot reach 127.0.0.1:{port}: connection refused", alex.Stderr, StringComparison.Ordinal);
        Assert.Contains("\nhint: ", alex.Stderr, StringComparison.Ordinal);

        // Said once: the error line, not also a log line before it.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(alex.Stdout + "\n" + alex.Stderr, "connection refused"));
    }

    [Fact]
    public async Task LineMode_MissingCertificates_UsageErrorNamingTheFile()
    {
        await using var alex = AlexProcess.Start("drive", "127.0.0.1:5000", "--pki", Path.Combine(_pki.Dir, "nowhere"));
        alex.CloseInput();

        Assert.Equal(2, await alex.WaitForExitAsync());
        Assert.StartsWith($"alex: {Path.Combine(_pki.Dir, "nowhere")}: no such directory", alex.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LineMode_ServerRestarts_ReconnectsAndCarriesOn()
    {
        var port = FreePort();
        var first = await StartServerAsync(port);
        await using var alex = AlexProcess.Start(Args(new IPEndPoint(IPAddress.Loopback, port)));
        var firstDown = false;
        try
        {
            await alex.WriteLineAsync("g");
            await alex.WaitForLineAsync("g: OK (");

            firstDown = true;
            await first.Host.DisposeAsync();
            await first.Robot.DisposeAsync();
            await alex.WaitForLineAsync("connection lost: ");
        }
        finally
        {
            if (!firstDown)
            {
                await first.Host.DisposeAsync();
                await first.Robot.DisposeAsync();
            }
        }

        var second = await StartServerAsync(port);
        try
        {
            await alex.WaitForLineAsync($"reconnected to {TestPki.ServerName} at 127.0.0.1:{port} as laptop");
            await alex.WriteLineAsync("f 10 100");
            await alex.WaitForLineAsync("f 10 100: OK (");
            await alex.WriteLineAsync("q");
            Assert.Equal(0, await alex.WaitForExitAsync());
        }
        finally
        {
            await second.Host.DisposeAsync();
            await second.Robot.DisposeAsync();
        }
    }

    private async Task<(RobotHost Host, SimulatedRobot Robot)> StartServerAsync(int port)
    {
        var robot = await SimulatedRobot.StartAsync(new SimulatorSettings(), pacing: null, TimeProvider.System, CancellationToken.None).Within();
        var host = RobotHost.Start(
            new RobotHostOptions
            {
                CertificatePath = _pki.Path("alex.crt"),
                KeyPath = _pki.Path("alex.key"),
                Policy = new PolicySources(_pki.CaPath, _pki.Ca.CrlPath, ["laptop=drive"], null, AllowAny: false, Legacy: false),
                Listen = new IPEndPoint(IPAddress.Loopback, port),
            },
            robot.Link,
            TimeProvider.System);
        return (host, robot);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
