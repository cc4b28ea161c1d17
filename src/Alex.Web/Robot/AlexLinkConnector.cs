using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;

namespace Alex.Web.Robot;

/// <summary>
/// Reaches the robot through Alex.Client (AlexLink/1), exactly as `alex drive` does: the gateway is a
/// client like any other and never speaks the protocol itself (STYLE.md 12).
/// </summary>
internal sealed class AlexLinkConnector : IRobotConnector
{
    /// <summary>How often the page's counters and path are refreshed (the server may slow it to its minimum).</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(200);

    private readonly AlexClientOptions _options;

    public AlexLinkConnector(AlexClientOptions options)
    {
        // The page needs leases, telemetry and the dead-man: only AlexLink/1 has them.
        _options = options with { Protocol = AlexProtocol.AlexLink1 };
    }

    public string Target => $"{_options.Host}:{_options.Port}";

    public async Task<IRobotLink> ConnectAsync(IRobotEvents events, CancellationToken cancellationToken)
    {
        var client = await AlexLinkClient.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
        var link = new AlexLinkRobotLink(client, events, _options.Time);
        try
        {
            await link.StartAsync(cancellationToken).ConfigureAwait(false);
            return link;
        }
        catch
        {
            await link.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>One AlexLink/1 connection, its telemetry forwarded to the hub.</summary>
internal sealed class AlexLinkRobotLink : IRobotLink
{
    private static readonly TimeSpan RoundTripReport = TimeSpan.FromSeconds(1);

    private readonly AlexLinkClient _client;
    private readonly IRobotEvents _events;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _role;
    private Task _pump = Task.CompletedTask;
    private Task _rtt = Task.CompletedTask;

    public AlexLinkRobotLink(AlexLinkClient client, IRobotEvents events, TimeProvider time)
    {
        _client = client;
        _events = events;
        _time = time;
        var welcome = client.Welcome ?? throw new InvalidOperationException("the robot server sent no Welcome");
        Identity = welcome.ClientName;
        _role = welcome.Role == AlexLinkRole.Driver ? "driver" : "watcher";
        _events.OnLease(new LeaseView(_role, welcome.LeaseHolder.Length == 0 ? null : welcome.LeaseHolder));
    }

    public string Identity { get; }

    public Task<string> Closed => _client.Closed.ContinueWith(t => t.Result.Message, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _pump = Task.Run(() => PumpAsync(_stopping.Token), CancellationToken.None);
        var reply = await _client.SubscribeAsync(
            AlexLinkTopics.Status | AlexLinkTopics.Lease | AlexLinkTopics.Link | AlexLinkTopics.ArduinoText | AlexLinkTopics.Safety,
            AlexLinkConnector.StatusInterval,
            cancellationToken).ConfigureAwait(false);
        if (!reply.Acknowledged)
        {
            throw new InvalidOperationException($"the robot server refused the telemetry subscription: {reply.Text}");
        }

        _rtt = Task.Run(() => ReportRoundTripAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task<RobotReply> SendAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        var reply = command.IsStop
            ? await _client.StopAsync(cancellationToken).ConfigureAwait(false)
            : await _client.SendAsync(command, cancellationToken).ConfigureAwait(false);
        if (reply.Status is { } status)
        {
            _events.OnStatus(status);
        }

        return new RobotReply(reply.Acknowledged, reply.Acknowledged ? "OK" : reply.Text);
    }

    public async Task<RobotReply> SetLeaseAsync(bool take, CancellationToken cancellationToken)
    {
        var reply = take
            ? await _client.TakeLeaseAsync(cancellationToken).ConfigureAwait(false)
            : await _client.ReleaseLeaseAsync(cancellationToken).ConfigureAwait(false);
        return new RobotReply(reply.Acknowledged, reply.Acknowledged ? "OK" : reply.Text);
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _client.Telemetry.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (message)
                {
                    case AlexLinkStatus s:
                        _events.OnStatus(s.Counters);
                        break;
                    case AlexLinkLeaseState l:
                        _events.OnLease(new LeaseView(_role, l.IsFree ? null : l.Holder));
                        break;
                    case AlexLinkArduinoText t:
                        _events.OnMessage(t.Text);
                        break;
                    case AlexLinkSafetyStop stop:
                        _events.OnNotice("safety", stop.Text);
                        break;
                    case AlexLinkLinkState link:
                        _events.OnNotice("serial", link.Detail);
                        break;
                    case AlexLinkError e:
                        _events.OnNotice("serial", e.Text);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The link is being disposed.
        }
    }

    private async Task ReportRoundTripAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RoundTripReport, _time, cancellationToken).ConfigureAwait(false);
                if (_client.LastHeartbeatRoundTrip is { } rtt)
                {
                    _events.OnRoundTrip(rtt);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The link is being disposed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_pump, _rtt).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
