using System.Net.WebSockets;
using System.Threading.Channels;
using Alex.Client;
using Alex.Protocol.Serial;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Robot;

/// <summary>
/// Joins open pages to one connection to the robot. The connection exists only while at least one
/// page's WebSocket is open: when the last page closes (or the browser vanishes and the WebSocket
/// keep-alive times out) the gateway closes its robot connection, so the server's dead-man stops
/// the robot instead of a gateway heartbeating for a page nobody is watching.
/// While pages are open and the robot drops, the hub reconnects with backoff and says so.
/// </summary>
internal sealed class RobotHub : IRobotEvents, IAsyncDisposable
{
    /// <summary>How long one command may take before the page is told it failed.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    private const int MaxInFlightPerPage = 16;

    private readonly IRobotConnector _connector;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly RobotGeometry _geometry;
    private readonly string _version;
    private readonly Lock _gate = new();
    private readonly HashSet<PageSession> _pages = [];
    private readonly DeadReckoning _reckoning;

    private CancellationTokenSource? _linkCts;
    private Task _linkTask = Task.CompletedTask;
    private IRobotLink? _link;
    private string? _identity;
    private string _linkState = "offline";
    private string? _linkDetail = "waiting for a page";
    private LeaseView _lease = new("none", null);
    private StatusCounters? _status;

    public RobotHub(IRobotConnector connector, RobotGeometry geometry, string version, TimeProvider time, ILogger log)
    {
        _connector = connector;
        _geometry = geometry;
        _version = version;
        _time = time;
        _log = log;
        _reckoning = new DeadReckoning(geometry);
    }

    /// <summary>Number of pages connected now (for tests and the console).</summary>
    public int PageCount
    {
        get
        {
            lock (_gate)
            {
                return _pages.Count;
            }
        }
    }

    /// <summary>True while the gateway holds a live connection to the robot.</summary>
    public bool HasRobotLink
    {
        get
        {
            lock (_gate)
            {
                return _link is not null;
            }
        }
    }

    /// <summary>Serves one page's WebSocket until it closes.</summary>
    public async Task RunPageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var page = new PageSession(socket, _log);
        lock (_gate)
        {
            if (_linkCts is null)
            {
                // This page wakes the gateway up: it is connecting from now on.
                _linkState = "connecting";
                _linkDetail = _connector.Target;
            }

            page.Post(PageMessages.Hello(_connector.Target, _version, _geometry));
            page.Post(PageMessages.Link(_linkState, _linkDetail));
            page.Post(PageMessages.Lease(_lease, _identity));
            page.Post(PageMessages.Path(_reckoning.Path, _reckoning.Current));
            if (_status is { } s)
            {
                page.Post(PageMessages.Status(s, _reckoning.Current));
            }

            _pages.Add(page);
            if (_linkCts is null)
            {
                _linkCts = new CancellationTokenSource();
                var previous = _linkTask;
                var token = _linkCts.Token;
                _linkTask = Task.Run(() => RunLinkAsync(previous, token), CancellationToken.None);
            }
        }

        var writer = page.RunWriterAsync(cancellationToken);
        (WebSocketCloseStatus Status, string Text)? close = null;
        try
        {
            close = await ReadPageAsync(page, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The page vanished without a close (tab killed, network gone, keep-alive timed out).
            if (_log.IsEnabled(LogLevel.Information))
            {
                _log.LogInformation("a page went away: {Reason}", e.Message);
            }
        }
        finally
        {
            await LeaveAsync(page).ConfigureAwait(false);
            page.Complete();
            await writer.ConfigureAwait(false);
            if (close is { } c)
            {
                await page.CloseAsync(c.Status, c.Text).ConfigureAwait(false);
            }
        }
    }

    private async Task LeaveAsync(PageSession page)
    {
        Task? stopping = null;
        lock (_gate)
        {
            _pages.Remove(page);
            if (_pages.Count == 0 && _linkCts is { } cts)
            {
                _log.LogInformation("last page closed: letting go of the robot (its dead-man stops it)");
                cts.Cancel();
                cts.Dispose();
                _linkCts = null;
                stopping = _linkTask;
            }
        }

        if (stopping is not null)
        {
            await stopping.ConfigureAwait(false);
        }
    }

    /// <summary>Reads requests until the page closes; returns how to answer the close.</summary>
    private async Task<(WebSocketCloseStatus, string)> ReadPageAsync(PageSession page, CancellationToken cancellationToken)
    {
        var buffer = new byte[PageMessages.MaxRequestBytes + 1];
        while (page.Socket.State == WebSocketState.Open)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                {
                    return (WebSocketCloseStatus.MessageTooBig, "message too long");
                }

                result = await page.Socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                length += result.Count;
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (WebSocketCloseStatus.NormalClosure, "bye");
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType != WebSocketMessageType.Text)
            {
                page.Post(PageMessages.Error("send JSON text messages"));
                continue;
            }

            if (!PageMessages.TryRead(buffer.AsSpan(0, length), out var request, out var error))
            {
                page.Post(PageMessages.Error(error ?? "bad message"));
                continue;
            }

            Dispatch(page, request);
        }

        return (WebSocketCloseStatus.NormalClosure, "bye");
    }

    private void Dispatch(PageSession page, PageRequest request)
    {
        switch (request.Type)
        {
            case "ping":
                page.Post(PageMessages.Pong(request.Id));
                return;
            case "reset-path":
                lock (_gate)
                {
                    _reckoning.Reset();
                    Broadcast(PageMessages.Path(_reckoning.Path, _reckoning.Current));
                }

                return;
        }

        // Commands run concurrently so a STOP never waits behind a move that is still being answered.
        if (!page.TryBeginCommand(MaxInFlightPerPage))
        {
            page.Post(PageMessages.Reply(request.Id, new RobotReply(false, "too many commands in flight"), TimeSpan.Zero));
            return;
        }

        _ = RunCommandAsync(page, request);
    }

    private async Task RunCommandAsync(PageSession page, PageRequest request)
    {
        var started = _time.GetTimestamp();
        RobotReply reply;
        try
        {
            IRobotLink? link;
            lock (_gate)
            {
                link = _link;
            }

            if (link is null)
            {
                reply = new RobotReply(false, "not connected to the robot");
            }
            else
            {
                using var timeout = new CancellationTokenSource(CommandTimeout, _time);
                reply = request.Type == "lease"
                    ? await link.SetLeaseAsync(request.TakeLease, timeout.Token).ConfigureAwait(false)
                    : await link.SendAsync(request.Command, timeout.Token).ConfigureAwait(false);
                if (_log.IsEnabled(LogLevel.Information))
                {
                    _log.LogInformation("{Command}: {Reply}", request.Type == "lease" ? (request.TakeLease ? "take lease" : "release lease") : PageMessages.Describe(request.Command), reply.Text);
                }
            }
        }
        catch (OperationCanceledException)
        {
            reply = new RobotReply(false, "no answer from the robot in time");
        }
        catch (Exception e)
        {
            // A task per command is a boundary: whatever went wrong (the connection closed under it,
            // a refused request) goes back to the page as a failed reply, never unobserved.
            reply = new RobotReply(false, e.Message);
        }
        finally
        {
            page.EndCommand();
        }

        page.Post(PageMessages.Reply(request.Id, reply, _time.GetElapsedTime(started)));
    }

    private async Task RunLinkAsync(Task previous, CancellationToken cancellationToken)
    {
        // The previous connection must be gone before a new one starts (a page reloaded quickly).
        await previous.ConfigureAwait(false);
        var attempt = 0;
        string? why = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            SetLink(attempt == 0 ? "connecting" : "reconnecting", attempt == 0 ? _connector.Target : $"attempt {attempt + 1}: {why}");
            IRobotLink? link = null;
            try
            {
                link = await _connector.ConnectAsync(this, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _link = link;
                    _identity = link.Identity;

                    // The lease as the Welcome told it, now that the page can tell "you" from others.
                    Broadcast(PageMessages.Lease(_lease, _identity));
                }

                attempt = 0;
                SetLink("connected", $"{_connector.Target} as {link.Identity}");
                why = await link.Closed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // Any failure to reach the robot (refused, TLS, name, certificate) is shown and retried.
                why = e.Message;
                _log.LogWarning("robot link: {Reason}", e.Message);
            }
            finally
            {
                lock (_gate)
                {
                    _link = null;
                }

                if (link is not null)
                {
                    await link.DisposeAsync().ConfigureAwait(false);
                }
            }

            // The same backoff as every client of ours (Alex.Client.Backoff): 0.5 s doubling to 5 s, spread ±25 %.
            var delay = Backoff.Default.Delay(attempt, Random.Shared.NextDouble());
            attempt++;
            SetLink("reconnecting", $"retrying in {delay.TotalSeconds:0.##} s: {why}");
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        lock (_gate)
        {
            _lease = new LeaseView("none", null);
        }

        SetLink("offline", "no page open: the gateway let go of the robot");
    }

    private void SetLink(string state, string? detail)
    {
        lock (_gate)
        {
            _linkState = state;
            _linkDetail = detail;
            Broadcast(PageMessages.Link(state, detail));
        }
    }

    public void OnStatus(StatusCounters counters)
    {
        lock (_gate)
        {
            _status = counters;
            _reckoning.Update(counters);
            Broadcast(PageMessages.Status(counters, _reckoning.Current));
        }
    }

    public void OnMessage(string text)
    {
        lock (_gate)
        {
            Broadcast(PageMessages.Message(text));
        }
    }

    public void OnLease(LeaseView lease)
    {
        lock (_gate)
        {
            _lease = lease;
            Broadcast(PageMessages.Lease(lease, _identity));
        }
    }

    public void OnRoundTrip(TimeSpan rtt)
    {
        lock (_gate)
        {
            Broadcast(PageMessages.RoundTrip(rtt));
        }
    }

    public void OnNotice(string kind, string text)
    {
        lock (_gate)
        {
            Broadcast(PageMessages.Notice(kind, text));
        }
    }

    private void Broadcast(byte[] message)
    {
        foreach (var p in _pages)
        {
            p.Post(message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task stopping;
        lock (_gate)
        {
            _linkCts?.Cancel();
            _linkCts?.Dispose();
            _linkCts = null;
            stopping = _linkTask;
        }

        await stopping.ConfigureAwait(false);
    }

    /// <summary>One page: its socket and a single writer, so the socket never sees two sends at once.</summary>
    private sealed class PageSession
    {
        private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        private readonly ILogger _log;
        private int _inFlight;
        private int _overflowed;

        public PageSession(WebSocket socket, ILogger log)
        {
            Socket = socket;
            _log = log;
        }

        public WebSocket Socket { get; }

        public void Post(byte[] message)
        {
            if (!_outbox.Writer.TryWrite(message) && Interlocked.Exchange(ref _overflowed, 1) == 0)
            {
                // A page that cannot keep up is closed rather than fed stale telemetry; it reconnects.
                _log.LogWarning("a page fell behind; closing it");
                Socket.Abort();
            }
        }

        public void Complete() => _outbox.Writer.TryComplete();

        public bool TryBeginCommand(int max)
        {
            if (Interlocked.Increment(ref _inFlight) > max)
            {
                Interlocked.Decrement(ref _inFlight);
                return false;
            }

            return true;
        }

        public void EndCommand() => Interlocked.Decrement(ref _inFlight);

        public async Task RunWriterAsync(CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var message in _outbox.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (Socket.State != WebSocketState.Open)
                    {
                        break;
                    }

                    await Socket.SendAsync(message, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The page went away mid-send; the reader sees it too and the page leaves.
                Socket.Abort();
            }
        }

        public async Task CloseAsync(WebSocketCloseStatus status, string text)
        {
            try
            {
                if (Socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
                {
                    return;
                }

                using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Socket.CloseOutputAsync(status, text, bound.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                Socket.Abort();
            }
        }
    }
}
