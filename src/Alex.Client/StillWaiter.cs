using Alex.Protocol;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>
/// Waits until Alex has stopped moving, by reading the odometry: the firmware sends no "move finished"
/// (docs/course-protocol.md §3), so "stopped" is two readings in a row with the same counters. Useful before a
/// script disconnects, since the server stops Alex when its driver goes away.
/// </summary>
public static class StillWaiter
{
    /// <summary>True when the counters stood still; false when <paramref name="limit"/> passed first.</summary>
    public static async Task<bool> WaitUntilStillAsync(AlexLinkClient client, TimeSpan poll, TimeSpan limit, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(time);
        var started = time.GetTimestamp();
        StatusCounters? last = null;
        while (time.GetElapsedTime(started) < limit)
        {
            var reply = await client.SendAsync(DriveCommand.GetStats, cancellationToken).ConfigureAwait(false);
            if (reply.Acknowledged && reply.Status is { } now)
            {
                if (last == now)
                {
                    return true;
                }

                last = now;
            }

            await Task.Delay(poll, time, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }
}
