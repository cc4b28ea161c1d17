using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>`alex serve --simulate --lidar simulated`: the simulated Alex with its lidar, and the server maps (the default there).</summary>
public sealed class MappingRig : RobotRig
{
    public MappingRig()
        : base(["--lidar", "simulated"])
    {
    }
}

/// <summary>
/// The server's map on the page (docs/web.md): chromium loads the gateway's page, the gateway subscribes to the map and
/// passes its tiles on, the page draws them under the path; driving Alex, the map grows.
/// </summary>
[Collection("browser and child processes")]
public sealed partial class MapBrowserTests : IClassFixture<Chromium>, IClassFixture<MappingRig>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    // Past Playwright's own 60 s, so its message (what it last saw) is the one reported.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(70);
    private readonly Chromium _chromium;
    private readonly MappingRig _rig;

    public MapBrowserTests(Chromium chromium, MappingRig rig)
    {
        _chromium = chromium;
        _rig = rig;
    }

    [Fact]
    public async Task Page_ShowsTheServersMap_AndItGrowsWhileAlexDrives()
    {
        await using var gateway = await WebGateway.StartAsync(
            new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, _rig.ClientOptions(_rig.LaptopDir), CancellationToken.None).Within();
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

        await page.GotoAsync(gateway.Url.ToString()).Within();
        var plot = page.Locator("#path");
        await Assertions.Expect(plot).ToHaveAttributeAsync("data-map-cells", NonZero(), Wait()).Within(Bound);
        await Assertions.Expect(page.Locator("#map-state")).ToContainTextAsync(MapState(), new LocatorAssertionsToContainTextOptions { Timeout = 60_000 }).Within(Bound);
        var before = await NumberAsync(plot, "data-map-cells");
        var seqBefore = await NumberAsync(plot, "data-map-seq");

        // Forward, then a left turn: the map takes in the walls Alex now sees from elsewhere.
        await page.Keyboard.PressAsync("ArrowUp").Within();
        await Assertions.Expect(page.Locator("#lease-state")).ToHaveTextAsync("you drive", new LocatorAssertionsToHaveTextOptions { Timeout = 60_000 }).Within(Bound);
        await page.Locator("#move-left").ClickAsync().Within();
        var after = before;
        var deadline = DateTime.UtcNow + Long;
        while (after <= before)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the map stayed at {after} cells (from {before})");
            await Assertions.Expect(plot).Not.ToHaveAttributeAsync("data-map-cells", after.ToString(CultureInfo.InvariantCulture), Wait()).Within(Bound);
            after = await NumberAsync(plot, "data-map-cells");
        }

        Assert.True(await NumberAsync(plot, "data-map-seq") > seqBefore);
        Assert.True(await NumberAsync(plot, "data-map-tiles") > 0);

        // A second page (a reload) gets the whole map from the gateway at once, not only what changes from now on.
        var second = await context.NewPageAsync().Within();
        await second.GotoAsync(gateway.Url.ToString()).Within();
        await Assertions.Expect(second.Locator("#path")).ToHaveAttributeAsync("data-map-cells", NonZero(), Wait()).Within(Bound);
        Assert.True(await NumberAsync(second.Locator("#path"), "data-map-cells") >= before);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-web-map.png"), FullPage = true }).Within();
        Assert.Empty(consoleErrors);
    }

    private static LocatorAssertionsToHaveAttributeOptions Wait() => new() { Timeout = 60_000 };

    private static async Task<long> NumberAsync(ILocator locator, string attribute) =>
        long.Parse(await locator.GetAttributeAsync(attribute).Within() ?? "0", CultureInfo.InvariantCulture);

    [GeneratedRegex("^[1-9][0-9]*$")]
    private static partial Regex NonZero();

    [GeneratedRegex(@"map: \d+ tiles, \d+ cells \(update \d+\)")]
    private static partial Regex MapState();
}
