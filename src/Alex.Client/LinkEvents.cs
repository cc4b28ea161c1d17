// What a ReconnectingClient tells whoever renders it (the drive console, the web gateway), in order:
// state changes, telemetry, statuses with the pose dead reckoning makes of them, round trips. And the
// one rule for when to try again.
using System.Net.Security;
using System.Security.Authentication;
using Alex.Pki;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>Where the reconnecting client is.</summary>
public enum LinkPhase
{
    Connecting,
    Connected,

    /// <summary>Lost or failed; retrying after <see cref="LinkState.RetryIn"/>.</summary>
    Waiting,

    /// <summary>Stopped for good: see <see cref="LinkState.Failure"/>.</summary>
    Stopped,
}

/// <summary>Something a <see cref="ReconnectingClient"/> reports.</summary>
public abstract record LinkEvent;

/// <summary>
/// A change of state. <paramref name="Attempt"/> counts connection attempts since the last success (1 =
/// the first); <paramref name="Failure"/> is why the last one ended (null on the very first attempt);
/// <paramref name="Session"/> is set when connected.
/// </summary>
public sealed record LinkState(LinkPhase Phase, string Text, int Attempt = 0, TimeSpan? RetryIn = null, AlexConnectException? Failure = null, LinkSession? Session = null) : LinkEvent;

/// <summary>A message the server pushed (request id 0), other than a status: lease, link, Arduino text, safety stop, error.</summary>
public sealed record LinkPushed(AlexLinkMessage Message) : LinkEvent;

/// <summary>
/// A status, pushed or the reply to a GET_STATS, and the pose dead reckoning makes of it;
/// <paramref name="Path"/> is a copy of the path when it changed (null when Alex stood still).
/// </summary>
public sealed record LinkStatus(StatusCounters Counters, Pose Pose, IReadOnlyList<Pose>? Path) : LinkEvent;

/// <summary>The path was started again at the origin (<see cref="ReconnectingClient.ResetPath"/>).</summary>
public sealed record LinkPathReset(Pose Pose, IReadOnlyList<Pose> Path) : LinkEvent;

/// <summary>A new heartbeat round trip (AlexLink/1).</summary>
public sealed record LinkRoundTrip(TimeSpan RoundTrip) : LinkEvent;

/// <summary>Something worth saying that is no failure of the connection (the server refused a subscription).</summary>
public sealed record LinkNotice(string Text) : LinkEvent;

/// <summary>What the server told us when we connected.</summary>
public sealed record LinkSession(string Endpoint, AlexProtocol Protocol, AlexLinkWelcome? Welcome, TrustDecision ServerTrust, SslProtocols TlsVersion, TlsCipherSuite CipherSuite)
{
    public static LinkSession From(AlexLinkClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new(client.Endpoint, client.Protocol, client.Welcome, client.ServerTrust, client.TlsVersion, client.CipherSuite);
    }
}

/// <summary>When to connect again after a failure or a drop. Pure: the caller brings the randomness.</summary>
public sealed record ReconnectPolicy
{
    /// <summary>Retry what can pass by waiting; give up on what cannot (refused, revoked, not trusted, wrong protocol).</summary>
    public static ReconnectPolicy Default { get; } = new();

    public Backoff Backoff { get; init; } = Backoff.Default;

    /// <summary>Give up when the very first connection fails: a mistyped address or the wrong certificates, which waiting would only hide.</summary>
    public bool GiveUpIfFirstFails { get; init; }

    /// <summary>Give up on a failure that waiting cannot fix; false keeps trying whatever happened (someone may fix the server).</summary>
    public bool GiveUpIfLasting { get; init; } = true;

    /// <summary>The wait before attempt number <paramref name="retry"/> + 1 after <paramref name="failure"/>, or null to give up.</summary>
    public TimeSpan? Decide(AlexConnectException failure, bool everConnected, int retry, double random01)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (GiveUpIfFirstFails && !everConnected)
        {
            return null;
        }

        if (GiveUpIfLasting && !MayPass(failure))
        {
            return null;
        }

        return Backoff.Delay(retry, random01);
    }

    /// <summary>True for a failure that waiting can fix: the network, a restart, a busy server, a handshake cut short.</summary>
    public static bool MayPass(AlexConnectException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.IsTransient || failure.Failure == ConnectFailure.TlsFailed;
    }
}
