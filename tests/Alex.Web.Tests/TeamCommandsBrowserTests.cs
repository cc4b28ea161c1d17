using System.Net;
using System.Text.RegularExpressions;
using Alex.Protocol.Extensions;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>`alex serve --simulate` with the colour-sensor example: the simulated Arduino answers the declared `colour` command.</summary>
public sealed class ColourSensorRig : RobotRig
{
    public static readonly string ColourFile = Path.Combine(AppContext.BaseDirectory, "examples", "colour-sensor.json");
    public static readonly string UltrasonicFile = Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json");

    public ColourSensorRig()
        : base(["--extensions", ColourFile])
    {
    }
}

/// <summary>
/// The team's declared commands on the web page (docs/extensions.md): chromium loads the page of `alex web --extensions`,
/// sees each command with its key, presses the key and sees the reply (a colour reading as a swatch); a watcher's page
/// shows a driver-only command as refused.
/// </summary>
[Collection("browser and child processes")]
public sealed partial class TeamCommandsBrowserTests : IClassFixture<Chromium>, IClassFixture<ColourSensorRig>
{
    private readonly Chromium _chromium;
    private readonly ColourSensorRig _rig;

    public TeamCommandsBrowserTests(Chromium chromium, ColourSensorRig rig)
    {
        _chromium = chromium;
        _rig = rig;
    }

    [Fact]
    public async Task Page_ColourSensorExample_ListsTheCommandWithItsKey_KeyPressShowsTheSwatch()
    {
        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var web = _rig.StartAlex(
            line =>
            {
                if (OpenLine().Match(line) is { Success: true } m)
                {
                    url.TrySetResult(new Uri(m.Groups[1].Value));
                }
            },
            "web", "--robot", $"127.0.0.1:{_rig.Port}", "--name", RobotRig.ServerName, "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0",
            "--extensions", ColourSensorRig.ColourFile);
        try
        {
            var address = await url.Task.Within(TimeSpan.FromSeconds(30), "alex web to print its URL");
            await using var context = await _chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } }).Within();
            var page = await context.NewPageAsync().Within();
            var consoleErrors = new List<string>();
            page.Console += (_, m) =>
            {
                if (m.Type == "error")
                {
                    consoleErrors.Add(m.Text);
                }
            };
            await page.GotoAsync(address.ToString()).Within();
            await Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));

            // Listed with its key and its help; nothing read yet.
            await Expect(page.Locator("#team")).ToBeVisibleAsync().Within();
            await Expect(page.Locator("#team-commands li")).ToHaveCountAsync(1).Within();
            await Expect(page.Locator("#team-colour-send")).ToHaveTextAsync("Ocolour").Within();
            await Expect(page.Locator("#team-colour-key")).ToHaveTextAsync("O").Within();
            await Expect(page.Locator("#team-colour")).ToContainTextAsync("read the colour sensor").Within();
            await Expect(page.Locator("#team-colour-send")).ToBeEnabledAsync().Within();
            await Expect(page.Locator("#team-colour-swatch")).ToBeHiddenAsync().Within();

            // O reads the sensor: the simulator's fixed reading is 3/4, 2/4 and 1/4 of each field's max of 1000 Hz.
            await page.Keyboard.PressAsync("o").Within();
            await Expect(page.Locator("#team-colour-reading")).ToHaveAttributeAsync("data-state", "ok").Within();
            await Expect(page.Locator("#team-colour-text")).ToHaveTextAsync("red 750 Hz · green 500 Hz · blue 250 Hz · #bf7f3f").Within();
            await Expect(page.Locator("#team-colour-swatch")).ToBeVisibleAsync().Within();
            await Expect(page.Locator("#team-colour-swatch")).ToHaveAttributeAsync("data-colour", "#bf7f3f").Within();
            await Expect(page.Locator("#team-colour-swatch")).ToHaveCSSAsync("background-color", "rgb(191, 127, 63)").Within();
            await Expect(page.Locator("#log")).ToContainTextAsync("colour → red 750 Hz · green 500 Hz · blue 250 Hz · #bf7f3f").Within();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-web-team.png"), FullPage = true }).Within();

            // The button does the same.
            await page.Locator("#team-colour-send").ClickAsync().Within();
            await Expect(page.Locator("#log li")).Not.ToHaveCountAsync(0).Within();
            Assert.Empty(consoleErrors);
        }
        finally
        {
            if (!web.HasExited)
            {
                web.Kill(entireProcessTree: true);
                await web.WaitForExitAsync().Within();
            }
        }
    }

    [Fact]
    public async Task WatchersPage_DeclaredRead_Answered_DriverOnlyCommand_ShownRefused()
    {
        // The tutor's certificate has the watch role. The page's declaration adds driver-only commands (claw, sweep);
        // the page refuses them itself and says why, and reads still work.
        var extensions = ExtensionFile.Parse(File.ReadAllText(ColourSensorRig.UltrasonicFile), out _)!;
        await using var gateway = await WebGateway.StartAsync(
            new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Extensions = extensions }, _rig.ClientOptions(_rig.TutorDir), CancellationToken.None).Within();
        await using var context = await _chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } }).Within();
        var page = await context.NewPageAsync().Within();
        await page.GotoAsync(gateway.Url.ToString()).Within();
        await Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));

        await Expect(page.Locator("#team-commands li")).ToHaveCountAsync(4).Within();
        await Expect(page.Locator("#team-sweep-key")).ToHaveTextAsync("V").Within();
        await Expect(page.Locator("#team-sweep-send")).ToBeDisabledAsync().Within();
        await Expect(page.Locator("#team-claw-open-send")).ToBeDisabledAsync().Within();
        await Expect(page.Locator("#team-range-send")).ToBeEnabledAsync().Within();
        await Expect(page.Locator("#team-sweep-p0")).ToHaveValueAsync("60").Within();

        await page.Keyboard.PressAsync("v").Within();
        await Expect(page.Locator("#team-sweep-reading")).ToHaveAttributeAsync("data-state", "fail").Within();
        await Expect(page.Locator("#team-sweep-text")).ToHaveTextAsync("sweep is for the driver only: this laptop's certificate may only watch and STOP").Within();
        await Expect(page.Locator("#log")).ToContainTextAsync("sweep is for the driver only").Within();
        Assert.Equal(0, await page.Locator("#log").GetByText("sweep 60").CountAsync().Within());
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [GeneratedRegex(@"open\s+(http://\S+)")]
    private static partial Regex OpenLine();
}
