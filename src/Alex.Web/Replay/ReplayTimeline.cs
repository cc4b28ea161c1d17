// A recording (docs/recording.md "Channels") as what the web page shows, in the order and at the times it was recorded:
// the pose (PoseInFrame, and the pose each LaserScan was taken from), each scan as the page's points, each log line, and
// each map (Grid) as the tiles of the map the page draws (AlexLink's MapTile: log-odds × 32 from the cells' percent).
// Messages are found by their schema (foxglove.PoseInFrame, foxglove.LaserScan, foxglove.Log, foxglove.Grid with JSON
// encoding), so
// a file from another recorder plays as far as it uses them; a message not in its schema's shape is left out and counted.
// Pure: the file's contents in, frames out.
using System.Text.Json;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;

namespace Alex.Web.Replay;

/// <summary>Something the page is shown when a recording is played back.</summary>
internal abstract record ReplayEvent;

/// <summary>Alex was here (cm, degrees counter-clockwise from the odometry's +x).</summary>
internal sealed record ReplayPose(Pose Pose) : ReplayEvent;

/// <summary>A lidar revolution: (tenths of a degree clockwise from ahead, mm), the points with a return.</summary>
internal sealed record ReplayScan(IReadOnlyList<(int Tenths, int Mm)> Points) : ReplayEvent;

/// <summary>A log line: who and what (a command and its reply, a safety stop, the Arduino's text).</summary>
internal sealed record ReplayLog(FoxgloveLogLevel Level, string Name, string Text) : ReplayEvent;

/// <summary>The whole map as it was recorded: square cells of <paramref name="CellCm"/>, its tiles in the odometry frame.</summary>
internal sealed record ReplayMap(double CellCm, IReadOnlyList<MapTile> Tiles) : ReplayEvent;

/// <summary>An event at <paramref name="At"/> after the recording's first message.</summary>
internal readonly record struct ReplayFrame(TimeSpan At, ReplayEvent Event);

/// <summary>A recording's frames in time order, when it began, how long it lasts, and how many messages were left out.</summary>
internal sealed record ReplayTimeline(IReadOnlyList<ReplayFrame> Frames, DateTimeOffset Start, TimeSpan Duration, int Unreadable)
{
    public static ReplayTimeline From(McapContents contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var schemas = contents.Schemas.ToDictionary(s => s.Id, s => s.Name);
        var kinds = contents.Channels
            .Where(c => c.MessageEncoding == "json")
            .ToDictionary(c => c.Id, c => schemas.GetValueOrDefault(c.SchemaId, ""));
        var messages = contents.Messages.OrderBy(m => m.LogTime).ToList();
        if (messages.Count == 0)
        {
            return new ReplayTimeline([], DateTimeOffset.UnixEpoch, TimeSpan.Zero, 0);
        }

        var first = messages[0].LogTime;
        var frames = new List<ReplayFrame>(messages.Count);
        var unreadable = 0;
        foreach (var m in messages)
        {
            var at = TimeSpan.FromTicks((long)((m.LogTime - first) / 100));
            var kind = kinds.GetValueOrDefault(m.ChannelId, "");
            if (kind is not (FoxgloveMessages.PoseInFrameSchema or FoxgloveMessages.LaserScanSchema or FoxgloveMessages.LogSchema or FoxgloveMessages.GridSchema))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(m.Data);
                var root = doc.RootElement;
                switch (kind)
                {
                    case FoxgloveMessages.PoseInFrameSchema:
                        frames.Add(new ReplayFrame(at, new ReplayPose(PoseOf(root.GetProperty("pose")))));
                        break;
                    case FoxgloveMessages.LaserScanSchema:
                        // The page draws a scan from where Alex is when it comes: from the pose it was taken at.
                        frames.Add(new ReplayFrame(at, new ReplayPose(PoseOf(root.GetProperty("pose")))));
                        frames.Add(new ReplayFrame(at, new ReplayScan(PointsOf(root))));
                        break;
                    case FoxgloveMessages.GridSchema:
                        if (MapOf(root) is { } map)
                        {
                            frames.Add(new ReplayFrame(at, map));
                        }
                        else
                        {
                            unreadable++;
                        }

                        break;
                    default:
                        frames.Add(new ReplayFrame(at, new ReplayLog(
                            (FoxgloveLogLevel)root.GetProperty("level").GetInt32(),
                            root.GetProperty("name").GetString() ?? "",
                            root.GetProperty("message").GetString() ?? "")));
                        break;
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                unreadable++;
            }
        }

        var start = DateTimeOffset.UnixEpoch.AddTicks((long)(first / 100));
        return new ReplayTimeline(frames, start, TimeSpan.FromTicks((long)((messages[^1].LogTime - first) / 100)), unreadable);
    }

    // foxglove.Pose in metres with a rotation about +z: cm and degrees.
    private static Pose PoseOf(JsonElement pose)
    {
        var p = pose.GetProperty("position");
        var q = pose.GetProperty("orientation");
        var heading = 2 * Math.Atan2(q.GetProperty("z").GetDouble(), q.GetProperty("w").GetDouble()) * 180 / Math.PI;
        heading = ((heading + 180) % 360 + 360) % 360 - 180;
        return new Pose(p.GetProperty("x").GetDouble() * 100, p.GetProperty("y").GetDouble() * 100, heading);
    }

    // Grid as the recorders write it (docs/recording.md "The map's cells"): one UINT8 cell (percent occupied, 255
    // unknown), square cells, no rotation; anything else is not a map the page can draw (null). Cells become log-odds
    // × 32 (MapTile's i8), clamped as the mapper clamps them, in the tile each lands in (docs/mapping.md §1).
    private static ReplayMap? MapOf(JsonElement grid)
    {
        var columns = grid.GetProperty("column_count").GetInt32();
        var rowStride = grid.GetProperty("row_stride").GetInt32();
        var cellStride = grid.GetProperty("cell_stride").GetInt32();
        var size = grid.GetProperty("cell_size");
        var (cellX, cellY) = (size.GetProperty("x").GetDouble(), size.GetProperty("y").GetDouble());
        var fields = grid.GetProperty("fields");
        var data = grid.GetProperty("data").GetBytesFromBase64();
        var pose = grid.GetProperty("pose");
        var origin = pose.GetProperty("position");
        var rotation = pose.GetProperty("orientation");
        var cellCm = cellX * 100;
        if (columns <= 0 || cellStride < 1 || rowStride < columns * cellStride || data.Length % rowStride != 0 || cellX != cellY
            || !(cellCm is >= 0.5 and <= 100) || fields.GetArrayLength() != 1 || fields[0].GetProperty("type").GetInt32() != 1
            || fields[0].GetProperty("offset").GetInt32() >= cellStride || Math.Abs(rotation.GetProperty("z").GetDouble()) > 1e-9)
        {
            return null;
        }

        var offset = fields[0].GetProperty("offset").GetInt32();
        var (x0, y0) = ((int)Math.Round(origin.GetProperty("x").GetDouble() / cellX), (int)Math.Round(origin.GetProperty("y").GetDouble() / cellY));
        const int side = OccupancyGrid.TileCells;
        var tiles = new Dictionary<(int X, int Y), sbyte[]>();
        for (var row = 0; row < data.Length / rowStride; row++)
        {
            for (var column = 0; column < columns; column++)
            {
                var cell = data[(row * rowStride) + (column * cellStride) + offset];
                if (cell > 100)
                {
                    continue; // unknown: 0 in a tile
                }

                // Tile (x >> 5, y >> 5), rows from its bottom, as OccupancyGrid keeps them.
                var (x, y) = (x0 + column, y0 + row);
                if (!tiles.TryGetValue((x >> 5, y >> 5), out var cells))
                {
                    tiles[(x >> 5, y >> 5)] = cells = new sbyte[side * side];
                }

                var p = Math.Clamp(cell / 100.0, 0.03, 0.97);
                cells[((y & (side - 1)) * side) + (x & (side - 1))] = (sbyte)Math.Clamp(Math.Round(Math.Log(p / (1 - p)) * MapTile.Scale), -127, 127);
            }
        }

        return tiles.Keys.Any(k => k.X is < short.MinValue or > short.MaxValue || k.Y is < short.MinValue or > short.MaxValue)
            ? null
            : new ReplayMap(cellCm, [.. tiles.Select(t => new MapTile((short)t.Key.X, (short)t.Key.Y, t.Value))]);
    }

    // LaserScan: ranges evenly spaced from start_angle to end_angle (radians counter-clockwise); 0 or not finite: no return.
    private static List<(int Tenths, int Mm)> PointsOf(JsonElement scan)
    {
        var start = scan.GetProperty("start_angle").GetDouble();
        var end = scan.GetProperty("end_angle").GetDouble();
        var ranges = scan.GetProperty("ranges");
        var n = ranges.GetArrayLength();
        var points = new List<(int, int)>(n);
        var i = 0;
        foreach (var r in ranges.EnumerateArray())
        {
            var metres = r.GetDouble();
            if (double.IsFinite(metres) && metres > 0 && metres < 100)
            {
                var angle = n > 1 ? start + ((end - start) * i / (n - 1)) : start;
                var clockwise = ((-angle * 180 / Math.PI) % 360 + 360) % 360;
                points.Add(((int)Math.Round(clockwise * 10) % 3600, (int)Math.Round(metres * 1000)));
            }

            i++;
        }

        return points;
    }
}
