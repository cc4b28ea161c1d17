namespace Alex.Protocol.Fleet;

/// <summary>
/// Where the instructor's view stands with the broker: connected, or lost since <see cref="Since"/> for
/// <see cref="Problem"/> (one line), with <see cref="Retries"/> attempts to connect again failed since.
/// </summary>
public sealed record FleetWatchState(bool Connected, string? Problem, int Retries, DateTimeOffset Since)
{
    /// <summary>One line for the console's title and the page's banner.</summary>
    public string Text => Connected ? "connected" : $"broker lost: {Problem}; reconnecting";

    /// <summary>
    /// Null when a STOP to <paramref name="what"/> may go to the broker now; else why it is not sent. A STOP asked while
    /// the broker is lost is answered at once: one that waited for the broker would arrive at an unknown later time.
    /// </summary>
    public string? StopRefusal(string what) => Connected ? null : $"STOP to {what} not sent: {Text}";
}

/// <summary>
/// The instructor's view's hold on the broker (docs/fleet.md "The instructor's view"): once connected, a lost connection
/// is tried again after <see cref="Backoff"/>'s wait, and again after each failed attempt, until it comes back; a success
/// starts the count again. Pure: the caller brings the time and the randomness.
/// </summary>
public sealed class FleetWatchLink(Backoff backoff, DateTimeOffset connectedAt)
{
    public FleetWatchState State { get; private set; } = new(true, null, 0, connectedAt);

    /// <summary>Connected and subscribed again at <paramref name="at"/>.</summary>
    public void Connected(DateTimeOffset at) => State = new(true, null, 0, at);

    /// <summary>
    /// The connection was lost, or an attempt to make it again failed, for <paramref name="why"/>; returns how long to
    /// wait before the next attempt (<paramref name="random01"/> in [0, 1) spreads it).
    /// </summary>
    public TimeSpan Lost(string why, DateTimeOffset at, double random01)
    {
        ArgumentNullException.ThrowIfNull(why);
        State = State.Connected ? new(false, why, 0, at) : State with { Problem = why, Retries = State.Retries + 1 };
        return backoff.Delay(State.Retries, random01);
    }
}
