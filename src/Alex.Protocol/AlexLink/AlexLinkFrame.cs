// AlexLink/1 frames: docs/protocol.md §2. Every message travels in one frame; integers little-endian
// (as everywhere on Alex, docs/course-protocol.md).
//
// | offset | size | field                                                                 |
// |--------|------|-----------------------------------------------------------------------|
// | 0      | 2    | payload length N (uint16); a reader refuses N > its maximum at once   |
// | 2      | 1    | message type (AlexLinkMessageType); unknown types are skipped whole   |
// | 3      | 1    | flags: 0 in version 1; receivers ignore them                          |
// | 4      | 4    | request id (uint32): set by the client on requests, echoed on replies, |
// |        |      | 0 on pushed messages                                                   |
// | 8      | N    | payload, laid out per message type (docs/protocol.md §4)              |
namespace Alex.Protocol.AlexLink;

/// <summary>Frame constants shared by the reader, the writer and the tests.</summary>
public static class AlexLinkFrame
{
    public const int LengthOffset = 0;
    public const int TypeOffset = 2;
    public const int FlagsOffset = 3;
    public const int RequestIdOffset = 4;
    public const int HeaderSize = 8;

    /// <summary>The largest payload version 1 sends, and the default a reader accepts.</summary>
    public const int MaxPayload = 4096;

    /// <summary>Version of the protocol this code speaks (docs/protocol.md §6).</summary>
    public const byte VersionMajor = 1;

    public const byte VersionMinor = 0;

    /// <summary>ALPN protocol id: the major version is in the name, so a version 2 would be a new id.</summary>
    public const string Alpn = "alexlink/1";

    /// <summary>Longest string field in bytes of UTF-8; writers cut longer text at a character boundary.</summary>
    public const int MaxStringBytes = 1024;
}

/// <summary>Message types (docs/protocol.md §4). Server → client 0x01-0x1F, client → server 0x20-0x3F.</summary>
public enum AlexLinkMessageType : byte
{
    Welcome = 0x01,
    Refusal = 0x02,
    Ok = 0x10,
    Error = 0x11,
    Status = 0x12,
    LeaseState = 0x13,
    LinkState = 0x14,
    ArduinoText = 0x15,
    SafetyStop = 0x16,
    ServerStatus = 0x17,
    AuditLine = 0x18,
    Scan = 0x19,
    MapTiles = 0x1A,
    DeclaredReply = 0x1C,
    Command = 0x20,
    Stop = 0x21,
    Heartbeat = 0x22,
    Subscribe = 0x23,
    TakeLease = 0x24,
    ReleaseLease = 0x25,
    GetServerStatus = 0x26,
    FollowAudit = 0x27,
}

/// <summary>What a client may do, from the server's allow-list.</summary>
public enum AlexLinkRole : byte
{
    /// <summary>May take the lease and drive.</summary>
    Driver = 1,

    /// <summary>May watch and send STOP, nothing else.</summary>
    Watcher = 2,

    /// <summary>May watch and STOP like a watcher, and read the server's status and audit log; never drives.</summary>
    Admin = 3,
}

/// <summary>Error codes of the Error message (docs/protocol.md §5).</summary>
public enum AlexLinkErrorCode : ushort
{
    /// <summary>The frame or its payload is malformed.</summary>
    BadFrame = 1,

    /// <summary>A request of a type the server does not know (skipped, then answered with this).</summary>
    UnknownMessage = 2,

    /// <summary>A frame declared longer than the receiver's maximum; the receiver closes after this.</summary>
    FrameTooLarge = 3,

    /// <summary>Another client holds the lease.</summary>
    NotDriver = 4,

    /// <summary>The client's role does not allow this (a watcher may only STOP; status and the audit log are for admins).</summary>
    Forbidden = 5,

    /// <summary>A speed, distance or angle beyond the server's limits.</summary>
    LimitExceeded = 6,

    /// <summary>A command code the server does not relay.</summary>
    UnknownCommand = 7,

    /// <summary>The Arduino answered with an error; detail carries its response code (docs/course-protocol.md §1).</summary>
    ArduinoError = 8,

    /// <summary>The serial link to the Arduino is down.</summary>
    LinkDown = 9,

    /// <summary>The Arduino did not answer in time.</summary>
    Timeout = 10,

    /// <summary>A request id of 0, or a request id already in flight.</summary>
    BadRequestId = 11,

    /// <summary>The server is shutting down.</summary>
    ShuttingDown = 12,

    /// <summary>Anything else; the text says what.</summary>
    Internal = 13,

    /// <summary>A move that was still queued when a STOP came; it was dropped, never sent to the Arduino.</summary>
    Stopped = 14,
}

/// <summary>Why the server refuses a connection right after the handshake (docs/protocol.md §5).</summary>
public enum AlexLinkRefusalCode : ushort
{
    /// <summary>The certificate's name is not on the allow-list.</summary>
    NotAllowed = 1,

    /// <summary>The certificate is revoked by the CA's CRL.</summary>
    Revoked = 2,

    /// <summary>The certificate is expired or not valid yet (check the clocks).</summary>
    NotTimeValid = 3,

    /// <summary>The certificate may not be used by a client (extended key usage), or is a legacy certificate the server does not accept.</summary>
    WrongUsage = 4,

    /// <summary>The key or signature algorithm is too weak (RSA under 2048 bits, SHA-1).</summary>
    WeakKey = 5,

    /// <summary>The server has too many connections.</summary>
    Busy = 6,

    /// <summary>The server cannot speak the client's version.</summary>
    UnsupportedVersion = 7,

    /// <summary>The server is shutting down.</summary>
    ShuttingDown = 8,

    /// <summary>The CRL is missing, stale or forged, so the server cannot check anyone (fails closed).</summary>
    CannotCheck = 9,

    /// <summary>Any other reason; the text says what.</summary>
    Other = 10,
}

/// <summary>What telemetry a client wants pushed (Subscribe).</summary>
[Flags]
public enum AlexLinkTopics : uint
{
    None = 0,
    Status = 1,
    Lease = 2,
    Link = 4,
    ArduinoText = 8,
    Safety = 16,

    /// <summary>Lidar revolutions (Scan), when the server has a lidar.</summary>
    Lidar = 32,

    /// <summary>The map's changed tiles and the corrected pose (MapTiles), when the server maps.</summary>
    Map = 64,

    /// <summary>What a client gets before it subscribes.</summary>
    Default = Lease | Link | Safety,

    /// <summary>Everything but Lidar (about 8 kB/s): a client asks for that by name.</summary>
    All = Status | Lease | Link | ArduinoText | Safety,
}

/// <summary>Why the lease changed hands (LeaseState).</summary>
public enum AlexLinkLeaseChange : byte
{
    /// <summary>The current state, sent on subscribe or in answer to nothing in particular.</summary>
    Current = 0,
    Taken = 1,
    Released = 2,

    /// <summary>The driver missed heartbeats past the lease window.</summary>
    Expired = 3,

    /// <summary>The driver's connection closed.</summary>
    DriverLeft = 4,

    /// <summary>The driver's certificate was revoked or removed from the allow-list.</summary>
    Revoked = 5,
}

/// <summary>State of the serial link to the Arduino (LinkState).</summary>
public enum AlexLinkLinkStatus : byte
{
    Down = 0,
    Up = 1,
}

/// <summary>Why the server stopped the robot on its own (SafetyStop).</summary>
public enum AlexLinkStopReason : byte
{
    /// <summary>The driver went silent past the lease window while the robot may be moving (the dead-man).</summary>
    HeartbeatMissed = 1,

    /// <summary>The driver's connection closed while the robot may be moving.</summary>
    DriverLeft = 2,

    /// <summary>The driver's certificate was revoked while connected.</summary>
    DriverRevoked = 3,

    /// <summary>A client sent STOP (reported so every watcher knows who stopped the robot).</summary>
    StopRequested = 4,

    /// <summary>The server is shutting down.</summary>
    ServerShutdown = 5,
}
