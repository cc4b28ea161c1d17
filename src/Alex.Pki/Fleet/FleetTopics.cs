namespace Alex.Pki.Fleet;

/// <summary>
/// The topic layout on the fleet broker (docs/fleet.md "Topics"): one level per robot under
/// <c>alexlink/</c>, named by the CN of its fleet certificate, which the broker takes as the user name.
/// The broker's ACL (<see cref="FleetAccess"/>), the robot's publisher and the instructor's view share it.
/// </summary>
public static class FleetTopics
{
    public const string Root = "alexlink";

    /// <summary>The level that addresses every robot at once; no robot may take it as its name.</summary>
    public const string FleetLevel = "fleet";

    /// <summary>A STOP to every robot: only instructors may publish it.</summary>
    public const string FleetStop = Root + "/" + FleetLevel + "/stop";

    /// <summary>What the instructor's view subscribes to: every robot's retained status.</summary>
    public const string AllStatus = Root + "/+/status";

    /// <summary>What an instructor may publish to stop one robot (any robot: the ACL's single-level wildcard).</summary>
    public const string AnyRobotStop = Root + "/+/stop";

    public static string Status(string robot) => $"{Root}/{robot}/status";

    public static string Stop(string robot) => $"{Root}/{robot}/stop";

    /// <summary>Everything under one robot's own level.</summary>
    public static string RobotSubtree(string robot) => $"{Root}/{robot}/#";

    /// <summary>
    /// Null when <paramref name="name"/> can be one topic level, else why not: MQTT reserves '/', '+' and '#'
    /// (MQTT 5.0 §4.7.1), and the broker's ACL file cannot hold a name with a line break or surrounding spaces.
    /// </summary>
    public static string? TopicLevelProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name != name.Trim())
        {
            return "is empty or starts or ends with a space";
        }

        if (name.IndexOfAny(['/', '+', '#', '\0', '\n', '\r']) >= 0)
        {
            return "contains '/', '+' or '#', which MQTT reserves in topic names";
        }

        return string.Equals(name, FleetLevel, StringComparison.OrdinalIgnoreCase)
            ? $"is '{FleetLevel}', the level that addresses every robot"
            : null;
    }

    /// <summary>The robot a topic <c>alexlink/NAME/status</c> is about, or null for any other topic.</summary>
    public static string? RobotOfStatus(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var parts = topic.Split('/');
        return parts.Length == 3 && parts[0] == Root && parts[2] == "status" && parts[1].Length > 0 ? parts[1] : null;
    }
}
