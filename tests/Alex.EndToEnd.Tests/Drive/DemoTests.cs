using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>
/// `alex demo` as a newcomer runs it, as a child process: from nothing to a driven (simulated) Alex
/// over a real pty, real serial code and real TLS, and nothing left behind afterwards.
/// </summary>
public sealed partial class DemoTests
{
    [Fact]
    public async Task Demo_Script_PrintsEachResultAndTheFinalOdometry_ThenCleansUp()
    {
        await using var alex = AlexProcess.Start("demo", "--script", "f 30 100; r 90 100; g");
        alex.CloseInput();

        Assert.Equal(0, await alex.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var output = alex.Stdout;
        Assert.Matches(@"\nf 30 100: OK \(\d+ ms\), moved for", output);
        Assert.Matches(@"\nr 90 100: OK \(\d+ ms\), moved for", output);
        Assert.Matches(@"\ng: OK \(\d+ ms\)\n  Left Forward Ticks: \d+", output);
        Assert.Contains("\nfinal odometry: forward 31 cm, reverse 0 cm, left turn ticks 0, right turn ticks 229\n", output, StringComparison.Ordinal);
        Assert.Contains("\nfinal pose: x 31.0 cm, y 0.0 cm, heading -90 degrees", output, StringComparison.Ordinal);
        Assert.Contains("opened as a serial port at 9600 baud", output, StringComparison.Ordinal);
        AssertNothingLeft(output);
    }

    [Fact]
    public async Task Demo_NotATerminalAndNoScript_DrivesTheDefaultScriptInsteadOfWaiting()
    {
        await using var alex = AlexProcess.Start("demo");
        alex.CloseInput();

        Assert.Equal(0, await alex.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var output = alex.Stdout;
        Assert.Contains("demo: not a terminal and no --script: driving \"f 50 75; l 90 60; g\"", output, StringComparison.Ordinal);
        Assert.Contains("\nfinal odometry: forward 51 cm, reverse 0 cm, left turn ticks 229, right turn ticks 0\n", output, StringComparison.Ordinal);
        AssertNothingLeft(output);

        // The newcomer is told how long it took to be able to move Alex. How fast that is belongs to the benchmarks: a
        // wall-clock bound here fails on a loaded machine, not on slow code.
        var connected = ConnectedAfter().Match(output);
        Assert.True(connected.Success, output);
        Assert.True(double.Parse(connected.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 0, output);
    }

    [Fact]
    public async Task Demo_CtrlC_MidDrive_StopsEverythingAndCleansUp()
    {
        await using var alex = AlexProcess.Start("demo", "--script", "f 300 10; g");
        await alex.WaitForLineAsync("demo: connected as laptop", TimeSpan.FromSeconds(30));

        await alex.SignalAsync("INT");

        Assert.Equal(130, await alex.WaitForExitAsync());
        Assert.DoesNotContain("final odometry", alex.Stdout, StringComparison.Ordinal);
        AssertNothingLeft(alex.Stdout);
    }

    [Fact]
    public async Task Demo_Web_ServesThePageForTheSameRobotUntilCtrlC()
    {
        await using var alex = AlexProcess.Start("demo", "--web");
        alex.CloseInput();
        var line = await alex.WaitForLineAsync("demo: web page", TimeSpan.FromSeconds(30));
        await alex.WaitForLineAsync("demo: serving the web page until Ctrl-C");
        var url = new Uri(WebUrl().Match(line).Value);
        Assert.Equal("127.0.0.1", url.Host);

        using (var browser = new HttpClient(new HttpClientHandler { UseCookies = true }) { Timeout = TimeSpan.FromSeconds(10) })
        {
            var page = await browser.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        using (var stranger = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await stranger.GetAsync(new Uri(url, "/"))).StatusCode);
        }

        await alex.SignalAsync("INT");
        Assert.Equal(0, await alex.WaitForExitAsync());
        AssertNothingLeft(alex.Stdout);
        using var probe = new TcpClient();
        Assert.Throws<SocketException>(() => probe.Connect(IPAddress.Loopback, url.Port));
    }

    [Fact]
    public async Task Demo_BadScript_UsageErrorBeforeStartingAnything()
    {
        await using var alex = AlexProcess.Start("demo", "--script", "f 50 75; jump");
        alex.CloseInput();

        Assert.Equal(2, await alex.WaitForExitAsync());
        Assert.StartsWith("alex: --script: 'jump': unknown command 'jump'", alex.Stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, alex.Stdout);
    }

    /// <summary>The temp dir (certificates, keys, the pty symlink) is gone and the server's port is closed.</summary>
    private static void AssertNothingLeft(string output)
    {
        var dir = TempDir().Match(output);
        Assert.True(dir.Success, output);
        Assert.False(Directory.Exists(dir.Groups[1].Value), $"{dir.Groups[1].Value} was left behind");
        Assert.False(File.Exists(Path.Combine(dir.Groups[1].Value, "ttyALEX")));

        var port = ServerPort().Match(output);
        Assert.True(port.Success, output);
        using var probe = new TcpClient();
        var refused = Assert.Throws<SocketException>(() => probe.Connect(IPAddress.Loopback, int.Parse(port.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/\?token=\S+")]
    private static partial Regex WebUrl();

    [GeneratedRegex(@"certificates for alex\.demo, laptop and web in (\S+)")]
    private static partial Regex TempDir();

    [GeneratedRegex(@"robot server listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ServerPort();

    [GeneratedRegex(@"demo: connected as laptop .* (\d+\.\d) s after start")]
    private static partial Regex ConnectedAfter();
}
