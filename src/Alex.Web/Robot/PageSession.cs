using System.Net.WebSockets;
using System.Threading.Channels;
using Alex.Protocol.Extensions;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Robot;

/// <summary>One page: its socket and a single writer, so the socket never sees two sends at once.</summary>
internal sealed class PageSession
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

    /// <summary>
    /// Reads the page's requests until it closes, handing each valid one to <paramref name="dispatch"/> and answering a
    /// bad one with an error message; returns how to answer the close.
    /// </summary>
    public async Task<(WebSocketCloseStatus, string)> ReadRequestsAsync(TeamExtensions extensions, Action<PageRequest> dispatch, CancellationToken cancellationToken)
    {
        var buffer = new byte[PageMessages.MaxRequestBytes + 1];
        while (Socket.State == WebSocketState.Open)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                {
                    return (WebSocketCloseStatus.MessageTooBig, "message too long");
                }

                result = await Socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                length += result.Count;
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (WebSocketCloseStatus.NormalClosure, "bye");
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType != WebSocketMessageType.Text)
            {
                Post(PageMessages.Error("send JSON text messages"));
                continue;
            }

            if (!PageMessages.TryRead(buffer.AsSpan(0, length), extensions, out var request, out var error))
            {
                Post(PageMessages.Error(error ?? "bad message"));
                continue;
            }

            dispatch(request);
        }

        return (WebSocketCloseStatus.NormalClosure, "bye");
    }

    /// <summary>
    /// Serves this page until it goes: its writer runs while <paramref name="read"/> reads its requests; then
    /// <paramref name="leave"/> lets its hub forget it, what is queued is written, and a page that closed is answered
    /// with its close.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task<(WebSocketCloseStatus Status, string Text)>> read, Func<Task> leave, CancellationToken cancellationToken)
    {
        var writer = RunWriterAsync(cancellationToken);
        (WebSocketCloseStatus Status, string Text)? close = null;
        try
        {
            close = await read(cancellationToken).ConfigureAwait(false);
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
            await leave().ConfigureAwait(false);
            Complete();
            await writer.ConfigureAwait(false);
            if (close is { } c)
            {
                await CloseAsync(c.Status, c.Text).ConfigureAwait(false);
            }
        }
    }

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
