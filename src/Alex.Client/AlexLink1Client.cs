// AlexLink/1 from the laptop (docs/protocol.md): the server's first frame is a Welcome or a Refusal;
// requests carry ids and their replies are matched by id, so several may be in flight; the lease,
// subscriptions, server status and the audit feed are requests like any other; heartbeats keep the
// lease alive when nothing else is written (§3: any frame is a sign of life).
using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Alex.Protocol;
using Alex.Protocol.AlexLink;

namespace Alex.Client;

/// <summary>A connection speaking AlexLink/1.</summary>
internal sealed class AlexLink1Client : AlexLinkClient
{
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<AlexLinkMessage>> _pending = new();
    private readonly Channel<AlexLinkAuditLine> _auditLines = Channel.CreateUnbounded<AlexLinkAuditLine>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly TaskCompletionSource<AlexLinkMessage> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _heartbeatLoop = Task.CompletedTask;
    private AlexLinkWelcome? _welcome;
    private int _nextRequestId;
    private long _lastHeartbeatTicks = -1;

    public AlexLink1Client(AlexClientOptions options, HandshakeResult handshake)
        : base(options, handshake)
    {
    }

    public override AlexProtocol Protocol => AlexProtocol.AlexLink1;

    public override AlexLinkWelcome? Welcome => _welcome;

    public override ChannelReader<AlexLinkAuditLine> AuditLines => _auditLines.Reader;

    public override TimeSpan? LastHeartbeatRoundTrip
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastHeartbeatTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    private protected override Task BackgroundWork => _heartbeatLoop;

    public override Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken) =>
        RequestAsync(command.ToString(), new AlexLinkCommand(command), cancellationToken);

    public override Task<CommandReply> StopAsync(CancellationToken cancellationToken) =>
        RequestAsync("s", new AlexLinkStop(), cancellationToken);

    public override Task<CommandReply> TakeLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("take lease", new AlexLinkTakeLease(), cancellationToken);

    public override Task<CommandReply> ReleaseLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("release lease", new AlexLinkReleaseLease(), cancellationToken);

    public override Task<CommandReply> SubscribeAsync(AlexLinkTopics topics, TimeSpan statusInterval, CancellationToken cancellationToken) =>
        RequestAsync("subscribe", new AlexLinkSubscribe(topics, (uint)Math.Clamp(statusInterval.TotalMilliseconds, 0, uint.MaxValue)), cancellationToken);

    public override Task<CommandReply> GetServerStatusAsync(CancellationToken cancellationToken) =>
        RequestAsync("status", new AlexLinkGetServerStatus(), cancellationToken);

    public override Task<CommandReply> FollowAuditAsync(ushort backlog, bool follow, CancellationToken cancellationToken) =>
        RequestAsync("logs", new AlexLinkFollowAudit(backlog, follow), cancellationToken);

    public override async Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        var reply = await RequestAsync("heartbeat", new AlexLinkHeartbeat(Time.GetTimestamp()), cancellationToken).ConfigureAwait(false);
        if (!reply.Acknowledged)
        {
            throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: heartbeat refused: {reply.Text}");
        }

        return reply.RoundTrip;
    }

    private protected override async Task StartAsync(CancellationToken deadline, CancellationToken cancellationToken)
    {
        AlexLinkMessage first;
        try
        {
            first = await _first.Task.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !Closed.IsCompleted)
        {
            throw new AlexConnectException(ConnectFailure.Timeout, $"{Endpoint}: the server sent no Welcome within {Options.ConnectTimeout.TotalSeconds:0.#} s", "is this an AlexLink server? try --classic for a course server");
        }

        switch (first)
        {
            case AlexLinkWelcome { VersionMajor: not AlexLinkFrame.VersionMajor } welcome:
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server speaks AlexLink {welcome.VersionMajor}.{welcome.VersionMinor} under the alexlink/1 name", "update alex on the laptop or the robot so both speak the same version");
            case AlexLinkWelcome welcome:
                _welcome = welcome;
                var interval = Options.HeartbeatInterval ?? HeartbeatFrom(welcome);
                _heartbeatLoop = Task.Run(() => HeartbeatLoopAsync(interval), CancellationToken.None);
                break;
            case AlexLinkRefusal refusal:
                throw new AlexConnectException(ConnectFailure.Refused, $"{Endpoint} refused us: {refusal.Text}", HintFor(refusal.Code)) { RefusalCode = refusal.Code };
            default:
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server's first frame was {first.Type}, not Welcome");
        }
    }

    private protected override int Dispatch(byte[] buffer, int start, int count)
    {
        var sequence = new ReadOnlySequence<byte>(buffer, start, count);
        var consumed = 0L;
        while (true)
        {
            var before = sequence.Length;
            var status = AlexLinkReader.TryRead(ref sequence, out var message, out var error, Options.MaxPayload);
            consumed += before - sequence.Length;
            if (status == OperationStatus.NeedMoreData)
            {
                return (int)consumed;
            }

            if (status == OperationStatus.InvalidData)
            {
                if (error.IsFatal)
                {
                    throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server broke the protocol: {error.Text}");
                }

                continue; // a malformed frame from a newer or broken server: skipped, the stream is in step
            }

            Dispatch(message!);
        }
    }

    private protected override void FailWaiters(AlexConnectException why)
    {
        _first.TrySetException(why);
        foreach (var (_, waiter) in _pending)
        {
            waiter.TrySetException(why);
        }

        _auditLines.Writer.TryComplete();
    }

    private static TimeSpan HeartbeatFrom(AlexLinkWelcome welcome)
    {
        var ms = welcome.HeartbeatIntervalMs != 0 ? welcome.HeartbeatIntervalMs : welcome.LeaseWindowMs / 3;
        return TimeSpan.FromMilliseconds(Math.Max(ms, 50));
    }

    private void Dispatch(AlexLinkMessage message)
    {
        if (!_first.Task.IsCompleted && message is AlexLinkWelcome or AlexLinkRefusal)
        {
            _first.TrySetResult(message);
            return;
        }

        if (message is AlexLinkAuditLine line)
        {
            // Backlog (the request's id) and followed records (id 0) alike, in order, ahead of the request's Ok.
            _auditLines.Writer.TryWrite(line);
            return;
        }

        if (message.RequestId != 0 && _pending.TryGetValue(message.RequestId, out var waiter))
        {
            if (message is AlexLinkHeartbeat echo)
            {
                Interlocked.Exchange(ref _lastHeartbeatTicks, Time.GetElapsedTime(echo.Value).Ticks);
            }

            waiter.TrySetResult(message);
            return;
        }

        if (message.RequestId == 0 && message is not AlexLinkUnknown)
        {
            Push(message);
        }

        // Anything else (a reply to a request we gave up on, an unknown type from a newer server) is skipped.
    }

    private async Task<CommandReply> RequestAsync(string what, AlexLinkMessage request, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var id = NextRequestId();
        var reply = new TaskCompletionSource<AlexLinkMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var started = Time.GetTimestamp();
        try
        {
            await WriteAsync(AlexLinkWriter.Encode(request with { RequestId = id }), cancellationToken).ConfigureAwait(false);
            AlexLinkMessage answer;
            try
            {
                answer = await reply.Task.WaitAsync(Options.ReplyTimeout, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return CommandReply.Failed(what, AlexLinkErrorCode.Timeout, 0, $"no reply from {Endpoint} within {Options.ReplyTimeout.TotalSeconds:0.#} s", Time.GetElapsedTime(started));
            }

            var elapsed = Time.GetElapsedTime(started);
            return answer switch
            {
                AlexLinkOk => CommandReply.Ok(what, elapsed),
                AlexLinkStatus status => CommandReply.Ok(what, elapsed, status.Counters),
                AlexLinkHeartbeat => CommandReply.Ok(what, elapsed),
                AlexLinkServerStatus server => CommandReply.Ok(what, elapsed) with { ServerStatus = server },
                AlexLinkDeclaredReply declared => CommandReply.Ok(what, elapsed) with { Declared = declared },
                AlexLinkError error => CommandReply.Failed(what, error.Code, error.Detail, error.Text, elapsed),
                _ => CommandReply.Failed(what, AlexLinkErrorCode.Internal, 0, $"unexpected reply {answer.Type}", elapsed),
            };
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task HeartbeatLoopAsync(TimeSpan interval)
    {
        try
        {
            while (!Stopping.IsCancellationRequested)
            {
                await Task.Delay(interval, Time, Stopping).ConfigureAwait(false);
                if (Time.GetElapsedTime(LastWriteTimestamp) < interval)
                {
                    continue; // any frame is a sign of life (docs/protocol.md §3)
                }

                // Not awaited past the write: a slow echo must not delay the next heartbeat.
                var id = NextRequestId();
                var echo = new TaskCompletionSource<AlexLinkMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[id] = echo;
                _ = echo.Task.WaitAsync(Options.ReplyTimeout, Time).ContinueWith(
                    t =>
                    {
                        _ = t.Exception; // a missing echo is not an error by itself: the server judges liveness
                        _pending.TryRemove(id, out var _);
                    },
                    TaskScheduler.Default);
                await WriteAsync(AlexLinkWriter.Encode(new AlexLinkHeartbeat(Time.GetTimestamp()) { RequestId = id }), Stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or AlexConnectException or ObjectDisposedException)
        {
            // The connection is closing; the read loop reports why.
        }
    }

    private uint NextRequestId()
    {
        while (true)
        {
            var id = (uint)Interlocked.Increment(ref _nextRequestId);
            if (id != 0)
            {
                return id;
            }
        }
    }

    private static string HintFor(AlexLinkRefusalCode code) => code switch
    {
        AlexLinkRefusalCode.NotAllowed => "ask whoever runs the robot to add this laptop's name to its allow-list (--allow NAME)",
        AlexLinkRefusalCode.Revoked => "this certificate was revoked: ask the CA for a new one",
        AlexLinkRefusalCode.NotTimeValid => "check both clocks (a Pi has no clock battery) and the certificate's dates",
        AlexLinkRefusalCode.WrongUsage => "issue a client certificate (clientAuth); course certificates need the server's --legacy option",
        AlexLinkRefusalCode.WeakKey => "issue a new certificate with a stronger key (the default ECDSA P-256 is fine)",
        AlexLinkRefusalCode.Busy => "the server has too many connections; try again shortly",
        AlexLinkRefusalCode.CannotCheck => "the server's CRL is missing or stale: renew it with `alex pki crl` on the CA",
        _ => "see the server's log for details",
    };
}
