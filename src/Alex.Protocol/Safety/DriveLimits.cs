// Speed, distance and angle limits the server enforces on moves (docs/protocol.md §3 "Limits"). A limit
// of 0 means none. With a distance or an angle limit set, a move of 0 ("until stopped", straight or
// turning) is refused: it has no end the limit could bound. The firmware takes speed as a percentage (PWM = speed × 255 / 100,
// docs/course-protocol.md §3), so anything over 100 is refused whatever the limits.
// A team's declared command (docs/extensions.md) must be within its declared ranges; on a moving one, a parameter in
// cm is bounded by the distance limit, in deg by the angle limit, in % by the speed limit, and a move without end (no
// distance or angle parameter, or 0) is refused when a distance or an angle limit is set, as the course's moves are.
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Safety;

/// <summary>Limits on moves; 0 = no limit.</summary>
public sealed record DriveLimits(uint MaxSpeedPercent = 0, uint MaxDistanceCm = 0, uint MaxAngleDegrees = 0)
{
    public static DriveLimits None { get; } = new();

    /// <summary>Null when the command (a course command or one the team declared) is within the limits, else why not, in words.</summary>
    public string? Check(DriveCommand command, TeamExtensions extensions)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        return extensions.TryGetByCode(command.Command, out var declared) ? Check(command, declared) : Check(command);
    }

    /// <summary>Null when the command is within the limits, else why not, in words.</summary>
    public string? Check(DriveCommand command)
    {
        if (!command.IsMove)
        {
            return null;
        }

        var speed = command.Param1;
        if (speed > 100)
        {
            return $"speed {speed} % is not a percentage (0 to 100)";
        }

        if (MaxSpeedPercent != 0 && speed > MaxSpeedPercent)
        {
            return $"speed {speed} % is over the limit of {MaxSpeedPercent} %";
        }

        var isTurn = command.Command is CommandCode.TurnLeft or CommandCode.TurnRight;
        var limit = isTurn ? MaxAngleDegrees : MaxDistanceCm;
        var unit = isTurn ? "°" : " cm";
        var what = isTurn ? "angle" : "distance";
        if (command.Param0 == 0 && (MaxDistanceCm != 0 || MaxAngleDegrees != 0))
        {
            // Either limit bounds how far the robot may get on one command: a move without end, straight or turning, has no bound.
            var set = limit != 0 ? $"limit of {limit}{unit}" : MaxDistanceCm != 0 ? $"distance limit of {MaxDistanceCm} cm" : $"angle limit of {MaxAngleDegrees}°";
            return $"{what} 0 means \"until stopped\", which the {set} does not allow";
        }

        return limit != 0 && command.Param0 > limit ? $"{what} {command.Param0}{unit} is over the limit of {limit}{unit}" : null;
    }

    private string? Check(DriveCommand command, DeclaredCommand declared)
    {
        if (declared.CheckRanges(command) is { } range)
        {
            return range;
        }

        if (!declared.Moves)
        {
            return null;
        }

        for (var i = 0; i < declared.Params.Count; i++)
        {
            var p = declared.Params[i];
            var v = DeclaredCommand.Param(command, i);
            var (limit, what, unit) = p.Meaning switch
            {
                ParamMeaning.Speed => (MaxSpeedPercent, "speed", " %"),
                ParamMeaning.Distance => (MaxDistanceCm, "distance", " cm"),
                ParamMeaning.Angle => (MaxAngleDegrees, "angle", "°"),
                _ => (0u, "", ""),
            };
            if (limit != 0 && v > limit)
            {
                return $"{declared.Name}: {what} {v}{unit} is over the limit of {limit}{unit}";
            }
        }

        if (declared.RunsUntilStopped(command) && (MaxDistanceCm != 0 || MaxAngleDegrees != 0))
        {
            var set = MaxDistanceCm != 0 ? $"distance limit of {MaxDistanceCm} cm" : $"angle limit of {MaxAngleDegrees}°";
            return $"{declared.Name} runs until stopped, which the {set} does not allow";
        }

        return null;
    }
}
