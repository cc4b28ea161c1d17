// The retained status a robot publishes on alexlink/ROBOT/status (docs/fleet.md "Status"): UTF-8 JSON, one
// object, names in camelCase, absent fields omitted. Its Last Will is the same document with only
// "state": "offline". Readers accept unknown fields (newer robots) and refuse documents over MaxBytes.
using System.Text.Json;
using System.Text.Json.Serialization;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Fleet;

/// <summary>The odometry a robot last reported (its STATUS counters), in short.</summary>
public sealed record FleetOdometry(long ForwardCm, long ReverseCm, DateTimeOffset At);

/// <summary>One robot's state as the fleet sees it.</summary>
public sealed record FleetStatus
{
    public const string Online = "online";
    public const string Offline = "offline";

    /// <summary>A status document is a few hundred bytes; anything much larger is not one.</summary>
    public const int MaxBytes = 8 * 1024;

    /// <summary>"online" from the robot, "offline" from its Last Will (or anything else a newer robot says).</summary>
    public string State { get; init; } = Online;

    public string? Version { get; init; }

    /// <summary>True when the Arduino is connected.</summary>
    public bool? Arduino { get; init; }

    /// <summary>Why the Arduino is not connected, or how it is (the port).</summary>
    public string? ArduinoDetail { get; init; }

    /// <summary>True from an accepted move until a STOP went out.</summary>
    public bool? Moving { get; init; }

    /// <summary>Who holds the driver lease ("" or null: nobody).</summary>
    public string? Lease { get; init; }

    public int? Drivers { get; init; }

    public int? Watchers { get; init; }

    public int? Admins { get; init; }

    public FleetOdometry? Odometry { get; init; }

    /// <summary>When the robot's server certificate expires.</summary>
    public DateTimeOffset? CertificateNotAfter { get; init; }

    /// <summary>When the robot's CRL must be renewed (it refuses everyone after).</summary>
    public DateTimeOffset? CrlNextUpdate { get; init; }

    /// <summary>When the robot wrote this (its clock).</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>What the broker publishes for a robot whose connection died (its Last Will).</summary>
    public static FleetStatus OfflineWill { get; } = new() { State = Offline };

    /// <summary>The same state without what changes by itself (the time, the odometry): equal means nothing worth telling at once.</summary>
    public FleetStatus Essentials() => this with { At = null, Odometry = null };

    /// <summary>The fleet's view of a robot server's own status (the admin status of docs/protocol.md) and its last odometry.</summary>
    public static FleetStatus From(AlexLinkServerStatus server, StatusCounters? counters, DateTimeOffset countersAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(server);
        int Count(AlexLinkRole role) => server.Sessions.Count(s => s.Role == role);
        return new FleetStatus
        {
            Version = server.Version,
            Arduino = server.Link == AlexLinkLinkStatus.Up,
            ArduinoDetail = server.LinkDetail.Length == 0 ? null : server.LinkDetail,
            Moving = server.MayBeMoving,
            Lease = server.LeaseHolder.Length == 0 ? null : server.LeaseHolder,
            Drivers = Count(AlexLinkRole.Driver),
            Watchers = Count(AlexLinkRole.Watcher),
            Admins = Count(AlexLinkRole.Admin),
            Odometry = counters is { } c ? new FleetOdometry(c.ForwardDistanceCm, c.ReverseDistanceCm, countersAt) : null,
            CertificateNotAfter = server.CertificateNotAfterUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(server.CertificateNotAfterUnixMs) : null,
            CrlNextUpdate = server.CrlNextUpdateUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(server.CrlNextUpdateUnixMs) : null,
            At = now,
        };
    }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, FleetJsonContext.Default.FleetStatus);

    /// <summary>Reads a status document; false (and null) for anything that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out FleetStatus? status)
    {
        status = null;
        if (json.Length is 0 or > MaxBytes)
        {
            return false;
        }

        try
        {
            status = JsonSerializer.Deserialize(json, FleetJsonContext.Default.FleetStatus);
            return status is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>
/// What an instructor publishes on alexlink/fleet/stop or alexlink/ROBOT/stop: who and why. Only the broker's ACL
/// says who may publish it; the robot stops on any message there, readable or not (a STOP is never refused).
/// </summary>
public sealed record FleetStop(string? By, string? Reason)
{
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, FleetJsonContext.Default.FleetStop);

    /// <summary>Who and why from a STOP's payload, as far as it says; never fails.</summary>
    public static FleetStop Read(ReadOnlySpan<byte> json)
    {
        if (json.Length is > 0 and <= FleetStatus.MaxBytes)
        {
            try
            {
                if (JsonSerializer.Deserialize(json, FleetJsonContext.Default.FleetStop) is { } stop)
                {
                    return stop with { By = Printable(stop.By), Reason = Printable(stop.Reason) };
                }
            }
            catch (JsonException)
            {
            }
        }

        return new FleetStop(null, null);
    }

    /// <summary>The line the robot tells its clients and its audit log.</summary>
    public string Describe(string topic) =>
        $"STOP from the fleet ({topic}{(By is { Length: > 0 } by ? $", by {by}" : "")}){(Reason is { Length: > 0 } why ? ": " + why : "")}";

    // Words from the network end up on clients' terminals: printable ASCII only, short.
    private static string? Printable(string? text) =>
        text is null ? null : new string(text.Where(c => c is >= ' ' and <= '~').Take(120).ToArray());
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FleetStatus))]
[JsonSerializable(typeof(FleetStop))]
internal sealed partial class FleetJsonContext : JsonSerializerContext
{
}
