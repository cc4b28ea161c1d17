// The instructor's side of the fleet broker (docs/fleet.md "The instructor's view"): every robot's retained status
// into a FleetBoard, STOP to one robot or all, and a lost broker made again with backoff. Used by `alex fleet`, the
// fleet page, the benchmark and the tests.
using System.Buffers;
using Alex.Pki.Fleet;
using Alex.Protocol;
using Alex.Protocol.Fleet;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alex.Fleet;

/// <summary>What came of a STOP: sent (the broker took it), refused by the broker (its ACL), or not sent (the broker is lost).</summary>
public enum FleetStopResult
{
    Sent,
    Refused,
    NotSent,
}

/// <summary>A STOP's <see cref="Result"/>; <see cref="Problem"/> says in one line why it was not sent.</summary>
public readonly record struct FleetStopOutcome(FleetStopResult Result, string? Problem = null);

/// <summary>
/// A view of the fleet: the board and STOP. The first connection is made by <see cref="ConnectAsync"/>; after that one
/// loop waits for the connection to be lost and makes it again as <see cref="FleetWatchLink"/> decides, subscribing
/// again so that the retained statuses refill the board.
/// </summary>
public sealed class FleetWatch : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly FleetEndpoint _endpoint;
    private readonly FleetIdentity _identity;
    private readonly TimeProvider _time;
    private readonly FleetBoard _board;
    private readonly FleetWatchLink _link;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource<string> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _connectionLoop = Task.CompletedTask;

    private FleetWatch(FleetEndpoint endpoint, FleetIdentity identity, TimeProvider time, FleetBoard board, Backoff backoff)
    {
        _endpoint = endpoint;
        _identity = identity;
        _time = time;
        _board = board;
        _link = new FleetWatchLink(backoff, time.GetUtcNow());
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected)
            {
                Volatile.Read(ref _lost).TrySetResult(LostWhy(e));
            }

            return Task.CompletedTask;
        };
    }

    /// <summary>Raised on MQTTnet's receive loop for each status: the robot and the status (null: cleared).</summary>
    public event Action<string, FleetStatus?>? StatusReceived;

    /// <summary>Raised on the connection loop when the broker is lost, an attempt to reconnect fails, or it is back.</summary>
    public event Action<FleetWatchState>? StateChanged;

    /// <summary>Statuses that came but were not status documents (ignored).</summary>
    public long Unreadable { get; private set; }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> as <paramref name="identity"/> and reads every robot's retained status; throws
    /// <see cref="FleetException"/> when the broker cannot be used now. A connection lost later is made again after
    /// <paramref name="backoff"/>'s waits (default <see cref="FleetConnection.Backoff"/>).
    /// </summary>
    public static async Task<FleetWatch> ConnectAsync(FleetEndpoint endpoint, FleetIdentity identity, TimeProvider time, CancellationToken cancellationToken, FleetBoard? board = null, Backoff? backoff = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(time);
        var watch = new FleetWatch(endpoint, identity, time, board ?? new FleetBoard(), backoff ?? FleetConnection.Backoff);
        string? problem;
        try
        {
            problem = await watch.TryConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            watch._client.Dispose();
            throw;
        }

        if (problem is not null)
        {
            watch._client.Dispose();
            throw new FleetException(problem);
        }

        watch._connectionLoop = Task.Run(() => watch.ConnectionLoopAsync(watch._stopping.Token));
        return watch;
    }

    /// <summary>Connected to the broker now.</summary>
    public bool IsConnected => State.Connected;

    /// <summary>Connected, or lost and why.</summary>
    public FleetWatchState State
    {
        get
        {
            lock (_gate)
            {
                return _link.State;
            }
        }
    }

    /// <summary>The board as it is now.</summary>
    public IReadOnlyList<FleetRow> Rows()
    {
        lock (_gate)
        {
            return _board.Rows(_time.GetUtcNow());
        }
    }

    /// <summary>
    /// Publishes STOP to every robot (<paramref name="robot"/> null) or one. The broker answers "not authorized"
    /// (<see cref="FleetStopResult.Refused"/>) unless we are an instructor; while it is lost, nothing is sent and the
    /// answer comes at once (<see cref="FleetStopResult.NotSent"/>).
    /// </summary>
    public async Task<FleetStopOutcome> StopAsync(string? robot, string reason, CancellationToken cancellationToken)
    {
        var what = robot is null ? "every robot on the broker" : $"'{robot}'";
        if (State.StopRefusal(what) is { } refusal)
        {
            return new FleetStopOutcome(FleetStopResult.NotSent, refusal);
        }

        var topic = robot is null ? FleetTopics.FleetStop : FleetTopics.Stop(robot);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new FleetStop(_identity.Name, reason).ToJson())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(FleetConnection.ConnectTimeout);
        try
        {
            var result = await _client.PublishAsync(message, bounded.Token).ConfigureAwait(false);
            return new FleetStopOutcome(result.IsSuccess ? FleetStopResult.Sent : FleetStopResult.Refused);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new FleetStopOutcome(FleetStopResult.NotSent, $"STOP to {what} not sent: no answer from the broker {_endpoint} within {FleetConnection.ConnectTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException)
        {
            return new FleetStopOutcome(FleetStopResult.NotSent, $"STOP to {what} not sent: lost the broker {_endpoint}: {FleetConnection.OneLine(e)}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _connectionLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_client.IsConnected)
        {
            using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), bye.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException)
            {
            }
        }

        _client.Dispose();
        _stopping.Dispose();
    }

    // Read -> decide -> act: wait for the connection to be lost (or for the backoff's wait, then try again), tell the
    // link, and say what it now is.
    private async Task ConnectionLoopAsync(CancellationToken cancellationToken)
    {
        string? problem = null;
        var wait = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (problem is null)
                {
                    problem = await Volatile.Read(ref _lost).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                    problem = await TryConnectAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            FleetWatchState state;
            lock (_gate)
            {
                if (problem is null)
                {
                    _link.Connected(_time.GetUtcNow());
                }
                else
                {
                    wait = _link.Lost(problem, _time.GetUtcNow(), Random.Shared.NextDouble());
                }

                state = _link.State;
            }

            StateChanged?.Invoke(state);
        }
    }

    // Connects, subscribes to every status and waits until the retained ones have come; null when done, else why not in one line.
    private async Task<string?> TryConnectAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _lost, new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(FleetConnection.ConnectTimeout);
        string? problem;
        try
        {
            var options = FleetConnection.Options(_endpoint, _identity, FleetConnection.ClientId(_identity.Name)).Build();
            var result = await _client.ConnectAsync(options, bounded.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                problem = $"the broker {_endpoint} refused '{_identity.Name}': {result.ResultCode} {result.ReasonString}";
            }
            else
            {
                var subscribe = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(FleetTopics.AllStatus, MqttQualityOfServiceLevel.AtLeastOnce).Build();
                var subscribed = await _client.SubscribeAsync(subscribe, bounded.Token).ConfigureAwait(false);
                if (subscribed.Items.Any(i => (int)i.ResultCode >= 0x80))
                {
                    problem = $"the broker {_endpoint} would not let '{_identity.Name}' read the robots' status ({subscribed.Items.First().ResultCode})";
                }
                else
                {
                    // The broker sends the retained statuses right after SUBACK, ahead of its answer to anything we send next:
                    // once a PING is answered, every robot's last status has been received.
                    await _client.PingAsync(bounded.Token).ConfigureAwait(false);
                    return null;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            problem = $"no answer from the broker {_endpoint} within {FleetConnection.ConnectTimeout.TotalSeconds:0} s";
        }
        catch (Exception e) when (FleetConnection.IsUnreachable(e))
        {
            problem = $"cannot reach the broker {_endpoint}: {FleetConnection.OneLine(e)}";
        }

        await FleetConnection.DropAsync(_client).ConfigureAwait(false);
        return problem;
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        if (FleetTopics.RobotOfStatus(e.ApplicationMessage.Topic) is not { } robot)
        {
            return Task.CompletedTask;
        }

        var payload = e.ApplicationMessage.Payload;
        FleetStatus? status = null;
        if (payload.Length > 0 && !FleetStatus.TryParse(payload.ToArray(), out status))
        {
            Unreadable++;
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            _board.Heard(robot, status, _time.GetUtcNow());
        }

        StatusReceived?.Invoke(robot, status);
        return Task.CompletedTask;
    }

    // A connection that ends with no error is the broker closing it (a crash or a restart looks the same to us); a DISCONNECT
    // with a reason (MQTT 5: "server shutting down", "session taken over") says so.
    private string LostWhy(MqttClientDisconnectedEventArgs e) => e switch
    {
        { Exception: { } x } => $"lost the broker {_endpoint}: {FleetConnection.OneLine(x)}",
        { Reason: MqttClientDisconnectReason.NormalDisconnection } => $"the broker {_endpoint} closed the connection",
        _ => $"the broker {_endpoint} closed the connection: {e.Reason}{(string.IsNullOrEmpty(e.ReasonString) ? "" : $" ({e.ReasonString})")}",
    };
}

/// <summary>The fleet broker could not be used; the message says why in one line.</summary>
public sealed class FleetException(string message) : Exception(message);
