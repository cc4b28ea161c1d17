namespace Alex.Protocol;

/// <summary>
/// Exponential backoff with jitter for reconnecting: First, First×Factor, … capped at Max, each
/// spread by ±Jitter so a classroom of laptops does not reconnect in lockstep after the Pi reboots.
/// </summary>
public sealed record Backoff(TimeSpan First, TimeSpan Max, double Factor = 2, double Jitter = 0.25)
{
    /// <summary>What every reconnecting client of ours uses (the drive console, the web gateway): 0.5 s doubling to 5 s.</summary>
    public static Backoff Default { get; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));

    /// <summary>The wait before retry number <paramref name="attempt"/> (0 = the first retry); <paramref name="random01"/> in [0, 1).</summary>
    public TimeSpan Delay(int attempt, double random01)
    {
        var grown = First.TotalMilliseconds * Math.Pow(Factor, Math.Clamp(attempt, 0, 60));
        var capped = Math.Min(grown, Max.TotalMilliseconds);
        var spread = 1 - Jitter + (2 * Jitter * Math.Clamp(random01, 0, 1));
        return TimeSpan.FromMilliseconds(Math.Max(0, capped * spread));
    }
}
