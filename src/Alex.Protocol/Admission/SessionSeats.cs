// Who may hold a session once authenticated (docs/security.md "Admission"). The server has Max seats; the last
// DriverSeats are kept for drivers, so watchers (a class following along, a dashboard left open) are refused first
// and can never fill the server against the one who drives. An admin (the tutor asking for status or logs) is
// never a watcher: like a driver it may take any free seat, so the server's health can be read when the watchers
// have filled their share. Pure; not thread-safe (the server holds a lock).
using Alex.Protocol.AlexLink;

namespace Alex.Protocol.Admission;

/// <summary>Counts sessions by role and decides whether one more may sit down.</summary>
public sealed class SessionSeats
{
    /// <summary>Seats kept for drivers when not given: 4, or half of a smaller server.</summary>
    public static int DefaultDriverSeats(int max) => Math.Clamp(max / 2, 1, 4);

    public SessionSeats(int max, int? driverSeats = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var kept = driverSeats ?? DefaultDriverSeats(max);
        ArgumentOutOfRangeException.ThrowIfNegative(kept);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(kept, max);
        Max = max;
        DriverSeats = kept;
    }

    public int Max { get; }

    /// <summary>Seats only a driver may take.</summary>
    public int DriverSeats { get; }

    /// <summary>The most watchers at once.</summary>
    public int MaxWatchers => Max - DriverSeats;

    public int Drivers { get; private set; }

    public int Watchers { get; private set; }

    public int Admins { get; private set; }

    /// <summary>Takes a seat for a session of <paramref name="role"/>; false (nothing taken) when there is none for it.</summary>
    public bool TryTake(AlexLinkRole role)
    {
        if (Drivers + Watchers + Admins >= Max)
        {
            return false;
        }

        if (role == AlexLinkRole.Driver)
        {
            Drivers++;
            return true;
        }

        if (role == AlexLinkRole.Admin)
        {
            Admins++;
            return true;
        }

        if (Watchers >= MaxWatchers)
        {
            return false;
        }

        Watchers++;
        return true;
    }

    /// <summary>A session of <paramref name="role"/> ended.</summary>
    public void Leave(AlexLinkRole role)
    {
        if (role == AlexLinkRole.Driver)
        {
            Drivers = Math.Max(0, Drivers - 1);
        }
        else if (role == AlexLinkRole.Admin)
        {
            Admins = Math.Max(0, Admins - 1);
        }
        else
        {
            Watchers = Math.Max(0, Watchers - 1);
        }
    }

    /// <summary>Why a session of <paramref name="role"/> was refused, for the client and the log.</summary>
    public string FullText(AlexLinkRole role) => role != AlexLinkRole.Watcher
        ? $"server full ({Max} sessions)"
        : $"server full for watchers ({MaxWatchers} watching; {DriverSeats} seats kept for drivers)";
}
