using Alex.Protocol;
using Alex.Protocol.Serial;

namespace Alex.Web.Robot;

/// <summary>The robot server's answer to one command.</summary>
internal readonly record struct RobotReply(bool Ok, string Text);

/// <summary>Who may drive: this gateway's certificate role (driver or watcher) and who holds the lease (null = free).</summary>
internal readonly record struct LeaseView(string Role, string? Holder);

/// <summary>What the robot server pushes without being asked; the hub forwards it to every open page.</summary>
internal interface IRobotEvents
{
    void OnStatus(StatusCounters counters);

    void OnMessage(string text);

    void OnLease(LeaseView lease);

    void OnRoundTrip(TimeSpan rtt);

    /// <summary>Something people must see: a safety stop (kind "safety") or the serial link to the Arduino (kind "serial").</summary>
    void OnNotice(string kind, string text);
}

/// <summary>One live connection to the robot server (AlexLink/1 through Alex.Client).</summary>
internal interface IRobotLink : IAsyncDisposable
{
    /// <summary>Who this gateway is to the robot (its certificate's name).</summary>
    string Identity { get; }

    /// <summary>Completes, with why in words, when the connection is gone (the server closed it, the network dropped).</summary>
    Task<string> Closed { get; }

    Task<RobotReply> SendAsync(DriveCommand command, CancellationToken cancellationToken);

    /// <summary>Asks for the driver lease (take) or gives it back.</summary>
    Task<RobotReply> SetLeaseAsync(bool take, CancellationToken cancellationToken);
}

/// <summary>Opens connections to one robot; the hub calls it again after a drop.</summary>
internal interface IRobotConnector
{
    /// <summary>The robot's address as the user gave it, for the page's header.</summary>
    string Target { get; }

    Task<IRobotLink> ConnectAsync(IRobotEvents events, CancellationToken cancellationToken);
}
