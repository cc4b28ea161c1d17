// Settings of the simulated Alex: the constants the course firmware (Alex.ino) hard-codes and the
// points where teams' firmware differs (docs/course-protocol.md §3), and the team's declared commands
// (docs/extensions.md) with the values the simulator answers them with. Defaults are the typical robot.
using Alex.Protocol.Extensions;

namespace Alex.Robot.Simulation;

/// <summary>How a firmware answers GET_STATS (docs/course-protocol.md §3: it varies by team).</summary>
public enum GetStatsReplyOrder
{
    /// <summary>RESPONSE STATUS only.</summary>
    StatusOnly,

    /// <summary>RESPONSE OK, then RESPONSE STATUS (the most common).</summary>
    OkThenStatus,

    /// <summary>RESPONSE STATUS, then RESPONSE OK.</summary>
    StatusThenOk,
}

/// <summary>How a firmware answers the Pi's HELLO: most ignore it, some answer OK.</summary>
public enum HelloReply
{
    None,
    Ok,
}

/// <summary>How the firmware cuts the incoming bytes into frames.</summary>
public enum FrameReceiver
{
    /// <summary>Hunts for the magic after noise (our decoder): one ERROR/BAD_PACKET per run of noise.</summary>
    Resynchronising,

    /// <summary>
    /// The course's receiver: fixed 140-byte blocks, never hunts for the magic, so one stray byte
    /// misaligns every later frame (docs/course-protocol.md §2). For testing how a Pi program copes.
    /// </summary>
    CourseBlocks,
}

/// <summary>The simulated robot's build and firmware variant.</summary>
public sealed record SimulatorSettings
{
    /// <summary>Encoder ticks per wheel revolution (the firmware's COUNTS_PER_REV).</summary>
    public int CountsPerRev { get; init; } = 195;

    /// <summary>Wheel circumference in cm (WHEEL_CIRC).</summary>
    public double WheelCircumferenceCm { get; init; } = 20.4;

    /// <summary>Body length in cm (ALEX_LENGTH): with the breadth it sets how many ticks a turn takes.</summary>
    public double BodyLengthCm { get; init; } = 26;

    /// <summary>Body breadth in cm (ALEX_BREADTH).</summary>
    public double BodyBreadthCm { get; init; } = 16;

    /// <summary>
    /// Encoder ticks per second per wheel at full PWM (255); a speed of s % gives PWM = s × 255 / 100
    /// and ticks in proportion. 390 ticks/s is two revolutions, about 41 cm/s with the default wheels.
    /// </summary>
    public double TicksPerSecondAtFullSpeed { get; init; } = 390;

    /// <summary>
    /// Share of the counted straight motion the body does not make (wheels spinning on the floor): 0.03 moves 97 cm
    /// while the encoders count 100. Only where the lidar sees Alex from (SimulatedBody); the counters stay exact.
    /// </summary>
    public double WheelSlip { get; init; }

    /// <summary>Share of the counted turn the body does not make (skid steering slips more turning than driving).</summary>
    public double TurnSlip { get; init; }

    /// <summary>
    /// Encoder noise: the body's true ticks differ from the counted ones by a normal error of this standard
    /// deviation times √(counted ticks), so the error grows like a random walk with the distance.
    /// </summary>
    public double EncoderNoise { get; init; }

    /// <summary>Seed of the slip and encoder noise (the same seed, the same run).</summary>
    public int NoiseSeed { get; init; }

    public GetStatsReplyOrder GetStatsReplyOrder { get; init; } = GetStatsReplyOrder.OkThenStatus;

    public HelloReply HelloReply { get; init; } = HelloReply.None;

    public FrameReceiver Receiver { get; init; } = FrameReceiver.Resynchronising;

    /// <summary>The team's declared commands: the simulator answers them as declared.</summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    /// <summary>
    /// Scripted values by declared command name: each reading in turn (the values of the declared fields, in their order;
    /// for a "message" reply, the text), then again from the first. A command without a script answers fixed values.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string[]>> Answers { get; init; } = new Dictionary<string, IReadOnlyList<string[]>>();

    /// <summary>
    /// Reads a script for a declared command: "NAME=V,V,...", readings separated by ';' (each the declared fields' values in
    /// order, or for a "message" reply the text). False, with the reason, for a name not declared or a value not a number.
    /// </summary>
    public static bool TryParseAnswer(string spec, TeamExtensions extensions, out string name, out IReadOnlyList<string[]> readings, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(extensions);
        readings = [];
        var eq = spec.IndexOf('=', StringComparison.Ordinal);
        name = eq < 0 ? spec : spec[..eq];
        if (eq < 0 || !extensions.TryGetByName(name, out var command))
        {
            error = extensions.IsEmpty
                ? "no declared commands (give --extensions FILE first)"
                : $"'{name}' is not a declared command ({string.Join(", ", extensions.Commands.Select(c => c.Name))}), or the '=' is missing";
            return false;
        }

        var list = new List<string[]>();
        foreach (var reading in spec[(eq + 1)..].Split(';'))
        {
            var values = command.Reply == DeclaredReplyKind.Message ? [reading] : reading.Split(',', StringSplitOptions.TrimEntries);
            if (command.Reply == DeclaredReplyKind.Response)
            {
                var bad = values.FirstOrDefault(v => !uint.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _));
                if (bad is not null || values.Length != command.Response!.Fields.Count)
                {
                    error = $"{name} answers {command.Response!.Fields.Count} whole number(s) ({string.Join(", ", command.Response.Fields.Select(f => f.Name))}), got '{reading}'";
                    return false;
                }
            }

            list.Add(values);
        }

        readings = list;
        name = command.Name;
        error = null;
        return true;
    }

    /// <summary>Throws when a setting makes no physical sense.</summary>
    public void Validate()
    {
        if (CountsPerRev <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CountsPerRev), CountsPerRev, "must be positive");
        }

        if (!(WheelCircumferenceCm > 0) || !(BodyLengthCm > 0) || !(BodyBreadthCm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(WheelCircumferenceCm), "wheel and body sizes must be positive");
        }

        if (WheelSlip is < 0 or >= 1 || TurnSlip is < 0 or >= 1 || EncoderNoise is < 0 or > 10 || double.IsNaN(WheelSlip + TurnSlip + EncoderNoise))
        {
            throw new ArgumentOutOfRangeException(nameof(WheelSlip), "slip is 0 to under 1, encoder noise 0 to 10");
        }

        if (!(TicksPerSecondAtFullSpeed > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(TicksPerSecondAtFullSpeed), TicksPerSecondAtFullSpeed, "must be positive");
        }
    }
}
