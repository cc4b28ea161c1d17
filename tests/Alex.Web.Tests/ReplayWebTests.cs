using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;
using Alex.Protocol.Serial;
using Alex.Robot.Simulation.Lidar;
using Microsoft.Playwright;

namespace Alex.Web.Tests;

/// <summary>
/// `alex replay FILE --web` as a process: Debian's chromium opens the URL it prints and sees the recording played on the
/// page (the path, the scans, the map, the log), labelled as a replay and with nothing to drive; Ctrl+C stops it, exit 0.
/// </summary>
[Collection("browser and child processes")]
public sealed class ReplayWebTests : IClassFixture<Chromium>
{
    private static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 6, 15, 0, TimeSpan.Zero);
    private readonly Chromium _chromium;

    public ReplayWebTests(Chromium chromium)
    {
        _chromium = chromium;
    }

    // A recording as alex record writes it (RunRecorder): Alex drives 60 cm ahead from the default arena's start over 3 s,
    // a revolution of the arena's walls every 0.5 s from where it is, the driver's command and its reply in the log.
    private static string RecordDrive()
    {
        var output = new ArrayBufferWriter<byte>();
        var recorder = new RunRecorder(new McapWriter(output));
        var world = LidarWorld.DefaultArena;
        recorder.RecordAudit("""{"time":"x","event":"command","name":"laptop","command":"f 60 50","result":"ok"}""", T0);
        for (var step = 0; step <= 6; step++)
        {
            var at = T0.AddSeconds(step * 0.5);
            var cm = step * 10;
            recorder.Record(new AlexLinkStatus(at.ToUnixTimeMilliseconds(), new StatusCounters { ForwardDistanceCm = (uint)cm }), at);
            var points = Enumerable.Range(0, 360)
                .Select(degree => new ScanPoint((ushort)(degree * 65536 / 360), (ushort)Math.Round((world.Cast(world.Start.X + cm, world.Start.Y, -degree) ?? 0) * 10)))
                .ToList();
            recorder.Record(new AlexLinkScan((uint)step, at.ToUnixTimeMilliseconds(), 0, 1, points), at);
        }

        recorder.Finish(T0.AddSeconds(3));
        var path = Path.Combine(Directory.CreateTempSubdirectory("alex-replay-web-").FullName, "drive.mcap");
        File.WriteAllBytes(path, output.WrittenSpan.ToArray());
        return path;
    }

    [Fact]
    public async Task ReplayWeb_RecordedDrive_PageShowsPathAndScan_ReadOnlyAndLabelled_CtrlCExit0()
    {
        var path = RecordDrive();
        var start = AlexCli.StartInfo(["replay", path, "--web", "--listen", "127.0.0.1:0", "--speed", "2"]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var replay = Process.Start(AlexCli.WithDefaultSigint(start))!;
        var stderr = replay.StandardError.ReadToEndAsync();
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stdout = new List<string>();
        replay.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (stdout)
                {
                    stdout.Add(line);
                }

                if (line.TrimStart().StartsWith("open ", StringComparison.Ordinal))
                {
                    url.TrySetResult(line.Trim()["open ".Length..].Trim());
                }
            }
        };
        replay.BeginOutputReadLine();
        try
        {
            var first = await Task.WhenAny(url.Task, replay.WaitForExitAsync()).Within(ProcessLimit, "alex replay --web to print its URL");
            if (first != url.Task)
            {
                Assert.Fail($"alex replay --web exited {replay.ExitCode}: {await stderr.Within()}");
            }

            Assert.Matches(@"^http://127\.0\.0\.1:\d+/\?token=", await url.Task);
            Assert.StartsWith($"alex replay: {path} on the web page (", stdout[0], StringComparison.Ordinal);

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
            await page.GotoAsync(await url.Task).Within();

            // Labelled: the file, when it was recorded, the clock; the robot badge says replay.
            var slow = new LocatorAssertionsToHaveAttributeOptions { Timeout = 30_000 };
            await Expect(page.Locator("#replay")).ToBeVisibleAsync().Within();
            await Expect(page.Locator("#replay-file")).ToHaveTextAsync("drive.mcap").Within();
            await Expect(page.Locator("#replay-start")).ToContainTextAsync("2026-12-02 06:15:00 UTC, played ×2").Within();
            await Expect(page.Locator("#badge-robot")).ToHaveAttributeAsync("data-state", "replay").Within();
            await Expect(page.Locator("#robot-target")).ToHaveTextAsync("replay of drive.mcap").Within();
            Assert.Equal("Alex · replay of drive.mcap", await page.TitleAsync().Within());

            // Played to the end: the path of the 60 cm drive, the last scan, the recorded map, the driver's command in the log.
            await Expect(page.Locator("#replay")).ToHaveAttributeAsync("data-ended", "true", slow).Within(TimeSpan.FromSeconds(31));
            await Expect(page.Locator("#replay-clock")).ToHaveTextAsync("played all 3.0 s").Within();
            var plot = page.Locator("#path");
            var pose = ((await plot.GetAttributeAsync("data-pose").Within()) ?? "").Split(',');
            Assert.Equal(60, double.Parse(pose[0], CultureInfo.InvariantCulture), 1);
            Assert.Equal(0, double.Parse(pose[1], CultureInfo.InvariantCulture), 1);
            Assert.InRange(int.Parse((await plot.GetAttributeAsync("data-points").Within())!, CultureInfo.InvariantCulture), 2, 100);
            Assert.InRange(int.Parse((await plot.GetAttributeAsync("data-scan-points").Within())!, CultureInfo.InvariantCulture), 300, 720);
            await Expect(page.Locator("#lidar-state")).ToContainTextAsync("points (#7)").Within();
            await Expect(page.Locator("#log")).ToContainTextAsync("laptop: f 60 50 -> ok").Within();
            var tiles = int.Parse((await plot.GetAttributeAsync("data-map-tiles").Within())!, CultureInfo.InvariantCulture);
            var cells = int.Parse((await plot.GetAttributeAsync("data-map-cells").Within())!, CultureInfo.InvariantCulture);
            Assert.InRange(tiles, 4, 64); // the arena, 3 m x 2.4 m, in tiles of 1.6 m
            Assert.InRange(cells, 1000, tiles * 1024);
            await Expect(page.Locator("#map-state")).ToContainTextAsync($"map: {tiles} tiles, {cells} cells").Within();

            // Read-only: every control off, and the drive keys send nothing.
            foreach (var id in new[] { "#stop", "#move-forward", "#move-left", "#stats", "#clear", "#lease-take", "#reset-path", "#speed" })
            {
                await Expect(page.Locator(id)).ToBeDisabledAsync().Within();
            }

            await page.Keyboard.PressAsync("ArrowUp").Within();
            await page.Keyboard.PressAsync(" ").Within();
            await Expect(page.Locator("#log .tag.cmd")).ToHaveCountAsync(0).Within();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.ArtifactPath("alex-replay-web.png"), FullPage = true }).Within();

            // A page opened after the end gets the whole path and the last scan at once.
            var late = await context.NewPageAsync().Within();
            await late.GotoAsync(await url.Task).Within();
            await Expect(late.Locator("#path")).ToHaveAttributeAsync("data-scan-points", await plot.GetAttributeAsync("data-scan-points").Within() ?? "", slow).Within(TimeSpan.FromSeconds(31));
            await Expect(late.Locator("#path")).ToHaveAttributeAsync("data-pose", await plot.GetAttributeAsync("data-pose").Within() ?? "").Within();
            await Expect(late.Locator("#path")).ToHaveAttributeAsync("data-map-cells", cells.ToString(CultureInfo.InvariantCulture)).Within();
            await Expect(late.Locator("#replay-clock")).ToHaveTextAsync("played all 3.0 s").Within();
            Assert.Empty(consoleErrors);

            // Ctrl+C stops the page: exit 0.
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", replay.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
            {
                await kill.WaitForExitAsync().Within();
            }

            await replay.WaitForExitAsync().Within(ProcessLimit, "alex replay --web to stop after Ctrl+C");
            Assert.True(replay.ExitCode == 0, $"exit {replay.ExitCode}: {await stderr.Within()}");
        }
        finally
        {
            if (!replay.HasExited)
            {
                replay.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task ReplayWeb_ListenWithoutWeb_UsageErrorTwo()
    {
        var path = RecordDrive();
        var run = await AlexCli.RunAsync(ProcessLimit, "replay", path, "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.Code);
        Assert.Equal("alex: --listen is for --web\nhint: e.g. alex replay run.mcap --web --listen 127.0.0.1:9000\n", run.Stderr);
    }

    [Fact]
    public async Task ReplayWeb_CutOffFile_OneLineWithOffsetAndSalvageHint_Exit2()
    {
        var path = RecordDrive();
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, bytes.Length - 100).ToArray());
        var run = await AlexCli.RunAsync(ProcessLimit, "replay", path, "--web", "--listen", "127.0.0.1:0");
        Assert.Equal(2, run.Code);
        Assert.Matches($@"^alex: {System.Text.RegularExpressions.Regex.Escape(path)} at offset \d+: truncated: ", run.Stderr);
        Assert.Contains("hint: --salvage plays the ", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
