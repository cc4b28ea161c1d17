// The JSON the page and the gateway exchange over the WebSocket (docs/protocol.md, "Web gateway").
// One JSON object per WebSocket text message, each with a "type".
//
// page -> gateway                                  gateway -> page
// {"type":"drive","id":1,"move":"forward",         {"type":"hello","robot":"host:port","version":"…","degreesPerTurnTick":0.39}
//   "value":50,"speed":75}  move: forward|reverse| {"type":"link","state":"connecting|connected|reconnecting|offline","detail":"…"}
//   left|right; value cm or degrees, 0 = until    {"type":"lease","role":"driver|watcher|none","holder":"laptop"|null,"you":"laptop"}
//   stopped                                        {"type":"status","counters":{…10 counters…},"pose":{"x":0,"y":0,"heading":0}}
// {"type":"stop","id":2}                           {"type":"path","points":[[x,y],…],"pose":{…}}
// {"type":"stats","id":3}                          {"type":"reply","id":1,"ok":true,"text":"OK","ms":12.5}
// {"type":"clear","id":4}  (clear the counters)    {"type":"message","text":"…"}   (the Arduino's MESSAGE packets)
// {"type":"lease","id":5,"action":"take|release"}  {"type":"rtt","ms":3.2}          (gateway <-> robot round trip)
// {"type":"ping","id":6}                           {"type":"pong","id":6}
// {"type":"reset-path"}                            {"type":"error","text":"…"}      (a message the gateway could not read)
// {"type":"declared","id":7,"name":"colour",       hello's "commands": the team's declared commands (docs/extensions.md),
//   "params":[40]}  a team's declared command        [{"name","key","help","usage","moves","driversOnly","params":[{"name","unit","min","max"}]}]
//                                                  reply's "reading" (a declared command's answer): {"command","values":[{"name","value","unit"}],
//                                                    "text","swatch":"#rrggbb"|null}
//                                                  {"type":"notice","kind":"safety|serial","text":"…"} (safety stops, the Arduino's serial link)
//                                                  {"type":"scan","seq":42,"points":[[deg×10,mm],…]} (a lidar revolution; points with a return, degrees clockwise from ahead)
// A recording played back (alex replay --web) has no robot to drive: hello's "replay" is {"file","start","duration","speed"}
// (start: ISO 8601 UTC of the first message; duration s) and the page is read-only; then:
//                                                  {"type":"pose","pose":{…}}        (where Alex was: the path grows)
//                                                  {"type":"replay","at":12.5,"ended":false} (the recording's clock, s since its start)
//                                                  {"type":"notice","kind":"log","text":"laptop: f 10 50 -> ok"} (a recorded log line)
//                                                  {"type":"map","seq":7,"cell":5,"pose":{…},"reset":false,"tiles":[[tx,ty,"runs"],…]} (the server's map:
//                                                    changed tiles, runs base64 as on the wire; reset: forget the tiles held)
using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Mapping;
using Alex.Protocol.Serial;

namespace Alex.Web.Robot;

/// <summary>A recording played back: its file's name, when its first message was recorded, how long it is, how fast it plays.</summary>
internal sealed record ReplayInfo(string File, DateTimeOffset Start, TimeSpan Duration, double Speed);

/// <summary>What a page asked for, after validation.</summary>
internal readonly record struct PageRequest(string Type, long Id, DriveCommand Command, bool TakeLease);

/// <summary>Reads the page's requests and writes the gateway's messages. Pure: bytes in, bytes out.</summary>
internal static class PageMessages
{
    /// <summary>Largest request the gateway reads; a page never needs more than a few dozen bytes.</summary>
    public const int MaxRequestBytes = 1024;

    /// <summary>Move and turn limits the page enforces before the robot server applies its own.</summary>
    public const uint MaxValue = 10_000;
    public const uint MaxSpeed = 100;

    /// <summary>Parses one request (the course's commands only). Returns an error text for the page instead of throwing.</summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, out PageRequest request, out string? error) =>
        TryRead(utf8, TeamExtensions.None, out request, out error);

    /// <summary>Parses one request, the team's declared commands by name included.</summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, TeamExtensions extensions, out PageRequest request, out string? error)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        request = default;
        error = null;
        if (utf8.Length > MaxRequestBytes)
        {
            error = $"message longer than {MaxRequestBytes} bytes";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 4 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            {
                error = "expected a JSON object with a \"type\"";
                return false;
            }

            var type = t.GetString()!;
            var id = root.TryGetProperty("id", out var idEl) && idEl.TryGetInt64(out var i) ? i : 0;
            switch (type)
            {
                case "drive":
                    if (!TryReadDrive(root, out var command, out error))
                    {
                        return false;
                    }

                    request = new PageRequest(type, id, command, false);
                    return true;
                case "declared":
                    if (!TryReadDeclared(root, extensions, out var declared, out error))
                    {
                        return false;
                    }

                    request = new PageRequest(type, id, declared, false);
                    return true;
                case "stop":
                    request = new PageRequest(type, id, new DriveCommand(CommandCode.Stop), false);
                    return true;
                case "stats":
                    request = new PageRequest(type, id, new DriveCommand(CommandCode.GetStats), false);
                    return true;
                case "clear":
                    request = new PageRequest(type, id, new DriveCommand(CommandCode.ClearStats), false);
                    return true;
                case "lease":
                    var action = root.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                    if (action is not ("take" or "release"))
                    {
                        error = "lease action must be \"take\" or \"release\"";
                        return false;
                    }

                    request = new PageRequest(type, id, default, action == "take");
                    return true;
                case "ping":
                case "reset-path":
                    request = new PageRequest(type, id, default, false);
                    return true;
                default:
                    error = $"unknown message type \"{Truncate(type)}\"";
                    return false;
            }
        }
        catch (JsonException)
        {
            error = "not valid JSON";
            return false;
        }
    }

    private static bool TryReadDrive(JsonElement root, out DriveCommand command, out string? error)
    {
        command = default;
        error = null;
        var move = root.TryGetProperty("move", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        CommandCode? code = move switch
        {
            "forward" => CommandCode.Forward,
            "reverse" => CommandCode.Reverse,
            "left" => CommandCode.TurnLeft,
            "right" => CommandCode.TurnRight,
            _ => null,
        };
        if (code is null)
        {
            error = "move must be forward, reverse, left or right";
            return false;
        }

        if (!TryReadUInt(root, "value", MaxValue, out var value) || !TryReadUInt(root, "speed", MaxSpeed, out var speed))
        {
            error = $"value must be a whole number 0-{MaxValue} and speed 0-{MaxSpeed}";
            return false;
        }

        command = new DriveCommand(code.Value, value, speed);
        return true;
    }

    // {"name":"sweep","params":[40]}: a declared name, then its params in order, each in its declared range.
    private static bool TryReadDeclared(JsonElement root, TeamExtensions extensions, out DriveCommand command, out string? error)
    {
        command = default;
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
        if (!extensions.TryGetByName(name, out var declared))
        {
            error = extensions.IsEmpty
                ? "no team commands are declared (alex web --extensions FILE)"
                : $"\"{Truncate(name)}\" is not a declared command (declared: {string.Join(", ", extensions.Commands.Select(c => c.Name))})";
            return false;
        }

        Span<uint> values = stackalloc uint[2];
        if (root.TryGetProperty("params", out var ps))
        {
            if (ps.ValueKind != JsonValueKind.Array || ps.GetArrayLength() > declared.Params.Count)
            {
                error = $"{declared.Name} takes {declared.Params.Count} parameter(s), as an array of whole numbers";
                return false;
            }

            var i = 0;
            foreach (var p in ps.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Number || !p.TryGetUInt32(out values[i]))
                {
                    error = $"{declared.Name}: {declared.Params[i].Name} must be a whole number 0-{uint.MaxValue}";
                    return false;
                }

                i++;
            }
        }

        command = new DriveCommand((CommandCode)declared.Code, values[0], values[1]);
        error = declared.CheckRanges(command);
        return error is null;
    }

    private static bool TryReadUInt(JsonElement root, string name, uint max, out uint value)
    {
        value = 0;
        return root.TryGetProperty(name, out var el) && el.ValueKind == JsonValueKind.Number &&
               el.TryGetUInt32(out value) && value <= max;
    }

    /// <summary>How the gateway's log names a command: a declared one by its name and params.</summary>
    public static string Describe(DriveCommand c, TeamExtensions extensions) =>
        extensions.TryGetByCode(c.Command, out _) ? extensions.Describe(c) : Describe(c);

    public static string Describe(DriveCommand c) => c.Command switch
    {
        CommandCode.Forward => $"forward {c.Param0} cm at {c.Param1} %",
        CommandCode.Reverse => $"reverse {c.Param0} cm at {c.Param1} %",
        CommandCode.TurnLeft => $"left {c.Param0}° at {c.Param1} %",
        CommandCode.TurnRight => $"right {c.Param0}° at {c.Param1} %",
        CommandCode.Stop => "stop",
        CommandCode.GetStats => "get stats",
        CommandCode.ClearStats => "clear stats",
        _ => $"command {(byte)c.Command}",
    };

    /// <summary>The first message: the robot, the version, the geometry and the team's declared commands with their keys.</summary>
    public static byte[] Hello(string robot, string version, RobotGeometry geometry, TeamExtensions extensions) => Hello(robot, version, geometry, extensions, null);

    /// <summary>The first message of a gateway playing a recording back: the page shows it, read-only.</summary>
    public static byte[] Hello(string robot, string version, RobotGeometry geometry, ReplayInfo replay) => Hello(robot, version, geometry, TeamExtensions.None, replay);

    private static byte[] Hello(string robot, string version, RobotGeometry geometry, TeamExtensions extensions, ReplayInfo? replay) => Write(w =>
    {
        w.WriteString("type", "hello");
        w.WriteString("robot", robot);
        w.WriteString("version", version);
        w.WriteNumber("degreesPerTurnTick", Math.Round(geometry.DegreesPerTurnTick, 6));
        w.WriteStartArray("commands");
        foreach (var c in extensions.Commands)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            WriteNullable(w, "key", c.Key?.ToString());
            w.WriteString("help", c.Help);
            w.WriteString("usage", c.Usage);
            w.WriteBoolean("moves", c.Moves);
            w.WriteBoolean("driversOnly", c.DriversOnly);
            w.WriteStartArray("params");
            foreach (var p in c.Params)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteString("unit", p.Unit);
                w.WriteNumber("min", p.Min);
                if (p.HasMax)
                {
                    w.WriteNumber("max", p.Max);
                }
                else
                {
                    w.WriteNull("max");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (replay is { } r)
        {
            w.WriteStartObject("replay");
            w.WriteString("file", r.File);
            w.WriteString("start", r.Start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("duration", Math.Round(r.Duration.TotalSeconds, 3));
            w.WriteNumber("speed", r.Speed);
            w.WriteEndObject();
        }
    });

    public static byte[] Link(string state, string? detail) => Write(w =>
    {
        w.WriteString("type", "link");
        w.WriteString("state", state);
        if (detail is null)
        {
            w.WriteNull("detail");
        }
        else
        {
            w.WriteString("detail", detail);
        }
    });

    public static byte[] Lease(LeaseView lease, string? you) => Write(w =>
    {
        w.WriteString("type", "lease");
        w.WriteString("role", lease.Role);
        WriteNullable(w, "holder", lease.Holder);
        WriteNullable(w, "you", you);
    });

    public static byte[] Status(in StatusCounters c, Pose pose)
    {
        var copy = c;
        return Write(w =>
        {
            w.WriteString("type", "status");
            w.WriteStartObject("counters");
            w.WriteNumber("leftForwardTicks", copy.LeftForwardTicks);
            w.WriteNumber("rightForwardTicks", copy.RightForwardTicks);
            w.WriteNumber("leftReverseTicks", copy.LeftReverseTicks);
            w.WriteNumber("rightReverseTicks", copy.RightReverseTicks);
            w.WriteNumber("leftForwardTurnTicks", copy.LeftForwardTurnTicks);
            w.WriteNumber("rightForwardTurnTicks", copy.RightForwardTurnTicks);
            w.WriteNumber("leftReverseTurnTicks", copy.LeftReverseTurnTicks);
            w.WriteNumber("rightReverseTurnTicks", copy.RightReverseTurnTicks);
            w.WriteNumber("forwardDistanceCm", copy.ForwardDistanceCm);
            w.WriteNumber("reverseDistanceCm", copy.ReverseDistanceCm);
            w.WriteEndObject();
            WritePose(w, pose);
        });
    }

    public static byte[] Path(IReadOnlyList<Pose> points, Pose pose) => Write(w =>
    {
        w.WriteString("type", "path");
        w.WriteStartArray("points");
        foreach (var p in points)
        {
            w.WriteStartArray();
            w.WriteNumberValue(Math.Round(p.X, 1));
            w.WriteNumberValue(Math.Round(p.Y, 1));
            w.WriteEndArray();
        }

        w.WriteEndArray();
        WritePose(w, pose);
    });

    public static byte[] Reply(long id, RobotReply reply, TimeSpan elapsed) => Write(w =>
    {
        w.WriteString("type", "reply");
        w.WriteNumber("id", id);
        w.WriteBoolean("ok", reply.Ok);
        w.WriteString("text", reply.Text);
        w.WriteNumber("ms", Math.Round(elapsed.TotalMilliseconds, 1));
        if (reply.Reading is { } reading)
        {
            w.WriteStartObject("reading");
            w.WriteString("command", reading.Command);
            w.WriteStartArray("values");
            foreach (var v in reading.Values)
            {
                w.WriteStartObject();
                w.WriteString("name", v.Name);
                w.WriteNumber("value", v.Value);
                w.WriteString("unit", v.Unit);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("text", reading.Text);
            WriteNullable(w, "swatch", reading.Swatch);
            w.WriteEndObject();
        }
    });

    public static byte[] Message(string text) => Write(w =>
    {
        w.WriteString("type", "message");
        w.WriteString("text", text);
    });

    public static byte[] Notice(string kind, string text) => Write(w =>
    {
        w.WriteString("type", "notice");
        w.WriteString("kind", kind);
        w.WriteString("text", text);
    });

    /// <summary>A lidar revolution for the page: the points with a return, angle in tenths of a degree clockwise from ahead, distance in mm.</summary>
    public static byte[] Scan(ScanRevolution revolution) => Write(w =>
    {
        w.WriteString("type", "scan");
        w.WriteNumber("seq", revolution.Sequence);
        w.WriteStartArray("points");
        foreach (var p in revolution.Measured)
        {
            w.WriteStartArray();
            w.WriteNumberValue((int)Math.Round(p.AngleDegrees * 10));
            w.WriteNumberValue(p.DistanceMm);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    });

    /// <summary>A lidar revolution as (tenths of a degree clockwise from ahead, mm) pairs, the points with a return.</summary>
    public static byte[] Scan(long sequence, IEnumerable<(int Tenths, int Mm)> points) => Write(w =>
    {
        w.WriteString("type", "scan");
        w.WriteNumber("seq", sequence);
        w.WriteStartArray("points");
        foreach (var (tenths, mm) in points)
        {
            w.WriteStartArray();
            w.WriteNumberValue(tenths);
            w.WriteNumberValue(mm);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    });

    /// <summary>
    /// Tiles of the server's map (docs/protocol.md §4 "MapTiles") and the pose it puts the robot at (cm, degrees
    /// counter-clockwise from the map's +x). Each tile is [tile x, tile y, its runs in base64]: the wire's (count, i8
    /// log-odds × 32) pairs, so the page draws exactly the server's cells. <paramref name="reset"/>: the page forgets
    /// the tiles it holds first (a new connection's map replaces the old one).
    /// </summary>
    public static byte[] Map(uint sequence, double cellCm, MapPose pose, IEnumerable<MapTile> tiles, bool reset = false) => Write(w =>
    {
        w.WriteString("type", "map");
        w.WriteNumber("seq", sequence);
        w.WriteNumber("cell", cellCm);
        w.WriteStartObject("pose");
        w.WriteNumber("x", Math.Round(pose.X, 1));
        w.WriteNumber("y", Math.Round(pose.Y, 1));
        w.WriteNumber("heading", Math.Round(pose.HeadingDegrees, 1));
        w.WriteEndObject();
        w.WriteBoolean("reset", reset);
        w.WriteStartArray("tiles");
        foreach (var t in tiles)
        {
            w.WriteStartArray();
            w.WriteNumberValue(t.TileX);
            w.WriteNumberValue(t.TileY);
            w.WriteBase64StringValue(t.Runs());
            w.WriteEndArray();
        }

        w.WriteEndArray();
    });

    /// <summary>Where Alex is now (a recording played back): the page's path grows to it.</summary>
    public static byte[] Pose(Pose pose) => Write(w =>
    {
        w.WriteString("type", "pose");
        WritePose(w, pose);
    });

    /// <summary>The clock of a recording played back: seconds since its first message; <paramref name="ended"/> once all is played.</summary>
    public static byte[] Replay(TimeSpan at, bool ended) => Write(w =>
    {
        w.WriteString("type", "replay");
        w.WriteNumber("at", Math.Round(at.TotalSeconds, 1));
        w.WriteBoolean("ended", ended);
    });

    public static byte[] RoundTrip(TimeSpan rtt) => Write(w =>
    {
        w.WriteString("type", "rtt");
        w.WriteNumber("ms", Math.Round(rtt.TotalMilliseconds, 1));
    });

    public static byte[] Pong(long id) => Write(w =>
    {
        w.WriteString("type", "pong");
        w.WriteNumber("id", id);
    });

    public static byte[] Error(string text) => Write(w =>
    {
        w.WriteString("type", "error");
        w.WriteString("text", text);
    });

    private static void WritePose(Utf8JsonWriter w, Pose pose)
    {
        w.WriteStartObject("pose");
        w.WriteNumber("x", Math.Round(pose.X, 1));
        w.WriteNumber("y", Math.Round(pose.Y, 1));
        w.WriteNumber("heading", Math.Round(pose.HeadingDeg, 1));
        w.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string Truncate(string s) => s.Length <= 32 ? s : string.Create(CultureInfo.InvariantCulture, $"{s[..32]}…");
}
