using System.Net.WebSockets;
using System.Threading.Channels;
using Alex.Fleet;
using Alex.Web.Page;
using Alex.Web.Robot;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Fleet;

/// <summary>
/// Joins open fleet pages to one view of the broker, Alex.Fleet's <see cref="FleetWatch"/> (the same as `alex fleet`'s):
/// the board goes to every page when a status comes and every second (ages, silent robots), and a page's STOP goes to
/// the broker as the gateway's identity, when <see cref="FleetPageFacts.Right"/> allows; the broker's ACL stays the judge.
/// </summary>
internal sealed class FleetHub : IAsyncDisposable
{
    /// <summary>How often the board is sent when nothing changed: the ages and the silent robots move on with the clock.</summary>
    internal static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly FleetWatch _watch;
    private readonly FleetPageFacts _facts;
    private readonly string _version;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly List<PageSession> _pages = [];
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _broadcast;

    public FleetHub(FleetWatch watch, FleetPageFacts facts, string version, TimeProvider time, ILogger log)
    {
        _watch = watch;
        _facts = facts;
        _version = version;
        _time = time;
        _log = log;
        _watch.StatusReceived += OnStatus;
        _watch.StateChanged += OnState;
        _broadcast = Task.Run(() => BroadcastLoopAsync(_stopping.Token));
    }

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

    public async Task RunPageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var page = new PageSession(socket, _log);
        page.Post(FleetPageMessages.Hello(_facts, _version));
        page.Post(Board());
        lock (_gate)
        {
            _pages.Add(page);
        }

        await page.RunAsync(ct => ReadPageAsync(page, ct), () => Leave(page), cancellationToken).ConfigureAwait(false);
    }

    private Task Leave(PageSession page)
    {
        lock (_gate)
        {
            _pages.Remove(page);
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _watch.StatusReceived -= OnStatus;
        _watch.StateChanged -= OnState;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _broadcast.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private void OnStatus(string robot, Alex.Protocol.Fleet.FleetStatus? status) => _changed.Writer.TryWrite(true);

    private void OnState(Alex.Protocol.Fleet.FleetWatchState state) => _changed.Writer.TryWrite(true);

    private byte[] Board() => FleetPageMessages.Board(_watch.Rows(), _watch.State, _time.GetUtcNow());

    private async Task BroadcastLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var tick = new CancellationTokenSource(Tick, _time))
            using (var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tick.Token))
            {
                try
                {
                    await _changed.Reader.ReadAsync(either.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // A second without news: send the board anyway, for the ages.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            PageSession[] pages;
            lock (_gate)
            {
                pages = [.. _pages];
            }

            if (pages.Length == 0)
            {
                continue;
            }

            var board = Board();
            foreach (var page in pages)
            {
                page.Post(board);
            }
        }
    }

    private async Task<(WebSocketCloseStatus, string)> ReadPageAsync(PageSession page, CancellationToken cancellationToken)
    {
        var buffer = new byte[FleetPageMessages.MaxRequestBytes];
        while (!cancellationToken.IsCancellationRequested)
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
                page.Post(FleetPageMessages.Error("send JSON text messages"));
                continue;
            }

            if (!FleetPageMessages.TryRead(buffer.AsSpan(0, length), out var request, out var error))
            {
                page.Post(FleetPageMessages.Error(error ?? "bad message"));
                continue;
            }

            if (request.Type == "ping")
            {
                page.Post(FleetPageMessages.Pong(request.Id));
                continue;
            }

            page.Post(await StopAsync(request.Id, request.Robot, cancellationToken).ConfigureAwait(false));
        }

        return (WebSocketCloseStatus.NormalClosure, "bye");
    }

    private async Task<byte[]> StopAsync(long id, string? robot, CancellationToken cancellationToken)
    {
        var what = robot is null ? "every robot on the broker" : $"'{robot}'";
        if (!_facts.Right.Allowed)
        {
            Say($"STOP to {what} refused: {_facts.Right.Why}");
            return FleetPageMessages.Stopped(id, false, $"not sent: {_facts.Right.Why}");
        }

        var outcome = await _watch.StopAsync(robot, $"stopped by {_facts.You} on the fleet page", cancellationToken).ConfigureAwait(false);
        switch (outcome.Result)
        {
            case FleetStopResult.Sent:
                Say($"STOP sent to {what} by {_facts.You}");
                return FleetPageMessages.Stopped(id, true, $"STOP sent to {what}");
            case FleetStopResult.Refused:
                Say($"the broker refused the STOP to {what} by {_facts.You}");
                return FleetPageMessages.Stopped(id, false, $"the broker refused the STOP to {what}: only an instructor certificate may STOP");
            default:
                Say($"{outcome.Problem} (asked by {_facts.You})");
                return FleetPageMessages.Stopped(id, false, outcome.Problem!);
        }
    }

    // One line on the gateway's log for each STOP asked for: who, what, and what came of it.
    private void Say(string line)
    {
        if (_log.IsEnabled(LogLevel.Information))
        {
            _log.LogInformation("{Line}", line);
        }
    }
}
