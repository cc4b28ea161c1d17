// Keeps a connection to Alex's server up, for anything that stays connected while a person watches (the
// drive console, the web gateway): connects, subscribes to the telemetry asked for, reports everything
// that happens as LinkEvents in order, and when the connection goes — closed, reset, or silent past
// SilenceLimit while statuses should be flowing — connects again after ReconnectPolicy's wait (one
// backoff: 0.5 s doubling to 5 s, spread ±25 %). Statuses, pushed or replies, feed one dead reckoning.
//
// Commands are never queued across a reconnect: one sent while down is answered LinkDown at once (a move
// that runs later would be a surprise).
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>A connection that comes back by itself. Thread-safe; <see cref="Changed"/> is raised in order, from any thread: keep handlers short.</summary>
public sealed class ReconnectingClient : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    private readonly Func<CancellationToken, Task<AlexLinkClient>> _connect;
    private readonly TimeProvider _time;
    private readonly ReconnectPolicy _policy;
    private readonly Func<double> _random;
    private readonly Lock _lock = new();
    private readonly DeadReckoning _reckoning;
    private AlexLinkClient? _current;
    private LinkSession? _session;
    private TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReconnectingClient(AlexClientOptions options, ReconnectPolicy? policy = null, RobotGeometry? geometry = null, Func<double>? random = null)
        : this($"{options?.Host}:{options?.Port}", ct => AlexLinkClient.ConnectAsync(options!, ct), options?.Time ?? TimeProvider.System, policy, geometry, random)
    {
        ArgumentNullException.ThrowIfNull(options);
    }

    /// <summary>With a connect function of its own (tests: a robot nobody answers for).</summary>
    public ReconnectingClient(string target, Func<CancellationToken, Task<AlexLinkClient>> connect, TimeProvider time, ReconnectPolicy? policy = null, RobotGeometry? geometry = null, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(connect);
        ArgumentNullException.ThrowIfNull(time);
        Target = target;
        _connect = connect;
        _time = time;
        _policy = policy ?? ReconnectPolicy.Default;
        _random = random ?? Random.Shared.NextDouble;
        _reckoning = new DeadReckoning(geometry);
    }

    /// <summary>Everything that happens, in order: state changes, telemetry, statuses and poses, round trips.</summary>
    public event Action<LinkEvent>? Changed;

    /// <summary>"host:port" as given.</summary>
    public string Target { get; }

    /// <summary>Telemetry subscribed to after every connect (AlexLink/1; classic pushes what it pushes).</summary>
    public AlexLinkTopics Topics { get; init; } = AlexLinkTopics.None;

    /// <summary>How often the server should push a status (with <see cref="AlexLinkTopics.Status"/>).</summary>
    public TimeSpan StatusInterval { get; init; }

    /// <summary>Silence (no telemetry although statuses are subscribed to) after which the connection counts as dead; null: never.</summary>
    public TimeSpan? SilenceLimit { get; init; }

    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return _current is not null;
            }
        }
    }

    /// <summary>What the server said when the live connection was made; null while down.</summary>
    public LinkSession? Session
    {
        get
        {
            lock (_lock)
            {
                return _session;
            }
        }
    }

    /// <summary>Where dead reckoning puts Alex, and the path so far (a copy).</summary>
    public (Pose Pose, IReadOnlyList<Pose> Path) Position
    {
        get
        {
            lock (_lock)
            {
                return (_reckoning.Current, _reckoning.Path.ToArray());
            }
        }
    }

    /// <summary>
    /// Connects and reconnects until cancelled (then throws <see cref="OperationCanceledException"/>) or
    /// until the policy gives up, when it throws the last failure (an <see cref="AlexConnectException"/>).
    /// May be run again after it ended; the path carries on.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        var retry = 0;
        var everConnected = false;
        AlexConnectException? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            attempt++;
            Raise(new LinkState(LinkPhase.Connecting, last is null ? $"connecting to {Target}" : $"attempt {attempt}: {last.Message}", attempt, Failure: last));
            AlexConnectException failure;
            try
            {
                var client = await _connect(cancellationToken).ConfigureAwait(false);
                everConnected = true;
                attempt = 0;
                retry = 0;
                failure = await ServeAsync(client, cancellationToken).ConfigureAwait(false);
            }
            catch (AlexConnectException e)
            {
                failure = e;
            }

            // Cancelled meanwhile: the run ends cancelled, whatever the attempt failed with.
            cancellationToken.ThrowIfCancellationRequested();
            last = failure;
            if (_policy.Decide(failure, everConnected, retry++, _random()) is not { } delay)
            {
                Raise(new LinkState(LinkPhase.Stopped, failure.Message, attempt, Failure: failure));
                throw failure;
            }

            Raise(new LinkState(LinkPhase.Waiting, $"{failure.Message}; retrying in {delay.TotalSeconds:0.0} s", attempt, delay, failure));
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True once connected; false if not within <paramref name="limit"/>.</summary>
    public async Task<bool> WaitConnectedAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        Task up;
        lock (_lock)
        {
            if (_current is not null)
            {
                return true;
            }

            up = _up.Task;
        }

        try
        {
            await up.WaitAsync(limit, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Sends on the live connection (STOP ahead of anything queued); LinkDown at once while down or when the connection goes before the reply.</summary>
    public Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken) =>
        command.IsStop
            ? RequestAsync("s", (c, ct) => c.StopAsync(ct), cancellationToken)
            : RequestAsync(command.ToString(), (c, ct) => c.SendAsync(command, ct), cancellationToken);

    public Task<CommandReply> TakeLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("take lease", (c, ct) => c.TakeLeaseAsync(ct), cancellationToken);

    public Task<CommandReply> ReleaseLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("release lease", (c, ct) => c.ReleaseLeaseAsync(ct), cancellationToken);

    /// <summary>Starts the path again at the origin (the page's "clear path", the console's key).</summary>
    public void ResetPath()
    {
        lock (_lock)
        {
            _reckoning.Reset();
            Raise(new LinkPathReset(_reckoning.Current, _reckoning.Path.ToArray()));
        }
    }

    public async ValueTask DisposeAsync()
    {
        AlexLinkClient? client;
        lock (_lock)
        {
            client = _current;
        }

        if (client is not null)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<CommandReply> RequestAsync(string what, Func<AlexLinkClient, CancellationToken, Task<CommandReply>> send, CancellationToken cancellationToken)
    {
        AlexLinkClient? client;
        lock (_lock)
        {
            client = _current;
        }

        if (client is null)
        {
            return CommandReply.Failed(what, AlexLinkErrorCode.LinkDown, 0, $"not sent: not connected to {Target}", TimeSpan.Zero);
        }

        try
        {
            var reply = await send(client, cancellationToken).ConfigureAwait(false);
            if (reply.Status is { } counters)
            {
                TakeStatus(counters);
            }

            return reply;
        }
        catch (AlexConnectException e)
        {
            return CommandReply.Failed(what, AlexLinkErrorCode.LinkDown, 0, $"no reply: {e.Message}", TimeSpan.Zero);
        }
    }

    /// <summary>Runs one connection: subscribe, pump telemetry, watch round trips and silence; returns why it ended.</summary>
    private async Task<AlexConnectException> ServeAsync(AlexLinkClient client, CancellationToken cancellationToken)
    {
        await using (client.ConfigureAwait(false))
        {
            var watchSilence = false;
            if (Topics != AlexLinkTopics.None && client.Protocol == AlexProtocol.AlexLink1)
            {
                CommandReply subscribed;
                try
                {
                    subscribed = await client.SubscribeAsync(Topics, StatusInterval, cancellationToken).ConfigureAwait(false);
                }
                catch (AlexConnectException e)
                {
                    return e;
                }

                if (!subscribed.Acknowledged)
                {
                    Raise(new LinkNotice($"subscribe: {subscribed.Text}"));
                }

                watchSilence = subscribed.Acknowledged && Topics.HasFlag(AlexLinkTopics.Status) && StatusInterval > TimeSpan.Zero;
            }

            var session = LinkSession.From(client);
            lock (_lock)
            {
                _current = client;
                _session = session;
                _up.TrySetResult();
                Raise(new LinkState(LinkPhase.Connected, $"connected to {client.Endpoint} ({(session.Welcome is null ? "classic" : "alexlink/1")})", Session: session));
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            long lastHeard = _time.GetTimestamp();
            var pump = Task.Run(
                async () =>
                {
                    try
                    {
                        await foreach (var message in client.Telemetry.ReadAllAsync(stop.Token).ConfigureAwait(false))
                        {
                            Interlocked.Exchange(ref lastHeard, _time.GetTimestamp());
                            if (message is AlexLinkStatus status)
                            {
                                TakeStatus(status.Counters);
                            }
                            else
                            {
                                Raise(new LinkPushed(message));
                            }
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        // Ending this connection.
                    }
                },
                CancellationToken.None);

            try
            {
                TimeSpan? shown = null;
                while (true)
                {
                    var tick = Task.Delay(Tick, _time, stop.Token);
                    if (await Task.WhenAny(client.Closed, tick).ConfigureAwait(false) == client.Closed)
                    {
                        return await client.Closed.ConfigureAwait(false);
                    }

                    await tick.ConfigureAwait(false);
                    if (client.LastHeartbeatRoundTrip is { } rtt && rtt != shown)
                    {
                        shown = rtt;
                        Raise(new LinkRoundTrip(rtt));
                    }

                    var silent = _time.GetElapsedTime(Interlocked.Read(ref lastHeard));
                    if (watchSilence && SilenceLimit is { } limit && silent > limit)
                    {
                        return new AlexConnectException(ConnectFailure.ConnectionLost, $"{client.Endpoint}: no word from the server for {silent.TotalSeconds:0.#} s", "reconnect; the server stops Alex when its driver goes away");
                    }
                }
            }
            finally
            {
                lock (_lock)
                {
                    _current = null;
                    _session = null;
                    if (_up.Task.IsCompleted)
                    {
                        _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }

                await stop.CancelAsync().ConfigureAwait(false);
                await pump.ConfigureAwait(false);
            }
        }
    }

    private void TakeStatus(in StatusCounters counters)
    {
        lock (_lock)
        {
            var moved = _reckoning.Update(counters);
            Raise(new LinkStatus(counters, _reckoning.Current, moved ? _reckoning.Path.ToArray() : null));
        }
    }

    // Under the lock (it is re-entrant), so events from the read pump, from replies and from the loop keep one order.
    private void Raise(LinkEvent e)
    {
        lock (_lock)
        {
            Changed?.Invoke(e);
        }
    }
}
