// A session in AlexLink/1 (ALPN "alexlink/1"), our framed protocol: docs/protocol.md.
// First frame from the server: Welcome (who the server thinks the client is, its role, the lease
// terms and limits). Then requests with ids and typed replies (Ok / Status / Error), heartbeats
// echoed, telemetry pushed for the topics the client subscribed to.
// Bad input after the handshake:
//   a frame declared over the maximum → Error FrameTooLarge, then close (the stream is out of step)
//   a payload malformed for its type  → Error BadFrame, keep going (the frame was consumed)
//   an unknown request type           → Error UnknownMessage, keep going (room for later versions)
//   connection closed mid-frame        → close, logged as truncated
using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Robot.Server;

internal sealed class AlexLinkSession : ClientSession
{
    private static readonly AlexLinkOk s_ok = new();

    private readonly ConcurrentDictionary<uint, byte> _inFlight = new();
    private readonly string _serverName;
    private readonly RobotServer.AdminDesk _admin;
    private readonly Lock _followGate = new();
    private volatile AlexLinkTopics _topics = AlexLinkTopics.Default;
    private IDisposable? _following;

    // While the backlog of a FollowAudit goes out, live records wait here (then those not already in the backlog follow it).
    private List<string>? _heldLive;

    public AlexLinkSession(SslStream stream, RecordBatchingStream wire, ClientIdentity identity, X509Certificate2 certificate, X509Certificate2Collection extraCertificates, RobotHub hub, TimeProvider time, string serverName, RobotServer.AdminDesk admin)
        : base(stream, wire, identity, certificate, extraCertificates, hub, time, sendsHeartbeats: true)
    {
        _serverName = serverName;
        _admin = admin;
    }

    public override SessionProtocol Protocol => SessionProtocol.AlexLink1;

    /// <summary>The refusal frame sent instead of Welcome.</summary>
    public static byte[] EncodeRefusal(AlexLinkRefusalCode code, string reason) => AlexLinkWriter.Encode(new AlexLinkRefusal(code, reason));

    public override void Refuse(AlexLinkRefusalCode code, string reason)
    {
        Send(AlexLinkWriter.Encode(new AlexLinkRefusal(code, reason)));
        base.Refuse(code, reason);
    }

    protected override bool Wants(Broadcast broadcast) => _topics.HasFlag(broadcast.Topic);

    protected override ReadOnlyMemory<byte> Render(Broadcast broadcast) => broadcast.Parts is { Count: > 1 } parts
        ? parts.SelectMany(p => AlexLinkWriter.Encode(p).ToArray()).ToArray()
        : AlexLinkWriter.Encode(broadcast.Message);

    protected override Task OnStartAsync()
    {
        var options = Hub.Options;
        var lease = Hub.Lease;
        Send(AlexLinkWriter.Encode(new AlexLinkWelcome(
            Identity.WireRole,
            LeaseWindowMs: (uint)options.LeaseWindow.TotalMilliseconds,
            HeartbeatIntervalMs: (uint)Math.Max(1, options.LeaseWindow.TotalMilliseconds / 3),
            MaxSpeedPercent: options.MaxSpeedPercent,
            MaxDistanceCm: options.MaxDistanceCm ?? 0,
            MaxAngleDegrees: options.MaxAngleDegrees ?? 0,
            MinTelemetryIntervalMs: (uint)options.MinTelemetryInterval.TotalMilliseconds,
            MaxPayload: AlexLinkFrame.MaxPayload,
            ServerTimeUnixMs: Time.GetUtcNow().ToUnixTimeMilliseconds(),
            LeaseSinceUnixMs: lease.Holder is null ? 0 : lease.Since.ToUnixTimeMilliseconds(),
            ClientName: Identity.Name,
            ServerName: _serverName,
            LeaseHolder: lease.Holder ?? "")));
        if (!Hub.LinkUp)
        {
            Push(new AlexLinkLinkState(AlexLinkLinkStatus.Down, Hub.LinkSummary));
        }

        return Task.CompletedTask;
    }

    protected override async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadFramesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Exchange(ref _following, null)?.Dispose();
        }
    }

    private async Task ReadFramesAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[AlexLinkFrame.HeaderSize + AlexLinkFrame.MaxPayload];
        var held = 0;
        while (true)
        {
            var n = await Stream.ReadAsync(buffer.AsMemory(held), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (held > 0)
                {
                    throw new ProtocolViolationException($"connection closed in the middle of a frame ({held} bytes)");
                }

                return;
            }

            held += n;
            Hub.Heartbeat(this);
            var unread = new ReadOnlySequence<byte>(buffer, 0, held);
            while (true)
            {
                var status = AlexLinkReader.TryRead(ref unread, out var message, out var error);
                if (status == OperationStatus.NeedMoreData)
                {
                    break;
                }

                if (status == OperationStatus.InvalidData)
                {
                    Send(AlexLinkWriter.Encode(new AlexLinkError(error.Code, 0, error.Text) { RequestId = error.RequestId }));
                    if (error.IsFatal)
                    {
                        throw new ProtocolViolationException(error.Text);
                    }

                    continue;
                }

                await HandleAsync(message!, cancellationToken).ConfigureAwait(false);
            }

            var consumed = held - (int)unread.Length;
            buffer.AsSpan(consumed, held - consumed).CopyTo(buffer);
            held -= consumed;
        }
    }

    private async Task HandleAsync(AlexLinkMessage message, CancellationToken cancellationToken)
    {
        var id = message.RequestId;
        switch (message)
        {
            case AlexLinkHeartbeat heartbeat:
                Send(AlexLinkWriter.Encode(heartbeat));
                return;
            case AlexLinkCommand command:
                if (!Hub.Extensions.Relays(command.Command))
                {
                    var declared = Hub.Extensions.IsEmpty ? "no team extensions are declared (alex serve --extensions FILE)" : $"declared: {string.Join(", ", Hub.Extensions.Commands.Select(c => $"{c.Name} {c.Code}"))}";
                    Reply(id, new AlexLinkError(AlexLinkErrorCode.UnknownCommand, 0, $"command code {(byte)command.Command} is not one this server relays (the course's 0-6; {declared})"));
                    return;
                }

                await SubmitTrackedAsync(id, command.Drive, cancellationToken).ConfigureAwait(false);
                return;
            case AlexLinkStop:
                await SubmitTrackedAsync(id, DriveCommand.Stop, cancellationToken).ConfigureAwait(false);
                return;
            case AlexLinkSubscribe subscribe:
                _topics = subscribe.Topics;
                var interval = subscribe.Topics.HasFlag(AlexLinkTopics.Status) && subscribe.StatusIntervalMs > 0
                    ? TimeSpan.FromMilliseconds(subscribe.StatusIntervalMs)
                    : (TimeSpan?)null;
                Hub.Subscribe(this, interval);
                Reply(id, new AlexLinkOk());
                FollowMapInOrder(subscribe.Topics.HasFlag(AlexLinkTopics.Map));
                if (subscribe.Topics.HasFlag(AlexLinkTopics.Lease))
                {
                    var lease = Hub.Lease;
                    Push(LeaseState(lease.Holder, lease.Since, AlexLinkLeaseChange.Current));
                }

                if (subscribe.Topics.HasFlag(AlexLinkTopics.Link))
                {
                    Push(new AlexLinkLinkState(Hub.LinkUp ? AlexLinkLinkStatus.Up : AlexLinkLinkStatus.Down, Hub.LinkSummary));
                }

                return;
            case AlexLinkTakeLease:
                Reply(id, Hub.TryAcquire(this) is { } refused ? ToError(refused) : new AlexLinkOk());
                return;
            case AlexLinkReleaseLease:
                Reply(id, Hub.Release(this) is { } notHeld ? ToError(notHeld) : new AlexLinkOk());
                return;
            case AlexLinkGetServerStatus when IsAdmin(id, "the server's status"):
                Reply(id, _admin.Status());
                return;
            case AlexLinkFollowAudit follow when IsAdmin(id, "the audit log"):
                FollowAudit(id, follow);
                return;
            case AlexLinkGetServerStatus or AlexLinkFollowAudit:
                return;
            case AlexLinkUnknown unknown when AlexLinkMessage.IsRequest(unknown.RawType):
                Reply(id, new AlexLinkError(AlexLinkErrorCode.UnknownMessage, 0, $"message type 0x{unknown.RawType:X2} is not known to this server (AlexLink/{AlexLinkFrame.VersionMajor}.{AlexLinkFrame.VersionMinor})"));
                return;
            case AlexLinkUnknown:
                // An unknown server-to-client type from a client: skipped whole, as the spec allows.
                return;
            default:
                Reply(id, new AlexLinkError(AlexLinkErrorCode.UnknownMessage, 0, $"{message.Type} is sent by servers, not clients"));
                return;
        }
    }

    // Status and the audit log name every client and where it connects from: for the admin role only.
    private bool IsAdmin(uint id, string what)
    {
        if (Identity.Role == Alex.Pki.PeerRole.Admin)
        {
            return true;
        }

        Reply(id, new AlexLinkError(AlexLinkErrorCode.Forbidden, 0, $"{what} is for the admin role; {Identity.Name} has the {Identity.Role.ToString().ToLowerInvariant()} role (the server's allow-list gives roles: NAME=admin)"));
        return false;
    }

    // The backlog goes out with the request's id, then Ok; with Follow, every later record is pushed (id 0), none
    // twice and none lost in between: records written while the backlog is read wait in _heldLive.
    private void FollowAudit(uint id, AlexLinkFollowAudit request)
    {
        var feed = _admin.Audit;
        if (request.Follow && _following is null)
        {
            lock (_followGate)
            {
                _heldLive = [];
            }

            _following = feed.Follow(OnAuditLine);
        }

        var backlog = feed.Tail(Math.Min(request.Backlog, AlexLinkFollowAudit.MaxBacklog));
        if (request.Follow)
        {
            // After the tail is read: the follower sees its own record live, never in the backlog.
            _admin.Noted("audit-followed", Identity);
        }

        foreach (var line in backlog)
        {
            Reply(id, new AlexLinkAuditLine(line));
        }

        Reply(id, s_ok);
        lock (_followGate)
        {
            if (_heldLive is { } held)
            {
                _heldLive = null;
                var sent = new HashSet<string>(backlog, StringComparer.Ordinal);
                foreach (var line in held)
                {
                    if (!sent.Contains(line))
                    {
                        Push(new AlexLinkAuditLine(line));
                    }
                }
            }
        }
    }

    private void OnAuditLine(string line)
    {
        lock (_followGate)
        {
            if (_heldLive is { } held)
            {
                held.Add(line);
                return;
            }
        }

        Push(new AlexLinkAuditLine(line));
    }

    private async Task SubmitTrackedAsync(uint id, DriveCommand command, CancellationToken cancellationToken)
    {
        if (id == 0 || !_inFlight.TryAdd(id, 0))
        {
            Reply(id, new AlexLinkError(AlexLinkErrorCode.BadRequestId, 0, id == 0 ? "request id 0 is reserved for pushed messages" : $"request id {id} is already in flight"));
            return;
        }

        await SubmitAsync(
            command,
            result =>
            {
                _inFlight.TryRemove(id, out _);
                Reply(id, ToReply(command, result));
            },
            cancellationToken).ConfigureAwait(false);
    }

    private AlexLinkMessage ToReply(DriveCommand command, CommandResult result)
    {
        if (result.Reply is { Kind: RobotReplyKind.Ok, Packet: { } packet } declared)
        {
            return AlexLinkDeclaredReply.From((byte)command.Command, packet, declared.ReadAt.ToUnixTimeMilliseconds());
        }

        if (result.Reply is { Kind: RobotReplyKind.Ok } ok)
        {
            return ok.Status is { } counters
                ? new AlexLinkStatus(Time.GetUtcNow().ToUnixTimeMilliseconds(), counters)
                : s_ok;
        }

        if (result.Reply is { Kind: RobotReplyKind.ArduinoError } error)
        {
            return new AlexLinkError(AlexLinkErrorCode.ArduinoError, error.Code, $"the Arduino answered {DescribeArduinoCode(error.Code)}");
        }

        return ToError(result);
    }

    private static AlexLinkError ToError(CommandResult result) => new(result.Error ?? AlexLinkErrorCode.Internal, 0, result.Text);

    internal static string DescribeArduinoCode(byte code) =>
        Enum.IsDefined((ResponseCode)code) ? ((ResponseCode)code).ToString() : $"#{code}";

    internal static AlexLinkLeaseState LeaseState(string? holder, DateTimeOffset since, AlexLinkLeaseChange change) => new(
        change,
        since.ToUnixTimeMilliseconds(),
        holder ?? "",
        holder is null ? "the lease is free" : $"{holder} holds the lease");

    private void Reply(uint id, AlexLinkMessage message) => Send(AlexLinkWriter.Encode(message, id));

    private void Push(AlexLinkMessage message) => Send(AlexLinkWriter.Encode(message));
}
