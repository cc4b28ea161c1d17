// The ten counters of a STATUS reply (RESPONSE / STATUS), params 0-9 in this order: docs/course-protocol.md §1.
namespace Alex.Protocol.Serial;

/// <summary>Odometry counters the firmware reports in a STATUS packet.</summary>
public readonly record struct StatusCounters(
    uint LeftForwardTicks,
    uint RightForwardTicks,
    uint LeftReverseTicks,
    uint RightReverseTicks,
    uint LeftForwardTurnTicks,
    uint RightForwardTurnTicks,
    uint LeftReverseTurnTicks,
    uint RightReverseTurnTicks,
    uint ForwardDistanceCm,
    uint ReverseDistanceCm)
{
    /// <summary>How many params a STATUS reply uses (10-15 are unused).</summary>
    public const int Count = 10;

    public static StatusCounters FromParams(ReadOnlySpan<uint> p)
    {
        if (p.Length < Count)
        {
            throw new ArgumentException($"need {Count} params", nameof(p));
        }

        return new(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
    }

    public void CopyTo(Span<uint> destination)
    {
        if (destination.Length < Count)
        {
            throw new ArgumentException($"need {Count} slots", nameof(destination));
        }

        destination[0] = LeftForwardTicks;
        destination[1] = RightForwardTicks;
        destination[2] = LeftReverseTicks;
        destination[3] = RightReverseTicks;
        destination[4] = LeftForwardTurnTicks;
        destination[5] = RightForwardTurnTicks;
        destination[6] = LeftReverseTurnTicks;
        destination[7] = RightReverseTurnTicks;
        destination[8] = ForwardDistanceCm;
        destination[9] = ReverseDistanceCm;
    }

    public uint[] ToArray()
    {
        var a = new uint[Count];
        CopyTo(a);
        return a;
    }

    /// <summary>Names as the course's client prints them, in param order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "Left Forward Ticks", "Right Forward Ticks", "Left Reverse Ticks", "Right Reverse Ticks",
        "Left Forward Ticks Turns", "Right Forward Ticks Turns", "Left Reverse Ticks Turns",
        "Right Reverse Ticks Turns", "Forward Distance", "Reverse Distance",
    ];
}
