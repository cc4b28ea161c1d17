using System.Net;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using System.Threading.Channels;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>
/// Issue 6, end to end: Debian's chromium drives the page served by the gateway, which drives a real
/// `alex serve --simulate` over mutual TLS (AlexLink/1). A watcher client (the tutor's certificate)
/// sees what the robot really does.
/// </summary>
[Collection("browser and child processes")]
public sealed class BrowserEndToEndTests : IClassFixture<Chromium>, IClassFixture<RobotRig>
{
    internal static readonly TimeSpan Move = TimeSpan.FromSeconds(20);
    private readonly Chromium _chromium;
    private readonly RobotRig _rig;

    public BrowserEndToEndTests(Chromium chromium, RobotRig rig)
    {
        _chromium = chromium;
        _rig = rig;
    }

    [Fact]
    public async Task Page_Drives_Plots_Stops_ShowsTheLease_AndClosingItStopsTheRobot()
    {
        await using var gateway = await WebGateway.StartAsync(
            new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, _rig.ClientOptions(_rig.LaptopDir), CancellationToken.None).Within();
        await using var watcher = await AlexLinkClient.ConnectAsync(_rig.ClientOptions(_rig.TutorDir), CancellationToken.None).Within();
        Assert.True((await watcher.SubscribeAsync(AlexLinkTopics.Status | AlexLinkTopics.Safety | AlexLinkTopics.Lease, TimeSpan.FromMilliseconds(100), CancellationToken.None).Within()).Acknowledged);
        var seen = new Telemetry(watcher);

        await using var context = await _chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } }).Within();
        var page = await context.NewPageAsync().Within();
        var consoleErrors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                consoleErrors.Add(m.Text);
            }
        };

        // Load the page: it connects to the gateway, the gateway to the robot.
        await page.GotoAsync(gateway.Url.ToString()).Within();
        await Expect(page.Locator("#badge-gateway")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
        await Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
        await Expect(page.Locator("#lease-state")).ToContainTextAsync("free").Within();
        await Expect(page.Locator("#robot-target")).ToContainTextAsync($"127.0.0.1:{_rig.Port}").Within();

        // Drive forward with the keyboard (30 cm at 60 %): the first move takes the lease,
        // the counters and the plot follow the robot.
        await page.Keyboard.PressAsync("ArrowUp").Within();
        await Expect(page.Locator("#badge-lease")).ToHaveAttributeAsync("data-state", "driver").Within();
        await Expect(page.Locator("#lease-state")).ToHaveTextAsync("you drive").Within();
        await WaitForAsync(page.Locator("#counter-forwardDistanceCm"), null, v => v >= 30, "30 cm forward on the counters");
        await Expect(page.Locator("#path")).Not.ToHaveAttributeAsync("data-points", "1").Within();
        Assert.Equal("laptop", (await seen.WaitAsync<AlexLinkLeaseState>(l => !l.IsFree)).Holder);

        // A left turn with the button, then forward with W: the path bends upwards on the plot.
        await page.Locator("#move-left").ClickAsync().Within();
        await WaitForAsync(page.Locator("#path"), Heading, v => v > 80, "the plot to turn left");
        await page.Keyboard.PressAsync("w").Within();
        await WaitForAsync(page.Locator("#path"), Y, v => v >= 25, "the plot to go up");
        await page.Locator("#move-right").ClickAsync().Within();
        await WaitForAsync(page.Locator("#path"), Heading, v => Math.Abs(v) < 10, "the plot to turn right");
        await page.Locator("#distance").FillAsync("20").Within();
        // The slider has the focus now, and arrows on a slider move the slider: W drives.
        await page.Keyboard.PressAsync("w").Within();
        await WaitForAsync(page.Locator("#path"), X, v => v >= 45, "the plot to go right");
        await Expect(page.Locator("#log")).ToContainTextAsync("forward 30 cm at 60 % → OK").Within();
        await page.Locator("#distance").BlurAsync().Within();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-web.png"), FullPage = true }).Within();

        // STOP (the big button) ends a long move: the watcher sees who stopped it.
        await page.Locator("#distance").FillAsync("200").Within();
        await page.Locator("#speed").FillAsync("30").Within();
        var before = (await seen.NextStatusAsync()).ForwardDistanceCm;
        seen.Mark();
        await page.Locator("#move-forward").ClickAsync().Within();
        await seen.WaitAsync<AlexLinkStatus>(s => s.Counters.ForwardDistanceCm >= before + 3, Move);
        await page.Locator("#stop").ClickAsync().Within();
        var stop = await seen.WaitAsync<AlexLinkSafetyStop>(s => s.Reason == AlexLinkStopReason.StopRequested);
        Assert.Equal("laptop", stop.Who);
        await Expect(page.Locator("#log")).ToContainTextAsync("STOP → OK").Within();
        await seen.WaitUntilStillAsync();
        await Expect(page.Locator("#counter-forwardDistanceCm")).Not.ToHaveTextAsync(before.ToString(System.Globalization.CultureInfo.InvariantCulture)).Within();

        // Space is STOP too (the keyboard legend says so).
        await page.Keyboard.PressAsync("Space").Within();
        await Expect(page.Locator("#log")).ToContainTextAsync("STOP → OK").Within();

        // The lease: give it back, take it again; the badge and the server agree.
        seen.Mark();
        await page.Locator("#lease-release").ClickAsync().Within();
        await Expect(page.Locator("#badge-lease")).ToHaveAttributeAsync("data-state", "none").Within();
        await seen.WaitAsync<AlexLinkLeaseState>(l => l.IsFree);
        seen.Mark();
        await page.Locator("#lease-take").ClickAsync().Within();
        await Expect(page.Locator("#badge-lease")).ToHaveAttributeAsync("data-state", "driver").Within();
        await seen.WaitAsync<AlexLinkLeaseState>(l => l.Holder == "laptop");

        // Close the page while Alex moves: the gateway lets go and the server's dead-man stops the robot.
        var moving = (await seen.NextStatusAsync()).ForwardDistanceCm;
        await page.Keyboard.PressAsync("ArrowUp").Within();
        await seen.WaitAsync<AlexLinkStatus>(s => s.Counters.ForwardDistanceCm >= moving + 3, Move);
        seen.Mark();
        await page.CloseAsync().Within();
        var left = await seen.WaitAsync<AlexLinkSafetyStop>(s => s.Reason == AlexLinkStopReason.DriverLeft);
        Assert.Equal("laptop", left.Who);
        await seen.WaitAsync<AlexLinkLeaseState>(l => l.IsFree);
        var still = await seen.WaitUntilStillAsync();
        Assert.True(still.ForwardDistanceCm < moving + 200, "the robot stopped before the end of its 200 cm move");
        await Bounded.Until(() => gateway.Hub.PageCount == 0 && !gateway.Hub.HasRobotLink, what: "the gateway to let go of the robot");

        Assert.Empty(consoleErrors);
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private const int X = 0;
    private const int Y = 1;
    private const int Heading = 2;

    /// <summary>
    /// Polls a number the page shows (a counter's text, or one part of the plot's data-pose "x,y,heading")
    /// until it satisfies <paramref name="ok"/>. Read through Playwright's own world: the page's CSP
    /// forbids eval, so WaitForFunction cannot run there (and must not: the CSP is under test).
    /// </summary>
    private static async Task WaitForAsync(ILocator locator, int? posePart, Func<double, bool> ok, string what)
    {
        string last;
        var deadline = DateTime.UtcNow + Move;
        while (true)
        {
            last = posePart is { } part
                ? ((await locator.GetAttributeAsync("data-pose").Within()) ?? "0,0,0").Split(',')[part]
                : (await locator.TextContentAsync().Within()) ?? "";
            if (double.TryParse(last, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) && ok(v))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                var log = await locator.Page.Locator("#log").TextContentAsync().Within();
                throw new TimeoutException($"timed out waiting for {what} (last seen {last}); the page's log:\n{log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Everything the watcher hears, kept in order. A wait looks from a mark onwards, so two pushes that
    /// race (the lease freed, the safety stop) are both found whatever their order.
    /// </summary>
    internal sealed class Telemetry
    {
        private readonly List<AlexLinkMessage> _heard = [];
        private readonly Lock _gate = new();
        private TaskCompletionSource _more = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _cursor;

        public Telemetry(AlexLinkClient client) => _ = PumpAsync(client);

        /// <summary>Later waits only look at what is heard from now on.</summary>
        public void Mark()
        {
            lock (_gate)
            {
                _cursor = _heard.Count;
            }
        }

        public async Task<T> WaitAsync<T>(Func<T, bool> match, TimeSpan? limit = null)
            where T : AlexLinkMessage
        {
            var deadline = DateTime.UtcNow + (limit ?? Bounded.Step);
            while (true)
            {
                Task more;
                lock (_gate)
                {
                    for (var i = _cursor; i < _heard.Count; i++)
                    {
                        if (_heard[i] is T t && match(t))
                        {
                            return t;
                        }
                    }

                    more = _more.Task;
                }

                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"the watcher heard no matching {typeof(T).Name}");
                }

                await Task.WhenAny(more, Task.Delay(left));
            }
        }

        /// <summary>The next status heard after now.</summary>
        public async Task<StatusCounters> NextStatusAsync()
        {
            Mark();
            return (await WaitAsync<AlexLinkStatus>(_ => true)).Counters;
        }

        /// <summary>Waits until two status samples in a row are the same: the wheels are not turning.</summary>
        public async Task<StatusCounters> WaitUntilStillAsync()
        {
            var deadline = DateTime.UtcNow + Move;
            var last = await NextStatusAsync();
            while (true)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("the robot kept moving");
                }

                var next = await NextStatusAsync();
                if (next == last)
                {
                    return next;
                }

                last = next;
            }
        }

        private async Task PumpAsync(AlexLinkClient client)
        {
            try
            {
                await foreach (var message in client.Telemetry.ReadAllAsync())
                {
                    lock (_gate)
                    {
                        _heard.Add(message);
                        var done = _more;
                        _more = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        done.TrySetResult();
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
            }
        }
    }
}
