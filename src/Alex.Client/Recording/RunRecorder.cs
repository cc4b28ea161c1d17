// What a recording holds (docs/recording.md "Channels"), decided here for both recorders: `alex record` (a client
// that watches) and `alex serve --record` (the server recording itself). Pure: the caller stamps each message with
// the time it arrived and moves the writer's bytes to a file.
//
// | what comes in (AlexLink/1, docs/protocol.md §4)     | what is recorded                                            |
// |-----------------------------------------------------|-------------------------------------------------------------|
// | Scan parts                                          | /alex/scan LaserScan per whole revolution, at Alex's pose   |
// |   ... and the same revolution, mapped (Mapper)      | /alex/map Grid, at most every MapInterval and at the end,   |
// |                                                     | only when the map changed                                   |
// | Status (telemetry or a GET_STATS reply)             | /alex/pose PoseInFrame when the dead-reckoned pose moved    |
// | LeaseState, LinkState, ArduinoText, SafetyStop,     | /alex/log Log                                               |
// | Error pushed with request id 0                      |                                                             |
// | audit records: command, connection-accepted/-closed | /alex/log Log (the command, who sent it, and its reply;       |
// |                                                     | GET_STATS only reads: its answer is the pose, not a line)   |
using System.Text.Json;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;

namespace Alex.Client.Recording;

/// <summary>Turns AlexLink/1 messages and audit records into a recording's messages. Not thread-safe: one writer task owns it.</summary>
public sealed class RunRecorder
{
    public const string ScanTopic = "/alex/scan";
    public const string PoseTopic = "/alex/pose";
    public const string LogTopic = "/alex/log";
    public const string MapTopic = "/alex/map";
    public const string Frame = "odom";

    /// <summary>The map is written at most this often (a grid is the whole map, tens of KiB), and at the end.</summary>
    public static readonly TimeSpan MapInterval = TimeSpan.FromSeconds(2);

    private readonly McapWriter _writer;
    private readonly DeadReckoning _odometry;
    private readonly Mapper _mapper;
    private readonly AlexLinkScanAssembler _scans = new();
    private readonly ushort _scan;
    private readonly ushort _pose;
    private readonly ushort _log;
    private readonly ushort _map;
    private bool _posed;
    private bool _mapChanged;
    private DateTimeOffset? _mapWritten;

    /// <summary>
    /// Starts the file: magic, header, the schemas and channels. <paramref name="odometry"/> and <paramref name="mapper"/>:
    /// the pose and the map so far, when this file continues a run (the next file of a series; its first map is
    /// written with its first scan); null: Alex starts at the origin with an empty map.
    /// </summary>
    public RunRecorder(McapWriter writer, DeadReckoning? odometry = null, Mapper? mapper = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _odometry = odometry ?? new DeadReckoning();
        _mapper = mapper ?? new Mapper();
        _mapChanged = _mapper.Map.Scans > 0;
        writer.Start();
        _scan = Channel(FoxgloveMessages.LaserScanSchema, ScanTopic);
        _pose = Channel(FoxgloveMessages.PoseInFrameSchema, PoseTopic);
        _log = Channel(FoxgloveMessages.LogSchema, LogTopic);
        _map = Channel(FoxgloveMessages.GridSchema, MapTopic);
    }

    /// <summary>The map built from the scans recorded so far (the laptop-side mapping, docs/mapping.md).</summary>
    public OccupancyGrid Map => _mapper.Map;

    public ulong MessageCount => _writer.MessageCount;

    /// <summary>Alex's pose on the floor (metres, radians counter-clockwise), from the odometry seen so far.</summary>
    public PlanarPose Pose
    {
        get
        {
            var p = _odometry.Current;
            return new PlanarPose(p.X / 100, p.Y / 100, p.HeadingDeg * Math.PI / 180);
        }
    }

    /// <summary>Records what a message says, if anything. True when a chunk was closed (flush the file now).</summary>
    public bool Record(AlexLinkMessage message, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(message);
        var now = FoxgloveMessages.Nanos(at);
        switch (message)
        {
            case AlexLinkScan part when _scans.Offer(part) is { } revolution:
                var stamp = FoxgloveMessages.NanosFromUnixMs(revolution.CompletedUnixMs);
                var closed = _writer.AddMessage(_scan, now, FoxgloveMessages.LaserScan(stamp == 0 ? now : stamp, Frame, Pose, revolution.Points));
                var odometry = _odometry.Current;
                _mapChanged |= _mapper.Add(new MapPose(odometry.X, odometry.Y, odometry.HeadingDeg * Math.PI / 180), MapScan.FromPoints(revolution.Points)).Inserted;
                if (_mapWritten is not { } written || at - written >= MapInterval)
                {
                    closed |= WriteMap(at);
                }

                return closed;
            case AlexLinkStatus status:
                // The first status places Alex at the origin; later ones only when it moved.
                if (!_odometry.Update(status.Counters) && _posed)
                {
                    return false;
                }

                _posed = true;
                var read = FoxgloveMessages.NanosFromUnixMs(status.ReadAtUnixMs);
                return _writer.AddMessage(_pose, now, FoxgloveMessages.PoseInFrame(read == 0 ? now : read, Frame, Pose));
            case AlexLinkLeaseState lease:
                return Log(now, FoxgloveLogLevel.Info, lease.Holder.Length == 0 ? "server" : lease.Holder, $"lease {lease.Change.ToString().ToLowerInvariant()}: {lease.Text}");
            case AlexLinkLinkState link:
                return Log(now, link.Status == AlexLinkLinkStatus.Up ? FoxgloveLogLevel.Info : FoxgloveLogLevel.Warning, "server", $"Arduino link {(link.Status == AlexLinkLinkStatus.Up ? "up" : "down")}: {link.Detail}");
            case AlexLinkArduinoText text:
                return Log(now, FoxgloveLogLevel.Info, "arduino", text.Text);
            case AlexLinkSafetyStop stop:
                return Log(now, FoxgloveLogLevel.Warning, stop.Who.Length == 0 ? "server" : stop.Who, $"safety stop ({stop.Reason}): {stop.Text}");
            case AlexLinkError { RequestId: 0 } error:
                return Log(now, FoxgloveLogLevel.Error, error.Code == AlexLinkErrorCode.ArduinoError ? "arduino" : "server", $"{error.Code}: {error.Text}");
            case AlexLinkAuditLine line:
                return RecordAudit(line.Json, at);
            default:
                return false;
        }
    }

    /// <summary>
    /// Records an audit record (docs/security.md "Audit log") that says what someone did: a command and its result,
    /// a client connecting or leaving. The rest (lease, dead-man, link) comes as messages to <see cref="Record"/>.
    /// </summary>
    public bool RecordAudit(string json, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(json);
        string? Field(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()) : null;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return false;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var now = FoxgloveMessages.Nanos(at);
            var name = Field(root, "name") ?? "server";
            switch (Field(root, "event"))
            {
                case "command" when Field(root, "command") == "g":
                    return false;
                case "command":
                    var result = Field(root, "result") ?? "";
                    var why = Field(root, "why") is { } w ? $" ({w})" : "";
                    var level = result.StartsWith("refused", StringComparison.Ordinal) ? FoxgloveLogLevel.Warning : FoxgloveLogLevel.Info;
                    return Log(now, level, name, $"{Field(root, "command")} -> {result}{why}");
                case "connection-accepted":
                    return Log(now, FoxgloveLogLevel.Info, name, $"connected ({Field(root, "role")}, {Field(root, "protocol")}) from {Field(root, "peer")}");
                case "connection-closed":
                    return Log(now, FoxgloveLogLevel.Info, name, $"disconnected: {Field(root, "reason")}");
                default:
                    return false;
            }
        }
    }

    /// <summary>A line of the recorder's own (what it could not record, why it stopped).</summary>
    public bool Note(DateTimeOffset at, FoxgloveLogLevel level, string text) => Log(FoxgloveMessages.Nanos(at), level, "recorder", text);

    /// <summary>Writes the open chunk out (returns whether there was one): nothing new came for a while.</summary>
    public bool CloseChunk() => _writer.CloseChunk();

    /// <summary>Ends the file: the map if it changed since it was last written, the last chunk, the summary, the footer.</summary>
    public void Finish(DateTimeOffset at)
    {
        WriteMap(at);
        _writer.Finish();
    }

    // The whole grid, when it changed since it was last written.
    private bool WriteMap(DateTimeOffset at)
    {
        if (!_mapChanged)
        {
            return false;
        }

        var now = FoxgloveMessages.Nanos(at);
        _mapChanged = false;
        _mapWritten = at;
        return FoxgloveMessages.Grid(now, Frame, _mapper.Map) is { } grid && _writer.AddMessage(_map, now, grid);
    }

    private bool Log(ulong now, FoxgloveLogLevel level, string name, string text) =>
        _writer.AddMessage(_log, now, FoxgloveMessages.Log(now, level, name, text));

    private ushort Channel(string schema, string topic) =>
        _writer.AddChannel(_writer.AddSchema(schema, "jsonschema", FoxgloveMessages.Schema(schema)), topic, "json");
}
