using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>
/// Debian's own chromium driven by Playwright: no browser download, nothing from the internet
/// (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD). When chromium is missing the browser tests fail with a message
/// that says how to install it; they never skip silently (issue 6).
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("ALEX_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"the browser tests need Debian's chromium at {ExecutablePath}: run .ci/run (it installs it) or `apt-get install chromium`, or set ALEX_CHROMIUM");
        }

        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync().Within(TimeSpan.FromSeconds(30), "the Playwright driver");
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                "--disable-default-apps", "--metrics-recording-only", "--disable-domain-reliability",
            ],
        }).Within(TimeSpan.FromSeconds(30), "chromium to start");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync().Within();
        }

        _playwright?.Dispose();
    }

    /// <summary>Where screenshots go: TestResults/ next to test.sh, kept by CI as an artifact.</summary>
    public static string ArtifactPath(string name)
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Alex.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        var results = Path.Combine(dir ?? AppContext.BaseDirectory, "TestResults", "web");
        Directory.CreateDirectory(results);
        return Path.Combine(results, name);
    }
}
