// Keeps a connection to Alex's server up: connects, and
// when the connection drops for a reason that can pass (network, server restart, busy), waits with
// backoff and connects again, re-subscribing to the telemetry asked for. A reason that will not pass
// by waiting (refused by the allow-list, revoked, untrusted server, wrong protocol) ends the loop
// with that reason, said in words.
using System.Threading.Channels;
using Alex.Protocol;
using Alex.Protocol.AlexLink;

namespace Alex.Client;

/// <summary>Where the reconnecting client is.</summary>
public enum LinkPhase
{
    Connecting,
    Connected,

    /// <summary>Lost or failed; retrying after <see cref="LinkState.RetryIn"/>.</summary>
    Waiting,

    /// <summary>Stopped for good: see the text.</summary>
    Stopped,
}

/// <summary>A change of <see cref="ReconnectingClient"/>'s state, for a status line.</summary>
public sealed record LinkState(LinkPhase Phase, string Text, TimeSpan? RetryIn = null, AlexConnectException? Failure = null);

/// <summary>A connection that comes back by itself. Commands sent while it is down fail at once (never queued: a stale move is dangerous).</summary>
public sealed class ReconnectingClient : IAsyncDisposable
{
    private readonly AlexClientOptions _options;
    private readonly Backoff _backoff;
    private readonly Func<double> _random;
    private readonly Channel<AlexLinkMessage> _telemetry = Channel.CreateBounded<AlexLinkMessage>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = false });
    private readonly Lock _lock = new();
    private AlexLinkClient? _current;
    private TaskCompletionSource<AlexLinkClient> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (AlexLinkTopics Topics, TimeSpan Interval)? _subscription;

    public ReconnectingClient(AlexClientOptions options, Backoff? backoff = null, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _backoff = backoff ?? Backoff.Default;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>Every state change (connecting, connected, waiting with the delay, stopped).</summary>
    public event Action<LinkState>? StateChanged;

    /// <summary>The live connection, or null while down.</summary>
    public AlexLinkClient? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Telemetry from whichever connection is live.</summary>
    public ChannelReader<AlexLinkMessage> Telemetry => _telemetry.Reader;

    /// <summary>The live connection, once there is one.</summary>
    public Task<AlexLinkClient> WaitConnectedAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _connected.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Connects and reconnects until cancelled, or until a failure that waiting cannot fix, which it
    /// throws (an <see cref="AlexConnectException"/>).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Raise(new LinkState(LinkPhase.Connecting, $"connecting to {_options.Host}:{_options.Port}"));
                AlexConnectException failure;
                try
                {
                    var client = await AlexLinkClient.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
                    attempt = 0;
                    failure = await ServeAsync(client, cancellationToken).ConfigureAwait(false);
                }
                catch (AlexConnectException e)
                {
                    failure = e;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (!failure.IsTransient)
                {
                    Raise(new LinkState(LinkPhase.Stopped, failure.Message, null, failure));
                    throw failure;
                }

                var delay = _backoff.Delay(attempt++, _random());
                Raise(new LinkState(LinkPhase.Waiting, $"{failure.Message}; retrying in {delay.TotalSeconds:0.0} s", delay, failure));
                await Task.Delay(delay, _options.Time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _telemetry.Writer.TryComplete();
        }
    }

    /// <summary>Sends on the live connection; fails at once (LinkDown) while reconnecting.</summary>
    public async Task<CommandReply> SendAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        var client = Current;
        if (client is null)
        {
            return CommandReply.Failed(command.ToString(), AlexLinkErrorCode.LinkDown, 0, $"{command}: not connected to {_options.Host}:{_options.Port} (reconnecting)", TimeSpan.Zero);
        }

        try
        {
            return await client.SendAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (AlexConnectException e)
        {
            return CommandReply.Failed(command.ToString(), AlexLinkErrorCode.LinkDown, 0, $"{command}: {e.Message}", TimeSpan.Zero);
        }
    }

    /// <summary>Subscribes now (if connected) and again after every reconnect.</summary>
    public async Task SubscribeAsync(AlexLinkTopics topics, TimeSpan statusInterval, CancellationToken cancellationToken)
    {
        _subscription = (topics, statusInterval);
        if (Current is { Protocol: AlexProtocol.AlexLink1 } client)
        {
            await client.SubscribeAsync(topics, statusInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var client = Current;
        if (client is not null)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<AlexConnectException> ServeAsync(AlexLinkClient client, CancellationToken cancellationToken)
    {
        await using (client.ConfigureAwait(false))
        {
            if (_subscription is { } s && client.Protocol == AlexProtocol.AlexLink1)
            {
                await client.SubscribeAsync(s.Topics, s.Interval, cancellationToken).ConfigureAwait(false);
            }

            lock (_lock)
            {
                _current = client;
                _connected.TrySetResult(client);
            }

            Raise(new LinkState(LinkPhase.Connected, $"connected to {client.Endpoint} ({(client.Protocol == AlexProtocol.Classic ? "classic" : "alexlink/1")})"));
            try
            {
                await foreach (var m in client.Telemetry.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    _telemetry.Writer.TryWrite(m);
                }

                return await client.Closed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_lock)
                {
                    _current = null;
                    if (_connected.Task.IsCompleted)
                    {
                        _connected = new TaskCompletionSource<AlexLinkClient>(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
        }
    }

    private void Raise(LinkState state) => StateChanged?.Invoke(state);
}
