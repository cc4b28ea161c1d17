// The drive console's connection: connects, subscribes to
// all telemetry, turns everything that happens into DriveEvents for the console's one loop, and when the
// connection goes — closed, reset, or silent past SilenceLimit while status telemetry should be flowing —
// reconnects with Alex.Client's backoff (0.5 s doubling to 5 s, spread ±25 %). Commands are never queued across a reconnect: one
// sent while down is reported as not sent (a move that runs later would be a surprise).
//
// The first connection is different: if it fails the user mistyped something or the certificates are
// wrong, and waiting would only hide that, so RunAsync reports ConnectionFailedEvent and ends. After a
// refusal (revoked, not allowed) or a server we do not trust, retrying cannot help either.
using System.Threading.Channels;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;

namespace Alex.Cli.Drive;

internal sealed class DriveLink
{
    public static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(250);

    private readonly Func<CancellationToken, Task<AlexLinkClient>> _connect;
    private readonly ChannelWriter<DriveEvent> _events;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private AlexLinkClient? _client;
    private TaskCompletionSource<AlexLinkClient> _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DriveLink(Func<CancellationToken, Task<AlexLinkClient>> connect, ChannelWriter<DriveEvent> events, TimeProvider time)
    {
        _connect = connect;
        _events = events;
        _time = time;
    }

    /// <summary>Silence (no telemetry although status comes every 250 ms) after which the connection counts as dead.</summary>
    public TimeSpan SilenceLimit { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The connection now, or null while down.</summary>
    public AlexLinkClient? Current
    {
        get
        {
            lock (_gate)
            {
                return _client;
            }
        }
    }

    /// <summary>Connects and keeps connecting until cancelled or the first connection fails.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        var everConnected = false;
        var retries = 0;
        var retry = Backoff.Default.Delay(retries, Random.Shared.NextDouble());
        while (!cancellationToken.IsCancellationRequested)
        {
            _events.TryWrite(new ConnectingEvent(++attempt));
            AlexLinkClient client;
            try
            {
                client = await _connect(cancellationToken).ConfigureAwait(false);
            }
            catch (AlexConnectException e) when (!cancellationToken.IsCancellationRequested)
            {
                if (!everConnected || !Retryable(e))
                {
                    _events.TryWrite(new ConnectionFailedEvent(e.Message, e.Hint));
                    return;
                }

                _events.TryWrite(new ConnectionLostEvent(e.Message, retry));
                if (!await PauseAsync(retry, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                retry = Backoff.Default.Delay(++retries, Random.Shared.NextDouble());
                continue;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            everConnected = true;
            attempt = 0;
            retries = 0;
            retry = Backoff.Default.Delay(retries, Random.Shared.NextDouble());
            TaskCompletionSource<AlexLinkClient> up;
            lock (_gate)
            {
                _client = client;
                up = _up;
            }

            _events.TryWrite(new ConnectedEvent(DriveSessionInfo.From(client)));
            up.TrySetResult(client);
            string reason;
            try
            {
                reason = await ServeAsync(client, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _client = null;
                    _up = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                await client.DisposeAsync().ConfigureAwait(false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            _events.TryWrite(new ConnectionLostEvent(reason, retry));
            if (!await PauseAsync(retry, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            retry = Backoff.Default.Delay(++retries, Random.Shared.NextDouble());
        }
    }

    /// <summary>Waits (bounded) until connected; null if not connected within <paramref name="limit"/>.</summary>
    public async Task<AlexLinkClient?> WaitConnectedAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        Task<AlexLinkClient> up;
        lock (_gate)
        {
            if (_client is not null)
            {
                return _client;
            }

            up = _up.Task;
        }

        try
        {
            return await up.WaitAsync(limit, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends one request on the current connection and reports it as events; null when there is no
    /// connection (nothing was sent) or it broke before the reply.
    /// </summary>
    public async Task<CommandReply?> RequestAsync(string request, Func<AlexLinkClient, CancellationToken, Task<CommandReply>> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        var client = Current;
        if (client is null)
        {
            _events.TryWrite(new CommandLostEvent(request, "not sent: not connected"));
            return null;
        }

        _events.TryWrite(new CommandStartedEvent(request));
        try
        {
            var reply = await send(client, cancellationToken).ConfigureAwait(false);
            _events.TryWrite(new CommandFinishedEvent(reply));
            return reply;
        }
        catch (AlexConnectException e)
        {
            _events.TryWrite(new CommandLostEvent(request, $"no reply: {e.Message}"));
            return null;
        }
    }

    public Task<CommandReply?> SendAsync(DriveCommand command, CancellationToken cancellationToken) =>
        command.IsStop
            ? RequestAsync("s", (c, ct) => c.StopAsync(ct), cancellationToken)
            : RequestAsync(command.ToString(), (c, ct) => c.SendAsync(command, ct), cancellationToken);

    private static bool Retryable(AlexConnectException e) => e.Failure switch
    {
        ConnectFailure.Unreachable or ConnectFailure.Timeout or ConnectFailure.ConnectionLost or ConnectFailure.TlsFailed => true,
        ConnectFailure.Refused => e.RefusalCode is AlexLinkRefusalCode.Busy or AlexLinkRefusalCode.ShuttingDown,
        _ => false,
    };

    private async Task<bool> PauseAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Runs one connection: subscribe, pump telemetry, watch for silence; returns why it ended.</summary>
    private async Task<string> ServeAsync(AlexLinkClient client, CancellationToken cancellationToken)
    {
        var alexLink = client.Protocol == AlexProtocol.AlexLink1;
        long lastHeard = _time.GetTimestamp();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var message in client.Telemetry.ReadAllAsync(stop.Token).ConfigureAwait(false))
                    {
                        Interlocked.Exchange(ref lastHeard, _time.GetTimestamp());
                        _events.TryWrite(new PushedEvent(message));
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
            if (alexLink)
            {
                var subscribed = await client.SubscribeAsync(AlexLinkTopics.All, StatusInterval, stop.Token).ConfigureAwait(false);
                if (!subscribed.Acknowledged)
                {
                    _events.TryWrite(new CommandLostEvent("subscribe", subscribed.Text));
                }
            }

            Interlocked.Exchange(ref lastHeard, _time.GetTimestamp());
            TimeSpan? shown = null;
            while (true)
            {
                var tick = Task.Delay(TimeSpan.FromMilliseconds(250), _time, stop.Token);
                if (await Task.WhenAny(client.Closed, tick).ConfigureAwait(false) == client.Closed)
                {
                    return (await client.Closed.ConfigureAwait(false)).Message;
                }

                await tick.ConfigureAwait(false);
                if (client.LastHeartbeatRoundTrip is { } rtt && rtt != shown)
                {
                    shown = rtt;
                    _events.TryWrite(new LatencyEvent(rtt));
                }

                var silent = _time.GetElapsedTime(Interlocked.Read(ref lastHeard));
                if (alexLink && silent > SilenceLimit)
                {
                    return $"no word from the server for {silent.TotalSeconds:0.#} s";
                }
            }
        }
        catch (AlexConnectException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }
}
