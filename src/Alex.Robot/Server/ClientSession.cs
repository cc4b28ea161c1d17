// One authenticated connection: one read loop (in the subclass) and one serialized writer.
// SslStream must never see two concurrent writes (STYLE.md 3), and the hub must never wait for a
// slow client: everything to the client goes through bounded queues that one writer task drains.
// - Replies (and what the session says on its own: Welcome, refusals) queue in order; a client that
//   stops reading until that queue is full is disconnected.
// - What the hub tells everyone (Broadcast: telemetry, lease, safety stops...) goes into a small push
//   queue that drops the oldest when full, so a slow watcher loses stale telemetry instead of holding
//   anyone up; one that keeps not reading (PushDropLimit drops in a row) is disconnected as above.
//   A marker in the reply queue tells the writer that pushes wait, so replies queued before it go first.
// - Lidar revolutions (Scan) are not queued at all: each session keeps only the newest one not yet written,
//   so a slow reader skips revolutions (the sequence numbers show the gap) and a command's reply waits behind
//   at most one revolution's write. Skipping scans never counts as "not reading".
// - Map tiles are not queued either: the server's map (ServerMapper) keeps what each subscribed session is owed
//   (the newest copy of each tile changed since it was last sent); the writer takes a few frames at a time when
//   woken, so a slow reader is owed at most the whole map and a reply waits behind at most a few frames.
using System.Net.Security;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Safety;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;

namespace Alex.Robot.Server;

/// <summary>Which network protocol a session speaks, chosen by ALPN (docs/protocol.md).</summary>
public enum SessionProtocol
{
    Classic,
    AlexLink1,
}

/// <summary>Base of classic and AlexLink/1 sessions: identity, the outbound queue, close.</summary>
internal abstract class ClientSession : IDisposable
{
    private const int OutboundCapacity = 256;

    // Pushes held for a client; older ones are dropped when more come (telemetry is only worth its latest value).
    private const int PushCapacity = 64;

    // Pushes dropped in a row (nothing written to the client in between) before it counts as not reading.
    private const int PushDropLimit = 256;

    // Synchronous continuations: the writer loop picks a message up on the thread that queued it instead
    // of a thread-pool hop (a small TLS write to a socket completes at once; if it cannot, it goes async
    // and the producer is released). Measured in bench `roundtrip`.
    private readonly Channel<Outgoing> _outbound = Channel.CreateBounded<Outgoing>(
        new BoundedChannelOptions(OutboundCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private readonly Channel<ReadOnlyMemory<byte>> _pushes;
    private int _pushPending;
    private int _pushDrops;

    // The newest revolution not yet written (boxed so it can be swapped atomically), and how many were replaced unsent.
    private ScanBytes? _latestScan;
    private long _scansSkipped;

    // The map this session follows (subscribed to Map while the server maps), and its place on the map's board.
    private (ServerMapper Map, MapTileReader Reader)? _map;
    private readonly Lock _mapGate = new();

    private readonly CancellationTokenSource _closing = new();
    private string? _closeReason;

    // Commands other than STOP run one at a time in arrival order; STOP skips this queue.
    private readonly Channel<Func<Task>> _commands = Channel.CreateBounded<Func<Task>>(
        new BoundedChannelOptions(16) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    private static long s_nextConnectionId;

    // In the reply queue: "pushes are waiting". No message is empty.
    private static readonly ReadOnlyMemory<byte> PushMarker = ReadOnlyMemory<byte>.Empty;

    private readonly RecordBatchingStream _wire;

    protected ClientSession(SslStream stream, RecordBatchingStream wire, ClientIdentity identity, X509Certificate2 certificate, X509Certificate2Collection extraCertificates, RobotHub hub, TimeProvider time, bool sendsHeartbeats)
    {
        _wire = wire;
        SendsHeartbeats = sendsHeartbeats;
        Stream = stream;
        Identity = identity;
        LeaseClient = new LeaseClient(
            Interlocked.Increment(ref s_nextConnectionId),
            identity.Name,
            identity.WireRole,
            sendsHeartbeats);
        Certificate = certificate;
        ExtraCertificates = extraCertificates;
        Hub = hub;
        Time = time;
        _pushes = Channel.CreateBounded<ReadOnlyMemory<byte>>(
            new BoundedChannelOptions(PushCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest, AllowSynchronousContinuations = false },
            _ => Interlocked.Increment(ref _pushDrops));
        ConnectedAt = time.GetUtcNow();
    }

    /// <summary>When the client was admitted.</summary>
    public DateTimeOffset ConnectedAt { get; }

    public ClientIdentity Identity { get; }

    /// <summary>This connection as the lease sees it (two connections of one certificate are two clients).</summary>
    public LeaseClient LeaseClient { get; }

    /// <summary>The client's certificate, kept to re-check it when the CRL or allow-list changes.</summary>
    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection ExtraCertificates { get; }

    public abstract SessionProtocol Protocol { get; }

    /// <summary>Why the session ended (set once, by whoever closed it first).</summary>
    public string CloseReason => _closeReason ?? "client closed the connection";

    /// <summary>True for sessions that send heartbeats and may be held to them (AlexLink/1).</summary>
    public bool SendsHeartbeats { get; }

    protected SslStream Stream { get; }

    protected RobotHub Hub { get; }

    protected TimeProvider Time { get; }

    protected CancellationToken Closing => _closing.Token;

    /// <summary>
    /// Runs the session until the client leaves, breaks the protocol, or is closed. <paramref name="attached"/> runs once the
    /// hub knows the session (so it already receives Arduino messages and telemetry), before anything is read from the client.
    /// </summary>
    public async Task RunAsync(Action? attached, CancellationToken cancellationToken)
    {
        using var stop = cancellationToken.Register(() => Close("server shutting down"));
        var writer = WriteLoopAsync();
        var commands = CommandLoopAsync();
        try
        {
            Hub.Attach(this);
            attached?.Invoke();
            await OnStartAsync().ConfigureAwait(false);
            await ReadLoopAsync(Closing).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Closing.IsCancellationRequested)
        {
        }
        catch (ProtocolViolationException e)
        {
            await OnProtocolViolationAsync(e.Message).ConfigureAwait(false);
            Close("protocol error: " + e.Message);
        }
        catch (IOException e)
        {
            Close(_closeReason ?? "connection lost: " + e.Message);
        }
        finally
        {
            Close(_closeReason ?? "client closed the connection");
            FollowMap(false);
            Hub.Detach(this, CloseReason);
            _commands.Writer.TryComplete();
            await commands.WaitAsync(TimeSpan.FromSeconds(2), Time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _outbound.Writer.TryComplete();
            // Let queued replies (e.g. the reason for a close) reach the client, bounded: a client that
            // does not read cannot keep the connection open.
            await writer.WaitAsync(TimeSpan.FromSeconds(2), Time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Ends the session; the first reason given is kept. Safe from any thread, any number of times.</summary>
    public void Close(string reason)
    {
        Interlocked.CompareExchange(ref _closeReason, reason, null);
        _outbound.Writer.TryComplete();
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    public void Dispose() => _closing.Dispose();

    /// <summary>Queues one message (one write: one TLS record). False when the session is closing or the client does not read.</summary>
    protected bool Send(ReadOnlyMemory<byte> message) => Send(new Outgoing(message, default));

    /// <summary>Queues two messages that answer one request: two TLS records, sent in one socket write.</summary>
    protected bool Send(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second) => Send(new Outgoing(first, second));

    /// <summary>
    /// Starts or stops following the server's map once the writer has written everything queued before this call (a
    /// Subscribe's Ok): the map's frames start after that Ok, and none follows the Ok of an unsubscribe.
    /// </summary>
    protected bool FollowMapInOrder(bool follow) => Send(new Outgoing(default, default, follow ? MapFollow.Join : MapFollow.Leave));

    private bool Send(Outgoing message)
    {
        if (_outbound.Writer.TryWrite(message))
        {
            return true;
        }

        if (!_outbound.Reader.Completion.IsCompleted)
        {
            Close("client is not reading (send queue full)");
        }

        return false;
    }

    /// <summary>
    /// Queues what the hub tells everyone, if this client wants it (called by the hub's fan-out task only). Never waits:
    /// the oldest push is dropped when the client is behind; one that stays behind is closed.
    /// </summary>
    internal void Push(Broadcast broadcast)
    {
        if (!Wants(broadcast))
        {
            return;
        }

        if (broadcast.Kind == BroadcastKind.Scan)
        {
            if (Interlocked.Exchange(ref _latestScan, new ScanBytes(broadcast.EncodedFor(Protocol, Render))) is not null)
            {
                Interlocked.Increment(ref _scansSkipped);
            }
        }
        else
        {
            _pushes.Writer.TryWrite(broadcast.EncodedFor(Protocol, Render));
        }

        if (Volatile.Read(ref _pushDrops) > PushDropLimit)
        {
            Close("client is not reading (send queue full)");
            return;
        }

        // One marker at a time in the reply queue: the writer takes every waiting push when it reaches it.
        if (Interlocked.Exchange(ref _pushPending, 1) == 0)
        {
            Send(PushMarker);
        }
    }

    /// <summary>
    /// Starts or stops sending this client the server's map (when the server maps): a session that starts is owed every
    /// tile the map holds, then each change. A closed session joins nothing (its leave may already have run).
    /// </summary>
    private void FollowMap(bool follow)
    {
        lock (_mapGate)
        {
            if (follow && _map is null && !Closing.IsCancellationRequested && Hub.Mapper is { } map)
            {
                _map = (map, map.Join(this));
            }
            else if (!follow && _map is { } following)
            {
                following.Map.Leave(this, following.Reader);
                _map = null;
            }
        }
    }

    /// <summary>The map owes this client something: the writer takes it when it reaches the push marker.</summary>
    internal void WakeForMap()
    {
        if (Interlocked.Exchange(ref _pushPending, 1) == 0)
        {
            Send(PushMarker);
        }
    }

    /// <summary>Lidar revolutions replaced by a newer one before this client's writer got to them.</summary>
    internal long ScansSkipped => Interlocked.Read(ref _scansSkipped);

    /// <summary>Whether this client gets <paramref name="broadcast"/> (its protocol can say it, it subscribed).</summary>
    protected abstract bool Wants(Broadcast broadcast);

    /// <summary>The bytes of <paramref name="broadcast"/> in this protocol: the same for every session of the protocol.</summary>
    protected abstract ReadOnlyMemory<byte> Render(Broadcast broadcast);

    /// <summary>The client is no longer allowed (revoked, taken off the list): tell it why if the protocol can, then close.</summary>
    public virtual void Refuse(AlexLinkRefusalCode code, string reason) => Close("no longer allowed: " + reason);

    /// <summary>
    /// Runs a command for this session: STOP at once (it must not wait behind this client's own queue),
    /// anything else in arrival order. <paramref name="reply"/> renders the result to the client.
    /// </summary>
    protected Task SubmitAsync(Alex.Protocol.DriveCommand command, Action<CommandResult> reply, CancellationToken cancellationToken)
    {
        // Noted on arrival: a move still queued here when a STOP goes out (anyone's) is dropped, not sent after it.
        var stops = Hub.StopCount;
        if (command.IsStop)
        {
            _ = RunCommandAsync(command, stops, reply);
            return Task.CompletedTask;
        }

        return EnqueueAsync(command, stops, reply, cancellationToken);
    }

    // Apart from SubmitAsync so that a STOP does not pay for this closure.
    private Task EnqueueAsync(Alex.Protocol.DriveCommand command, long stops, Action<CommandResult> reply, CancellationToken cancellationToken) =>
        _commands.Writer.WriteAsync(() => RunCommandAsync(command, stops, reply), cancellationToken).AsTask();

    protected virtual Task OnStartAsync() => Task.CompletedTask;

    protected abstract Task ReadLoopAsync(CancellationToken cancellationToken);

    /// <summary>Tell the client what it did wrong before the close, if the protocol can say it.</summary>
    protected virtual Task OnProtocolViolationAsync(string reason) => Task.CompletedTask;

    // Commands already sent to the Arduino finish even if this client leaves: the reply is dropped.
    private Task RunCommandAsync(Alex.Protocol.DriveCommand command, long stops, Action<CommandResult> reply) =>
        Hub.ExecuteAsync(this, command, stops, reply, CancellationToken.None);

    private async Task CommandLoopAsync()
    {
        var closing = Closing;
        await foreach (var run in _commands.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (closing.IsCancellationRequested)
            {
                continue;
            }

            await run().ConfigureAwait(false);
        }
    }

    // A few frames of what the map owes this client; woken again when it owes more, so replies queued meanwhile go first.
    private async Task WriteMapAsync()
    {
        (ServerMapper Map, MapTileReader Reader)? following;
        lock (_mapGate)
        {
            following = _map;
        }

        if (following is not { } f)
        {
            return;
        }

        var (frames, more) = f.Map.Take(f.Reader);
        foreach (var frame in frames)
        {
            await Stream.WriteAsync(AlexLinkWriter.Encode(frame), CancellationToken.None).ConfigureAwait(false);
        }

        if (more)
        {
            WakeForMap();
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (await _outbound.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (_outbound.Reader.TryRead(out var message))
                {
                    if (message.Map != MapFollow.None)
                    {
                        FollowMap(message.Map == MapFollow.Join);
                        continue;
                    }

                    if (message.First.Length == 0)
                    {
                        // The push marker: cleared first, so a push queued while these are written brings a new one.
                        Volatile.Write(ref _pushPending, 0);
                        while (_pushes.Reader.TryRead(out var push))
                        {
                            await Stream.WriteAsync(push, CancellationToken.None).ConfigureAwait(false);
                            Volatile.Write(ref _pushDrops, 0);
                        }

                        if (Interlocked.Exchange(ref _latestScan, null) is { } scan)
                        {
                            await Stream.WriteAsync(scan.Bytes, CancellationToken.None).ConfigureAwait(false);
                        }

                        await WriteMapAsync().ConfigureAwait(false);

                        continue;
                    }

                    if (message.Second.IsEmpty)
                    {
                        await Stream.WriteAsync(message.First, CancellationToken.None).ConfigureAwait(false);
                        continue;
                    }

                    _wire.Hold();
                    await Stream.WriteAsync(message.First, CancellationToken.None).ConfigureAwait(false);
                    await Stream.WriteAsync(message.Second, CancellationToken.None).ConfigureAwait(false);
                    await _wire.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await Stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or System.Security.Authentication.AuthenticationException)
        {
            Close("connection lost while writing: " + e.Message);
        }
    }
}

/// <summary>
/// One message to the client, or two that answer one request (Second empty for one); or, with no bytes, a change to
/// the map following made in queue order.
/// </summary>
internal readonly record struct Outgoing(ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second, MapFollow Map = MapFollow.None);

/// <summary>What an <see cref="Outgoing"/> does to the session's map following when the writer reaches it.</summary>
internal enum MapFollow
{
    None,
    Join,
    Leave,
}

/// <summary>A peer broke the protocol (garbage, oversized or truncated frame): caught at the session loop.</summary>
public sealed class ProtocolViolationException : Exception
{
    public ProtocolViolationException(string message)
        : base(message)
    {
    }

    public ProtocolViolationException()
    {
    }

    public ProtocolViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A session's newest unsent revolution, encoded (a class so it swaps atomically).</summary>
internal sealed record ScanBytes(ReadOnlyMemory<byte> Bytes);
