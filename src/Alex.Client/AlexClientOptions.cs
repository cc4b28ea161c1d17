using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;

namespace Alex.Client;

/// <summary>Which network protocol to speak (docs/protocol.md; docs/course-protocol.md §4).</summary>
public enum AlexProtocol
{
    /// <summary>Offer ALPN alexlink/1; if the server picks no ALPN (the course's C server), speak classic on the same connection.</summary>
    Auto,

    /// <summary>AlexLink/1 only: a server that does not pick it is an error.</summary>
    AlexLink1,

    /// <summary>Exactly like the course's client: no ALPN, no SNI, one message per TLS record.</summary>
    Classic,
}

/// <summary>Where to connect and how.</summary>
public sealed record AlexClientOptions
{
    public const int DefaultPort = 5000;

    public required string Host { get; init; }

    public int Port { get; init; } = DefaultPort;

    /// <summary>The name the server's certificate must carry (SAN, or CN when it has no SAN); the host when null.</summary>
    public string? ServerName { get; init; }

    public required AlexCredentials Credentials { get; init; }

    public AlexProtocol Protocol { get; init; } = AlexProtocol.Auto;

    /// <summary>
    /// Accept a server certificate in the course's legacy form (X.509 v1, no key usage, RSA 1024):
    /// weaker, so only when asked for (`--legacy`).
    /// </summary>
    public bool AcceptLegacyCertificates { get; init; }

    /// <summary>Bound on TCP connect + TLS handshake + the server's first frame.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound on each reply.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Heartbeat period; null: what the server's Welcome asks for.</summary>
    public TimeSpan? HeartbeatInterval { get; init; }

    /// <summary>Largest frame payload accepted from the server.</summary>
    public int MaxPayload { get; init; } = AlexLinkFrame.MaxPayload;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// The team's declared commands (docs/extensions.md). The classic protocol needs them to say a declared command (its
    /// letter) and to read its reply (a team packet type); AlexLink/1 carries code and reply without them.
    /// </summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    /// <summary>The name checked against the server's certificate.</summary>
    public string ExpectedServerName => string.IsNullOrWhiteSpace(ServerName) ? Host : ServerName;
}
