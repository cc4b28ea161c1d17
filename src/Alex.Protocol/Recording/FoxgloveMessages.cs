// Foxglove's well-known message types as JSON (the schemas in Schemas/, from github.com/foxglove/schemas): what a
// recording's channels carry (docs/recording.md "Channels"). Times are {sec, nsec} since the Unix epoch; lengths in
// metres; angles in radians, counter-clockwise from +x (ahead) about +z (up), as Foxglove and ROS (REP 103) use them.
using System.Buffers;
using System.Text.Json;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Protocol.Recording;

/// <summary>foxglove.LogLevel.</summary>
public enum FoxgloveLogLevel : byte
{
    Unknown = 0,
    Debug = 1,
    Info = 2,
    Warning = 3,
    Error = 4,
    Fatal = 5,
}

/// <summary>A pose in the floor plane: metres, and heading in radians counter-clockwise from +x.</summary>
public readonly record struct PlanarPose(double X, double Y, double Heading);

/// <summary>Encoders for the JSON messages of a recording, one per Foxglove schema.</summary>
public static class FoxgloveMessages
{
    public const string LaserScanSchema = "foxglove.LaserScan";
    public const string PoseInFrameSchema = "foxglove.PoseInFrame";
    public const string LogSchema = "foxglove.Log";
    public const string GridSchema = "foxglove.Grid";

    /// <summary>Angular bins of a recorded scan: LaserScan's ranges are equally spaced, the lidar's points are not.</summary>
    public const int ScanBins = 720;

    /// <summary>The JSON Schema text of a well-known schema (e.g. "foxglove.LaserScan").</summary>
    public static byte[] Schema(string name)
    {
        using var stream = typeof(FoxgloveMessages).Assembly.GetManifestResourceStream(name)
            ?? throw new ArgumentException($"no schema {name}", nameof(name));
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>
    /// foxglove.LaserScan: one revolution from <paramref name="origin"/> in <paramref name="frameId"/>. The lidar's
    /// angles are clockwise from ahead, so bin i is at −2πi/<see cref="ScanBins"/> (start 0, end −2π(n−1)/n); each bin
    /// keeps its nearest return; a bin with none is 0 (points with distance 0 are "no return" on the wire too).
    /// </summary>
    public static byte[] LaserScan(ulong timeNs, string frameId, PlanarPose origin, IReadOnlyList<ScanPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var ranges = new double[ScanBins];
        foreach (var p in points)
        {
            if (p.DistanceMm == 0)
            {
                continue;
            }

            var bin = (int)Math.Round(p.Angle * (double)ScanBins / 65536) % ScanBins;
            var metres = p.DistanceMm / 1000.0;
            if (ranges[bin] == 0 || metres < ranges[bin])
            {
                ranges[bin] = metres;
            }
        }

        return Json(json =>
        {
            json.WriteStartObject();
            Timestamp(json, timeNs);
            json.WriteString("frame_id", frameId);
            Pose(json, "pose", origin);
            json.WriteNumber("start_angle", 0);
            json.WriteNumber("end_angle", -2 * Math.PI * (ScanBins - 1) / ScanBins);
            json.WriteStartArray("ranges");
            foreach (var r in ranges)
            {
                json.WriteNumberValue(r);
            }

            json.WriteEndArray();
            json.WriteStartArray("intensities");
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>foxglove.PoseInFrame.</summary>
    public static byte[] PoseInFrame(ulong timeNs, string frameId, PlanarPose pose) => Json(json =>
    {
        json.WriteStartObject();
        Timestamp(json, timeNs);
        json.WriteString("frame_id", frameId);
        Pose(json, "pose", pose);
        json.WriteEndObject();
    });

    /// <summary>foxglove.Log: <paramref name="name"/> is who (a client, "server", "arduino").</summary>
    public static byte[] Log(ulong timeNs, FoxgloveLogLevel level, string name, string message) => Json(json =>
    {
        json.WriteStartObject();
        Timestamp(json, timeNs);
        json.WriteNumber("level", (int)level);
        json.WriteString("message", message);
        json.WriteString("name", name);
        json.WriteString("file", "");
        json.WriteNumber("line", 0);
        json.WriteEndObject();
    });

    /// <summary>A cell nothing has been seen in: ROS's −1 (nav_msgs/OccupancyGrid) read as uint8.</summary>
    public const byte GridUnknown = 255;

    /// <summary>foxglove.NumericType UINT8.</summary>
    private const int NumericTypeUInt8 = 1;

    /// <summary>
    /// foxglove.Grid: the map's tiles' bounding rectangle (OccupancyGrid.Bounds) in <paramref name="frameId"/>, one
    /// byte a cell in field "occupancy": the probability that it is occupied in percent, 0 (free) to 100 (occupied),
    /// <see cref="GridUnknown"/> where nothing was seen (log-odds 0), as ROS's occupancy grids and RViz's "map"
    /// palette read them. Rows from the grid's bottom (lowest y) up, cells left (lowest x) to right; <c>pose</c> is the
    /// bottom-left cell's corner. Null for a grid that has seen nothing.
    /// </summary>
    public static byte[]? Grid(ulong timeNs, string frameId, OccupancyGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var (x0, y0, width, height) = grid.Bounds();
        if (width == 0)
        {
            return null;
        }

        var cells = new byte[width * height];
        for (var row = 0; row < height; row++)
        {
            for (var column = 0; column < width; column++)
            {
                cells[(row * width) + column] = Occupancy(grid, x0 + column, y0 + row);
            }
        }

        var metres = grid.CellCm / 100;
        return Json(json =>
        {
            json.WriteStartObject();
            Timestamp(json, timeNs);
            json.WriteString("frame_id", frameId);
            Pose(json, "pose", new PlanarPose(x0 * metres, y0 * metres, 0));
            json.WriteNumber("column_count", width);
            json.WriteStartObject("cell_size");
            json.WriteNumber("x", metres);
            json.WriteNumber("y", metres);
            json.WriteEndObject();
            json.WriteNumber("row_stride", width);
            json.WriteNumber("cell_stride", 1);
            json.WriteStartArray("fields");
            json.WriteStartObject();
            json.WriteString("name", "occupancy");
            json.WriteNumber("offset", 0);
            json.WriteNumber("type", NumericTypeUInt8);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteBase64String("data", cells);
            json.WriteEndObject();
        });
    }

    /// <summary>A cell as <see cref="Grid"/> writes it: 0–100 % occupied, or <see cref="GridUnknown"/>.</summary>
    public static byte Occupancy(OccupancyGrid grid, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(grid);
        return grid.LogOdds(x, y) == 0 ? GridUnknown : (byte)Math.Round(grid.Probability(x, y) * 100);
    }

    /// <summary>Nanoseconds since the Unix epoch from Unix milliseconds (negative: 0).</summary>
    public static ulong NanosFromUnixMs(long unixMs) => unixMs <= 0 ? 0 : (ulong)unixMs * 1_000_000;

    /// <summary>Nanoseconds since the Unix epoch.</summary>
    public static ulong Nanos(DateTimeOffset at) => at.UtcTicks <= DateTimeOffset.UnixEpoch.UtcTicks ? 0 : (ulong)(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static void Timestamp(Utf8JsonWriter json, ulong timeNs)
    {
        json.WriteStartObject("timestamp");
        json.WriteNumber("sec", timeNs / 1_000_000_000);
        json.WriteNumber("nsec", timeNs % 1_000_000_000);
        json.WriteEndObject();
    }

    private static void Pose(Utf8JsonWriter json, string name, PlanarPose pose)
    {
        json.WriteStartObject(name);
        json.WriteStartObject("position");
        json.WriteNumber("x", pose.X);
        json.WriteNumber("y", pose.Y);
        json.WriteNumber("z", 0);
        json.WriteEndObject();
        // A rotation about +z by the heading: (0, 0, sin(h/2), cos(h/2)).
        json.WriteStartObject("orientation");
        json.WriteNumber("x", 0);
        json.WriteNumber("y", 0);
        json.WriteNumber("z", Math.Sin(pose.Heading / 2));
        json.WriteNumber("w", Math.Cos(pose.Heading / 2));
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
