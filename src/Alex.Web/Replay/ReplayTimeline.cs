// A recording (docs/recording.md "Channels") as what the web page shows, in the order and at the times it was recorded:
// the pose (PoseInFrame, and the pose each LaserScan was taken from), each scan as the page's points, each log line.
// Messages are found by their schema (foxglove.PoseInFrame, foxglove.LaserScan, foxglove.Log with JSON encoding), so
// a file from another recorder plays as far as it uses them; a message not in its schema's shape is left out and counted.
// Pure: the file's contents in, frames out.
using System.Text.Json;
using Alex.Client;
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
            if (kind is not (FoxgloveMessages.PoseInFrameSchema or FoxgloveMessages.LaserScanSchema or FoxgloveMessages.LogSchema))
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
