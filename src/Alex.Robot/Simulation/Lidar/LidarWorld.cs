// The simulated lidar's world: walls as segments and boxes as rectangles, in centimetres, read from a
// small JSON file (docs/lidar.md §7). The default arena ships inside the assembly (arena.json).
//
//   { "name": "…", "start": { "x": 40, "y": 40, "heading": 0 },
//     "walls": [[x1, y1, x2, y2], …], "boxes": [[x, y, width, height], …] }
//
// x grows to the right, y upwards, heading in degrees counter-clockwise from +x.
using System.Text.Json;

namespace Alex.Robot.Simulation.Lidar;

/// <summary>A segment from (X1, Y1) to (X2, Y2), in cm.</summary>
public readonly record struct WorldSegment(double X1, double Y1, double X2, double Y2);

/// <summary>Where Alex is in the world: cm, and degrees counter-clockwise from +x.</summary>
public readonly record struct WorldPose(double X, double Y, double HeadingDeg);

/// <summary>A room for the simulated lidar to see.</summary>
public sealed record LidarWorld(string Name, WorldPose Start, IReadOnlyList<WorldSegment> Segments)
{
    /// <summary>More segments than any course maze needs; a bigger file is a mistake, not a world.</summary>
    public const int MaxSegments = 2000;

    private const double Extent = 100_000;

    /// <summary>The arena shipped with AlexLink.</summary>
    public static LidarWorld DefaultArena { get; } = LoadDefault();

    /// <summary>Reads a world file. Throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static LidarWorld Load(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    /// <summary>Parses a world. Throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static LidarWorld Parse(string json, string source)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4, CommentHandling = JsonCommentHandling.Skip });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{source}: a world is a JSON object with \"walls\" and \"boxes\"");
            }

            var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : source;
            var start = new WorldPose(0, 0, 0);
            if (root.TryGetProperty("start", out var s))
            {
                start = new WorldPose(Number(s, "x", source), Number(s, "y", source), s.TryGetProperty("heading", out _) ? Number(s, "heading", source) : 0);
            }

            var segments = new List<WorldSegment>();
            foreach (var wall in Arrays(root, "walls", 4, source))
            {
                segments.Add(new WorldSegment(wall[0], wall[1], wall[2], wall[3]));
            }

            foreach (var box in Arrays(root, "boxes", 4, source))
            {
                var (x, y, w, h) = (box[0], box[1], box[2], box[3]);
                if (w <= 0 || h <= 0)
                {
                    throw new FormatException($"{source}: a box needs a positive width and height");
                }

                segments.Add(new WorldSegment(x, y, x + w, y));
                segments.Add(new WorldSegment(x + w, y, x + w, y + h));
                segments.Add(new WorldSegment(x + w, y + h, x, y + h));
                segments.Add(new WorldSegment(x, y + h, x, y));
            }

            if (segments.Count == 0)
            {
                throw new FormatException($"{source}: no walls or boxes");
            }

            if (segments.Count > MaxSegments)
            {
                throw new FormatException($"{source}: {segments.Count} segments (at most {MaxSegments})");
            }

            return new LidarWorld(name, start, segments);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not JSON ({e.Message.Split('.')[0]})", e);
        }
    }

    /// <summary>
    /// The distance in cm from (x, y) along the direction <paramref name="angleDeg"/> (counter-clockwise
    /// from +x) to the nearest segment, or null when the ray hits nothing.
    /// </summary>
    public double? Cast(double x, double y, double angleDeg)
    {
        var a = angleDeg * Math.PI / 180;
        var (dx, dy) = (Math.Cos(a), Math.Sin(a));
        double? nearest = null;
        foreach (var seg in Segments)
        {
            var (ex, ey) = (seg.X2 - seg.X1, seg.Y2 - seg.Y1);
            var denom = (dx * ey) - (dy * ex);
            if (Math.Abs(denom) < 1e-12)
            {
                continue; // parallel
            }

            var (wx, wy) = (seg.X1 - x, seg.Y1 - y);
            var t = ((wx * ey) - (wy * ex)) / denom; // along the ray
            var u = ((wx * dy) - (wy * dx)) / denom; // along the segment
            if (t > 0 && u >= 0 && u <= 1 && (nearest is null || t < nearest))
            {
                nearest = t;
            }
        }

        return nearest;
    }

    private static IEnumerable<double[]> Arrays(JsonElement root, string name, int length, string source)
    {
        if (!root.TryGetProperty(name, out var list))
        {
            yield break;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{source}: \"{name}\" must be an array of [{length} numbers]");
        }

        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() != length)
            {
                throw new FormatException($"{source}: each of \"{name}\" is [{length} numbers]");
            }

            yield return item.EnumerateArray().Select(e => Coordinate(e, name, source)).ToArray();
        }
    }

    private static double Number(JsonElement obj, string name, string source) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) ? Coordinate(v, name, source)
            : throw new FormatException($"{source}: \"start\" needs a number \"{name}\"");

    private static double Coordinate(JsonElement e, string name, string source) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d) && Math.Abs(d) <= Extent ? d
            : throw new FormatException($"{source}: \"{name}\" has a value that is not a number within ±{Extent} cm");

    private static LidarWorld LoadDefault()
    {
        using var stream = typeof(LidarWorld).Assembly.GetManifestResourceStream("arena.json")
            ?? throw new InvalidOperationException("the default arena is missing from the assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "arena.json");
    }
}
