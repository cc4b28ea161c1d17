// AlexLink/1 messages for the admin role: the server's health and its audit log, so that a robot
// can be looked after without a shell on the Pi. Layouts: docs/protocol.md §4 "Admin messages".
//
// ServerStatus (68 fixed bytes, then strings and two lists):
// | offset | size | field                                                                  |
// |--------|------|------------------------------------------------------------------------|
// | 0      | 8    | server time                                                            |
// | 8      | 8    | started at (uptime = server time - started at)                         |
// | 16     | 1    | Arduino link: 0 down, 1 up                                             |
// | 17     | 1    | flags: bit 0 the robot may be moving                                   |
// | 18     | 2    | u16 sessions connected (the list below may hold fewer: it must fit)    |
// | 20     | 8    | lease holder since (0 = free)                                          |
// | 28     | 8    | the server certificate's notAfter                                      |
// | 36     | 8    | CRL thisUpdate (0 = the server runs without a CRL)                     |
// | 44     | 8    | CRL nextUpdate (0 = none given)                                        |
// | 52     | 8    | free bytes where the audit log is (-1 = unknown / no file)             |
// | 60     | 8    | audit log size in bytes (-1 = no file)                                 |
// | 68     | …    | strings: version, server name, link detail, lease holder ("" = free),  |
// |        |      | CRL number (decimal, "" = none), audit path ("" = none)                |
// | …      | 2    | u16 session entries; each: u8 role, u8 protocol (1 alexlink/1,         |
// |        |      | 2 classic), 2 reserved, time connected, string name, string peer       |
// | …      | 2    | u16 counters; each: i64 value, string name                             |
namespace Alex.Protocol.AlexLink;

/// <summary>Client → server (admin role): how is the server? Answered with <see cref="AlexLinkServerStatus"/>.</summary>
public sealed record AlexLinkGetServerStatus : AlexLinkMessage
{
    public override AlexLinkMessageType Type => AlexLinkMessageType.GetServerStatus;

    internal override int PayloadLength => 0;

    internal override void WritePayload(ref PayloadWriter w)
    {
    }
}

/// <summary>
/// Client → server (admin role): send the last <see cref="Backlog"/> audit records (each an
/// <see cref="AlexLinkAuditLine"/> with this request's id), then Ok; with <see cref="Follow"/>, every
/// record written after that is pushed (request id 0) until the connection closes.
/// </summary>
public sealed record AlexLinkFollowAudit(ushort Backlog, bool Follow) : AlexLinkMessage
{
    /// <summary>The most backlog records a server sends, whatever is asked.</summary>
    public const ushort MaxBacklog = 1000;

    public override AlexLinkMessageType Type => AlexLinkMessageType.FollowAudit;

    internal override int PayloadLength => 4;

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteUInt16(Backlog);
        w.WriteByte(Follow ? (byte)1 : (byte)0);
        w.WriteZeros(1);
    }

    internal static AlexLinkFollowAudit? Read(ref PayloadReader r) =>
        r.TryReadUInt16(out var backlog) && r.TryReadByte(out var follow) && r.TrySkip(1) ? new(backlog, (follow & 1) != 0) : null;
}

/// <summary>Server → client: one audit record, the JSON line as the server wrote it (docs/security.md "Audit log").</summary>
public sealed record AlexLinkAuditLine(string Json) : AlexLinkMessage
{
    /// <summary>Longest line sent whole (more than other strings: a record names a subject, a fingerprint and a reason).</summary>
    public const int MaxLineBytes = AlexLinkFrame.MaxPayload - 2;

    public override AlexLinkMessageType Type => AlexLinkMessageType.AuditLine;

    internal override int PayloadLength => PayloadWriter.StringSize(Json, MaxLineBytes);

    internal override void WritePayload(ref PayloadWriter w) => w.WriteString(Json, MaxLineBytes);

    internal static AlexLinkAuditLine? Read(ref PayloadReader r) => r.TryReadString(MaxLineBytes, out var json) ? new(json) : null;
}

/// <summary>One connected client in <see cref="AlexLinkServerStatus"/>.</summary>
public sealed record AlexLinkSessionInfo(AlexLinkRole Role, AlexLinkSessionProtocol Protocol, long ConnectedUnixMs, string Name, string Peer)
{
    internal int Size => 12 + PayloadWriter.StringSize(Name) + PayloadWriter.StringSize(Peer);
}

/// <summary>Which protocol a listed session speaks.</summary>
public enum AlexLinkSessionProtocol : byte
{
    AlexLink1 = 1,
    Classic = 2,
}

/// <summary>A named counter in <see cref="AlexLinkServerStatus"/> (e.g. the serial link's errors).</summary>
public sealed record AlexLinkCounter(string Name, long Value)
{
    internal int Size => 8 + PayloadWriter.StringSize(Name);
}

/// <summary>Server → client: the answer to <see cref="AlexLinkGetServerStatus"/> (layout at the top of this file).</summary>
public sealed record AlexLinkServerStatus : AlexLinkMessage
{
    public const int FixedSize = 68;

    /// <summary>Time fields, in milliseconds since 1970 on the server's clock (0: none).</summary>
    public long ServerTimeUnixMs { get; init; }

    public long StartedUnixMs { get; init; }

    public AlexLinkLinkStatus Link { get; init; }

    public bool MayBeMoving { get; init; }

    /// <summary>Sessions connected; <see cref="Sessions"/> lists as many as fit a frame.</summary>
    public ushort SessionCount { get; init; }

    public long LeaseSinceUnixMs { get; init; }

    public long CertificateNotAfterUnixMs { get; init; }

    public long CrlThisUpdateUnixMs { get; init; }

    public long CrlNextUpdateUnixMs { get; init; }

    /// <summary>Free bytes on the audit log's file system; -1 when unknown.</summary>
    public long AuditFreeBytes { get; init; } = -1;

    /// <summary>The audit log's size; -1 when the server writes none.</summary>
    public long AuditSizeBytes { get; init; } = -1;

    public string Version { get; init; } = "";

    public string ServerName { get; init; } = "";

    public string LinkDetail { get; init; } = "";

    public string LeaseHolder { get; init; } = "";

    /// <summary>The CRL's number in decimal ("" when there is no CRL or it has none).</summary>
    public string CrlNumber { get; init; } = "";

    public string AuditPath { get; init; } = "";

    public IReadOnlyList<AlexLinkSessionInfo> Sessions { get; init; } = [];

    public IReadOnlyList<AlexLinkCounter> Counters { get; init; } = [];

    public override AlexLinkMessageType Type => AlexLinkMessageType.ServerStatus;

    internal override int PayloadLength => FixedAndStringsSize + 2 + Sessions.Sum(s => s.Size) + 2 + Counters.Sum(c => c.Size);

    private int FixedAndStringsSize =>
        FixedSize + PayloadWriter.StringSize(Version) + PayloadWriter.StringSize(ServerName) + PayloadWriter.StringSize(LinkDetail) +
        PayloadWriter.StringSize(LeaseHolder) + PayloadWriter.StringSize(CrlNumber) + PayloadWriter.StringSize(AuditPath);

    /// <summary>
    /// This status with as many sessions as fit in <paramref name="maxPayload"/> (the counters and strings always do:
    /// they are few and short); <see cref="SessionCount"/> still says how many there are.
    /// </summary>
    public AlexLinkServerStatus FitTo(int maxPayload = AlexLinkFrame.MaxPayload)
    {
        var room = maxPayload - FixedAndStringsSize - 4 - Counters.Sum(c => c.Size);
        var kept = 0;
        foreach (var session in Sessions)
        {
            if (room < session.Size)
            {
                break;
            }

            room -= session.Size;
            kept++;
        }

        return kept == Sessions.Count ? this : this with { Sessions = Sessions.Take(kept).ToArray() };
    }

    internal override void WritePayload(ref PayloadWriter w)
    {
        w.WriteInt64(ServerTimeUnixMs);
        w.WriteInt64(StartedUnixMs);
        w.WriteByte((byte)Link);
        w.WriteByte(MayBeMoving ? (byte)1 : (byte)0);
        w.WriteUInt16(SessionCount);
        w.WriteInt64(LeaseSinceUnixMs);
        w.WriteInt64(CertificateNotAfterUnixMs);
        w.WriteInt64(CrlThisUpdateUnixMs);
        w.WriteInt64(CrlNextUpdateUnixMs);
        w.WriteInt64(AuditFreeBytes);
        w.WriteInt64(AuditSizeBytes);
        w.WriteString(Version);
        w.WriteString(ServerName);
        w.WriteString(LinkDetail);
        w.WriteString(LeaseHolder);
        w.WriteString(CrlNumber);
        w.WriteString(AuditPath);
        w.WriteUInt16((ushort)Sessions.Count);
        foreach (var s in Sessions)
        {
            w.WriteByte((byte)s.Role);
            w.WriteByte((byte)s.Protocol);
            w.WriteZeros(2);
            w.WriteInt64(s.ConnectedUnixMs);
            w.WriteString(s.Name);
            w.WriteString(s.Peer);
        }

        w.WriteUInt16((ushort)Counters.Count);
        foreach (var c in Counters)
        {
            w.WriteInt64(c.Value);
            w.WriteString(c.Name);
        }
    }

    internal static AlexLinkServerStatus? Read(ref PayloadReader r)
    {
        if (!(r.TryReadInt64(out var now) && r.TryReadInt64(out var started) && r.TryReadByte(out var link) && r.TryReadByte(out var flags) &&
              r.TryReadUInt16(out var sessionCount) && r.TryReadInt64(out var leaseSince) && r.TryReadInt64(out var notAfter) &&
              r.TryReadInt64(out var crlThis) && r.TryReadInt64(out var crlNext) && r.TryReadInt64(out var free) && r.TryReadInt64(out var size) &&
              r.TryReadString(out var version) && r.TryReadString(out var serverName) && r.TryReadString(out var linkDetail) &&
              r.TryReadString(out var holder) && r.TryReadString(out var crlNumber) && r.TryReadString(out var auditPath) &&
              r.TryReadUInt16(out var listed)))
        {
            return null;
        }

        var sessions = new List<AlexLinkSessionInfo>(Math.Min((int)listed, 256));
        for (var i = 0; i < listed; i++)
        {
            if (!(r.TryReadByte(out var role) && r.TryReadByte(out var protocol) && r.TrySkip(2) && r.TryReadInt64(out var connected) &&
                  r.TryReadString(out var name) && r.TryReadString(out var peer)))
            {
                return null;
            }

            sessions.Add(new AlexLinkSessionInfo((AlexLinkRole)role, (AlexLinkSessionProtocol)protocol, connected, name, peer));
        }

        if (!r.TryReadUInt16(out var counted))
        {
            return null;
        }

        var counters = new List<AlexLinkCounter>(Math.Min((int)counted, 256));
        for (var i = 0; i < counted; i++)
        {
            if (!(r.TryReadInt64(out var value) && r.TryReadString(out var name)))
            {
                return null;
            }

            counters.Add(new AlexLinkCounter(name, value));
        }

        return new AlexLinkServerStatus
        {
            ServerTimeUnixMs = now,
            StartedUnixMs = started,
            Link = (AlexLinkLinkStatus)link,
            MayBeMoving = (flags & 1) != 0,
            SessionCount = sessionCount,
            LeaseSinceUnixMs = leaseSince,
            CertificateNotAfterUnixMs = notAfter,
            CrlThisUpdateUnixMs = crlThis,
            CrlNextUpdateUnixMs = crlNext,
            AuditFreeBytes = free,
            AuditSizeBytes = size,
            Version = version,
            ServerName = serverName,
            LinkDetail = linkDetail,
            LeaseHolder = holder,
            CrlNumber = crlNumber,
            AuditPath = auditPath,
            Sessions = sessions,
            Counters = counters,
        };
    }

    public bool Equals(AlexLinkServerStatus? other) =>
        other is not null && AlexLinkWriter.Encode(this).AsSpan().SequenceEqual(AlexLinkWriter.Encode(other));

    public override int GetHashCode() => HashCode.Combine(RequestId, ServerTimeUnixMs, Sessions.Count, Counters.Count);

    public override string ToString() => $"server status #{RequestId} ({SessionCount} sessions, link {Link})";
}
