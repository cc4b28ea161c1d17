// A team's own commands and replies, as declared in its extension file (docs/extensions.md): the course
// protocol's codes 7–255 (commands) and 6–255 (responses) that the team's firmware added
// (docs/course-protocol.md §1: "Students add codes from 7 up", "Students add 6 and up"). The declaration is
// parsed and checked by ExtensionFile; this is the checked result, and the lookups every part of AlexLink
// uses (the server's rules, the serial exchange, the simulator, the clients).
using System.Diagnostics.CodeAnalysis;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Extensions;

/// <summary>What a declared command's reply from the Arduino is.</summary>
public enum DeclaredReplyKind
{
    /// <summary>RESPONSE OK, as the course's moves.</summary>
    Ok,

    /// <summary>A MESSAGE packet: its text is the reply.</summary>
    Message,

    /// <summary>A RESPONSE of a declared type (<see cref="DeclaredCommand.Response"/>): its params carry the values.</summary>
    Response,
}

/// <summary>How a client shows a declared response's values.</summary>
public enum DeclaredShow
{
    /// <summary>Each field as a number with its unit.</summary>
    Number,

    /// <summary>Fields red, green, blue as a colour swatch (each scaled by its declared max) with the numbers.</summary>
    Colour,
}

/// <summary>The unit that ties a parameter to the server's limits: a distance, an angle, a speed, or none.</summary>
public enum ParamMeaning
{
    Other,

    /// <summary>Unit "cm": bounded by the server's max distance; 0 on a moving command means "until stopped".</summary>
    Distance,

    /// <summary>Unit "deg": bounded by the server's max angle; 0 on a moving command means "until stopped".</summary>
    Angle,

    /// <summary>Unit "%": bounded by 100 and the server's max speed.</summary>
    Speed,
}

/// <summary>A parameter of a declared command: param0 or param1 of the COMMAND packet.</summary>
public sealed record DeclaredParam(string Name, string Unit, uint Min, uint Max, bool HasMax)
{
    public ParamMeaning Meaning => MeaningOf(Unit);

    internal static ParamMeaning MeaningOf(string unit) => unit switch
    {
        "cm" => ParamMeaning.Distance,
        "deg" => ParamMeaning.Angle,
        "%" => ParamMeaning.Speed,
        _ => ParamMeaning.Other,
    };
}

/// <summary>One value of a declared response: the param it is carried in.</summary>
public sealed record DeclaredField(string Name, int Param, string Unit, uint Max);

/// <summary>
/// A reply the team's firmware sends: a RESPONSE with a new code (6–255), or a STATUS-shaped one (RESPONSE STATUS, code 1,
/// with the team's values in its params). <see cref="ClassicType"/>: the classic network packet it is forwarded as
/// (type byte then the 16 params, 65 bytes like the course's status packet); null: classic clients get the ack.
/// </summary>
public sealed record DeclaredResponse(string Name, byte Code, bool StatusShaped, IReadOnlyList<DeclaredField> Fields, DeclaredShow Show, byte? ClassicType, int Line)
{
    /// <summary>The field values from a reply's params.</summary>
    public IReadOnlyList<DeclaredValue> Decode(ReadOnlySpan<uint> parameters)
    {
        var values = new DeclaredValue[Fields.Count];
        for (var i = 0; i < Fields.Count; i++)
        {
            var f = Fields[i];
            values[i] = new DeclaredValue(f.Name, f.Param < parameters.Length ? parameters[f.Param] : 0, f.Unit);
        }

        return values;
    }
}

/// <summary>A value of a reply, named as declared.</summary>
public readonly record struct DeclaredValue(string Name, uint Value, string Unit)
{
    public override string ToString() => Unit.Length == 0 ? $"{Name} {Value}" : $"{Name} {Value} {Unit}";
}

/// <summary>One command the team added.</summary>
public sealed record DeclaredCommand(
    string Name,
    byte Code,
    char? Letter,
    char? Key,
    bool DriversOnly,
    bool Moves,
    IReadOnlyList<DeclaredParam> Params,
    DeclaredReplyKind Reply,
    DeclaredResponse? Response,
    string Help,
    int Line)
{
    /// <summary>
    /// How long the Arduino may take to answer (the declaration's replyWithinMs), for a slow sensor or a servo that answers
    /// when it is done; null: the link's reply timeout. Never set on a command that moves the robot.
    /// </summary>
    public TimeSpan? ReplyWithin { get; init; }

    /// <summary>The parameter that says how far the move goes (unit cm or deg), if any.</summary>
    public DeclaredParam? Extent => Params.FirstOrDefault(p => p.Meaning is ParamMeaning.Distance or ParamMeaning.Angle);

    /// <summary>Index (0 or 1) of <see cref="Extent"/>, or -1.</summary>
    public int ExtentIndex => Extent is { } e ? IndexOf(e) : -1;

    /// <summary>True when this move has no end of its own: no distance or angle parameter, or that parameter is 0.</summary>
    public bool RunsUntilStopped(DriveCommand command) => Moves && (Extent is null || Param(command, ExtentIndex) == 0);

    /// <summary>The command's parameter at <paramref name="index"/> (0 or 1).</summary>
    public static uint Param(DriveCommand command, int index) => index == 0 ? command.Param0 : command.Param1;

    /// <summary>How a person writes the command: name, then its parameters by name.</summary>
    public string Usage => Params.Count == 0 ? Name : $"{Name} {string.Join(' ', Params.Select(p => p.Unit.Length == 0 ? p.Name.ToUpperInvariant() : $"{p.Name.ToUpperInvariant()}({p.Unit})"))}";

    /// <summary>Null when the parameters are in their declared ranges, else why not.</summary>
    public string? CheckRanges(DriveCommand command)
    {
        for (var i = 0; i < Params.Count; i++)
        {
            var p = Params[i];
            var v = Param(command, i);
            if (v < p.Min || (p.HasMax && v > p.Max))
            {
                return p.HasMax
                    ? $"{Name}: {p.Name} {v}{UnitSuffix(p.Unit)} is outside its declared range {p.Min}–{p.Max}{UnitSuffix(p.Unit)}"
                    : $"{Name}: {p.Name} {v}{UnitSuffix(p.Unit)} is under its declared minimum {p.Min}{UnitSuffix(p.Unit)}";
            }
        }

        for (var i = Params.Count; i < 2; i++)
        {
            if (Param(command, i) != 0)
            {
                return $"{Name} takes {Params.Count} parameter(s); param{i} must be 0, got {Param(command, i)}";
            }
        }

        return null;
    }

    internal static string UnitSuffix(string unit) => unit.Length == 0 ? "" : unit is "%" or "deg" ? (unit == "deg" ? "°" : " %") : " " + unit;

    private int IndexOf(DeclaredParam p)
    {
        for (var i = 0; i < Params.Count; i++)
        {
            if (ReferenceEquals(Params[i], p))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>The checked declaration: the team's commands and responses, with lookups by code, letter, key and name.</summary>
public sealed class TeamExtensions
{
    private readonly Dictionary<byte, DeclaredCommand> _byCode;

    internal TeamExtensions(string description, IReadOnlyList<DeclaredCommand> commands, IReadOnlyList<DeclaredResponse> responses)
    {
        Description = description;
        Commands = commands;
        Responses = responses;
        _byCode = commands.ToDictionary(c => c.Code);
    }

    /// <summary>No extensions: the course's commands only.</summary>
    public static TeamExtensions None { get; } = new("", [], []);

    /// <summary>The file's "description" (free text, may be empty).</summary>
    public string Description { get; }

    public IReadOnlyList<DeclaredCommand> Commands { get; }

    public IReadOnlyList<DeclaredResponse> Responses { get; }

    public bool IsEmpty => Commands.Count == 0;

    public bool TryGetByCode(byte code, [NotNullWhen(true)] out DeclaredCommand? command) => _byCode.TryGetValue(code, out command);

    public bool TryGetByCode(CommandCode code, [NotNullWhen(true)] out DeclaredCommand? command) => _byCode.TryGetValue((byte)code, out command);

    /// <summary>The command whose classic letter this is (either case, as the course's letters).</summary>
    public bool TryGetByLetter(char letter, [NotNullWhen(true)] out DeclaredCommand? command)
    {
        command = Commands.FirstOrDefault(c => c.Letter is { } l && char.ToLowerInvariant(l) == char.ToLowerInvariant(letter));
        return command is not null;
    }

    public bool TryGetByKey(char key, [NotNullWhen(true)] out DeclaredCommand? command)
    {
        command = Commands.FirstOrDefault(c => c.Key is { } k && k == char.ToLowerInvariant(key));
        return command is not null;
    }

    public bool TryGetByName(string name, [NotNullWhen(true)] out DeclaredCommand? command)
    {
        command = Commands.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        return command is not null;
    }

    /// <summary>How people read a command: a declared one by name and its declared parameters, a course one as its letter form.</summary>
    public string Describe(DriveCommand command)
    {
        if (!_byCode.TryGetValue((byte)command.Command, out var declared))
        {
            return command.ToString();
        }

        return declared.Params.Count switch
        {
            0 => declared.Name,
            1 => $"{declared.Name} {command.Param0}",
            _ => $"{declared.Name} {command.Param0} {command.Param1}",
        };
    }

    /// <summary>True for the codes that start the wheels: the course's four moves and the declared moving commands.</summary>
    public bool IsMove(CommandCode code) => DriveCommand.IsMoveCode(code) || (_byCode.TryGetValue((byte)code, out var c) && c.Moves);

    /// <summary>True for the codes the server relays: the course's 0–6 and the declared ones.</summary>
    public bool Relays(CommandCode code) => Enum.IsDefined(code) || _byCode.ContainsKey((byte)code);

    /// <summary>The response declared for a RESPONSE packet with this code, if any (not STATUS-shaped ones: code 1 is the course's).</summary>
    public DeclaredResponse? ResponseByCode(byte code) => Responses.FirstOrDefault(r => !r.StatusShaped && r.Code == code);

    /// <summary>The declared response forwarded as this classic packet type, if any.</summary>
    public DeclaredResponse? ResponseByClassicType(byte type) => Responses.FirstOrDefault(r => r.ClassicType == type && !r.StatusShaped);
}
