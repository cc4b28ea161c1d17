// A recorded message in words, for `alex replay` (docs/recording.md "Channels"): a scan's returns and nearest point,
// a pose, a log line, the map's size and how much of it is known. Messages on other topics, or not in the shape their schema says, are shown by size.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Alex.Protocol.Recording;

namespace Alex.Client.Recording;

public static class RecordedMessage
{
    /// <summary>One line (no time prefix) for a message on <paramref name="topic"/>.</summary>
    public static string Describe(string topic, ReadOnlyMemory<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            return topic switch
            {
                RunRecorder.ScanTopic => Scan(root),
                RunRecorder.PoseTopic => Pose(root.GetProperty("pose")),
                RunRecorder.LogTopic => Log(root),
                RunRecorder.MapTopic => Map(root),
                _ => $"{json.Length} bytes",
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return $"{json.Length} bytes (not the JSON its schema says)";
        }
    }

    private static string Scan(JsonElement root)
    {
        var ranges = root.GetProperty("ranges");
        var start = root.GetProperty("start_angle").GetDouble();
        var end = root.GetProperty("end_angle").GetDouble();
        var n = ranges.GetArrayLength();
        var returns = 0;
        var nearest = double.MaxValue;
        var nearestAt = 0;
        var i = 0;
        foreach (var r in ranges.EnumerateArray())
        {
            var metres = r.GetDouble();
            if (metres > 0)
            {
                returns++;
                if (metres < nearest)
                {
                    (nearest, nearestAt) = (metres, i);
                }
            }

            i++;
        }

        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"scan: {returns} returns");
        if (returns > 0)
        {
            // Counter-clockwise radians from ahead, shown as the lidar says it: degrees clockwise.
            var angle = n > 1 ? start + ((end - start) * nearestAt / (n - 1)) : start;
            var clockwise = ((-angle * 180 / Math.PI) % 360 + 360) % 360;
            text.Append(CultureInfo.InvariantCulture, $", nearest {nearest:0.00} m at {clockwise:0}°");
        }

        return text.Append(CultureInfo.InvariantCulture, $" (from {Pose(root.GetProperty("pose"))})").ToString();
    }

    private static string Map(JsonElement root)
    {
        var columns = root.GetProperty("column_count").GetInt32();
        var stride = root.GetProperty("row_stride").GetInt32();
        var cells = root.GetProperty("data").GetBytesFromBase64();
        if (columns <= 0 || stride < columns || cells.Length % stride != 0)
        {
            throw new FormatException("the grid's size does not match its data");
        }

        var rows = cells.Length / stride;
        int occupied = 0, free = 0;
        for (var row = 0; row < rows; row++)
        {
            foreach (var cell in cells.AsSpan(row * stride, columns))
            {
                occupied += cell is > 50 and <= 100 ? 1 : 0;
                free += cell < 50 ? 1 : 0;
            }
        }

        var cm = root.GetProperty("cell_size").GetProperty("x").GetDouble() * 100;
        return string.Create(CultureInfo.InvariantCulture, $"map: {columns} × {rows} cells of {cm:0.#} cm, {occupied} occupied, {free} free");
    }

    private static string Pose(JsonElement pose)
    {
        var p = pose.GetProperty("position");
        var q = pose.GetProperty("orientation");
        var heading = 2 * Math.Atan2(q.GetProperty("z").GetDouble(), q.GetProperty("w").GetDouble()) * 180 / Math.PI;
        heading = ((heading + 180) % 360 + 360) % 360 - 180;
        return string.Create(CultureInfo.InvariantCulture, $"pose x {p.GetProperty("x").GetDouble():0.00} m, y {p.GetProperty("y").GetDouble():0.00} m, heading {heading:0}°");
    }

    private static string Log(JsonElement root)
    {
        var level = (FoxgloveLogLevel)root.GetProperty("level").GetInt32();
        return $"{level.ToString().ToLowerInvariant()} {root.GetProperty("name").GetString()}: {root.GetProperty("message").GetString()}";
    }
}
