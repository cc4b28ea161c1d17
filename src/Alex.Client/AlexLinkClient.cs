// The laptop side of AlexLink: connect over mutual TLS, check the server properly,
// send commands and await their replies, receive telemetry, keep the lease alive with heartbeats.
// Speaks AlexLink/1 (docs/protocol.md) or, against the course's own C server, the classic protocol
// (docs/course-protocol.md §4: no ALPN, no SNI, one message per TLS record).
//
// Shape: one read loop per connection feeds the pure codecs and dispatches (replies by request id,
// pushed messages to the telemetry channel); one serialized writer, so SslStream never sees two
// concurrent writes and every message is its own write (= its own TLS record).
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>One connection to Alex's server. Thread-safe: requests may be sent from several tasks.</summary>
public sealed class AlexLinkClient : IAsyncDisposable
{
    private readonly AlexClientOptions _options;
    private readonly TcpClient _tcp;
    private readonly SslStream _ssl;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _classicTurn = new(1, 1);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<AlexLinkMessage>> _pending = new();
    private readonly Channel<AlexLinkMessage> _telemetry = Channel.CreateBounded<AlexLinkMessage>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = true });
    private readonly Channel<AlexLinkAuditLine> _auditLines = Channel.CreateUnbounded<AlexLinkAuditLine>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly TaskCompletionSource<AlexLinkMessage> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AlexConnectException> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _classicLock = new();
    private ClassicWaiter? _classicWaiter;
    private Task _readLoop = Task.CompletedTask;
    private Task _heartbeatLoop = Task.CompletedTask;
    private int _nextRequestId;
    private long _lastWriteTimestamp;
    private long _lastHeartbeatTicks = -1;
    private bool _receivedAnything;
    private bool _saidGoodbye;
    private int _disposed;

    private AlexLinkClient(AlexClientOptions options, TcpClient tcp, SslStream ssl, AlexProtocol protocol, TrustDecision serverTrust)
    {
        _options = options;
        _tcp = tcp;
        _ssl = ssl;
        _time = options.Time;
        Protocol = protocol;
        ServerTrust = serverTrust;
    }

    /// <summary>The protocol in use: AlexLink1 or Classic (never Auto).</summary>
    public AlexProtocol Protocol { get; }

    /// <summary>The server's Welcome (AlexLink/1); null in classic.</summary>
    public AlexLinkWelcome? Welcome { get; private set; }

    /// <summary>What our trust policy found about the server's certificate (accepted, with its name).</summary>
    public TrustDecision ServerTrust { get; }

    public SslProtocols TlsVersion => _ssl.SslProtocol;

    public TlsCipherSuite CipherSuite => _ssl.NegotiatedCipherSuite;

    /// <summary>"host:port".</summary>
    public string Endpoint => $"{_options.Host}:{_options.Port}";

    /// <summary>Pushed messages: Status, LeaseState, LinkState, ArduinoText, SafetyStop, and errors not tied to a request.</summary>
    public ChannelReader<AlexLinkMessage> Telemetry => _telemetry.Reader;

    /// <summary>Audit records from <see cref="FollowAuditAsync"/>, backlog first, in the server's order (completed when the connection closes).</summary>
    public ChannelReader<AlexLinkAuditLine> AuditLines => _auditLines.Reader;

    /// <summary>Completes when the connection ends, with why.</summary>
    public Task<AlexConnectException> Closed => _closed.Task;

    /// <summary>The last heartbeat round trip, or null before the first echo.</summary>
    public TimeSpan? LastHeartbeatRoundTrip
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastHeartbeatTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    /// <summary>
    /// Connects, handshakes, checks the server with the trust policy and, in AlexLink/1, reads the
    /// Welcome. Failures come as <see cref="AlexConnectException"/> with the reason in words.
    /// </summary>
    public static async Task<AlexLinkClient> ConnectAsync(AlexClientOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hostPort = $"{options.Host}:{options.Port}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);

        var tcp = IPAddress.TryParse(options.Host, out var ip) ? new TcpClient(ip.AddressFamily) : new TcpClient();
        tcp.NoDelay = true;
        SslStream? ssl = null;
        var tlsUp = false;
        var handedOver = false;
        try
        {
            try
            {
                await tcp.ConnectAsync(options.Host, options.Port, deadline.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new AlexConnectException(
                    ConnectFailure.Unreachable,
                    $"cannot reach {hostPort}: {Describe(e)}",
                    "is `alex serve` running there? check the address and the port (default 5000)",
                    e);
            }

            ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            var trust = new TrustPolicy(options.Credentials.Authorities, new TrustPolicyOptions
            {
                AllowList = AllowList.None,
                Legacy = options.AcceptLegacyCertificates,
                TimeProvider = options.Time,
            });
            TrustDecision? serverTrust = null;
            var expected = options.ExpectedServerName;
            var offerAlexLink = options.Protocol != AlexProtocol.Classic;
            var tls = TlsProfiles.Client(options.Credentials.Certificate, options.Credentials.Authorities[0], expected, alexLink: offerAlexLink);

            // SNI: the course client sends none (docs/course-protocol.md §5), so classic sends none either; an IP
            // address is never sent as SNI. The name is checked by the trust policy below either way.
            tls.TargetHost = offerAlexLink && Uri.CheckHostName(expected) == UriHostNameType.Dns ? expected : string.Empty;
            tls.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                // The whole check is the trust policy's: chain to our CA only, validity, serverAuth
                // usage, key strength, and the name we asked for in SAN (or CN when there is no SAN).
                using var leaf = certificate is null ? null : new X509Certificate2(certificate);
                serverTrust = trust.EvaluateServer(leaf, chain?.ChainPolicy.ExtraStore, expected);
                return serverTrust.Accepted;
            };

            try
            {
                await ssl.AuthenticateAsClientAsync(tls, deadline.Token).ConfigureAwait(false);
                tlsUp = true;
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                if (serverTrust is { Accepted: false } refused)
                {
                    throw new AlexConnectException(
                        ConnectFailure.ServerNotTrusted,
                        $"{hostPort}: we do not trust the server: {refused.Reason}",
                        HintFor(refused, expected),
                        e);
                }

                throw TlsFailureText.FromHandshake(e, hostPort);
            }

            var negotiated = ssl.NegotiatedApplicationProtocol;
            var protocol = negotiated == TlsProfiles.AlexLink1 ? AlexProtocol.AlexLink1 : AlexProtocol.Classic;
            if (options.Protocol == AlexProtocol.AlexLink1 && protocol != AlexProtocol.AlexLink1)
            {
                throw new AlexConnectException(
                    ConnectFailure.ProtocolMismatch,
                    $"{hostPort}: the server does not speak alexlink/1 (it chose no ALPN protocol): it looks like the course's classic server",
                    "use --classic to drive it with the course protocol");
            }

            var client = new AlexLinkClient(options, tcp, ssl, protocol, serverTrust!);
            handedOver = true;
            try
            {
                await client.StartAsync(deadline.Token, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return client;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            if (!handedOver)
            {
                await PoliteClose.CloseAsync(ssl, tcp.Client, tlsUp, PoliteClose.Limit).ConfigureAwait(false);
                tcp.Dispose();
            }

            throw new AlexConnectException(
                ConnectFailure.Timeout,
                $"{hostPort}: no answer within {options.ConnectTimeout.TotalSeconds:0.#} s",
                "is the address right and the port open? a firewall may be dropping packets",
                e);
        }
        catch
        {
            if (!handedOver)
            {
                await PoliteClose.CloseAsync(ssl, tcp.Client, tlsUp, PoliteClose.Limit).ConfigureAwait(false);
                tcp.Dispose();
            }

            throw;
        }
    }

    /// <summary>Sends a command and awaits its reply (GET_STATS: the status).</summary>
    public Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken) =>
        Protocol == AlexProtocol.Classic
            ? SendClassicAsync(command, cancellationToken)
            : RequestAsync(command.ToString(), new AlexLinkCommand(command), cancellationToken);

    /// <summary>STOP: allowed for any authenticated client; the server puts it ahead of anything queued.</summary>
    public Task<CommandReply> StopAsync(CancellationToken cancellationToken) =>
        Protocol == AlexProtocol.Classic
            ? SendClassicAsync(DriveCommand.Stop, cancellationToken)
            : RequestAsync("s", new AlexLinkStop(), cancellationToken);

    /// <summary>Takes the driver lease (AlexLink/1; in classic the first move takes it).</summary>
    public Task<CommandReply> TakeLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("take lease", new AlexLinkTakeLease(), cancellationToken, requireAlexLink: true);

    /// <summary>Gives the lease up (AlexLink/1).</summary>
    public Task<CommandReply> ReleaseLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("release lease", new AlexLinkReleaseLease(), cancellationToken, requireAlexLink: true);

    /// <summary>Asks for telemetry (AlexLink/1); status every <paramref name="statusInterval"/> (zero: none).</summary>
    public Task<CommandReply> SubscribeAsync(AlexLinkTopics topics, TimeSpan statusInterval, CancellationToken cancellationToken) =>
        RequestAsync("subscribe", new AlexLinkSubscribe(topics, (uint)Math.Clamp(statusInterval.TotalMilliseconds, 0, uint.MaxValue)), cancellationToken, requireAlexLink: true);

    /// <summary>The server's health (admin role; anyone else is refused Forbidden): the reply's <see cref="CommandReply.ServerStatus"/>.</summary>
    public Task<CommandReply> GetServerStatusAsync(CancellationToken cancellationToken) =>
        RequestAsync("status", new AlexLinkGetServerStatus(), cancellationToken, requireAlexLink: true);

    /// <summary>
    /// Asks for the last <paramref name="backlog"/> audit records and, with <paramref name="follow"/>, every later one (admin role).
    /// The records arrive in <see cref="AuditLines"/>; when this returns acknowledged, the backlog is there already.
    /// </summary>
    public Task<CommandReply> FollowAuditAsync(ushort backlog, bool follow, CancellationToken cancellationToken) =>
        RequestAsync("logs", new AlexLinkFollowAudit(backlog, follow), cancellationToken, requireAlexLink: true);

    /// <summary>One heartbeat and its echo: the round trip through the server (AlexLink/1).</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        var reply = await RequestAsync("heartbeat", new AlexLinkHeartbeat(_time.GetTimestamp()), cancellationToken, requireAlexLink: true).ConfigureAwait(false);
        if (!reply.Acknowledged)
        {
            throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: heartbeat refused: {reply.Text}");
        }

        return reply.RoundTrip;
    }

    /// <summary>
    /// Closes politely (<see cref="PoliteClose"/>): close_notify and FIN, then the read loop reads on
    /// until the server closes too (bounded), so a normal exit never resets the connection.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_closed.Task.IsCompleted)
        {
            await SayGoodbyeAsync().ConfigureAwait(false);
            PoliteClose.HalfClose(_tcp.Client);
            try
            {
                await _readLoop.WaitAsync(PoliteClose.Limit).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The server did not close in time: close anyway.
            }
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _ssl.Dispose();
        _tcp.Dispose();
        Close(ClosedByUs());
        try
        {
            await Task.WhenAll(_readLoop, _heartbeatLoop).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Loops end on their own once the stream is disposed; do not hang the caller.
        }

        _stopping.Dispose();
    }

    // close_notify under the write lock; nothing is written after it (WriteAsync checks _saidGoodbye).
    private async Task SayGoodbyeAsync()
    {
        try
        {
            using var bound = new CancellationTokenSource(PoliteClose.Limit);
            await _writeLock.WaitAsync(bound.Token).ConfigureAwait(false);
            try
            {
                Volatile.Write(ref _saidGoodbye, true);
                await PoliteClose.SayGoodbyeAsync(_ssl, bound.Token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (OperationCanceledException)
        {
            // A write is stuck: the close that follows ends it.
        }
    }

    private AlexConnectException ClosedByUs() => new(ConnectFailure.ConnectionLost, $"{Endpoint}: closed by us");

    private async Task StartAsync(CancellationToken deadline, CancellationToken cancellationToken)
    {
        _readLoop = Task.Run(ReadLoopAsync, CancellationToken.None);
        if (Protocol == AlexProtocol.Classic)
        {
            return; // the classic server says nothing until asked
        }

        AlexLinkMessage first;
        try
        {
            first = await _first.Task.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_closed.Task.IsCompleted)
        {
            throw new AlexConnectException(ConnectFailure.Timeout, $"{Endpoint}: the server sent no Welcome within {_options.ConnectTimeout.TotalSeconds:0.#} s", "is this an AlexLink server? try --classic for a course server");
        }

        switch (first)
        {
            case AlexLinkWelcome { VersionMajor: not AlexLinkFrame.VersionMajor } welcome:
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server speaks AlexLink {welcome.VersionMajor}.{welcome.VersionMinor} under the alexlink/1 name", "update alex on the laptop or the robot so both speak the same version");
            case AlexLinkWelcome welcome:
                Welcome = welcome;
                var interval = _options.HeartbeatInterval ?? HeartbeatFrom(welcome);
                _heartbeatLoop = Task.Run(() => HeartbeatLoopAsync(interval), CancellationToken.None);
                break;
            case AlexLinkRefusal refusal:
                throw new AlexConnectException(ConnectFailure.Refused, $"{Endpoint} refused us: {refusal.Text}", HintFor(refusal.Code)) { RefusalCode = refusal.Code };
            default:
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server's first frame was {first.Type}, not Welcome");
        }
    }

    private static TimeSpan HeartbeatFrom(AlexLinkWelcome welcome)
    {
        var ms = welcome.HeartbeatIntervalMs != 0 ? welcome.HeartbeatIntervalMs : welcome.LeaseWindowMs / 3;
        return TimeSpan.FromMilliseconds(Math.Max(ms, 50));
    }

    private async Task<CommandReply> RequestAsync(string what, AlexLinkMessage request, CancellationToken cancellationToken, bool requireAlexLink = false)
    {
        if (Protocol == AlexProtocol.Classic)
        {
            if (requireAlexLink)
            {
                return CommandReply.Failed(what, AlexLinkErrorCode.UnknownMessage, 0, $"{what}: the classic protocol has no such request (the server speaks classic)", TimeSpan.Zero);
            }
        }

        ThrowIfClosed();
        var id = NextRequestId();
        var reply = new TaskCompletionSource<AlexLinkMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var started = _time.GetTimestamp();
        try
        {
            await WriteAsync(AlexLinkWriter.Encode(request with { RequestId = id }), cancellationToken).ConfigureAwait(false);
            AlexLinkMessage answer;
            try
            {
                answer = await reply.Task.WaitAsync(_options.ReplyTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return CommandReply.Failed(what, AlexLinkErrorCode.Timeout, 0, $"{what}: no reply from {Endpoint} within {_options.ReplyTimeout.TotalSeconds:0.#} s", _time.GetElapsedTime(started));
            }

            var elapsed = _time.GetElapsedTime(started);
            return answer switch
            {
                AlexLinkOk => CommandReply.Ok(what, elapsed),
                AlexLinkStatus status => CommandReply.Ok(what, elapsed, status.Counters),
                AlexLinkHeartbeat => CommandReply.Ok(what, elapsed),
                AlexLinkServerStatus server => CommandReply.Ok(what, elapsed) with { ServerStatus = server },
                AlexLinkError error => CommandReply.Failed(what, error.Code, error.Detail, error.Text, elapsed),
                _ => CommandReply.Failed(what, AlexLinkErrorCode.Internal, 0, $"{what}: unexpected reply {answer.Type}", elapsed),
            };
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task<CommandReply> SendClassicAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        var what = command.ToString();
        if (!ClassicCommand.TryFrom(command, out var message))
        {
            return CommandReply.Failed(what, AlexLinkErrorCode.UnknownCommand, 0, $"{what}: the classic protocol has no letter for command code {(byte)command.Command}", TimeSpan.Zero);
        }

        ThrowIfClosed();

        // The classic protocol has no request ids: one command at a time, replies in order.
        await _classicTurn.WaitAsync(cancellationToken).ConfigureAwait(false);
        var waiter = new ClassicWaiter(command.Command == CommandCode.GetStats);
        try
        {
            lock (_classicLock)
            {
                _classicWaiter = waiter;
            }

            var started = _time.GetTimestamp();
            await WriteAsync(message.Encode(), cancellationToken).ConfigureAwait(false);
            ClassicMessage? answer;
            try
            {
                answer = await waiter.Reply.Task.WaitAsync(_options.ReplyTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return CommandReply.Failed(what, AlexLinkErrorCode.Timeout, 0, $"{what}: no reply from {Endpoint} within {_options.ReplyTimeout.TotalSeconds:0.#} s (a course server drops commands it does not know)", _time.GetElapsedTime(started));
            }

            var elapsed = _time.GetElapsedTime(started);
            return answer switch
            {
                ClassicStatus status => CommandReply.Ok(what, elapsed, status.Counters),
                ClassicResponse { IsOk: true } => CommandReply.Ok(what, elapsed),
                ClassicResponse error => CommandReply.Failed(what, AlexLinkErrorCode.ArduinoError, error.Code, CommandReply.DescribeArduinoError(error.Code), elapsed),
                _ => CommandReply.Failed(what, AlexLinkErrorCode.Internal, 0, $"{what}: unexpected reply {answer}", elapsed),
            };
        }
        finally
        {
            lock (_classicLock)
            {
                _classicWaiter = null;
            }

            _classicTurn.Release();
        }
    }

    // One write per message: with the classic protocol each message must be its own TLS record.
    private async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        Exception? writeFailure = null;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            if (Volatile.Read(ref _saidGoodbye))
            {
                throw ClosedByUs();
            }

            await _ssl.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await _ssl.FlushAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _lastWriteTimestamp, _time.GetTimestamp());
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            writeFailure = e;
        }
        finally
        {
            _writeLock.Release();
        }

        if (writeFailure is not null)
        {
            // The read loop usually knows better why (an alert, a refusal): give it a moment to say so.
            await Task.WhenAny(_closed.Task, Task.Delay(TimeSpan.FromSeconds(1), _time, CancellationToken.None)).ConfigureAwait(false);
            Close(new AlexConnectException(ConnectFailure.ConnectionLost, $"{Endpoint}: connection lost while sending ({writeFailure.Message.TrimEnd('.')})", "reconnect; the server stops Alex when its driver goes away", writeFailure));
            throw await _closed.Task.ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        int start = 0, end = 0;
        AlexConnectException? why = null;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                }

                var n = await _ssl.ReadAsync(buffer.AsMemory(end), _stopping.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    why = Volatile.Read(ref _saidGoodbye) ? ClosedByUs() : ClosedByServer(null, end - start);
                    break;
                }

                end += n;
                start += Protocol == AlexProtocol.Classic ? DispatchClassic(buffer.AsSpan(start, end - start)) : DispatchAlexLink(buffer, start, end - start);
                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (OperationCanceledException)
        {
            why = new AlexConnectException(ConnectFailure.ConnectionLost, $"{Endpoint}: closed by us");
        }
        catch (AlexConnectException e)
        {
            why = e;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or AuthenticationException or InvalidOperationException)
        {
            why = _stopping.IsCancellationRequested || Volatile.Read(ref _saidGoodbye)
                ? ClosedByUs()
                : ClosedByServer(e, end - start);
        }

        Close(why ?? new AlexConnectException(ConnectFailure.ConnectionLost, $"{Endpoint}: closed by us"));
    }

    private AlexConnectException ClosedByServer(Exception? e, int leftover)
    {
        if (!_receivedAnything)
        {
            return TlsFailureText.AfterHandshake(e, Endpoint, _ssl.SslProtocol == SslProtocols.Tls13);
        }

        var cut = leftover > 0 ? $" in the middle of a message ({leftover} bytes)" : "";
        var detail = e is null ? "" : $" ({e.Message.TrimEnd('.')})";
        return new AlexConnectException(ConnectFailure.ConnectionLost, $"{Endpoint}: the server closed the connection{cut}{detail}", "reconnect; the server stops Alex when its driver goes away", e);
    }

    private int DispatchAlexLink(byte[] buffer, int start, int count)
    {
        var sequence = new ReadOnlySequence<byte>(buffer, start, count);
        var consumed = 0L;
        while (true)
        {
            var before = sequence.Length;
            var status = AlexLinkReader.TryRead(ref sequence, out var message, out var error, _options.MaxPayload);
            consumed += before - sequence.Length;
            if (status == OperationStatus.NeedMoreData)
            {
                return (int)consumed;
            }

            _receivedAnything = true;
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
            if (message is AlexLinkHeartbeat)
            {
                Interlocked.Exchange(ref _lastHeartbeatTicks, _time.GetElapsedTime(((AlexLinkHeartbeat)message).Value).Ticks);
            }

            waiter.TrySetResult(message);
            return;
        }

        if (message.RequestId == 0 && message is not AlexLinkUnknown)
        {
            _telemetry.Writer.TryWrite(message);
        }

        // Anything else (a reply to a request we gave up on, an unknown type from a newer server) is skipped.
    }

    private int DispatchClassic(ReadOnlySpan<byte> bytes)
    {
        var consumed = 0;
        while (true)
        {
            var status = ClassicReader.TryRead(bytes[consumed..], out var message, out var n);
            if (status == OperationStatus.NeedMoreData)
            {
                return consumed;
            }

            if (status == OperationStatus.InvalidData || message is ClassicCommand)
            {
                // No length prefix and no magic: after a byte that is no server message the stream cannot be re-cut.
                throw new AlexConnectException(ConnectFailure.ProtocolMismatch, $"{Endpoint}: the server sent byte 0x{bytes[consumed]:X2}, which starts no classic reply (is it a course server?)");
            }

            _receivedAnything = true;
            consumed += n;
            ClassicWaiter? waiter;
            lock (_classicLock)
            {
                waiter = _classicWaiter;
            }

            if (waiter is not null && waiter.Offer(message!))
            {
                continue;
            }

            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            AlexLinkMessage? pushed = message switch
            {
                ClassicStatus s => new AlexLinkStatus(now, s.Params),
                ClassicText t => new AlexLinkArduinoText(t.Text),
                ClassicResponse { IsOk: false } r => new AlexLinkError(AlexLinkErrorCode.ArduinoError, r.Code, CommandReply.DescribeArduinoError(r.Code)),
                _ => null, // a late OK (a firmware that sends STATUS before OK): nothing to tell
            };
            if (pushed is not null)
            {
                _telemetry.Writer.TryWrite(pushed);
            }
        }
    }

    private async Task HeartbeatLoopAsync(TimeSpan interval)
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await Task.Delay(interval, _time, _stopping.Token).ConfigureAwait(false);
                var sinceWrite = _time.GetElapsedTime(Interlocked.Read(ref _lastWriteTimestamp));
                if (sinceWrite < interval)
                {
                    continue; // any frame is a sign of life (docs/protocol.md §3)
                }

                // Not awaited past the write: a slow echo must not delay the next heartbeat.
                var id = NextRequestId();
                var echo = new TaskCompletionSource<AlexLinkMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pending[id] = echo;
                _ = echo.Task.WaitAsync(_options.ReplyTimeout, _time).ContinueWith(
                    t =>
                    {
                        _ = t.Exception; // a missing echo is not an error by itself: the server judges liveness
                        _pending.TryRemove(id, out var _);
                    },
                    TaskScheduler.Default);
                await WriteAsync(AlexLinkWriter.Encode(new AlexLinkHeartbeat(_time.GetTimestamp()) { RequestId = id }), _stopping.Token).ConfigureAwait(false);
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

    private void ThrowIfClosed()
    {
        if (_closed.Task.IsCompleted)
        {
            throw _closed.Task.Result;
        }
    }

    private void Close(AlexConnectException why)
    {
        if (!_closed.TrySetResult(why))
        {
            return;
        }

        _first.TrySetException(why);
        foreach (var (_, waiter) in _pending)
        {
            waiter.TrySetException(why);
        }

        lock (_classicLock)
        {
            _classicWaiter?.Reply.TrySetException(why);
        }

        _telemetry.Writer.TryComplete();
        _auditLines.Writer.TryComplete();
        if (!_stopping.IsCancellationRequested)
        {
            try
            {
                _stopping.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently: already stopping.
            }
        }
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused (nothing listens on that port)",
        SocketError.HostNotFound or SocketError.NoData => "no such host",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "network unreachable",
        SocketError.TimedOut => "timed out",
        _ => e.Message.TrimEnd('.'),
    };

    private static string HintFor(TrustDecision refused, string expected) => refused.Failure switch
    {
        TrustFailure.NameMismatch => $"we asked for '{expected}': give the name in the robot's certificate with --name (e.g. --name alex.epp.com)",
        TrustFailure.UnknownCa => "give the CA that issued the robot's certificate (--ca signing.pem, or --pki DIR)",
        TrustFailure.Expired or TrustFailure.NotYetValid => "check both clocks (a Pi has no clock battery) and renew the certificate if needed",
        TrustFailure.WrongUsage or TrustFailure.WeakKey or TrustFailure.WeakSignature => "a course certificate? --legacy accepts the course's v1 certificates (weaker)",
        _ => "run `alex doctor` to check certificates, names and clocks",
    };

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

    /// <summary>What a classic command waits for: the ack, or for GET_STATS the status (OK before it is absorbed).</summary>
    private sealed class ClassicWaiter(bool wantsStatus)
    {
        public TaskCompletionSource<ClassicMessage> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when the message answered (or was part of the answer to) this command.</summary>
        public bool Offer(ClassicMessage message)
        {
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
