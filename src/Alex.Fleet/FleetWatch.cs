// The instructor's side of the fleet broker (docs/fleet.md "The instructor's view"): every robot's retained status
// into a FleetBoard, and STOP to one robot or all. Used by `alex fleet`, the benchmark and the tests.
using System.Buffers;
using Alex.Pki.Fleet;
using Alex.Protocol.Fleet;
using MQTTnet;
using MQTTnet.Protocol;

namespace Alex.Fleet;

/// <summary>A connected view of the fleet: the board and STOP.</summary>
public sealed class FleetWatch : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly FleetIdentity _identity;
    private readonly TimeProvider _time;
    private readonly FleetBoard _board;
    private readonly Lock _gate = new();

    private FleetWatch(IMqttClient client, FleetIdentity identity, TimeProvider time, FleetBoard board)
    {
        _client = client;
        _identity = identity;
        _time = time;
        _board = board;
    }

    /// <summary>Raised on MQTTnet's receive loop for each status: the robot and the status (null: cleared).</summary>
    public event Action<string, FleetStatus?>? StatusReceived;

    /// <summary>Statuses that came but were not status documents (ignored).</summary>
    public long Unreadable { get; private set; }

    public static async Task<FleetWatch> ConnectAsync(FleetEndpoint endpoint, FleetIdentity identity, TimeProvider time, CancellationToken cancellationToken, FleetBoard? board = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(identity);
        var client = new MqttClientFactory().CreateMqttClient();
        var watch = new FleetWatch(client, identity, time, board ?? new FleetBoard());
        client.ApplicationMessageReceivedAsync += watch.OnMessageAsync;
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(FleetConnection.ConnectTimeout);
            var options = FleetConnection.Options(endpoint, identity, FleetConnection.ClientId(identity.Name)).Build();
            var result = await client.ConnectAsync(options, bounded.Token).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new FleetException($"the broker {endpoint} refused '{identity.Name}': {result.ResultCode} {result.ReasonString}");
            }

            var subscribe = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(FleetTopics.AllStatus, MqttQualityOfServiceLevel.AtLeastOnce).Build();
            var subscribed = await client.SubscribeAsync(subscribe, bounded.Token).ConfigureAwait(false);
            if (subscribed.Items.Any(i => (int)i.ResultCode >= 0x80))
            {
                throw new FleetException($"the broker {endpoint} would not let '{identity.Name}' read the robots' status ({subscribed.Items.First().ResultCode})");
            }

            // The broker sends the retained statuses right after SUBACK, ahead of its answer to anything we send next:
            // once a PING is answered, every robot's last status has been received.
            await client.PingAsync(bounded.Token).ConfigureAwait(false);
            return watch;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new FleetException($"no answer from the broker {endpoint} within {FleetConnection.ConnectTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException or IOException)
        {
            client.Dispose();
            throw new FleetException($"cannot reach the broker {endpoint}: {(e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ")}");
        }
        catch (FleetException)
        {
            client.Dispose();
            throw;
        }
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>The board as it is now.</summary>
    public IReadOnlyList<FleetRow> Rows()
    {
        lock (_gate)
        {
            return _board.Rows(_time.GetUtcNow());
        }
    }

    /// <summary>
    /// Publishes STOP to every robot (<paramref name="robot"/> null) or one; true when the broker took it. The broker
    /// answers "not authorized" (false) unless we are an instructor.
    /// </summary>
    public async Task<bool> StopAsync(string? robot, string reason, CancellationToken cancellationToken)
    {
        var topic = robot is null ? FleetTopics.FleetStop : FleetTopics.Stop(robot);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new FleetStop(_identity.Name, reason).ToJson())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(FleetConnection.ConnectTimeout);
        var result = await _client.PublishAsync(message, bounded.Token).ConfigureAwait(false);
        return result.IsSuccess;
    }

    public async ValueTask DisposeAsync()
    {
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
}

/// <summary>The fleet broker could not be used; the message says why in one line.</summary>
public sealed class FleetException(string message) : Exception(message);
