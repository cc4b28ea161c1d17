// The laptop side of AlexLink: connect over mutual TLS, check the server properly, send commands and
// await their replies, receive telemetry. The protocol is chosen once per connection, from what the
// server picked by ALPN, as the server picks its session type: AlexLink1Client speaks AlexLink/1
// (docs/protocol.md), ClassicClient the course's classic protocol (docs/course-protocol.md §4: no ALPN,
// no SNI, one message per TLS record). This base holds what both share.
//
// Shape: one read loop per connection feeds the protocol's pure codec and dispatches (replies to their
// requests, pushed messages to the telemetry channel); one serialized writer, so SslStream never sees two
// concurrent writes and every message is its own write (= its own TLS record).
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Alex.Pki;
using Alex.Protocol;
using Alex.Protocol.AlexLink;

namespace Alex.Client;

/// <summary>One connection to Alex's server. Thread-safe: requests may be sent from several tasks.</summary>
public abstract class AlexLinkClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _ssl;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<AlexLinkMessage> _telemetry = Channel.CreateBounded<AlexLinkMessage>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false, SingleWriter = true });
    private readonly TaskCompletionSource<AlexConnectException> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private Task _readLoop = Task.CompletedTask;
    private long _lastWriteTimestamp;
    private bool _receivedAnything;
    private bool _saidGoodbye;
    private int _disposed;

    private protected AlexLinkClient(AlexClientOptions options, HandshakeResult handshake)
    {
        Options = options;
        _tcp = handshake.Tcp;
        _ssl = handshake.Ssl;
        Time = options.Time;
        ServerTrust = handshake.ServerTrust;
    }

    /// <summary>The protocol in use: AlexLink1 or Classic (never Auto).</summary>
    public abstract AlexProtocol Protocol { get; }

    /// <summary>The server's Welcome (AlexLink/1); null in classic.</summary>
    public virtual AlexLinkWelcome? Welcome => null;

    /// <summary>What our trust policy found about the server's certificate (accepted, with its name).</summary>
    public TrustDecision ServerTrust { get; }

    public SslProtocols TlsVersion => _ssl.SslProtocol;

    public TlsCipherSuite CipherSuite => _ssl.NegotiatedCipherSuite;

    /// <summary>"host:port".</summary>
    public string Endpoint => $"{Options.Host}:{Options.Port}";

    /// <summary>Pushed messages: Status, LeaseState, LinkState, ArduinoText, SafetyStop, and errors not tied to a request.</summary>
    public ChannelReader<AlexLinkMessage> Telemetry => _telemetry.Reader;

    /// <summary>Audit records from <see cref="FollowAuditAsync"/>, backlog first, in the server's order (completed when the connection closes).</summary>
    public abstract ChannelReader<AlexLinkAuditLine> AuditLines { get; }

    /// <summary>Completes when the connection ends, with why.</summary>
    public Task<AlexConnectException> Closed => _closed.Task;

    /// <summary>The last heartbeat round trip, or null before the first echo (and always in classic, which has none).</summary>
    public virtual TimeSpan? LastHeartbeatRoundTrip => null;

    private protected AlexClientOptions Options { get; }

    private protected TimeProvider Time { get; }

    /// <summary>When the last message went out (<see cref="TimeProvider.GetTimestamp"/>): any frame is a sign of life.</summary>
    private protected long LastWriteTimestamp => Interlocked.Read(ref _lastWriteTimestamp);

    /// <summary>Cancelled when the connection is closing.</summary>
    private protected CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Connects, handshakes, checks the server with the trust policy, chooses the client for the protocol
    /// the server picked and, in AlexLink/1, reads the Welcome. Failures come as
    /// <see cref="AlexConnectException"/> with the reason in words.
    /// </summary>
    public static async Task<AlexLinkClient> ConnectAsync(AlexClientOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);
        AlexLinkClient? client = null;
        try
        {
            var handshake = await ClientHandshake.RunAsync(options, deadline.Token).ConfigureAwait(false);
            client = handshake.Protocol == AlexProtocol.AlexLink1
                ? new AlexLink1Client(options, handshake)
                : new ClassicClient(options, handshake);
            client._readLoop = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            await client.StartAsync(deadline.Token, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (Exception e)
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new AlexConnectException(
                    ConnectFailure.Timeout,
                    $"{options.Host}:{options.Port}: no answer within {options.ConnectTimeout.TotalSeconds:0.#} s",
                    "is the address right and the port open? a firewall may be dropping packets",
                    e);
            }

            throw;
        }
    }

    /// <summary>Sends a command and awaits its reply (GET_STATS: the status).</summary>
    public abstract Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken);

    /// <summary>STOP: allowed for any authenticated client; the server puts it ahead of anything queued.</summary>
    public abstract Task<CommandReply> StopAsync(CancellationToken cancellationToken);

    /// <summary>Takes the driver lease (AlexLink/1; in classic the first move takes it).</summary>
    public abstract Task<CommandReply> TakeLeaseAsync(CancellationToken cancellationToken);

    /// <summary>Gives the lease up (AlexLink/1).</summary>
    public abstract Task<CommandReply> ReleaseLeaseAsync(CancellationToken cancellationToken);

    /// <summary>Asks for telemetry (AlexLink/1); status every <paramref name="statusInterval"/> (zero: none).</summary>
    public abstract Task<CommandReply> SubscribeAsync(AlexLinkTopics topics, TimeSpan statusInterval, CancellationToken cancellationToken);

    /// <summary>The server's health (admin role; anyone else is refused Forbidden): the reply's <see cref="CommandReply.ServerStatus"/>.</summary>
    public abstract Task<CommandReply> GetServerStatusAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Asks for the last <paramref name="backlog"/> audit records and, with <paramref name="follow"/>, every later one (admin role).
    /// The records arrive in <see cref="AuditLines"/>; when this returns acknowledged, the backlog is there already.
    /// </summary>
    public abstract Task<CommandReply> FollowAuditAsync(ushort backlog, bool follow, CancellationToken cancellationToken);

    /// <summary>One heartbeat and its echo: the round trip through the server (AlexLink/1).</summary>
    public abstract Task<TimeSpan> PingAsync(CancellationToken cancellationToken);

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
            await Task.WhenAll(_readLoop, BackgroundWork).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Loops end on their own once the stream is disposed; do not hang the caller.
        }

        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>After the read loop started: what the protocol does before the connection is handed out (AlexLink/1: the Welcome).</summary>
    private protected abstract Task StartAsync(CancellationToken deadline, CancellationToken cancellationToken);

    /// <summary>Cuts complete messages off <paramref name="bytes"/> and dispatches them; returns the bytes consumed. Throws <see cref="AlexConnectException"/> when the server breaks the protocol.</summary>
    private protected abstract int Dispatch(byte[] buffer, int start, int count);

    /// <summary>Fails whatever waits for a reply: the connection is gone.</summary>
    private protected abstract void FailWaiters(AlexConnectException why);

    /// <summary>Work of the protocol's own that runs until the connection closes (AlexLink/1: heartbeats).</summary>
    private protected virtual Task BackgroundWork => Task.CompletedTask;

    private protected void Push(AlexLinkMessage message) => _telemetry.Writer.TryWrite(message);

    /// <summary>One write per message: with the classic protocol each message must be its own TLS record.</summary>
    private protected async Task WriteAsync(byte[] bytes, CancellationToken cancellationToken)
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
            Interlocked.Exchange(ref _lastWriteTimestamp, Time.GetTimestamp());
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
            await Task.WhenAny(_closed.Task, Task.Delay(TimeSpan.FromSeconds(1), Time, CancellationToken.None)).ConfigureAwait(false);
            Close(new AlexConnectException(ConnectFailure.ConnectionLost, $"{Endpoint}: connection lost while sending ({writeFailure.Message.TrimEnd('.')})", "reconnect; the server stops Alex when its driver goes away", writeFailure));
            throw await _closed.Task.ConfigureAwait(false);
        }
    }

    private protected void ThrowIfClosed()
    {
        if (_closed.Task.IsCompleted)
        {
            throw _closed.Task.Result;
        }
    }

    /// <summary>A request this protocol has no way to say: answered here, nothing is sent.</summary>
    private protected static CommandReply NoSuchRequest(string what, string why) =>
        CommandReply.Failed(what, AlexLinkErrorCode.UnknownMessage, 0, why, TimeSpan.Zero);

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
                var consumed = Dispatch(buffer, start, end - start);
                _receivedAnything |= consumed > 0;
                start += consumed;
                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (OperationCanceledException)
        {
            why = ClosedByUs();
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

        Close(why ?? ClosedByUs());
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

    private void Close(AlexConnectException why)
    {
        if (!_closed.TrySetResult(why))
        {
            return;
        }

        FailWaiters(why);
        _telemetry.Writer.TryComplete();
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
}
