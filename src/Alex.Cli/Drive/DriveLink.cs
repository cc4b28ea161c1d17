// The drive console's view of Alex.Client's ReconnectingClient: what it reports becomes DriveEvents for
// the console's one loop, and the console's requests go through it. Connecting, reconnecting, the
// backoff, silence, telemetry and dead reckoning are all the client's; this only translates.
//
// The drive console gives up when the first connection fails (a mistyped address or the wrong
// certificates: waiting would only hide that) and on what waiting cannot fix (refused, not trusted).
using System.Threading.Channels;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;

namespace Alex.Cli.Drive;

internal sealed class DriveLink : IAsyncDisposable
{
    public static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(250);

    private readonly ReconnectingClient _client;
    private readonly ChannelWriter<DriveEvent> _events;
    private readonly TeamExtensions _extensions;

    /// <param name="extensions">The team's declared commands: requested and answered under their names.</param>
    public DriveLink(AlexClientOptions options, TeamExtensions extensions, ChannelWriter<DriveEvent> events)
    {
        _events = events;
        _extensions = extensions;
        _client = new ReconnectingClient(options, new ReconnectPolicy { GiveUpIfFirstFails = true })
        {
            Topics = AlexLinkTopics.All | AlexLinkTopics.Lidar,
            StatusInterval = StatusInterval,
            SilenceLimit = TimeSpan.FromSeconds(3),
        };
        _client.Changed += Translate;
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>Connects and keeps connecting until cancelled or the client gives up (reported as ConnectionFailedEvent).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or AlexConnectException)
        {
            // Cancelled, or given up: the Stopped state said why.
        }
    }

    public Task<bool> WaitConnectedAsync(TimeSpan limit, CancellationToken cancellationToken) =>
        _client.WaitConnectedAsync(limit, cancellationToken);

    public Task<CommandReply?> SendAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        if (_extensions.TryGetByCode(command.Command, out _))
        {
            var name = _extensions.Describe(command);
            return RequestAsync(name, async ct => await _client.SendAsync(command, ct).ConfigureAwait(false) with { Request = name }, cancellationToken);
        }

        return RequestAsync(command.IsStop ? "s" : command.ToString(), ct => _client.SendAsync(command, ct), cancellationToken);
    }

    public Task<CommandReply?> TakeLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("take lease", _client.TakeLeaseAsync, cancellationToken);

    public Task<CommandReply?> ReleaseLeaseAsync(CancellationToken cancellationToken) =>
        RequestAsync("release lease", _client.ReleaseLeaseAsync, cancellationToken);

    public void ResetPath() => _client.ResetPath();

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <summary>Sends one request and reports it as events; null when it was not sent or got no answer (the connection went).</summary>
    private async Task<CommandReply?> RequestAsync(string request, Func<CancellationToken, Task<CommandReply>> send, CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            _events.TryWrite(new CommandLostEvent(request, "not sent: not connected"));
            return null;
        }

        _events.TryWrite(new CommandStartedEvent(request));
        var reply = await send(cancellationToken).ConfigureAwait(false);
        if (reply.Error == AlexLinkErrorCode.LinkDown)
        {
            _events.TryWrite(new CommandLostEvent(request, reply.Text));
            return null;
        }

        _events.TryWrite(new CommandFinishedEvent(reply));
        return reply;
    }

    private void Translate(LinkEvent e)
    {
        DriveEvent? translated = e switch
        {
            LinkState { Phase: LinkPhase.Connecting } s => new ConnectingEvent(s.Attempt),
            LinkState { Phase: LinkPhase.Connected, Session: { } session } => new ConnectedEvent(DriveSessionInfo.From(session)),
            LinkState { Phase: LinkPhase.Waiting, Failure: { } why, RetryIn: { } retry } => new ConnectionLostEvent(why.Message, retry),
            LinkState { Phase: LinkPhase.Stopped, Failure: { } why } => new ConnectionFailedEvent(why.Message, why.Hint),
            LinkPushed p => new PushedEvent(p.Message),
            LinkStatus s => new StatusEvent(s.Counters, s.Pose, s.Path),
            LinkPathReset r => new PathResetEvent(r.Pose, r.Path),
            LinkRoundTrip r => new LatencyEvent(r.RoundTrip),
            LinkNotice n => new NoteEvent(DriveLogKind.Problem, n.Text),
            _ => null,
        };
        if (translated is not null)
        {
            _events.TryWrite(translated);
        }
    }
}
