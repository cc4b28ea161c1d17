namespace Alex.Protocol.Fleet;

/// <summary>How a robot looks on the instructor's board, worst first.</summary>
public enum FleetRowState
{
    /// <summary>Its Last Will: the broker lost it.</summary>
    Offline,

    /// <summary>Nothing heard for longer than a few heartbeats (the robot or its network is stuck; the broker has not noticed).</summary>
    Silent,

    /// <summary>The server runs, the Arduino is not connected.</summary>
    ArduinoDown,

    /// <summary>A certificate or the CRL ends within the warning period.</summary>
    Expiring,

    /// <summary>A move is running.</summary>
    Moving,

    /// <summary>Up and still.</summary>
    Idle,
}

/// <summary>The states' names, as every view shows them (the console table, --json, the web page's colours).</summary>
public static class FleetRowStates
{
    public static string Name(FleetRowState state) => state switch
    {
        FleetRowState.ArduinoDown => "arduino-down",
        _ => state.ToString().ToLowerInvariant(),
    };
}

/// <summary>One robot on the board: its last status, when it came, and how it looks now.</summary>
public sealed record FleetRow(string Robot, FleetStatus Status, DateTimeOffset LastSeen, FleetRowState State, string Note);

/// <summary>
/// The instructor's board (docs/fleet.md "The instructor's view"): the last status per robot, judged at a given
/// time. A robot is silent when nothing came for <see cref="SilentAfter"/> (three heartbeats by default).
/// </summary>
public sealed class FleetBoard
{
    private readonly Dictionary<string, (FleetStatus Status, DateTimeOffset At)> _robots = new(StringComparer.Ordinal);

    public TimeSpan SilentAfter { get; init; } = 3 * FleetSchedule.DefaultHeartbeat;

    public TimeSpan ExpiryWarning { get; init; } = TimeSpan.FromDays(14);

    public int Count => _robots.Count;

    /// <summary>A status came for <paramref name="robot"/> at <paramref name="at"/> (an empty retained message clears the robot).</summary>
    public void Heard(string robot, FleetStatus? status, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(robot);
        if (status is null)
        {
            _robots.Remove(robot);
            return;
        }

        _robots[robot] = (status, at);
    }

    /// <summary>Every robot, worst state first, then by name.</summary>
    public IReadOnlyList<FleetRow> Rows(DateTimeOffset now) =>
        [.. _robots.Select(r => Judge(r.Key, r.Value.Status, r.Value.At, now)).OrderBy(r => r.State).ThenBy(r => r.Robot, StringComparer.Ordinal)];

    public FleetRow Judge(string robot, FleetStatus status, DateTimeOffset lastSeen, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.State != FleetStatus.Online)
        {
            return new FleetRow(robot, status, lastSeen, FleetRowState.Offline, "offline (the broker lost it)");
        }

        if (now - lastSeen > SilentAfter)
        {
            return new FleetRow(robot, status, lastSeen, FleetRowState.Silent, $"nothing heard for {(int)(now - lastSeen).TotalSeconds} s");
        }

        if (status.Arduino == false)
        {
            return new FleetRow(robot, status, lastSeen, FleetRowState.ArduinoDown, status.ArduinoDetail ?? "the Arduino is not connected");
        }

        foreach (var (what, when) in new[] { ("certificate", status.CertificateNotAfter), ("CRL", status.CrlNextUpdate) })
        {
            if (when is { } end && end - now < ExpiryWarning)
            {
                return new FleetRow(robot, status, lastSeen, FleetRowState.Expiring, end < now ? $"its {what} expired {end:yyyy-MM-dd}" : $"its {what} ends {end:yyyy-MM-dd}");
            }
        }

        return status.Moving == true
            ? new FleetRow(robot, status, lastSeen, FleetRowState.Moving, status.Lease is { } driver ? $"driven by {driver}" : "moving")
            : new FleetRow(robot, status, lastSeen, FleetRowState.Idle, status.Lease is { } holder ? $"{holder} holds the lease" : "");
    }
}
