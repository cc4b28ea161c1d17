// The Pi's side of the serial link to the Arduino as I/O only: one read → decide → write loop over the
// pure SerialExchange (Alex.Protocol), which holds every rule (what to write next, which request a
// reply answers, what a late reply means, STOP and GET_STATS sharing). This class opens the port,
// reopens it by path with backoff when it fails or vanishes, feeds the exchange what it reads, writes
// what the exchange says, and arms one timer for the exchange's next deadline (none when idle).
using Alex.Protocol.Serial;

namespace Alex.Robot.Serial;

/// <summary>Where the link is. Requests are accepted while Opening or Ready, refused (LinkDown) otherwise.</summary>
public enum ArduinoLinkState
{
    /// <summary>The port is open (or being opened) and waiting out the reset delay and HELLO.</summary>
    Opening,

    /// <summary>Commands flow.</summary>
    Ready,

    /// <summary>The port failed or vanished; pending requests were failed with LinkDown.</summary>
    Lost,

    /// <summary>The port is missing, held by another program, or failed: trying to open it again by its path, with backoff.</summary>
    Reopening,

    /// <summary>Disposed.</summary>
    Closed,
}

/// <summary>One serial link to one Arduino, reopened by path whenever it is lost. Thread-safe.</summary>
public sealed class ArduinoLink : IAsyncDisposable
{
    private readonly Func<CancellationToken, ValueTask<Stream>> _open;
    private readonly ArduinoLinkOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly SerialExchange _exchange;
    private readonly ITimer _timer;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(ArduinoLinkState State, TaskCompletionSource Done)> _stateWaiters = [];
    private Task? _run;
    private ArduinoLinkState _state = ArduinoLinkState.Opening;
    private (Stream Stream, CancellationTokenSource Serve)? _port;
    private bool _writing;

    /// <summary>A link over any stream: <paramref name="open"/> is called for the first open and every reopen.</summary>
    public ArduinoLink(Func<CancellationToken, ValueTask<Stream>> open, ArduinoLinkOptions options, TimeProvider time, string name)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(name);
        _exchange = new SerialExchange(options, time);
        _open = open;
        _options = options;
        _time = time;
        Name = name;
        _timer = time.CreateTimer(static link => ((ArduinoLink)link!).Pump(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// A link to a serial port by path (/dev/ttyACM0, a pty such as /dev/pts/3, or a symlink to one): raw 8N1 at
    /// <see cref="ArduinoLinkOptions.BaudRate"/>, opened exclusively (see <see cref="TtyStream"/>).
    /// </summary>
    public static ArduinoLink ForSerialPort(string path, ArduinoLinkOptions options, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        return new ArduinoLink(_ => ValueTask.FromResult<Stream>(TtyStream.Open(path, options.BaudRate)), options, time, path);
    }

    /// <summary>The port path or stream name, for logs.</summary>
    public string Name { get; }

    public ArduinoLinkState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>How many STOPs have been asked for (see <see cref="SerialExchange.StopEpoch"/>).</summary>
    public long StopEpoch
    {
        get
        {
            lock (_gate)
            {
                return _exchange.StopEpoch;
            }
        }
    }

    /// <summary>Counts of the line's trouble (noise, bad checksums, timeouts, late replies, opens, losses).</summary>
    public SerialLineCounts Counts
    {
        get
        {
            lock (_gate)
            {
                return _exchange.Counts;
            }
        }
    }

    /// <summary>Raised on every state change with the reason (e.g. the I/O error) when there is one.</summary>
    public event Action<ArduinoLinkState, string?>? StateChanged;

    /// <summary>MESSAGE packets, STATUS nobody asked for and ERRORs that answer no request. Handlers must be quick.</summary>
    public event Action<SerialPacket>? Unsolicited;

    /// <summary>One-line notes for the log: noise and bad checksums from the Arduino, timeouts, late replies, opens and losses.</summary>
    public event Action<SerialNoteKind, string>? Diagnostic;

    /// <summary>Opens the port and keeps it open until disposed. Call once.</summary>
    public ArduinoLink Start()
    {
        lock (_gate)
        {
            if (_run is not null)
            {
                throw new InvalidOperationException("the link is already started");
            }

            _run = Task.Run(() => RunAsync(_stop.Token));
        }

        return this;
    }

    /// <summary>Sends a command and waits for the Arduino's answer (see <see cref="SerialExchange"/> for the rules).</summary>
    public Task<RobotReply> SendAsync(SerialPacket command, CancellationToken ct) => SendAsync(command, SerialOrigin.Client, null, ct);

    /// <summary>
    /// Sends a COMMAND packet. Never throws for link trouble: that is the reply (Timeout, LinkDown, Stopped).
    /// Cancelling withdraws a request nobody else shares that is not on the wire yet.
    /// </summary>
    public Task<RobotReply> SendAsync(SerialPacket command, SerialOrigin origin, long? stopEpoch, CancellationToken ct)
    {
        SerialJob job;
        lock (_gate)
        {
            job = _exchange.Submit(command, origin, stopEpoch);
        }

        if (!job.Reply.IsCompleted)
        {
            Pump();
        }

        if (!ct.CanBeCanceled || job.Reply.IsCompleted)
        {
            return job.Reply;
        }

        var registration = ct.Register(() =>
        {
            lock (_gate)
            {
                _exchange.Withdraw(job);
            }
        });
        _ = job.Reply.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return job.Reply.WaitAsync(ct);
    }

    /// <summary>Completes when the link reaches <paramref name="state"/> (at once if it is there).</summary>
    public Task WaitForStateAsync(ArduinoLinkState state, CancellationToken ct)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_state == state)
            {
                return Task.CompletedTask;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _stateWaiters.Add((state, done));
        }

        return done.Task.WaitAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? run;
        lock (_gate)
        {
            run = _run;
        }

        if (run is not null)
        {
            await run.ConfigureAwait(false);
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        Decide(e => e.Lost("closed"));
        SetState(ArduinoLinkState.Closed, null);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = _options.ReopenDelay;
        var opened = false;
        while (!ct.IsCancellationRequested)
        {
            Stream stream;
            try
            {
                stream = await _open(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The port is outside our control: whatever opening it throws, keep retrying.
            catch (Exception e)
#pragma warning restore CA1031
            {
                var reason = $"cannot open {Name}: {e.Message}";
                Decide(x => x.Lost(reason));
                SetState(ArduinoLinkState.Reopening, reason);
                if (!await DelayAsync(backoff, ct).ConfigureAwait(false))
                {
                    return;
                }

                backoff = backoff * 2 < _options.MaxReopenDelay ? backoff * 2 : _options.MaxReopenDelay;
                continue;
            }

            backoff = _options.ReopenDelay;
            SetState(ArduinoLinkState.Opening, opened ? $"reopened {Name}" : null);
            opened = true;
            var lost = await ServeAsync(stream, ct).ConfigureAwait(false);
            Decide(x => x.Lost(lost));
            if (ct.IsCancellationRequested)
            {
                return;
            }

            SetState(ArduinoLinkState.Lost, lost);
            SetState(ArduinoLinkState.Reopening, lost);
            if (!await DelayAsync(backoff, ct).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    // One open port, from the reset delay to its loss: reads feed the exchange; Pump writes. Returns why it ended.
    private async Task<string> ServeAsync(Stream stream, CancellationToken ct)
    {
        using var serve = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lock (_gate)
        {
            _port = (stream, serve);
            _writing = false;
        }

        Decide(x => x.Opened($"opened {Name}"));
        var buffer = new byte[1024];
        string reason;
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, serve.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    reason = serve.IsCancellationRequested ? "closed" : "the port closed (end of stream)";
                    break;
                }

                Decide(x => x.Received(buffer.AsSpan(0, n)));
            }
        }
        catch (OperationCanceledException) when (serve.IsCancellationRequested)
        {
            reason = ct.IsCancellationRequested ? "closed" : "write failed or stalled";
        }
        catch (Exception e) when (IsPortFault(e))
        {
            reason = $"read failed: {e.Message}";
        }
        finally
        {
            lock (_gate)
            {
                _port = null;
            }

            await serve.CancelAsync().ConfigureAwait(false);
            await CloseQuietlyAsync(stream).ConfigureAwait(false);
        }

        return reason;
    }

    // Hands the exchange what happened, then does what it decided.
    private void Decide(SerialAction input)
    {
        lock (_gate)
        {
            input(_exchange);
        }

        Pump();
    }

    // The one place that acts on the exchange's decisions: write the next frame, arm the timer, deliver replies and notes.
    private void Pump()
    {
        List<SerialEvent> events = [];
        SerialPacket? write = null;
        (Stream Stream, CancellationTokenSource Serve)? port = null;
        bool ready;
        lock (_gate)
        {
            if (!_writing && _port is { } open)
            {
                write = _exchange.Next();
                _writing = write is not null;
                port = open;
            }
            else
            {
                _exchange.Tick();
            }

            _exchange.TakeEvents(events);
            ready = _exchange.IsReady;
            Arm(_exchange.NextDue);
        }

        foreach (var e in events)
        {
            if (e.Answered is { } job)
            {
                job.Deliver();
            }
            else if (e.Unsolicited is { } packet)
            {
                Unsolicited?.Invoke(packet);
            }
            else if (e.Text is { } text)
            {
                Diagnostic?.Invoke(e.Note, text);
            }
        }

        if (ready && State == ArduinoLinkState.Opening)
        {
            SetState(ArduinoLinkState.Ready, null);
        }

        if (write is not null && port is { } to)
        {
            _ = WriteAsync(to.Stream, to.Serve, write);
        }
    }

    private void Arm(long? due)
    {
        if (due is { } at)
        {
            var wait = _time.GetElapsedTime(_time.GetTimestamp(), at);
            _timer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    // Writes one frame; a failed or stalled write ends the port's service (the read loop sees it cancelled).
    private async Task WriteAsync(Stream stream, CancellationTokenSource serve, SerialPacket packet)
    {
        try
        {
            var write = stream.WriteAsync(SerialFrame.Encode(packet), serve.Token);
            if (!write.IsCompletedSuccessfully)
            {
                await write.AsTask().WaitAsync(_options.ReplyTimeout, _time, serve.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException || IsPortFault(e))
        {
            Diagnostic?.Invoke(SerialNoteKind.Lost, $"write of {packet} to {Name} failed: {e.Message}");
            await serve.CancelAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            lock (_gate)
            {
                _writing = false;
            }
        }

        Pump();
    }

    private void SetState(ArduinoLinkState state, string? reason)
    {
        List<TaskCompletionSource> reached = [];
        lock (_gate)
        {
            if (_state == state)
            {
                return;
            }

            _state = state;
            _stateWaiters.RemoveAll(w =>
            {
                if (w.State != state)
                {
                    return false;
                }

                reached.Add(w.Done);
                return true;
            });
        }

        foreach (var done in reached)
        {
            done.TrySetResult();
        }

        StateChanged?.Invoke(state, reason);
    }

    // False when cancelled.
    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task CloseQuietlyAsync(Stream stream)
    {
        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (IsPortFault(e))
        {
            // A vanished port can fail to close; it is gone either way.
        }
    }

    // What a serial port throws when it fails or vanishes.
    private static bool IsPortFault(Exception e) =>
        e is IOException or ObjectDisposedException or InvalidOperationException or UnauthorizedAccessException;

    private delegate void SerialAction(SerialExchange exchange);
}
