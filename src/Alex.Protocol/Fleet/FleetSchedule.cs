namespace Alex.Protocol.Fleet;

/// <summary>What the publisher should do now, and when to ask again at the latest.</summary>
public readonly record struct FleetPublishDecision(bool Publish, string Why, DateTimeOffset NextCheckAt);

/// <summary>
/// When a robot publishes its status (docs/fleet.md "Status"): at once when something that matters changed
/// (the Arduino, the lease, the sessions, moving, the certificates), odometry alone at most every
/// <see cref="OdometryInterval"/>, and otherwise a heartbeat every <see cref="Heartbeat"/> so the instructor's
/// view can tell a silent robot from a quiet one. After a (re)connection the next status goes out at once:
/// the broker may hold the robot's Last Will as its retained status.
/// </summary>
public sealed class FleetSchedule(TimeProvider time, TimeSpan heartbeat, TimeSpan odometryInterval)
{
    public static readonly TimeSpan DefaultHeartbeat = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultOdometryInterval = TimeSpan.FromSeconds(2);

    private FleetStatus? _sent;
    private DateTimeOffset _sentAt;

    public TimeSpan Heartbeat { get; } = heartbeat;

    public TimeSpan OdometryInterval { get; } = odometryInterval;

    /// <summary>Should <paramref name="current"/> be published now? When it should, it counts as sent.</summary>
    public FleetPublishDecision Decide(FleetStatus current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var now = time.GetUtcNow();
        string? why = null;
        if (_sent is null)
        {
            why = "first";
        }
        else if (_sent.Essentials() != current.Essentials())
        {
            why = "changed";
        }
        else if (now - _sentAt >= Heartbeat)
        {
            why = "heartbeat";
        }
        else if (current.Odometry != _sent.Odometry && now - _sentAt >= OdometryInterval)
        {
            why = "odometry";
        }

        if (why is null)
        {
            var next = _sentAt + (current.Odometry != _sent!.Odometry ? OdometryInterval : Heartbeat);
            return new FleetPublishDecision(false, "", next);
        }

        _sent = current;
        _sentAt = now;
        return new FleetPublishDecision(true, why, now + Heartbeat);
    }

    /// <summary>The broker connection is new: whatever it holds for us is not known, so the next status goes out.</summary>
    public void Reconnected() => _sent = null;
}

/// <summary>Where the fleet broker is: <c>mqtts://HOST[:PORT]</c> (TLS only; port 8883 unless given).</summary>
public sealed record FleetEndpoint(string Host, int Port)
{
    public const int DefaultPort = 8883;

    /// <summary>Parses the broker's address; false with the reason for anything else (plain mqtt:// included: the broker is TLS only).</summary>
    public static bool TryParse(string text, out FleetEndpoint? endpoint, out string problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        endpoint = null;
        problem = "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            problem = $"'{text}' is not a broker address";
            return false;
        }

        if (uri.Scheme != "mqtts")
        {
            problem = uri.Scheme == "mqtt"
                ? $"'{text}' is plain MQTT; the fleet broker takes only mutual TLS"
                : $"'{text}' is not an mqtts:// address";
            return false;
        }

        if (uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            problem = $"'{text}' has more than a host and a port";
            return false;
        }

        endpoint = new FleetEndpoint(uri.DnsSafeHost, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port);
        return true;
    }

    public override string ToString() => $"mqtts://{Host}:{Port}";
}
