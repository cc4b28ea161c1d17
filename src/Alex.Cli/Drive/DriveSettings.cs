// What the driver sets between moves: the distance for f/b, the angle for l/r and the
// speed, stepped through fixed ladders so one key press is always a sensible change, and remembered in
// ~/.config/alexlink/drive.json ($XDG_CONFIG_HOME respected) so the next session starts the same way.
using System.Text.Json;

namespace Alex.Cli.Drive;

/// <summary>Distance (cm) for forward/back, angle (degrees) for turns, speed (%) for both.</summary>
internal sealed record DriveSettings(uint DistanceCm = 20, uint AngleDegrees = 45, uint SpeedPercent = 60)
{
    public static IReadOnlyList<uint> DistanceSteps { get; } = [5, 10, 20, 30, 50, 75, 100, 150, 200, 300];

    public static IReadOnlyList<uint> AngleSteps { get; } = [5, 10, 15, 30, 45, 60, 90, 120, 180, 360];

    public static IReadOnlyList<uint> SpeedSteps { get; } = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

    public DriveSettings WithDistanceStep(int direction) => this with { DistanceCm = Step(DistanceSteps, DistanceCm, direction) };

    public DriveSettings WithAngleStep(int direction) => this with { AngleDegrees = Step(AngleSteps, AngleDegrees, direction) };

    public DriveSettings WithSpeedStep(int direction) => this with { SpeedPercent = Step(SpeedSteps, SpeedPercent, direction) };

    /// <summary>
    /// Keeps every value within the server's limits (Welcome: 0 = none), so a key press never sends a
    /// move the server would refuse with LimitExceeded (docs/protocol.md §3).
    /// </summary>
    public DriveSettings Within(uint maxSpeedPercent, uint maxDistanceCm, uint maxAngleDegrees) => new(
        Clamp(DistanceCm, 1, maxDistanceCm == 0 ? 10_000 : maxDistanceCm),
        Clamp(AngleDegrees, 1, maxAngleDegrees == 0 ? 360 : maxAngleDegrees),
        Clamp(SpeedPercent, 1, maxSpeedPercent is 0 or > 100 ? 100 : maxSpeedPercent));

    private static uint Clamp(uint value, uint min, uint max) => Math.Max(min, Math.Min(value, max));

    /// <summary>The next rung of the ladder above (or below) the current value; values off the ladder snap to the nearest rung that way.</summary>
    private static uint Step(IReadOnlyList<uint> ladder, uint current, int direction)
    {
        if (direction > 0)
        {
            foreach (var v in ladder)
            {
                if (v > current)
                {
                    return v;
                }
            }

            return ladder[^1];
        }

        for (var i = ladder.Count - 1; i >= 0; i--)
        {
            if (ladder[i] < current)
            {
                return ladder[i];
            }
        }

        return ladder[0];
    }
}

/// <summary>Loads and saves <see cref="DriveSettings"/>; a missing or damaged file gives the defaults.</summary>
internal static class DriveSettingsFile
{
    /// <summary>~/.config/alexlink/drive.json, or under $XDG_CONFIG_HOME when set.</summary>
    public static string DefaultPath
    {
        get
        {
            var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            if (string.IsNullOrEmpty(config))
            {
                config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            }

            return Path.Combine(config, "alexlink", "drive.json");
        }
    }

    public static DriveSettings Load(string path)
    {
        try
        {
            var loaded = JsonSerializer.Deserialize(File.ReadAllText(path), DriveSettingsJson.Default.DriveSettings);
            return loaded is null ? new DriveSettings() : loaded.Within(100, 0, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            // Settings are a convenience: a missing or hand-damaged file must never stop anyone driving.
            return new DriveSettings();
        }
    }

    /// <summary>Saves; returns false (and the reason) when the file cannot be written, which is not worth failing for.</summary>
    public static bool TrySave(string path, DriveSettings settings, out string? problem)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, JsonSerializer.Serialize(settings, DriveSettingsJson.Default.DriveSettings));
            problem = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"{path}: {e.Message}";
            return false;
        }
    }
}
