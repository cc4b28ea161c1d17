using System.Net;
using Alex.Web.Robot;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>The page in a real browser against a gateway whose robot is unreachable.</summary>
[Collection("browser and child processes")]
public sealed class BrowserSmokeTests : IClassFixture<Chromium>
{
    private readonly Chromium _chromium;

    public BrowserSmokeTests(Chromium chromium) => _chromium = chromium;

    [Fact]
    public async Task Page_LoadsFromTheGatewayAlone_AndShowsTheRobotIsBeingRetried()
    {
        await using var gateway = await WebGateway.StartAsync(
            new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, UnreachableRobot.Create(), CancellationToken.None).Within();
        await using var context = await _chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } }).Within();
        var page = await context.NewPageAsync().Within();
        var foreign = new List<string>();
        var consoleErrors = new List<string>();
        page.Request += (_, r) =>
        {
            if (!r.Url.StartsWith(gateway.Url.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal))
            {
                foreign.Add(r.Url);
            }
        };
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                consoleErrors.Add(m.Text);
            }
        };

        var response = await page.GotoAsync(gateway.Url.ToString()).Within();
        Assert.Equal(200, response!.Status);
        Assert.Equal(gateway.Url.GetLeftPart(UriPartial.Authority) + "/", page.Url); // the token left the address bar

        await Assertions.Expect(page.Locator("#badge-gateway")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
        await Assertions.Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "reconnecting").Within();
        await Assertions.Expect(page.Locator("#move-forward")).ToBeDisabledAsync().Within();
        await Assertions.Expect(page.Locator("#stop")).ToBeEnabledAsync().Within();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("unreachable-robot.png"), FullPage = true }).Within();

        Assert.Empty(foreign);
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task Page_OnAPhone_PutsStopFirst_AndNeedsNoSidewaysScrolling()
    {
        await using var gateway = await WebGateway.StartAsync(
            new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, UnreachableRobot.Create(), CancellationToken.None).Within();
        await using var context = await _chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            DeviceScaleFactor = 2,
            IsMobile = true,
            HasTouch = true,
        }).Within();
        var page = await context.NewPageAsync().Within();
        await page.GotoAsync(gateway.Url.ToString()).Within();
        await Assertions.Expect(page.Locator("#badge-gateway")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));

        var stop = await page.Locator("#stop").BoundingBoxAsync().Within();
        var plot = await page.Locator("#path").BoundingBoxAsync().Within();
        Assert.NotNull(stop);
        Assert.NotNull(plot);
        Assert.True(stop!.Y < plot!.Y, "STOP comes before the plot on a phone");
        Assert.True(stop.Width > 300, $"STOP is wide on a phone ({stop.Width} px)");
        var scrollWidth = await page.EvaluateAsync<int>("document.documentElement.scrollWidth").Within();
        Assert.True(scrollWidth <= 390, $"the page is {scrollWidth} px wide on a 390 px phone");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("phone.png"), FullPage = true }).Within();
    }
}
