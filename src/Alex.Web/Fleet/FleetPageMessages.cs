// The JSON the fleet page and the fleet gateway exchange over the WebSocket (docs/fleet.md "The fleet page").
// One JSON object per WebSocket text message, each with a "type".
//
// page -> gateway                                gateway -> page
// {"type":"stop","id":1,"all":true}  STOP all    {"type":"hello","broker":"mqtts://…","you":"teacher","version":"…",
// {"type":"stop","id":2,"robot":"alex7"}           "mayStop":true,"checked":true,"why":"…"}   (who may STOP, from the CA's ledger)
// {"type":"ping","id":3}                         {"type":"board","connected":true,"problem":null,"rows":[ROW,…]}   (worst first; on
//                                                  change, every second; "connected":false with "problem": why the broker is
//                                                  lost, the rows as last heard, while the gateway reconnects)
//                                                {"type":"stopped","id":1,"ok":true,"text":"STOP sent to every robot on the broker"}
//                                                {"type":"pong","id":3}
//                                                {"type":"error","text":"…"}   (a message the gateway could not read)
// ROW: {"robot","state":"offline|silent|arduino-down|expiring|moving|idle","note","ageMs" (since its last status, by the
//       gateway's clock),"lease"|null,"drivers","watchers","admins","version","forwardCm","reverseCm",
//       "certificateNotAfter","crlNextUpdate"}   (numbers and times null when the robot did not say)
using System.Buffers;
using System.Text.Json;
using Alex.Pki.Fleet;
using Alex.Protocol.Fleet;

namespace Alex.Web.Fleet;

/// <summary>What the fleet page asked for, after validation: STOP for every robot (<see cref="Robot"/> null) or one, or a ping.</summary>
internal readonly record struct FleetPageRequest(string Type, long Id, string? Robot);

/// <summary>Who the page's STOPs go out as, and whether they may (<see cref="FleetAccess.StopRight"/>).</summary>
public sealed record FleetPageFacts(string Broker, string You, FleetStopRight Right);

/// <summary>Reads the fleet page's requests and writes the gateway's messages. Pure: bytes in, bytes out.</summary>
internal static class FleetPageMessages
{
    /// <summary>Largest request the gateway reads; a STOP is a few dozen bytes.</summary>
    public const int MaxRequestBytes = 1024;

    /// <summary>Parses one request; false with a text for the page instead of throwing.</summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, out FleetPageRequest request, out string? error)
    {
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

            var id = root.TryGetProperty("id", out var idEl) && idEl.TryGetInt64(out var i) ? i : 0;
            switch (t.GetString())
            {
                case "ping":
                    request = new FleetPageRequest("ping", id, null);
                    return true;
                case "stop":
                    var all = root.TryGetProperty("all", out var allEl) && allEl.ValueKind == JsonValueKind.True;
                    var robot = root.TryGetProperty("robot", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;

                    // STOP for every robot is said explicitly: a request that merely lacks its robot is not one.
                    if (all == (robot is not null))
                    {
                        error = "a stop names one robot (\"robot\") or says \"all\": true";
                        return false;
                    }

                    if (robot is not null && FleetTopics.TopicLevelProblem(robot) is { } bad)
                    {
                        error = $"the robot name '{Printable(robot)}' {bad}";
                        return false;
                    }

                    request = new FleetPageRequest("stop", id, robot);
                    return true;
                default:
                    error = $"unknown type '{Printable(t.GetString()!)}'";
                    return false;
            }
        }
        catch (JsonException)
        {
            error = "not JSON";
            return false;
        }
    }

    public static byte[] Hello(FleetPageFacts facts, string version) => Write(w =>
    {
        w.WriteString("type", "hello");
        w.WriteString("broker", facts.Broker);
        w.WriteString("you", facts.You);
        w.WriteString("version", version);
        w.WriteBoolean("mayStop", facts.Right.Allowed);
        w.WriteBoolean("checked", facts.Right.Checked);
        w.WriteString("why", facts.Right.Why);
    });

    /// <summary>
    /// The board: every robot worst first, its age since its last status at <paramref name="now"/>, and whether the gateway
    /// has the broker (<paramref name="link"/>).
    /// </summary>
    public static byte[] Board(IReadOnlyList<FleetRow> rows, FleetWatchState link, DateTimeOffset now) => Write(w =>
    {
        w.WriteString("type", "board");
        w.WriteBoolean("connected", link.Connected);
        WriteNullable(w, "problem", link.Connected ? null : link.Problem);
        w.WriteStartArray("rows");
        foreach (var row in rows)
        {
            var s = row.Status;
            w.WriteStartObject();
            w.WriteString("robot", row.Robot);
            w.WriteString("state", FleetRowStates.Name(row.State));
            w.WriteString("note", row.Note);
            w.WriteNumber("ageMs", Math.Max(0, (long)(now - row.LastSeen).TotalMilliseconds));
            WriteNullable(w, "lease", s.Lease);
            WriteNullable(w, "drivers", s.Drivers);
            WriteNullable(w, "watchers", s.Watchers);
            WriteNullable(w, "admins", s.Admins);
            WriteNullable(w, "version", s.Version);
            WriteNullable(w, "forwardCm", s.Odometry?.ForwardCm);
            WriteNullable(w, "reverseCm", s.Odometry?.ReverseCm);
            WriteNullable(w, "certificateNotAfter", s.CertificateNotAfter);
            WriteNullable(w, "crlNextUpdate", s.CrlNextUpdate);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    public static byte[] Stopped(long id, bool ok, string text) => Write(w =>
    {
        w.WriteString("type", "stopped");
        w.WriteNumber("id", id);
        w.WriteBoolean("ok", ok);
        w.WriteString("text", text);
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

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            w.WriteString(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // Names from the network are echoed to the page as text (never markup), short.
    private static string Printable(string text) => new(text.Where(c => c is >= ' ' and <= '~').Take(64).ToArray());
}
