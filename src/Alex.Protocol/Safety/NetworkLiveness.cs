// How the server notices a network that died under a connected client (docs/security.md "Dead-man").
// A client that goes silent is not necessarily gone (a classic client sends only when its user types),
// and a black-holed network sends neither FIN nor RST, so the connection would stay open for ever. The
// server's kernel asks instead: TCP keepalive probes after KeepAliveIdle without a packet from the
// peer, every KeepAliveInterval, and TCP_USER_TIMEOUT (RFC 5482; Linux tcp(7)) ends the connection once
// nothing has been heard for UserTimeout with a probe or data unanswered. A live laptop's kernel answers
// the probes even when its program is frozen; a dead network does not, and the closed connection stops the
// robot like any driver leaving. With these values Linux closes at the probe after UserTimeout: about
// 2 s after the laptop's last packet.
namespace Alex.Protocol.Safety;

/// <summary>Keepalive timing for every client connection of the robot server.</summary>
public static class NetworkLiveness
{
    /// <summary>Silence from the peer before the first keepalive probe (TCP_KEEPIDLE; whole seconds).</summary>
    public static TimeSpan KeepAliveIdle { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Between probes (TCP_KEEPINTVL; whole seconds).</summary>
    public static TimeSpan KeepAliveInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Probes before giving up where TCP_USER_TIMEOUT is not available (TCP_KEEPCNT).</summary>
    public const int KeepAliveProbes = 2;

    /// <summary>Nothing heard for this long with a probe or data outstanding: the connection is dead (TCP_USER_TIMEOUT).</summary>
    public static TimeSpan UserTimeout { get; } = TimeSpan.FromSeconds(2);
}
