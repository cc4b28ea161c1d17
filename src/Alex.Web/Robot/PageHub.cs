using System.Net.WebSockets;

namespace Alex.Web.Robot;

/// <summary>
/// What the gateway's pages are joined to: a live robot (<see cref="RobotHub"/>) or a recording played back
/// (<see cref="Alex.Web.Replay.ReplayHub"/>). The page is the same either way; the hub decides what it is sent and
/// what its requests do.
/// </summary>
internal interface IPageHub : IAsyncDisposable
{
    /// <summary>Number of pages connected now (for tests and the console).</summary>
    int PageCount { get; }

    /// <summary>True while the gateway holds a live connection to a robot (never for a replay).</summary>
    bool HasRobotLink { get; }

    /// <summary>Serves one page's WebSocket until it closes.</summary>
    Task RunPageAsync(WebSocket socket, CancellationToken cancellationToken);
}
