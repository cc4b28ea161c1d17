using System.Text;
using Alex.Cli.Drive;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Alex.EndToEnd.Tests.Drive;

/// <summary>The drive console as it is drawn: the screen rendered to a console of a fixed size, read back as text.</summary>
public sealed class DriveScreenTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    private static DriveModel Connected()
    {
        var model = new DriveModel("127.0.0.1:5000", new DriveSettings());
        model.Apply(new ConnectingEvent(1), T0);
        model.Apply(new ConnectedEvent(new DriveSessionInfo("127.0.0.1:5000", "alexlink/1", "laptop", "alex.epp.com", AlexLinkRole.Driver, "", 0, 100, 300, 360, "TLS 1.3 TLS_AES_128_GCM_SHA256")), T0);
        return model;
    }

    /// <summary>What a terminal of <paramref name="width"/> × <paramref name="height"/> shows, one string per row.</summary>
    private static string[] Draw(DriveModel model, int width, int height)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = width;
        console.Profile.Height = height;
        console.Write(DriveScreen.Render(model, T0, width, height));
        return text.ToString().TrimEnd('\n').Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
    }

    private static bool IsPlotRow(string row) => row.Any(c => c is >= '\u2800' and <= '\u28FF');

    [Theory]
    [InlineData(80, 24)]
    [InlineData(100, 30)]
    [InlineData(120, 40)]
    public void Render_FitsTheTerminal_WithTheKeyLegendAndAPlot(int width, int height)
    {
        var rows = Draw(Connected(), width, height);

        Assert.True(rows.Length <= height, $"{rows.Length} rows on a {height}-row terminal:\n{string.Join('\n', rows)}");
        Assert.All(rows, r => Assert.True(r.Length <= width, $"a row of {r.Length} columns on a {width}-column terminal: {r}"));
        var legend = string.Join(' ', rows.SkipWhile(r => !r.StartsWith("f/↑/w forward", StringComparison.Ordinal)));
        Assert.Contains("q quit", legend, StringComparison.Ordinal);
        Assert.Contains("SPACE/Esc/s STOP", legend, StringComparison.Ordinal);
        Assert.True(rows.Count(IsPlotRow) >= 8, $"{rows.Count(IsPlotRow)} plot rows:\n{string.Join('\n', rows)}");
    }

    [Theory]
    [InlineData(80, 24)]
    [InlineData(120, 40)]
    public void Render_TeamCommands_KeysInTheLegend_NewestReadingShown_StillFits(int width, int height)
    {
        var colour = Alex.Protocol.Extensions.ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "colour-sensor.json")), out _)!;
        var model = new DriveModel("127.0.0.1:5000", new DriveSettings()) { Extensions = colour };
        model.Apply(new ConnectingEvent(1), T0);
        model.Apply(new ConnectedEvent(new DriveSessionInfo("127.0.0.1:5000", "alexlink/1", "laptop", "alex.epp.com", AlexLinkRole.Driver, "", 0, 100, 300, 360, "TLS 1.3 TLS_AES_128_GCM_SHA256")), T0);
        var declared = new AlexLinkDeclaredReply(7, PacketType.Response, 6, 0, [750, 500, 250], "");
        model.Apply(new CommandFinishedEvent(new CommandReply("colour", true, null, 0, "OK", null, TimeSpan.FromMilliseconds(12)) { Declared = declared }), T0);

        var rows = Draw(model, width, height);

        Assert.True(rows.Length <= height, $"{rows.Length} rows on a {height}-row terminal:\n{string.Join('\n', rows)}");
        Assert.Contains(rows, r => r == "colour: red 750 Hz, green 500 Hz, blue 250 Hz ████ #bf7f3f");
        var legend = string.Join(' ', rows.SkipWhile(r => !r.StartsWith("f/↑/w forward", StringComparison.Ordinal)).Select(r => r.Trim()));
        Assert.Contains("q quit o colour", System.Text.RegularExpressions.Regex.Replace(legend, @"\s+", " "), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(80, false)]
    [InlineData(120, true)]
    public void Render_LastCommandsRoundTrip_LatencyLineStaysOneRow(int width, bool saysWhichFigure)
    {
        var model = Connected();
        model.Apply(new CommandFinishedEvent(new CommandReply("s", true, null, 0, "OK", null, TimeSpan.FromMilliseconds(12.3))), T0);

        var rows = Draw(model, width, 40);

        var latency = Assert.Single(rows, r => r.Contains("latency", StringComparison.Ordinal));
        Assert.Contains("12.3 ms", latency, StringComparison.Ordinal);
        Assert.Contains("reconnects 0", latency, StringComparison.Ordinal);
        Assert.Equal(saysWhichFigure, latency.Contains("(last command)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(-0.4)]
    [InlineData(-0.0)]
    [InlineData(-0.49)]
    public void Render_HeadingJustBelowZero_NeverMinusZero(double heading)
    {
        var model = Connected();
        var pose = new Pose(-0.3, -0.2, heading);
        model.Apply(new StatusEvent(default, pose, [default, pose]), T0);

        var screen = string.Join('\n', Draw(model, 120, 40));

        Assert.Contains("x 0 y 0 heading 0°", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("-0", screen, StringComparison.Ordinal);
    }
}
