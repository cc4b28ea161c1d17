// A robot's side of the fleet broker (docs/fleet.md): its status, published retained on alexlink/ROBOT/status,
// and the instructor's STOPs. Two loops, neither on the robot's path:
//  - the tick loop reads the server's state (a snapshot), asks FleetSchedule whether to publish, and puts the
//    status in an outbox of one (a newer status replaces an unsent one: a status is state, not an event);
//  - the connection loop connects (with backoff), subscribes to the STOP topics, and publishes from the outbox,
//    each publish bounded by a timeout; a slow, frozen or absent broker only makes statuses wait or be replaced.
// A STOP message calls the server's STOP at once from MQTTnet's receive loop.
using System.Buffers;
using System.Threading.Channels;
using Alex.Protocol;
using Alex.Pki.Fleet;
using Alex.Protocol.Fleet;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alex.Fleet;

/// <summary>How a robot publishes to the fleet broker.</summary>
public sealed record FleetPublisherOptions
{
    /// <summary>How often the server's state is looked at (a change is published at most this much later).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan Heartbeat { get; init; } = FleetSchedule.DefaultHeartbeat;

    public TimeSpan OdometryInterval { get; init; } = FleetSchedule.DefaultOdometryInterval;

    /// <summary>The longest a publish may take before the connection is given up and made again.</summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public Backoff Backoff { get; init; } = FleetConnection.Backoff;
}

/// <summary>Publishes one robot's status to the fleet broker and hands its STOPs to the server.</summary>
public sealed class FleetPublisher : IAsyncDisposable
{
    private readonly FleetEndpoint _endpoint;
    private readonly FleetIdentity _identity;
    private readonly Func<FleetStatus> _snapshot;
    private readonly Func<string, string, Task> _stop;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly FleetPublisherOptions _options;
    private readonly FleetSchedule _schedule;
    private readonly Lock _scheduleGate = new();
    private readonly Channel<FleetStatus> _outbox = Channel.CreateBounded<FleetStatus>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _stopping = new();
    private readonly IMqttClient _client;
    private readonly Task _tickLoop;
    private readonly Task _connectionLoop;
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _published;
    private long _replaced;
    private long _stops;
    private int _connected;

    private FleetPublisher(FleetEndpoint endpoint, FleetIdentity identity, Func<FleetStatus> snapshot, Func<string, string, Task> stop, TimeProvider time, Action<string> log, FleetPublisherOptions options)
    {
        _endpoint = endpoint;
        _identity = identity;
        _snapshot = snapshot;
        _stop = stop;
        _time = time;
        _log = log;
        _options = options;
        _schedule = new FleetSchedule(time, options.Heartbeat, options.OdometryInterval);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += _ =>
        {
            Volatile.Read(ref _disconnected).TrySetResult();
            return Task.CompletedTask;
        };
        _tickLoop = Task.Run(() => TickLoopAsync(_stopping.Token));
        _connectionLoop = Task.Run(() => ConnectionLoopAsync(_stopping.Token));
    }

    /// <summary>The robot's name on the broker (its fleet certificate's CN).</summary>
    public string Robot => _identity.Name;

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    /// <summary>Statuses the broker acknowledged.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Statuses replaced in the outbox by a newer one before they could be sent (the broker slow or gone).</summary>
    public long Replaced => Interlocked.Read(ref _replaced);

    /// <summary>STOPs received from the broker.</summary>
    public long Stops => Interlocked.Read(ref _stops);

    /// <summary>How many statuses wait to be sent: never more than one.</summary>
    public int Waiting => _outbox.Reader.Count;

    /// <summary>Raised (on the connection loop) each time the broker acknowledges a status.</summary>
    public event Action<FleetStatus>? StatusPublished;

    /// <summary>
    /// Starts publishing <paramref name="snapshot"/>'s state for <paramref name="identity"/> (a fleet certificate) to
    /// <paramref name="endpoint"/>; <paramref name="stop"/>(who, why) is called for each STOP. Never throws for the broker's
    /// sake: an unreachable broker is retried with backoff and said through <paramref name="log"/>.
    /// </summary>
    public static FleetPublisher Start(FleetEndpoint endpoint, FleetIdentity identity, Func<FleetStatus> snapshot, Func<string, string, Task> stop, TimeProvider time, Action<string> log, FleetPublisherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(stop);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(log);
        if (FleetTopics.TopicLevelProblem(identity.Name) is { } problem)
        {
            throw new ArgumentException($"the fleet certificate's name '{identity.Name}' {problem}", nameof(identity));
        }

        return new FleetPublisher(endpoint, identity, snapshot, stop, time, log, options ?? new FleetPublisherOptions());
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _tickLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connectionLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_client.IsConnected)
        {
            // A clean goodbye: the broker drops the Last Will, so say "offline" ourselves (bounded: the broker may be gone).
            using var bye = new CancellationTokenSource(_options.PublishTimeout);
            try
            {
                await _client.PublishAsync(StatusMessage(FleetStatus.OfflineWill), bye.Token).ConfigureAwait(false);
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), bye.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException)
            {
            }
        }

        _client.Dispose();
        _stopping.Dispose();
    }

    private async Task TickLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            FleetStatus current;
            try
            {
                current = _snapshot();
            }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
            {
                return;
            }

            FleetPublishDecision decision;
            lock (_scheduleGate)
            {
                decision = _schedule.Decide(current);
            }

            if (decision.Publish)
            {
                if (_outbox.Reader.Count > 0)
                {
                    Interlocked.Increment(ref _replaced);
                }

                _outbox.Writer.TryWrite(current);
            }

            try
            {
                await Task.Delay(_options.Tick, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ConnectionLoopAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        string? lastProblem = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var problem = await TryConnectAsync(cancellationToken).ConfigureAwait(false);
            if (problem is null)
            {
                attempt = 0;
                if (lastProblem is not null || Published == 0)
                {
                    _log($"fleet: connected to {_endpoint} as '{Robot}'");
                }

                lastProblem = null;
                problem = await PublishWhileConnectedAsync(cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _connected, 0);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }

            if (problem != lastProblem)
            {
                _log($"fleet: {problem}; retrying (the robot is not affected)");
                lastProblem = problem;
            }

            try
            {
                await Task.Delay(_options.Backoff.Delay(attempt++, Random.Shared.NextDouble()), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Connects and subscribes to the STOP topics; null when done, else what went wrong in one line.
    private async Task<string?> TryConnectAsync(CancellationToken cancellationToken)
    {
        var options = FleetConnection.Options(_endpoint, _identity, FleetConnection.ClientId(Robot))
            .WithWillTopic(FleetTopics.Status(Robot))
            .WithWillPayload(FleetStatus.OfflineWill.ToJson())
            .WithWillRetain()
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(FleetConnection.ConnectTimeout);
        try
        {
            Volatile.Write(ref _disconnected, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var result = await _client.ConnectAsync(options, bounded.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                return $"the broker {_endpoint} refused us: {result.ResultCode} {result.ReasonString}";
            }

            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(FleetTopics.FleetStop, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(FleetTopics.Stop(Robot), MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            await _client.SubscribeAsync(subscribe, bounded.Token).ConfigureAwait(false);
            lock (_scheduleGate)
            {
                _schedule.Reconnected();
            }

            Volatile.Write(ref _connected, 1);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await FleetConnection.DropAsync(_client).ConfigureAwait(false);
            return $"no answer from the broker {_endpoint} within {FleetConnection.ConnectTimeout.TotalSeconds:0} s";
        }
        catch (OperationCanceledException)
        {
            return "stopping";
        }
        catch (Exception e) when (FleetConnection.IsUnreachable(e))
        {
            await FleetConnection.DropAsync(_client).ConfigureAwait(false);
            return $"cannot reach the broker {_endpoint}: {FleetConnection.OneLine(e)}";
        }
    }

    // Publishes from the outbox until the connection fails; returns why.
    private async Task<string> PublishWhileConnectedAsync(CancellationToken cancellationToken)
    {
        var disconnected = Volatile.Read(ref _disconnected).Task;
        while (!cancellationToken.IsCancellationRequested)
        {
            var next = _outbox.Reader.WaitToReadAsync(cancellationToken).AsTask();
            if (await Task.WhenAny(next, disconnected).ConfigureAwait(false) == disconnected)
            {
                return $"the broker {_endpoint} closed the connection";
            }

            bool more;
            try
            {
                more = await next.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return "stopping";
            }

            if (!more || !_outbox.Reader.TryRead(out var status))
            {
                continue;
            }

            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(_options.PublishTimeout);
            try
            {
                var result = await _client.PublishAsync(StatusMessage(status), bounded.Token).ConfigureAwait(false);
                if (!result.IsSuccess)
                {
                    return $"the broker {_endpoint} would not take our status: {result.ReasonCode} {result.ReasonString}";
                }

                Interlocked.Increment(ref _published);
                StatusPublished?.Invoke(status);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Sent again after reconnecting (the schedule publishes at once on a new connection).
                await FleetConnection.DropAsync(_client).ConfigureAwait(false);
                return $"the broker {_endpoint} did not acknowledge a status within {_options.PublishTimeout.TotalSeconds:0} s";
            }
            catch (OperationCanceledException)
            {
                return "stopping";
            }
            catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or IOException or InvalidOperationException)
            {
                await FleetConnection.DropAsync(_client).ConfigureAwait(false);
                return $"lost the broker {_endpoint}: {FleetConnection.OneLine(e)}";
            }
        }

        return "stopping";
    }

    private MqttApplicationMessage StatusMessage(FleetStatus status) => new MqttApplicationMessageBuilder()
        .WithTopic(FleetTopics.Status(Robot))
        .WithPayload(status.ToJson())
        .WithRetainFlag()
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .WithContentType("application/json")
        .Build();

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var topic = e.ApplicationMessage.Topic;
        if (topic != FleetTopics.FleetStop && topic != FleetTopics.Stop(Robot))
        {
            return Task.CompletedTask;
        }

        // The broker's ACL lets only instructors publish here; any message is a STOP, whatever its payload says.
        Interlocked.Increment(ref _stops);
        var stop = FleetStop.Read(e.ApplicationMessage.Payload.ToArray());
        var who = stop.By is { Length: > 0 } by ? $"fleet:{by}" : "fleet";
        var stopping = _stop(who, stop.Describe(topic));
        _ = stopping.ContinueWith(t => _log($"fleet: the STOP failed: {t.Exception?.InnerException?.Message}"), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return Task.CompletedTask;
    }
}
