// The course's classic protocol from the laptop (docs/course-protocol.md §4): no request ids, so one
// command at a time and its reply is the next answer; GET_STATS is answered "00 00" then the status. The
// server pushes the Arduino's text and statuses nobody asked for; they go to the telemetry channel in
// AlexLink/1 form, so a caller reads one kind of telemetry whatever the protocol. Leases, subscriptions,
// heartbeats, server status and the audit feed do not exist here: those requests are answered at once.
// A team's declared command (docs/extensions.md) goes as its declared letter and is answered by its declared classic
// packet (the team's type, the status packet, a message, or the ack), given back as the AlexLink/1 DeclaredReply.
using System.Buffers;
using System.Threading.Channels;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>A connection speaking the classic protocol, exactly like the course's client.</summary>
internal sealed class ClassicClient : AlexLinkClient
{
    private const string NoSuchThing = "the classic protocol has no such request (the server speaks classic)";

    private static readonly ChannelReader<AlexLinkAuditLine> NoAuditLines = CompletedReader();

    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _waiterLock = new();
    private Waiter? _waiter;

    public ClassicClient(AlexClientOptions options, HandshakeResult handshake)
        : base(options, handshake)
    {
    }

    public override AlexProtocol Protocol => AlexProtocol.Classic;

    public override ChannelReader<AlexLinkAuditLine> AuditLines => NoAuditLines;

    public override Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken) => CommandAsync(command, cancellationToken);

    public override Task<CommandReply> StopAsync(CancellationToken cancellationToken) => CommandAsync(DriveCommand.Stop, cancellationToken);

    public override Task<CommandReply> TakeLeaseAsync(CancellationToken cancellationToken) => Task.FromResult(NoSuchRequest("take lease", NoSuchThing));

    public override Task<CommandReply> ReleaseLeaseAsync(CancellationToken cancellationToken) => Task.FromResult(NoSuchRequest("release lease", NoSuchThing));

    public override Task<CommandReply> SubscribeAsync(AlexLinkTopics topics, TimeSpan statusInterval, CancellationToken cancellationToken) => Task.FromResult(NoSuchRequest("subscribe", NoSuchThing));

    public override Task<CommandReply> GetServerStatusAsync(CancellationToken cancellationToken) => Task.FromResult(NoSuchRequest("status", NoSuchThing));

    public override Task<CommandReply> FollowAuditAsync(ushort backlog, bool follow, CancellationToken cancellationToken) => Task.FromResult(NoSuchRequest("logs", NoSuchThing));

    public override Task<TimeSpan> PingAsync(CancellationToken cancellationToken) =>
        Task.FromException<TimeSpan>(new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: heartbeat refused: heartbeat: {NoSuchThing}"));

    // The classic server says nothing until asked.
    private protected override Task StartAsync(CancellationToken deadline, CancellationToken cancellationToken) => Task.CompletedTask;

    private protected override int Dispatch(byte[] buffer, int start, int count)
    {
        var bytes = buffer.AsSpan(start, count);
        var consumed = 0;
        while (true)
        {
            var status = ClassicReader.TryRead(bytes[consumed..], Options.Extensions, out var message, out var n);
            if (status == OperationStatus.NeedMoreData)
            {
                return consumed;
            }

            if (status == OperationStatus.InvalidData || message is ClassicCommand)
            {
                // No length prefix and no magic: after a byte that is no server message the stream cannot be re-cut.
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server sent byte 0x{bytes[consumed]:X2}, which starts no classic reply (is it a course server?)");
            }

            consumed += n;
            Waiter? waiter;
            lock (_waiterLock)
            {
                waiter = _waiter;
            }

            if (waiter is not null && waiter.Offer(message!))
            {
                continue;
            }

            var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            AlexLinkMessage? pushed = message switch
            {
                ClassicStatus s => new AlexLinkStatus(now, s.Params),
                ClassicText t => new AlexLinkArduinoText(t.Text),
                ClassicResponse { IsOk: false } r => new AlexLinkError(AlexLinkErrorCode.ArduinoError, r.Code, CommandReply.DescribeArduinoError(r.Code)),
                _ => null, // a late OK (a firmware that sends STATUS before OK): nothing to tell
            };
            if (pushed is not null)
            {
                Push(pushed);
            }
        }
    }

    private protected override void FailWaiters(AlexConnectException why)
    {
        lock (_waiterLock)
        {
            _waiter?.Reply.TrySetException(why);
        }
    }

    private async Task<CommandReply> CommandAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        var what = command.ToString();
        var declared = Options.Extensions.TryGetByCode(command.Command, out var d) ? d : null;
        if (!ClassicCommand.TryFrom(command, Options.Extensions, out var message))
        {
            var why = declared is null
                ? $"the classic protocol has no letter for command code {(byte)command.Command}"
                : "no classic letter is declared for it (add \"letter\" to its declaration, or use AlexLink/1)";
            return CommandReply.Failed(what, AlexLinkErrorCode.UnknownCommand, 0, why, TimeSpan.Zero);
        }

        ThrowIfClosed();

        // No request ids: one command at a time, replies in order.
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        var waiter = new Waiter(command.Command == CommandCode.GetStats, declared);
        try
        {
            lock (_waiterLock)
            {
                _waiter = waiter;
            }

            var started = Time.GetTimestamp();
            await WriteAsync(message.Encode(), cancellationToken).ConfigureAwait(false);
            ClassicMessage? answer;
            try
            {
                answer = await waiter.Reply.Task.WaitAsync(Options.ReplyTimeout, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return CommandReply.Failed(what, AlexLinkErrorCode.Timeout, 0, $"no reply from {Endpoint} within {Options.ReplyTimeout.TotalSeconds:0.#} s (a course server drops commands it does not know)", Time.GetElapsedTime(started));
            }

            var elapsed = Time.GetElapsedTime(started);
            if (declared is not null && DeclaredReply(declared, answer) is { } reading)
            {
                return CommandReply.Ok(what, elapsed) with { Declared = reading };
            }

            return answer switch
            {
                ClassicStatus status => CommandReply.Ok(what, elapsed, status.Counters),
                ClassicResponse { IsOk: true } => CommandReply.Ok(what, elapsed),
                ClassicResponse error => CommandReply.Failed(what, AlexLinkErrorCode.ArduinoError, error.Code, CommandReply.DescribeArduinoError(error.Code), elapsed),
                _ => CommandReply.Failed(what, AlexLinkErrorCode.Internal, 0, $"unexpected reply {answer}", elapsed),
            };
        }
        finally
        {
            lock (_waiterLock)
            {
                _waiter = null;
            }

            _turn.Release();
        }
    }

    private static ChannelReader<AlexLinkAuditLine> CompletedReader()
    {
        var channel = Channel.CreateUnbounded<AlexLinkAuditLine>();
        channel.Writer.TryComplete();
        return channel.Reader;
    }

    /// <summary>A declared command's classic answer as the AlexLink/1 DeclaredReply it stands for; null for an ack or an error.</summary>
    private AlexLinkDeclaredReply? DeclaredReply(DeclaredCommand declared, ClassicMessage answer)
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        return answer switch
        {
            ClassicTeamPacket team => new AlexLinkDeclaredReply(declared.Code, PacketType.Response, declared.Response!.Code, now, team.Params, ""),
            ClassicStatus status => new AlexLinkDeclaredReply(declared.Code, PacketType.Response, (byte)ResponseCode.Status, now, status.Params, ""),
            ClassicText text => new AlexLinkDeclaredReply(declared.Code, PacketType.Message, 0, now, [], text.Text),
            _ => null,
        };
    }

    /// <summary>
    /// What a command waits for: the ack, or for GET_STATS the status (OK before it is absorbed); for a declared command
    /// the packet its declaration says the server forwards (docs/extensions.md, "Through the server"), or an error.
    /// </summary>
    private sealed class Waiter(bool wantsStatus, DeclaredCommand? declared)
    {
        public TaskCompletionSource<ClassicMessage> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when the message answered (or was part of the answer to) this command.</summary>
        public bool Offer(ClassicMessage message)
        {
            if (declared is not null)
            {
                var wanted = message switch
                {
                    ClassicResponse => true,
                    ClassicText => declared.Reply == DeclaredReplyKind.Message,
                    ClassicStatus => declared.Response is { StatusShaped: true },
                    ClassicTeamPacket team => declared.Response is { StatusShaped: false } r && r.ClassicType == team.TypeByte,
                    _ => false,
                };
                return wanted && Reply.TrySetResult(message);
            }

            switch (message)
            {
                case ClassicResponse { IsOk: true } when wantsStatus:
                    return true; // course server: "00 00" then the status (docs/course-protocol.md §4)
                case ClassicResponse:
                    return Reply.TrySetResult(message);
                case ClassicStatus when wantsStatus:
                    return Reply.TrySetResult(message);
                default:
                    return false;
            }
        }
    }
}
