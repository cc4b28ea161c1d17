using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>
/// A class of three teams on a real Mosquitto (<see cref="FleetRig"/>), with two `alex fleet --web` gateways: the
/// instructor's (teacher) and the watcher's (laptop), and the watcher's again without the CA's ledger.
/// </summary>
public sealed class FleetPageRig() : FleetRig("alex-fleet-web-", Names)
{
    public static readonly string[] Names = ["robot1", "robot2", "robot3"];

    public Uri TeacherPage { get; private set; } = null!;

    public Uri WatcherPage { get; private set; } = null!;

    /// <summary>The watcher's page without the CA's ledger (--ca, not --pki): it cannot tell, so the broker decides.</summary>
    public Uri UncheckedPage { get; private set; } = null!;

    protected override async Task StartGatewaysAsync()
    {
        TeacherPage = await StartGatewayAsync("teacher", "--pki", Pki);
        WatcherPage = await StartGatewayAsync("laptop", "--pki", Pki);
        UncheckedPage = await StartGatewayAsync("laptop", "--ca", Path.Combine(Pki, "signing.pem"));
    }
}

/// <summary>
/// The fleet page in Debian's chromium (docs/fleet.md "The fleet page"): the robots' rows, a killed robot offline by its
/// Last Will, STOP-all only after confirming and then on every robot's serial line, STOP per robot, a watcher's page
/// without STOP.
/// </summary>
[Collection("browser and child processes")]
public sealed class FleetPageTests(Chromium chromium, FleetPageRig rig) : IClassFixture<Chromium>, IClassFixture<FleetPageRig>
{
    private static readonly TimeSpan Slow = FleetRig.Slow;
    private static readonly float SlowMs = (float)Slow.TotalMilliseconds;

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static ILocator Row(IPage page, string robot) => page.Locator($"#rows tr[data-robot=\"{robot}\"]");

    private async Task<IPage> OpenAsync(Uri url, List<string> consoleErrors)
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } }).Within();
        var page = await context.NewPageAsync().Within();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                consoleErrors.Add(m.Text);
            }
        };
        await page.GotoAsync(url.ToString()).Within(Slow);
        await Expect(page.Locator("#badge-gateway")).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(page.Locator("#badge-broker")).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = SlowMs }).Within(Slow);
        return page;
    }

    [Fact]
    public async Task FleetPage_RowsLastWillConfirmedStopAllStopOne_WatcherCannotStop()
    {
        var errors = new List<string>();
        var teacher = await OpenAsync(rig.TeacherPage, errors);
        await Expect(teacher.Locator("#you")).ToHaveTextAsync("teacher · instructor").Within();
        await Expect(teacher.Locator("#broker")).ToHaveTextAsync($"broker: mqtts://localhost:{rig.Port}").Within();

        // Every robot comes up idle (the simulated Arduino is connected), with its sessions and a live age.
        foreach (var robot in FleetPageRig.Names)
        {
            await Expect(Row(teacher, robot)).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow, $"{robot}'s row");
            await Expect(Row(teacher, robot).Locator(".sessions")).ToHaveTextAsync("0 driving · 0 watching · 0 admin").Within();
        }

        // A robot killed: its Last Will turns its row offline, its STOP is disabled, and its age grows by the second.
        await rig.KillRobotAsync("robot3");
        await Expect(Row(teacher, "robot3")).ToHaveAttributeAsync("data-state", "offline", new() { Timeout = SlowMs }).Within(Slow, "robot3's Last Will");
        await Expect(Row(teacher, "robot3").Locator(".note")).ToHaveTextAsync("offline (the broker lost it)").Within();
        await Expect(Row(teacher, "robot3").Locator("button.stop-one")).ToBeDisabledAsync().Within();
        await Expect(Row(teacher, "robot3").Locator(".age")).ToHaveTextAsync(new Regex(@"^[1-9]\d* s ago$"), new() { Timeout = SlowMs }).Within(Slow, "the age to move on");
        await Expect(teacher.Locator("#rows tr").First).ToHaveAttributeAsync("data-robot", "robot3").Within(); // worst first

        // The watcher's page: the same board, STOP disabled with the reason.
        var watcher = await OpenAsync(rig.WatcherPage, errors);
        await Expect(watcher.Locator("#you")).ToHaveTextAsync("laptop · watch only").Within();
        await Expect(Row(watcher, "robot1")).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(watcher.Locator("#stop-all")).ToBeDisabledAsync().Within();
        await Expect(watcher.Locator("#stop-why")).ToHaveTextAsync("STOP is not yours: 'laptop' is a client certificate: on the fleet broker it may look, not STOP (STOP needs alex pki issue instructor NAME)").Within();
        await Expect(Row(watcher, "robot1").Locator("button.stop-one")).ToBeDisabledAsync().Within();
        Assert.Empty(rig.FleetStopsOnTheSerialLine("robot1"));

        // STOP all asks first; cancelled, nothing is sent.
        await teacher.Locator("#stop-all").ClickAsync().Within();
        await Expect(teacher.Locator("#confirm")).ToBeVisibleAsync().Within();
        await Expect(teacher.Locator("#confirm-text")).ToHaveTextAsync("STOP every robot on the broker (2 online)?").Within();
        await teacher.Locator("#confirm-no").ClickAsync().Within();
        await Expect(teacher.Locator("#confirm")).ToBeHiddenAsync().Within();
        await Expect(teacher.Locator("#log li")).ToHaveCountAsync(0).Within();

        // Confirmed: the broker takes it and every live robot's server sends STOP down its serial line.
        await teacher.Locator("#stop-all").ClickAsync().Within();
        await teacher.Locator("#confirm-yes").ClickAsync().Within();
        await Expect(teacher.Locator("#log li").First).ToContainTextAsync("STOP sent to every robot on the broker", new() { Timeout = SlowMs }).Within(Slow);
        foreach (var robot in new[] { "robot1", "robot2" })
        {
            await Bounded.Until(() => rig.FleetStopsOnTheSerialLine(robot).Count == 1, Slow, $"{robot}'s serial STOP in its audit log");
            Assert.Equal("STOP from the fleet (alexlink/fleet/stop, by teacher): stopped by teacher on the fleet page -> ok", rig.FleetStopsOnTheSerialLine(robot)[0]);
        }

        // STOP one robot: only its own topic.
        await Row(teacher, "robot2").Locator("button.stop-one").ClickAsync().Within();
        await Expect(teacher.Locator("#log li").First).ToContainTextAsync("STOP sent to 'robot2'", new() { Timeout = SlowMs }).Within(Slow);
        await Bounded.Until(() => rig.FleetStopsOnTheSerialLine("robot2").Count == 2, Slow, "robot2's second serial STOP");
        Assert.Equal("STOP from the fleet (alexlink/robot2/stop, by teacher): stopped by teacher on the fleet page -> ok", rig.FleetStopsOnTheSerialLine("robot2")[1]);
        Assert.Single(rig.FleetStopsOnTheSerialLine("robot1"));

        await teacher.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-fleet.png"), FullPage = true }).Within();
        await watcher.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-fleet-watcher.png"), FullPage = true }).Within();
        Assert.True(errors.Count == 0, string.Join('\n', errors) + "\n" + rig.Output);
    }

    [Fact]
    public async Task WatcherGateway_StopOverTheWebSocket_RefusedByTheGatewayWithTheReason()
    {
        // Not only a disabled button: the watcher's gateway refuses a STOP that a page (or anything with the token) sends.
        var query = System.Web.HttpUtility.ParseQueryString(rig.WatcherPage.Query);
        var origin = rig.WatcherPage.GetLeftPart(UriPartial.Authority);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", origin);
        await socket.ConnectAsync(new Uri($"ws://{rig.WatcherPage.Authority}/ws?token={query["token"]}"), CancellationToken.None).Within(Slow);
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"stop","id":9,"all":true}"""), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None).Within();
        JsonElement reply;
        do
        {
            reply = await GatewayGuardTests.ReceiveAsync(socket).Within(Slow);
        }
        while (reply.GetProperty("type").GetString() != "stopped");
        Assert.Equal(9, reply.GetProperty("id").GetInt64());
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.StartsWith("not sent: 'laptop' is a client certificate", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).Within();
    }

    [Fact]
    public async Task WatcherPageWithoutTheLedger_StopOffered_TheBrokerRefusesIt_AndThePageSaysSo()
    {
        var errors = new List<string>();
        var page = await OpenAsync(rig.UncheckedPage, errors);
        await Expect(page.Locator("#you")).ToHaveTextAsync("laptop · unchecked").Within();
        await Expect(Row(page, "robot1")).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(page.Locator("#stop-why")).ToContainTextAsync("'laptop': no CA ledger here to check its role; the broker decides").Within();
        await page.Locator("#stop-all").ClickAsync().Within();
        await page.Locator("#confirm-yes").ClickAsync().Within();
        await Expect(page.Locator("#log li").First).ToContainTextAsync("the broker refused the STOP to every robot on the broker: only an instructor certificate may STOP", new() { Timeout = SlowMs }).Within(Slow);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    [Theory]
    [InlineData("stop-all", "--web is the live view as a page")]
    [InlineData("--once", "--web is the live view as a page")]
    public async Task FleetWeb_WithAnActionOrOnce_ExitTwo(string extra, string why)
    {
        var run = await AlexCli.RunAsync(Slow, "fleet", rig.Broker, "--cert", Path.Combine(rig.Pki, "teacher.crt"), "--key", Path.Combine(rig.Pki, "teacher.key"), "--pki", rig.Pki, "--web", extra);
        Assert.Equal(2, run.Code);
        Assert.StartsWith("alex: " + why, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FleetListenWithoutWeb_ExitTwo()
    {
        var run = await AlexCli.RunAsync(Slow, "fleet", rig.Broker, "--cert", Path.Combine(rig.Pki, "teacher.crt"), "--key", Path.Combine(rig.Pki, "teacher.key"), "--pki", rig.Pki, "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.Code);
        Assert.StartsWith("alex: --listen, --expose, --https-cert and --https-key go with --web", run.Stderr, StringComparison.Ordinal);
    }
}
