using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>`alex demo --web` starts the gateway too and prints its URL; the page drives the demo's Alex and shows the server's map growing.</summary>
[Collection("browser and child processes")]
public sealed partial class DemoWebTests : IClassFixture<Chromium>
{
    private readonly Chromium _chromium;

    public DemoWebTests(Chromium chromium) => _chromium = chromium;

    [Fact]
    public async Task DemoWeb_PrintsTheUrl_ThePageDrivesTheDemosAlex_AndItsMapGrows()
    {
        var output = new StringBuilder();
        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var demo = AlexProcess.Start(
            line =>
            {
                lock (output)
                {
                    output.AppendLine(line);
                }

                if (OpenLine().Match(line) is { Success: true } m)
                {
                    url.TrySetResult(new Uri(m.Groups[1].Value));
                }
            },
            "demo", "--web");
        try
        {
            var exited = demo.WaitForExitAsync();
            var first = await Task.WhenAny(url.Task, exited).Within(TimeSpan.FromSeconds(60), "alex demo --web to print its URL");
            Assert.True(first == url.Task, $"alex demo --web exited early:\n{output}");
            var address = await url.Task;
            Assert.Equal("127.0.0.1", address.Host);

            await using var context = await _chromium.Browser.NewContextAsync().Within();
            var page = await context.NewPageAsync().Within();
            await page.GotoAsync(address.ToString()).Within();
            await Assertions.Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "connected", new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
            // The demo's simulated lidar reaches the page through the server and the gateway: the arena's walls around Alex.
            await Assertions.Expect(page.Locator("#path")).ToHaveAttributeAsync("data-scan-points", new Regex("^[1-9][0-9]{2}$"), new LocatorAssertionsToHaveAttributeOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
            await Assertions.Expect(page.Locator("#lidar-state")).ToContainTextAsync("lidar: ").Within();
            // The demo's server maps the arena: the page draws its map, and the map grows as Alex drives.
            var plot = page.Locator("#path");
            var wait = new LocatorAssertionsToHaveAttributeOptions { Timeout = 60_000 };
            await Assertions.Expect(plot).ToHaveAttributeAsync("data-map-cells", new Regex("^[1-9][0-9]*$"), wait).Within(TimeSpan.FromSeconds(70));
            var cells = long.Parse((await plot.GetAttributeAsync("data-map-cells").Within())!, System.Globalization.CultureInfo.InvariantCulture);
            await page.Keyboard.PressAsync("ArrowUp").Within();
            await Assertions.Expect(page.Locator("#counter-forwardDistanceCm")).Not.ToHaveTextAsync("0", new LocatorAssertionsToHaveTextOptions { Timeout = 20_000 }).Within(TimeSpan.FromSeconds(21));
            await Assertions.Expect(page.Locator("#lease-state")).ToHaveTextAsync("you drive").Within();
            await page.Locator("#move-left").ClickAsync().Within();
            var grown = cells;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (grown <= cells)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the demo's map stayed at {grown} cells (from {cells})");
                await Assertions.Expect(plot).Not.ToHaveAttributeAsync("data-map-cells", grown.ToString(System.Globalization.CultureInfo.InvariantCulture), wait).Within(TimeSpan.FromSeconds(70));
                grown = long.Parse((await plot.GetAttributeAsync("data-map-cells").Within())!, System.Globalization.CultureInfo.InvariantCulture);
            }

            // Ctrl-C's cousin SIGTERM: the demo takes everything down and removes its files.
            using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync().Within();
            }

            await exited.Within(TimeSpan.FromSeconds(20), "alex demo --web to stop on SIGTERM");
            demo.WaitForExit(); // drain the redirected output
            string text;
            lock (output)
            {
                text = output.ToString();
            }

            var removed = RemovingLine().Match(text);
            Assert.True(removed.Success, text);
            Assert.False(Directory.Exists(removed.Groups[1].Value), "the demo's folder is gone");
        }
        finally
        {
            if (!demo.HasExited)
            {
                demo.Kill(entireProcessTree: true);
                await demo.WaitForExitAsync().Within();
            }
        }
    }

    [GeneratedRegex(@"demo: remov(?:ed|ing) (\S+)")]
    private static partial Regex RemovingLine();

    [GeneratedRegex(@"open\s+(http://\S+)")]
    private static partial Regex OpenLine();
}
