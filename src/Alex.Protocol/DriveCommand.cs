// A command for Alex as both network protocols carry it: the serial command code and its two
// parameters (docs/course-protocol.md §1: moves take param0 = distance cm or angle degrees, param1 = speed %).
// The course's letters (docs/course-protocol.md §4: f b l r s g c, either case) name the commands people type.
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Protocol;

/// <summary>One command for the Arduino: the code and param0 / param1 as the serial packet carries them.</summary>
public readonly record struct DriveCommand(CommandCode Command, uint Param0 = 0, uint Param1 = 0)
{
    /// <summary>True for commands that start the wheels (FORWARD, REVERSE, TURN_LEFT, TURN_RIGHT).</summary>
    public bool IsMove => IsMoveCode(Command);

    public bool IsStop => Command == CommandCode.Stop;

    /// <summary>True for the codes that start the wheels: what <see cref="IsMove"/> asks of a command.</summary>
    public static bool IsMoveCode(CommandCode code) => code is CommandCode.Forward or CommandCode.Reverse or CommandCode.TurnLeft or CommandCode.TurnRight;

    /// <summary>The course's letter for the command, lower case, or '?' for codes students added.</summary>
    public char Letter => LetterOf(Command);

    public static DriveCommand Stop { get; } = new(CommandCode.Stop);

    public static DriveCommand GetStats { get; } = new(CommandCode.GetStats);

    public static DriveCommand ClearStats { get; } = new(CommandCode.ClearStats);

    /// <summary>The serial COMMAND packet for this command (unused fields zero; without params, a shared instance).</summary>
    public SerialPacket ToPacket() => SerialPacket.ForRawCommand((byte)Command, Param0, Param1);

    /// <summary>Maps a course letter (either case) to its command: docs/course-protocol.md §4.</summary>
    public static bool TryGetCommand(char letter, out CommandCode command)
    {
        switch (char.ToLowerInvariant(letter))
        {
            case 'f': command = CommandCode.Forward; return true;
            case 'b': command = CommandCode.Reverse; return true;
            case 'l': command = CommandCode.TurnLeft; return true;
            case 'r': command = CommandCode.TurnRight; return true;
            case 's': command = CommandCode.Stop; return true;
            case 'g': command = CommandCode.GetStats; return true;
            case 'c': command = CommandCode.ClearStats; return true;
            default: command = default; return false;
        }
    }

    public static char LetterOf(CommandCode command) => command switch
    {
        CommandCode.Forward => 'f',
        CommandCode.Reverse => 'b',
        CommandCode.TurnLeft => 'l',
        CommandCode.TurnRight => 'r',
        CommandCode.Stop => 's',
        CommandCode.GetStats => 'g',
        CommandCode.ClearStats => 'c',
        _ => '?',
    };

    /// <summary>
    /// Parses what a person types: a letter or a name (f, forward, s, stop, ...) and for moves the
    /// distance (or angle) and the speed. Stop, stats and clear take no parameters.
    /// </summary>
    public static bool TryParse(IReadOnlyList<string> words, [NotNullWhen(true)] out DriveCommand? command, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(words);
        command = null;
        if (words.Count == 0)
        {
            error = "no command given";
            return false;
        }

        if (!TryGetCommandByName(words[0], out var code))
        {
            error = $"unknown command '{words[0]}' (use f, b, l, r, s, g or c)";
            return false;
        }

        if (!IsMoveCode(code))
        {
            if (words.Count > 1)
            {
                error = $"'{words[0]}' takes no parameters, got '{string.Join(' ', words.Skip(1))}'";
                return false;
            }

            command = new DriveCommand(code);
            error = null;
            return true;
        }

        var what = code is CommandCode.TurnLeft or CommandCode.TurnRight ? "angle in degrees" : "distance in cm";
        if (words.Count != 3)
        {
            error = $"'{words[0]}' takes two numbers: the {what} and the speed in percent, e.g. '{words[0]} 50 75'";
            return false;
        }

        if (!uint.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var p0))
        {
            error = $"the {what} must be a whole number of 0 or more, got '{words[1]}'";
            return false;
        }

        if (!uint.TryParse(words[2], NumberStyles.None, CultureInfo.InvariantCulture, out var p1) || p1 > 100)
        {
            error = $"the speed must be a whole percentage from 0 to 100, got '{words[2]}'";
            return false;
        }

        command = new DriveCommand(code, p0, p1);
        error = null;
        return true;
    }

    /// <summary>
    /// As <see cref="TryParse(IReadOnlyList{string}, out DriveCommand?, out string?)"/>, with the team's declared commands
    /// too (docs/extensions.md): a declared name, then its parameters in order, each within its declared range.
    /// </summary>
    public static bool TryParse(IReadOnlyList<string> words, TeamExtensions extensions, [NotNullWhen(true)] out DriveCommand? command, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentNullException.ThrowIfNull(extensions);
        if (words.Count == 0 || !extensions.TryGetByName(words[0], out var declared))
        {
            if (TryParse(words, out command, out error))
            {
                return true;
            }

            if (!extensions.IsEmpty && words.Count > 0 && error.StartsWith("unknown command", StringComparison.Ordinal))
            {
                error = $"unknown command '{words[0]}' (use f, b, l, r, s, g, c or the team's {string.Join(", ", extensions.Commands.Select(c => c.Name))})";
            }

            return false;
        }

        command = null;
        if (words.Count - 1 != declared.Params.Count)
        {
            error = declared.Params.Count == 0 ? $"'{declared.Name}' takes no parameters" : $"'{declared.Name}' takes {declared.Params.Count} number(s): {declared.Usage}";
            return false;
        }

        Span<uint> p = stackalloc uint[2];
        for (var i = 0; i < declared.Params.Count; i++)
        {
            if (!uint.TryParse(words[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out p[i]))
            {
                error = $"{declared.Name}: {declared.Params[i].Name} must be a whole number of 0 or more, got '{words[i + 1]}'";
                return false;
            }
        }

        var parsed = new DriveCommand((CommandCode)declared.Code, p[0], p[1]);
        if (declared.CheckRanges(parsed) is { } outside)
        {
            error = outside;
            return false;
        }

        command = parsed;
        error = null;
        return true;
    }

    public override string ToString() => IsMove ? $"{Letter} {Param0} {Param1}" : Letter == '?' ? $"#{(byte)Command} {Param0} {Param1}" : Letter.ToString();

    private static bool TryGetCommandByName(string word, out CommandCode command)
    {
        if (word.Length == 1)
        {
            return TryGetCommand(word[0], out command);
        }

        switch (word.ToLowerInvariant())
        {
            case "forward": command = CommandCode.Forward; return true;
            case "back" or "reverse" or "backward": command = CommandCode.Reverse; return true;
            case "left": command = CommandCode.TurnLeft; return true;
            case "right": command = CommandCode.TurnRight; return true;
            case "stop": command = CommandCode.Stop; return true;
            case "stats" or "status" or "get": command = CommandCode.GetStats; return true;
            case "clear": command = CommandCode.ClearStats; return true;
            default: command = default; return false;
        }
    }
}
