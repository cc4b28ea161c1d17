// Keys of the drive console. The course client's letters first (f b l r s g c q,
// docs/course-protocol.md §4), arrows and WASD as shortcuts. 's' stays STOP as in the course client (not WASD's
// "back"): a driver pressing it out of WASD habit gets the safe surprise. Back is b, ↓ or x.
namespace Alex.Cli.Drive;

/// <summary>What a key asks for.</summary>
internal enum DriveAction
{
    None,
    Forward,
    Back,
    Left,
    Right,
    Stop,
    Stats,
    Clear,
    Quit,
    SpeedUp,
    SpeedDown,
    DistanceUp,
    DistanceDown,
    AngleUp,
    AngleDown,
    TakeLease,
    ReleaseLease,
    ClearPath,

    /// <summary>A digit: speed = 10 × digit %, 0 = 100 %.</summary>
    SetSpeed,
}

/// <summary>One key press, decoded; <paramref name="Char"/>: the key of an action the console has none for (a team's declared key, docs/extensions.md).</summary>
internal readonly record struct DriveKey(DriveAction Action, int Digit = 0, char Char = '\0');

/// <summary>Maps console keys to actions. Pure, so every binding is tested.</summary>
internal static class DriveKeys
{
    /// <summary>The help line shown at the foot of the screen.</summary>
    public const string Help =
        "f/↑/w forward  b/↓/x back  l/←/a left  r/→/d right  SPACE/Esc/s STOP  g stats  c clear  " +
        "+/- speed  1-9,0 speed  [/] distance  ,/. angle  t take lease  u release  p clear path  q quit";

    public static DriveKey Map(ConsoleKeyInfo key)
    {
        if ((key.Modifiers & ConsoleModifiers.Control) != 0 && key.Key is ConsoleKey.C or ConsoleKey.D)
        {
            return new(DriveAction.Quit); // Ctrl-C / Ctrl-D arrive as keys while the console owns the terminal
        }

        switch (key.Key)
        {
            case ConsoleKey.UpArrow: return new(DriveAction.Forward);
            case ConsoleKey.DownArrow: return new(DriveAction.Back);
            case ConsoleKey.LeftArrow: return new(DriveAction.Left);
            case ConsoleKey.RightArrow: return new(DriveAction.Right);
            case ConsoleKey.Spacebar or ConsoleKey.Escape: return new(DriveAction.Stop);
            case ConsoleKey.Add or ConsoleKey.OemPlus when key.KeyChar is '+' or '=': return new(DriveAction.SpeedUp);
            case ConsoleKey.Subtract or ConsoleKey.OemMinus when key.KeyChar is '-' or '_': return new(DriveAction.SpeedDown);
            default: break;
        }

        return MapChar(key.KeyChar);
    }

    public static DriveKey MapChar(char c)
    {
        if (c is >= '0' and <= '9')
        {
            return new(DriveAction.SetSpeed, c - '0');
        }

        return char.ToLowerInvariant(c) switch
        {
            'f' or 'w' => new(DriveAction.Forward),
            'b' or 'x' => new(DriveAction.Back),
            'l' or 'a' => new(DriveAction.Left),
            'r' or 'd' => new(DriveAction.Right),
            's' or ' ' or '\u001b' => new(DriveAction.Stop),
            'g' => new(DriveAction.Stats),
            'c' => new(DriveAction.Clear),
            'q' => new(DriveAction.Quit),
            '+' or '=' => new(DriveAction.SpeedUp),
            '-' or '_' => new(DriveAction.SpeedDown),
            ']' => new(DriveAction.DistanceUp),
            '[' => new(DriveAction.DistanceDown),
            '.' or '>' => new(DriveAction.AngleUp),
            ',' or '<' => new(DriveAction.AngleDown),
            't' => new(DriveAction.TakeLease),
            'u' => new(DriveAction.ReleaseLease),
            'p' => new(DriveAction.ClearPath),
            _ => new(DriveAction.None, 0, char.ToLowerInvariant(c)),
        };
    }
}
