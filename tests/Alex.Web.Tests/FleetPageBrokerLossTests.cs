using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>A broker of its own to kill and start again (<see cref="FleetRig"/>): one team's robot and the instructor's `alex fleet --web`.</summary>
public sealed class FleetBrokerLossRig() : FleetRig("alex-fleet-loss-", [Robot])
{
    public const string Robot = "robot1";

    public Uri Page { get; private set; } = null!;

    protected override async Task StartGatewaysAsync() => Page = await StartGatewayAsync("teacher", "--pki", Pki);
}

/// <summary>
/// The fleet page when the gateway loses its broker (docs/fleet.md "The fleet page"), in Debian's chromium: the Broker
/// badge and a banner say so, a STOP is answered "not sent" with the reason, and once Mosquitto is back on its port the
/// gateway reconnects by itself, the banner goes, and the robot's row is fresh again.
/// </summary>
[Collection("browser and child processes")]
public sealed class FleetPageBrokerLossTests(Chromium chromium, FleetBrokerLossRig rig) : IClassFixture<Chromium>, IClassFixture<FleetBrokerLossRig>
{
    private static readonly TimeSpan Slow = FleetRig.Slow;
    private static readonly float SlowMs = (float)Slow.TotalMilliseconds;

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task BrokerKilledThenBack_PageSaysLost_StopNotSent_ThenRecoversWithTheRowFresh()
    {
        var errors = new List<string>();
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } }).Within(Slow);
        var page = await context.NewPageAsync().Within(Slow);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add(m.Text);
            }
        };
        await page.GotoAsync(rig.Page.ToString()).Within(Slow);
        var broker = page.Locator("#badge-broker");
        var banner = page.Locator("#banner");
        var row = page.Locator($"#rows tr[data-robot=\"{FleetBrokerLossRig.Robot}\"]");
        await Expect(broker).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(row).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow, "the robot's row");
        await Expect(banner).ToBeHiddenAsync(new() { Timeout = SlowMs }).Within(Slow);

        // The broker dies: the page says the gateway lost it and why; the row stays as last heard.
        var first = rig.Mosquitto!;
        await first.KillAsync();
        await Expect(broker).ToHaveAttributeAsync("data-state", "offline", new() { Timeout = SlowMs }).Within(Slow, "the Broker badge to say lost");
        await Expect(page.Locator("#broker-state")).ToHaveTextAsync("lost, reconnecting", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(banner).ToBeVisibleAsync(new() { Timeout = SlowMs }).Within(Slow);
        await Expect(banner).ToContainTextAsync("The gateway lost the fleet broker (", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(banner).ToContainTextAsync(rig.Broker, new() { Timeout = SlowMs }).Within(Slow);
        await Expect(row).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow);

        // A STOP meanwhile is answered at once: not sent, and why.
        await row.Locator("button.stop-one").ClickAsync(new() { Timeout = SlowMs }).Within(Slow);
        await Expect(page.Locator("#log li").First).ToContainTextAsync($"STOP to '{FleetBrokerLossRig.Robot}' not sent: broker lost: ", new() { Timeout = SlowMs }).Within(Slow, "the STOP's answer");
        await Expect(page.Locator("#log li").First).ToHaveAttributeAsync("data-ok", "false", new() { Timeout = SlowMs }).Within(Slow);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-fleet-broker-lost.png"), FullPage = true }).Within(Slow);

        // Until the broker is back the row ages (10 s and more), so a fresh age afterwards is a status heard since.
        await Expect(row.Locator(".age")).ToHaveTextAsync(new Regex(@"^([1-9]\d+ s|\d+ min) ago$"), new() { Timeout = SlowMs }).Within(Slow, "the row to age");

        // Back on the same port: the gateway reconnects by itself, the banner goes, the robot's row is fresh.
        rig.Mosquitto = await MosquittoBroker.StartAsync(rig.Conf, rig.Port);
        await first.DisposeAsync();
        await Expect(broker).ToHaveAttributeAsync("data-state", "connected", new() { Timeout = SlowMs }).Within(Slow, "the gateway to reconnect");
        await Expect(banner).ToBeHiddenAsync(new() { Timeout = SlowMs }).Within(Slow);
        await Expect(page.Locator("#log li").First).ToContainTextAsync("the fleet broker is back", new() { Timeout = SlowMs }).Within(Slow);
        await Expect(row.Locator(".age")).ToHaveTextAsync(new Regex(@"^(now|[1-9] s ago)$"), new() { Timeout = SlowMs }).Within(Slow, "the robot's status after the broker came back");
        await Expect(row).ToHaveAttributeAsync("data-state", "idle", new() { Timeout = SlowMs }).Within(Slow);

        // And STOP goes through again.
        await row.Locator("button.stop-one").ClickAsync(new() { Timeout = SlowMs }).Within(Slow);
        await Expect(page.Locator("#log li").First).ToContainTextAsync($"STOP sent to '{FleetBrokerLossRig.Robot}'", new() { Timeout = SlowMs }).Within(Slow);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-fleet-broker-back.png"), FullPage = true }).Within(Slow);
        Assert.True(errors.Count == 0, string.Join('\n', errors) + "\n" + rig.Output);
    }
}
