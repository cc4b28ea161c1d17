using System.Text.RegularExpressions;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>Issue 6: when the page loses the gateway the robot is stopped by the server's dead-man, and the page says it is reconnecting.</summary>
[Collection("browser and child processes")]
public sealed partial class GatewayLossTests : IClassFixture<Chromium>, IClassFixture<RobotRig>
{
    private readonly Chromium _chromium;
    private readonly RobotRig _rig;

    public GatewayLossTests(Chromium chromium, RobotRig rig)
    {
        _chromium = chromium;
        _rig = rig;
    }

    [Fact]
    public async Task GatewayKilledWhileAlexMoves_ServerStopsTheRobot_AndThePageShowsItIsReconnecting()
    {
        await using var watcher = await AlexLinkClient.ConnectAsync(_rig.ClientOptions(_rig.TutorDir), CancellationToken.None).Within();
        Assert.True((await watcher.SubscribeAsync(AlexLinkTopics.Status | AlexLinkTopics.Safety, TimeSpan.FromMilliseconds(100), CancellationToken.None).Within()).Acknowledged);
        var seen = new BrowserEndToEndTests.Telemetry(watcher);

        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var web = _rig.StartAlex(
            line =>
            {
                if (OpenLine().Match(line) is { Success: true } m)
                {
                    url.TrySetResult(new Uri(m.Groups[1].Value));
                }
            },
            "web", "--robot", $"127.0.0.1:{_rig.Port}", "--name", RobotRig.ServerName, "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0");
        try
        {
            var address = await url.Task.Within(TimeSpan.FromSeconds(30), "alex web to print its URL");
            await using var context = await _chromium.Browser.NewContextAsync().Within();
            var page = await context.NewPageAsync().Within();
            await page.GotoAsync(address.ToString()).Within();
            await Assertions.Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));

            // A long, slow move.
            await page.Locator("#distance").FillAsync("200").Within();
            await page.Locator("#speed").FillAsync("30").Within();
            var start = await seen.NextStatusAsync();
            await page.Locator("#move-forward").ClickAsync().Within();
            await seen.WaitAsync<AlexLinkStatus>(s => s.Counters.ForwardDistanceCm >= start.ForwardDistanceCm + 3, BrowserEndToEndTests.Move);

            // The gateway dies (laptop crash, Ctrl+C, lid closed): the server sees its driver leave.
            seen.Mark();
            web.Kill(entireProcessTree: true);
            await web.WaitForExitAsync().Within();
            var stop = await seen.WaitAsync<AlexLinkSafetyStop>(s => s.Reason is AlexLinkStopReason.DriverLeft or AlexLinkStopReason.HeartbeatMissed);
            Assert.Equal("laptop", stop.Who);
            var still = await seen.WaitUntilStillAsync();
            Assert.True(still.ForwardDistanceCm < start.ForwardDistanceCm + 200, "stopped before the end of the move");

            // The page noticed and keeps trying, and says so.
            await Assertions.Expect(page.Locator("#badge-gateway")).ToHaveAttributeAsync("data-state", "reconnecting").Within();
            await Assertions.Expect(page.Locator("#banner")).ToBeVisibleAsync().Within();
            await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("Reconnecting").Within();
            await Assertions.Expect(page.Locator("#move-forward")).ToBeDisabledAsync().Within();
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

    [GeneratedRegex(@"open\s+(http://\S+)")]
    private static partial Regex OpenLine();
}
