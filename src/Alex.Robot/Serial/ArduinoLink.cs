// The Pi's side of the serial link to the Arduino (docs/course-protocol.md §2-3): one queue with one
// request in flight; STOP is sent ahead of anything queued (docs/security.md, "While connected").
//
//   open port ─► wait ResetDelay (the Uno resets on open) ─► HELLO (not waited for; an OK to it is
//   swallowed during HelloGrace) ─► Ready: one command on the wire at a time, replies matched to it
//        │
//        └─ read/write fails or the stream ends ─► Lost: the request in flight and everything queued
//           get LinkDown (a move must not run seconds later) ─► Reopening by path, with backoff
//
// Reply matching: a move, STOP or CLEAR_STATS ends on OK or ERROR. GET_STATS ends on the STATUS
// however the firmware orders it (STATUS only, OK then STATUS, STATUS then OK, §3): the caller gets
// the STATUS as soon as it arrives, and the link learns the order from the first exchange so that
// a trailing OK is never taken for the next command's reply. MESSAGE packets, STATUS nobody asked
// for and ERRORs with nothing in flight are surfaced through Unsolicited.
using System.Threading.Channels;
using Alex.Protocol;
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

    /// <summary>Trying to open the port by its path again, with backoff.</summary>
    Reopening,

    /// <summary>Disposed.</summary>
    Closed,
}

/// <summary>Queue position. STOP is always Urgent; telemetry polling should be Background so it never delays a command.</summary>
public enum ArduinoLinkPriority
{
    Urgent,
    Normal,
    Background,
}

/// <summary>One serial link to one Arduino, reopened by path whenever it is lost. Thread-safe.</summary>
public sealed class ArduinoLink : IAsyncDisposable
{
    private readonly Func<CancellationToken, ValueTask<Stream>> _open;
    private readonly ArduinoLinkOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly LinkedList<Request>[] _queues = [new(), new(), new()];
    // One token per queued request. Synchronous continuations: the write loop, when idle, picks a request up on the
    // caller's thread instead of after a thread-pool hop (measured in bench `roundtrip`).
    private readonly Channel<bool> _queued = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(ArduinoLinkState State, TaskCompletionSource Done)> _stateWaiters = [];
    private readonly SerialFrameDecoder _decoder = new();
    private Task? _run;
    private ArduinoLinkState _state = ArduinoLinkState.Opening;
    private Request? _inFlight;

    // A STOP written while another request was still waiting for its reply (it "chases" it on the wire): it takes
    // the next reply once the request in flight has had its own, instead of waiting up to a reply timeout to be sent.
    private Request? _chasing;

    // The port being served, and its cancellation, while the link is Ready (for a chasing STOP's write).
    private (Stream Stream, CancellationToken Token)? _serving;

    // One frame on the wire at a time: the write loop's and a chasing STOP's writes never interleave.
    private readonly SemaphoreSlim _writing = new(1, 1);
    private byte[]? _frame; // under _writing: see WriteFrameAsync
    private bool _helloWindow;
    private StatsOrder _statsOrder;

    /// <summary>A link over any stream: <paramref name="open"/> is called for the first open and every reopen.</summary>
    public ArduinoLink(Func<CancellationToken, ValueTask<Stream>> open, ArduinoLinkOptions options, TimeProvider time, string name)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(name);
        options.Validate();
        _open = open;
        _options = options;
        _time = time;
        Name = name;
    }

    private enum StatsOrder
    {
        Unknown,
        StatusOnly,
        OkThenStatus,
        StatusThenOk,
    }

    /// <summary>
    /// A link to a serial port by path (/dev/ttyACM0, a pty such as /dev/pts/3, or a symlink to one):
    /// raw 8N1 at <see cref="ArduinoLinkOptions.BaudRate"/>, no flow control, through System.IO.Ports.
    /// </summary>
    public static ArduinoLink ForSerialPort(string path, ArduinoLinkOptions options, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        return new ArduinoLink(_ => ValueTask.FromResult<Stream>(SerialPortStream.Open(path, options.BaudRate)), options, time, path);
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

    /// <summary>Raised on every state change with the reason (e.g. the I/O error) when there is one.</summary>
    public event Action<ArduinoLinkState, string?>? StateChanged;

    /// <summary>
    /// MESSAGE packets, STATUS nobody asked for and ERRORs with no request in flight. Raised on the
    /// link's reader: handlers must be quick and must not throw.
    /// </summary>
    public event Action<SerialPacket>? Unsolicited;

    /// <summary>One-line notes for the log: noise and bad checksums from the Arduino, ignored replies.</summary>
    public event Action<string>? Diagnostic;

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

    /// <summary>Sends a command and waits for the Arduino's answer. STOP goes ahead of anything queued.</summary>
    public Task<ArduinoReply> SendAsync(SerialPacket command, CancellationToken ct) => SendAsync(command, ArduinoLinkPriority.Normal, ct);

    /// <summary>
    /// Sends a COMMAND packet once it reaches the head of its queue. Never throws for link trouble:
    /// that is the reply (TimedOut, LinkDown). Cancelling removes a queued request; a request already
    /// on the wire still has its reply consumed by the link so later replies stay matched.
    /// A STOP goes ahead of everything queued and drops the moves still queued (they answer Superseded):
    /// a move asked for before a STOP must never start after it.
    /// </summary>
    public Task<ArduinoReply> SendAsync(SerialPacket command, ArduinoLinkPriority priority, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Type != PacketType.Command)
        {
            throw new ArgumentException($"only COMMAND packets are sent as requests, not {command.Type}", nameof(command));
        }

        if (command.Command == CommandCode.Stop)
        {
            priority = ArduinoLinkPriority.Urgent;
        }

        var request = new Request(command);
        List<Request>? superseded = null;
        (Stream Stream, CancellationToken Token)? chase = null;
        lock (_gate)
        {
            if (_state is not (ArduinoLinkState.Opening or ArduinoLinkState.Ready))
            {
                return Task.FromResult(ArduinoReply.LinkDown);
            }

            if (command.Command == CommandCode.Stop)
            {
                superseded = TakeQueuedMoves();
                if (_serving is { } port && _inFlight is { Settled: false } busy && _chasing is null && CanOvertake(busy))
                {
                    _chasing = request;
                    chase = port;
                }
            }

            if (chase is null)
            {
                request.Node = _queues[(int)priority].AddLast(request);
            }
        }

        // Outside the lock: the callers' continuations may run right here (see Request.Caller).
        if (superseded is not null)
        {
            foreach (var dropped in superseded)
            {
                dropped.Caller.TrySetResult(ArduinoReply.Superseded);
            }

            Note($"STOP dropped {superseded.Count} queued move(s) before they were sent");
        }

        if (chase is { } wire)
        {
            _ = ChaseAsync(wire.Stream, request, wire.Token);
        }
        else
        {
            _queued.Writer.TryWrite(true);
        }

        if (ct.CanBeCanceled)
        {
            var registration = ct.Register(() => Cancel(request, ct));
            _ = request.Caller.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return request.Caller.Task;
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

        FailPending();
        SetState(ArduinoLinkState.Closed, null);
        _stop.Dispose();
        _queued.Writer.TryComplete();
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
                SetState(ArduinoLinkState.Reopening, $"cannot open {Name}: {e.Message}");
                FailPending();
                if (!await DelayAsync(backoff, ct).ConfigureAwait(false))
                {
                    return;
                }

                backoff = Min(backoff * 2, _options.MaxReopenDelay);
                continue;
            }

            if (opened)
            {
                SetState(ArduinoLinkState.Opening, $"reopened {Name}");
            }

            opened = true;
            backoff = _options.ReopenDelay;
            var reason = await ServeAsync(stream, ct).ConfigureAwait(false);
            if (ct.IsCancellationRequested)
            {
                return;
            }

            SetState(ArduinoLinkState.Lost, reason);
            FailPending();
            SetState(ArduinoLinkState.Reopening, reason);
            if (!await DelayAsync(backoff, ct).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    // One open port, from the reset delay to its loss. Returns why it ended.
    private async Task<string> ServeAsync(Stream stream, CancellationToken ct)
    {
        using var serve = CancellationTokenSource.CreateLinkedTokenSource(ct);
        string? writeFault = null;
        Task<string>? reader = null;
        try
        {
            if (_options.ResetDelay > TimeSpan.Zero && !await DelayAsync(_options.ResetDelay, serve.Token).ConfigureAwait(false))
            {
                return "closed";
            }

            lock (_gate)
            {
                _decoder.Reset();
                _helloWindow = true;
            }

            reader = ReadLoopAsync(stream, serve);
            writeFault = await WriteFrameAsync(stream, SerialPacket.Hello(), serve.Token).ConfigureAwait(false);
            if (writeFault is null)
            {
                await Task.WhenAny(reader, DelayAsync(_options.EffectiveHelloGrace, serve.Token)).ConfigureAwait(false);
                lock (_gate)
                {
                    _helloWindow = false;
                }

                if (!serve.IsCancellationRequested)
                {
                    lock (_gate)
                    {
                        _serving = (stream, serve.Token);
                    }

                    SetState(ArduinoLinkState.Ready, null);
                    writeFault = await WriteLoopAsync(stream, serve.Token).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _serving = null;
            }

            await serve.CancelAsync().ConfigureAwait(false);
            await CloseQuietlyAsync(stream).ConfigureAwait(false);
        }

        var readEnd = reader is null ? "closed" : await reader.ConfigureAwait(false);
        return writeFault ?? readEnd;
    }

    private async Task<string?> WriteLoopAsync(Stream stream, CancellationToken ct)
    {
        // The wait for work takes no token (a channel read with one allocates per wait, i.e. per command): the end of this
        // port's service wakes it instead, and an extra wake-up left in the channel is only a look at empty queues.
        using var wake = ct.UnsafeRegister(static queued => ((ChannelWriter<bool>)queued!).TryWrite(true), _queued.Writer);
        while (true)
        {
            try
            {
                await _queued.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return null;
            }

            if (ct.IsCancellationRequested)
            {
                return null;
            }

            Request? next = null;
            lock (_gate)
            {
                foreach (var queue in _queues)
                {
                    if (queue.First is { } first)
                    {
                        next = first.Value;
                        queue.RemoveFirst();
                        next.Node = null;
                        break;
                    }
                }

                if (next is null || next.Caller.Task.IsCompleted)
                {
                    continue; // cancelled while queued
                }

                _inFlight = next;
            }

            var fault = await ExchangeAsync(stream, next, ct).ConfigureAwait(false);
            if (fault is not null || ct.IsCancellationRequested)
            {
                return fault;
            }

            // A STOP written behind that request: nothing else goes out until it has had its reply (or timed out).
            Request? stop;
            lock (_gate)
            {
                stop = _inFlight ?? _chasing;
                if (stop is not null)
                {
                    _inFlight = stop;
                    _chasing = null;
                }
            }

            if (stop is not null && !await AwaitSettledAsync(stop, ct).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    // Sends one request and waits until nothing more is expected for it (or it timed out).
    private async Task<string?> ExchangeAsync(Stream stream, Request request, CancellationToken ct)
    {
        var fault = await WriteFrameAsync(stream, request.Command, ct).ConfigureAwait(false);
        if (fault is not null)
        {
            return fault;
        }

        await AwaitSettledAsync(request, ct).ConfigureAwait(false);
        return null;
    }

    // Waits until nothing more is expected for a request already on the wire, or its reply timeout passes (counted
    // from now). False when the link is going down (FailPending answers the request then).
    private async Task<bool> AwaitSettledAsync(Request request, CancellationToken ct)
    {
        var deadline = _time.GetTimestamp() + (long)(_options.ReplyTimeout.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            Task changed;
            TimeSpan wait;
            var timedOut = false;
            var expired = false;
            lock (_gate)
            {
                if (request.Settled)
                {
                    ClearInFlight(request);
                    return true;
                }

                var until = request.GraceUntil ?? deadline;
                wait = _time.GetElapsedTime(_time.GetTimestamp(), until);
                if (wait <= TimeSpan.Zero)
                {
                    if (request.GraceUntil is not null)
                    {
                        _statsOrder = StatsOrder.StatusOnly; // STATUS came and no OK followed it
                    }
                    else
                    {
                        timedOut = true;
                    }

                    request.Settled = true;
                    ClearInFlight(request);
                    expired = true;
                    changed = Task.CompletedTask;
                }
                else
                {
                    changed = request.Changed;
                }
            }

            if (expired)
            {
                // The caller's continuation may run on this thread (see Request.Caller): never under the lock.
                if (timedOut && request.Caller.TrySetResult(ArduinoReply.TimedOut))
                {
                    Note($"no reply to {request.Command} within {_options.ReplyTimeout.TotalMilliseconds:0} ms");
                }

                return true;
            }

            if (!await WaitAnyAsync(changed, wait, ct).ConfigureAwait(false))
            {
                return false; // link going down: FailPending answers the request
            }
        }
    }

    // Under the lock: a settled request leaves the wire (unless a chasing STOP has already taken its place).
    private void ClearInFlight(Request request)
    {
        if (ReferenceEquals(_inFlight, request))
        {
            _inFlight = null;
        }
    }

    // A STOP may overtake the request in flight when the replies still due to that request can be told from the STOP's
    // OK: any single-reply command, and GET_STATS once the firmware's reply order is known.
    private bool CanOvertake(Request busy) =>
        busy.Command.Command != CommandCode.Stop
        && (busy.Command.Command != CommandCode.GetStats || _statsOrder != StatsOrder.Unknown);

    // Writes a chasing STOP at once (after any frame being written). A failed write leaves the port to the read and
    // write loops, which notice the loss; the STOP is answered LinkDown then (FailPending).
    private async Task ChaseAsync(Stream stream, Request stop, CancellationToken ct)
    {
        var fault = await WriteFrameAsync(stream, stop.Command, ct).ConfigureAwait(false);
        if (fault is not null)
        {
            Note($"STOP not written behind the request in flight: {fault}");
        }
    }

    private async Task<string> ReadLoopAsync(Stream stream, CancellationTokenSource serve)
    {
        var buffer = new byte[1024];
        List<SerialReadResult> results = [];
        try
        {
            while (true)
            {
                int n;
                try
                {
                    n = await stream.ReadAsync(buffer, serve.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (serve.IsCancellationRequested)
                {
                    return "closed";
                }
                catch (Exception e) when (IsPortFault(e))
                {
                    return $"read failed: {e.Message}";
                }

                if (n == 0)
                {
                    return "the port closed (end of stream)";
                }

                results.Clear();
                lock (_gate)
                {
                    _decoder.Append(buffer.AsSpan(0, n));
                    while (_decoder.TryRead(out var r))
                    {
                        results.Add(r);
                    }
                }

                foreach (var r in results)
                {
                    if (r.Kind == SerialReadKind.Frame)
                    {
                        OnPacket(r.Packet!);
                    }
                    else
                    {
                        Note($"from the Arduino: {r}");
                    }
                }
            }
        }
        finally
        {
            await serve.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnPacket(SerialPacket p)
    {
        var unsolicited = false;
        string? note = null;
        Request? answered = null;
        ArduinoReply? answer = null;
        lock (_gate)
        {
            var r = _inFlight;
            if (p.Type != PacketType.Message && (r is null || r.Settled) && _chasing is { } stop)
            {
                // The request in flight has had its replies: this one is the chasing STOP's.
                _inFlight = r = stop;
                _chasing = null;
            }

            if (p.Type == PacketType.Message)
            {
                unsolicited = true;
            }
            else if (r is null || r.Settled)
            {
                if (_helloWindow && p.IsOk)
                {
                    note = "the Arduino answered HELLO with OK";
                }
                else if (p.IsStatus || p.Type == PacketType.Error)
                {
                    unsolicited = true;
                }
                else
                {
                    note = $"ignored {p} with no request waiting (a late reply?)";
                }
            }
            else if (Match(r, p, ref answer))
            {
                answered = r;
            }
            else
            {
                if (p.IsStatus)
                {
                    unsolicited = true;
                }
                else
                {
                    note = $"ignored {p} while waiting for the reply to {r.Command}";
                }
            }
        }

        // Outside the lock: the caller's continuation may run right here (see Request.Caller).
        if (answered is not null && answer is { } reply)
        {
            answered.Caller.TrySetResult(reply);
        }

        if (note is not null)
        {
            Note(note);
        }

        if (unsolicited)
        {
            Unsolicited?.Invoke(p);
        }
    }

    // Applies a reply to the request in flight (under the lock). False: it is not a reply to it.
    // The caller's answer is handed back in `answer`, to be given once the lock is released.
    private bool Match(Request r, SerialPacket p, ref ArduinoReply? answer)
    {
        if (p.Type == PacketType.Error)
        {
            answer = ArduinoReply.ErrorOf(p.Response);
            Settle(r);
            return true;
        }

        if (p.Type != PacketType.Response)
        {
            return false;
        }

        if (r.Command.Command != CommandCode.GetStats)
        {
            if (p.IsStatus)
            {
                return false;
            }

            answer = p.IsOk ? ArduinoReply.Ok : ArduinoReply.ResponseOf(p);
            Settle(r);
            return true;
        }

        if (p.IsOk)
        {
            if (r.SawStatus)
            {
                _statsOrder = StatsOrder.StatusThenOk;
                Settle(r);
                return true;
            }

            if (r.SawOk)
            {
                return false;
            }

            r.SawOk = true;
            r.Signal();
            return true;
        }

        if (!p.IsStatus || r.SawStatus)
        {
            return false;
        }

        r.SawStatus = true;
        answer = ArduinoReply.StatusOf(p.Status);
        if (r.SawOk)
        {
            _statsOrder = StatsOrder.OkThenStatus;
            Settle(r);
        }
        else if (_statsOrder == StatsOrder.StatusOnly)
        {
            Settle(r);
        }
        else if (_statsOrder != StatsOrder.StatusThenOk)
        {
            // Not known yet: give a trailing OK a moment before sending anything else.
            r.GraceUntil = _time.GetTimestamp() + (long)(_options.EffectiveStatsGrace.TotalSeconds * _time.TimestampFrequency);
            r.Signal();
        }

        return true;
    }

    private static void Settle(Request r)
    {
        r.Settled = true;
        r.Signal();
    }

    private async Task<string?> WriteFrameAsync(Stream stream, SerialPacket packet, CancellationToken ct)
    {
        try
        {
            await _writing.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return "closed";
        }

        try
        {
            // One frame buffer, used under _writing; a write that does not complete at once may still hold it after a
            // timeout, so it is then left to that write and the next frame gets a new one.
            var frame = _frame ??= new byte[SerialFrame.Size];
            SerialFrame.Write(packet, frame);

            // Most writes complete at once (the driver's buffer takes 140 bytes): only one that does not is given a
            // timer, so the common case costs no timer (measured in bench `roundtrip`).
            var write = stream.WriteAsync(frame, ct);
            if (write.IsCompletedSuccessfully)
            {
                var flush = stream.FlushAsync(ct);
                if (flush.IsCompletedSuccessfully)
                {
                    return null;
                }

                await flush.WaitAsync(_options.ReplyTimeout, _time, ct).ConfigureAwait(false);
                return null;
            }

            _frame = null; // this write may still hold its buffer after a timeout
            await write.AsTask().WaitAsync(_options.ReplyTimeout, _time, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).WaitAsync(_options.ReplyTimeout, _time, ct).ConfigureAwait(false);
            return null;
        }
        catch (TimeoutException)
        {
            return $"write of {packet} stalled for {_options.ReplyTimeout.TotalMilliseconds:0} ms";
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return "closed";
        }
        catch (OperationCanceledException)
        {
            return $"write of {packet} stalled for {_options.ReplyTimeout.TotalMilliseconds:0} ms";
        }
        catch (Exception e) when (IsPortFault(e))
        {
            return $"write failed: {e.Message}";
        }
        finally
        {
            _writing.Release();
        }
    }

    // Under the lock: removes the moves (FORWARD, REVERSE, TURN_*) still waiting in any queue.
    private List<Request>? TakeQueuedMoves()
    {
        List<Request>? moves = null;
        foreach (var queue in _queues)
        {
            for (var node = queue.First; node is not null;)
            {
                var next = node.Next;
                if (DriveCommand.IsMoveCode(node.Value.Command.Command))
                {
                    queue.Remove(node);
                    node.Value.Node = null;
                    (moves ??= []).Add(node.Value);
                }

                node = next;
            }
        }

        return moves;
    }

    private void Cancel(Request request, CancellationToken ct)
    {
        lock (_gate)
        {
            if (request.Node is { List: { } queue } node)
            {
                queue.Remove(node);
                request.Node = null;
            }
        }

        request.Caller.TrySetCanceled(ct);
    }

    // The link went down: whatever was asked and not answered gets LinkDown.
    private void FailPending()
    {
        List<Request> failed = [];
        lock (_gate)
        {
            if (_inFlight is { } r)
            {
                r.Settled = true;
                failed.Add(r);
                _inFlight = null;
            }

            if (_chasing is { } c)
            {
                c.Settled = true;
                failed.Add(c);
                _chasing = null;
            }

            foreach (var queue in _queues)
            {
                failed.AddRange(queue);
                queue.Clear();
            }
        }

        foreach (var r in failed)
        {
            r.Node = null;
            r.Caller.TrySetResult(ArduinoReply.LinkDown);
            r.Signal();
        }
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

    private void Note(string text) => Diagnostic?.Invoke(text);

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

    // True when `signal` fired or the wait elapsed; false when cancelled.
    private async Task<bool> WaitAnyAsync(Task signal, TimeSpan wait, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(wait, _time, cts.Token);
        await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        return !ct.IsCancellationRequested;
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

    // What a serial port throws when it fails or vanishes (System.IO.Ports raises any of these).
    private static bool IsPortFault(Exception e) =>
        e is IOException or ObjectDisposedException or InvalidOperationException or UnauthorizedAccessException or TimeoutException;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class Request(SerialPacket command)
    {
        public SerialPacket Command { get; } = command;

        // Synchronous continuations: whoever awaits the reply (the hub, then the client's session) carries on on the
        // thread that delivered it, instead of after a thread-pool hop. So it is only ever completed outside the lock.
        public TaskCompletionSource<ArduinoReply> Caller { get; } = new();

        private TaskCompletionSource? _changed;

        // What the exchange loop waits on to re-check the request; completed and dropped on each Signal. Made only when
        // someone waits: a request answered while it was being written (the simulator, a fast port) never needs one.
        public Task Changed
        {
            get
            {
                var changed = Volatile.Read(ref _changed);
                if (changed is null)
                {
                    var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    changed = Interlocked.CompareExchange(ref _changed, fresh, null) ?? fresh;
                }

                return changed.Task;
            }
        }

        public LinkedListNode<Request>? Node { get; set; }

        public bool SawOk { get; set; }

        public bool SawStatus { get; set; }

        /// <summary>Nothing more is expected for this request.</summary>
        public bool Settled { get; set; }

        /// <summary>Timestamp until which a trailing OK is awaited (GET_STATS answered by STATUS first).</summary>
        public long? GraceUntil { get; set; }

        public void Signal() => Interlocked.Exchange(ref _changed, null)?.TrySetResult();
    }
}
