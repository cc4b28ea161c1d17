// Draws the drive console from the model: thin on purpose (everything it shows is decided by DriveModel).
//
//  ┌ status ───────────────────────────────────────┐ ┌──────────┐
//  │ connection · latency · Arduino · lease · cmds  │ │   STOP   │
//  │ distance · angle · speed                       │ │ SPACE/Esc│
//  └────────────────────────────────────────────────┘ └──────────┘
//  ┌ odometry ───────────┐ ┌ path ─────────────────────────────┐
//  └─────────────────────┘ └───────────────────────────────────┘
//  ┌ log ──────────────────────────────────────────────────────┐
//  └───────────────────────────────────────────────────────────┘
//  keys
using Alex.Protocol.Serial;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Alex.Cli.Drive;

internal static class DriveScreen
{
    /// <summary>The odometry panel: ten counters and its border.</summary>
    private const int OdometryRows = 12;

    /// <summary>The odometry panel on a short terminal: five pairs (left/right, forward/reverse) and its border.</summary>
    private const int CompactOdometryRows = 7;

    /// <summary>Terminals shorter than this get the compact odometry.</summary>
    private const int FullHeight = 34;

    public static IRenderable Render(DriveModel model, DateTimeOffset now, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(model);
        var status = new Panel(StatusLines(model, now, detailed: width >= 100)) { Header = new PanelHeader(" Alex ", Justify.Left), Border = BoxBorder.Rounded, Expand = true };
        var stop = new Panel(new Markup("[bold white on red]  ■ STOP  [/]\n[red]SPACE / Esc[/]").Centered())
        {
            Border = BoxBorder.Heavy,
            BorderStyle = new Style(Color.Red),
            Padding = new Padding(1, 0),
        };
        var top = new Grid { Expand = true }.AddColumn().AddColumn(new GridColumn().NoWrap().PadLeft(1).PadRight(0));
        top.AddRow(status, stop);

        // Rows: status panel 7, the middle row (odometry, or the plot + 2), the log's lines + 2, the key
        // help (wrapped as the terminal wraps it), the banner if any, one spare. The key help always shows;
        // on a short terminal (80x24) the odometry pairs left and right to free rows for the plot, and
        // the log keeps at least one line.
        var helpRows = WrappedRows(model.Help, width);
        (string Plain, string Markup)? reading = model.LastReading is { } r ? ReadingLine(r) : null;
        var readingRows = reading is { } line ? WrappedRows(line.Plain, width) : 0;
        var compact = height < FullHeight;
        var odometryRows = compact ? CompactOdometryRows : OdometryRows;
        var pinnedRows = model.Pinned is { } pinnedText ? (pinnedText.Length + Math.Max(width, 1) - 1) / Math.Max(width, 1) : 0;
        var spare = height - 7 - helpRows - pinnedRows - readingRows - (model.SafetyBanner is null ? 0 : 1) - 1;
        var logLines = compact ? 1 : 6;
        var plotRows = Math.Clamp(spare - 2 - logLines - 2, 4, 16);
        var plotColumns = Math.Clamp(width - (compact ? 36 : 48), 16, 60);
        var (plot, cmPerDot) = PathPlot.Render(model.PathPoints, model.Pose, plotColumns, plotRows, model.Lidar);
        var pose = model.Pose;
        var path = new Panel(new Text(string.Join('\n', plot)))
        {
            Header = new PanelHeader($" path{(model.Lidar.Count > 0 ? " + lidar" : "")} · {cmPerDot:0.#} cm/dot · x {Whole(pose.X)} y {Whole(pose.Y)} heading {Whole(pose.HeadingDeg)}° "),
            Border = BoxBorder.Rounded,
        };
        var middle = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(1)).AddColumn(new GridColumn().NoWrap().PadRight(0));
        middle.AddRow(new Panel(compact ? CompactOdometry(model) : Odometry(model)) { Header = new PanelHeader(" odometry "), Border = BoxBorder.Rounded }, path);

        var logRows = Math.Max(1, spare - Math.Max(odometryRows, plotRows + 2) - 2);
        var log = new Panel(Log(model, logRows, width - 4)) { Header = new PanelHeader(" log "), Border = BoxBorder.Rounded, Expand = true };

        var parts = new List<IRenderable> { top };
        if (model.Pinned is { } pinned)
        {
            parts.Add(new Markup($"[bold]{Markup.Escape(pinned)}[/]"));
        }

        if (model.SafetyBanner is { } banner)
        {
            parts.Add(new Markup($"[bold white on red] STOPPED: {Markup.Escape(banner)} [/]"));
        }

        if (reading is { } shown)
        {
            parts.Add(new Markup(shown.Markup));
        }

        parts.AddRange([middle, log, new Markup($"[grey]{Markup.Escape(model.Help)}[/]")]);
        return new Rows(parts);
    }

    // The newest declared reading: "colour: red 750 Hz, green 500 Hz, blue 250 Hz ████ #bf7f3f", the block in the colour.
    private static (string Plain, string Markup) ReadingLine(Alex.Client.DeclaredReading reading)
    {
        var text = $"{reading.Command}: {reading.Summary}";
        return reading.Swatch is { } swatch
            ? ($"{text} ████ {swatch}", $"[bold]{Markup.Escape(text)}[/] [{swatch}]████[/] {swatch}")
            : (text, $"[bold]{Markup.Escape(text)}[/]");
    }

    // On a narrow terminal the connection line leaves out the protocol and TLS version, and the latency line whether
    // the figure is the last command's round trip, so each stays one line.
    private static Markup StatusLines(DriveModel model, DateTimeOffset now, bool detailed)
    {
        var connection = model.Phase switch
        {
            ConnectionPhase.Connected => $"[green]● connected[/] {Markup.Escape(model.Session?.ServerName ?? string.Empty)} at {Markup.Escape(model.Endpoint)}" +
                (model.Session is { } s && detailed ? $" [grey]({Markup.Escape(s.Protocol)}, {Markup.Escape(string.Join(' ', s.Tls.Split(' ').Take(2)))})[/]" : string.Empty),
            ConnectionPhase.Connecting => $"[yellow]◌ connecting to {Markup.Escape(model.Endpoint)}…[/]",
            ConnectionPhase.Reconnecting => $"[yellow]◌ reconnecting… (attempt {model.Attempt})[/] [grey]{Markup.Escape(model.PhaseDetail)}[/]",
            _ => $"[red]✗ not connected:[/] {Markup.Escape(model.PhaseDetail)}",
        };
        var latency = model.Latency is { } l ? $"{l.TotalMilliseconds:0.0} ms" : model.LastCommandRoundTrip is { } c ? $"{c.TotalMilliseconds:0.0} ms{(detailed ? " (last command)" : string.Empty)}" : "–";
        var arduino = model.ArduinoUp switch
        {
            true => "[green]up[/]",
            false => $"[red]down[/] [grey]{Markup.Escape(model.ArduinoDetail)}[/]",
            null => "[grey]?[/]",
        };
        var you = model.Session is { ClientName.Length: > 0 } me ? Markup.Escape(me.ClientName) : "–";
        var settings = model.Settings;
        var inFlight = model.InFlight is { } f ? $"  [yellow]waiting: {Markup.Escape(f)}[/]" : string.Empty;
        return new Markup(
            $"{connection}\n" +
            $"latency [bold]{latency}[/]   Arduino {arduino}   you [bold]{you}[/]   reconnects {model.Reconnects}\n" +
            $"lease: {Markup.Escape(model.DescribeLease(now))}\n" +
            $"commands sent [bold]{model.CommandsSent}[/]  ok [green]{model.CommandsOk}[/]  failed [red]{model.CommandsFailed}[/]{inFlight}\n" +
            $"distance [bold]{settings.DistanceCm} cm[/]   angle [bold]{settings.AngleDegrees}°[/]   speed [bold]{settings.SpeedPercent} %[/]");
    }

    private static Grid Odometry(DriveModel model)
    {
        var grid = new Grid().AddColumn().AddColumn(new GridColumn().RightAligned());
        var counters = model.Counters ?? default;
        var names = StatusCounters.Names;
        var values = counters.ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            var unit = i >= 8 ? " cm" : string.Empty;
            grid.AddRow(new Text(names[i]), new Text(model.Counters is null ? "–" : $"{values[i]}{unit}"));
        }

        return grid;
    }

    private static Grid CompactOdometry(DriveModel model)
    {
        var grid = new Grid().AddColumn().AddColumn(new GridColumn().RightAligned());
        var v = (model.Counters ?? default).ToArray();
        string Pair(int a, int b, string unit = "") => model.Counters is null ? "–" : $"{v[a]}/{v[b]}{unit}";
        grid.AddRow(new Text("fwd ticks L/R"), new Text(Pair(0, 1)));
        grid.AddRow(new Text("rev ticks L/R"), new Text(Pair(2, 3)));
        grid.AddRow(new Text("turn fwd L/R"), new Text(Pair(4, 5)));
        grid.AddRow(new Text("turn rev L/R"), new Text(Pair(6, 7)));
        grid.AddRow(new Text("dist fwd/rev"), new Text(Pair(8, 9, " cm")));
        return grid;
    }

    /// <summary>Rows <paramref name="text"/> takes when wrapped at spaces to <paramref name="width"/> columns.</summary>
    internal static int WrappedRows(string text, int width)
    {
        width = Math.Max(width, 1);
        var rows = 1;
        var column = 0;
        foreach (var word in text.Split(' '))
        {
            var need = column == 0 ? word.Length : column + 1 + word.Length;
            if (need > width && column > 0)
            {
                rows++;
                column = word.Length;
            }
            else
            {
                column = need;
            }
        }

        return rows;
    }

    // One row per line, as the layout counts them: a line longer than the panel is cut with "…" (the line mode prints it whole).
    private static Markup Log(DriveModel model, int rows, int columns)
    {
        var lines = model.Log.Skip(Math.Max(0, model.Log.Count - rows)).Select(line =>
        {
            var at = line.At.ToLocalTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            var room = Math.Max(1, columns - at.Length - 1 - (line.Kind switch { DriveLogKind.Lease => "lease: ".Length, DriveLogKind.Sent => 2, _ => 0 }));
            var text = Markup.Escape(line.Text.Length > room ? string.Concat(line.Text.AsSpan(0, room - 1), "…") : line.Text);
            return line.Kind switch
            {
                DriveLogKind.Problem => $"[grey]{at}[/] [red]{text}[/]",
                DriveLogKind.Safety => $"[grey]{at}[/] [bold red]{text}[/]",
                DriveLogKind.Ok => $"[grey]{at}[/] [green]{text}[/]",
                DriveLogKind.Arduino => $"[grey]{at}[/] [cyan]{text}[/]",
                DriveLogKind.Lease => $"[grey]{at}[/] [yellow]lease: {text}[/]",
                DriveLogKind.Sent => $"[grey]{at} → {text}[/]",
                _ => $"[grey]{at}[/] {text}",
            };
        });
        return new Markup(string.Join('\n', lines));
    }

    /// <summary>Rounded to a whole number, without the "-0" that rounding a small negative value prints.</summary>
    internal static string Whole(double value) =>
        (Math.Round(value) + 0.0).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
