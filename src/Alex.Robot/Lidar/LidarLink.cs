// The RPLidar driver's I/O (docs/lidar.md §8): opens the port, then one read → decide → write loop over
// LidarStreamDecoder and LidarSession. Every decision is the session's; this class writes what it is
// told, switches DTR for the motor, publishes revolutions, and reopens the port (with the session's
// backoff) when it is unplugged or stops answering. The robot works without it: nothing here touches
// the Arduino's link.
using Alex.Protocol.Lidar;
using Alex.Robot.Serial;

namespace Alex.Robot.Lidar;

/// <summary>A completed revolution as the server publishes it.</summary>
/// <param name="Sequence">Counts revolutions since the server started (gaps: revolutions dropped by a slow reader).</param>
/// <param name="CompletedAt">TimeProvider timestamp when the turn's last node was read (for latency).</param>
/// <param name="CompletedUtc">The same moment on the server's clock (what clients are told).</param>
public sealed record LidarScan(long Sequence, long CompletedAt, DateTimeOffset CompletedUtc, LidarRevolution Revolution);

/// <summary>Drives one RPLidar on a serial port.</summary>
public sealed class LidarLink
{
    /// <summary>A1 and A2M8; the C1 and A2M12 use 460800.</summary>
    public const int DefaultBaud = 115200;

    private readonly Func<Stream> _open;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly LidarSession _session;
    private readonly LidarStreamDecoder _decoder = new();
    private long _sequence;
    private string? _lastOpenError;

    /// <summary>A lidar on a serial port at <paramref name="baud"/>.</summary>
    public LidarLink(string path, int baud, TimeProvider time, Action<string>? log = null, LidarSessionOptions? options = null)
        : this(() => TtyStream.Open(path, baud), path, time, log, options)
    {
    }

    /// <summary>A lidar on any stream (tests: recorded byte streams, in-memory pipes).</summary>
    public LidarLink(Func<Stream> open, string name, TimeProvider time, Action<string>? log = null, LidarSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(time);
        _open = open;
        Name = name;
        _time = time;
        _log = log ?? (_ => { });
        _session = new LidarSession(time, options);
    }

    public string Name { get; }

    /// <summary>Raised on the link's loop for every completed revolution. Handlers must not block.</summary>
    public event Action<LidarScan>? Scanned;

    /// <summary>Raised when the state changes (for status lines and tests).</summary>
    public event Action<LidarState>? StateChanged;

    public LidarState State => _session.State;

    public LidarCounters Counters => _session.Counters;

    public LidarDeviceInfo? Info => _session.Info;

    /// <summary>The motor as last set (DTR clear = on, on an A1/A2 adapter).</summary>
    public bool MotorOn { get; private set; }

    /// <summary>Runs until cancelled; leaves the device stopped with the motor off.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var delay = _session.ReopenDelay;
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }

            Stream port;
            try
            {
                port = _open();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Said once per different reason, not every backoff step.
                if (e.Message != _lastOpenError)
                {
                    _log($"lidar: {e.Message}; retrying");
                    _lastOpenError = e.Message;
                }

                _session.OpenFailed();
                continue;
            }

            _lastOpenError = null;
            _log($"lidar: {Name} open");
            await using (port.ConfigureAwait(false))
            {
                _decoder.Reset();
                await ServeAsync(port, ct).ConfigureAwait(false);
            }
        }
    }

    private async Task ServeAsync(Stream port, CancellationToken ct)
    {
        var buffer = new byte[4096];
        Task<int>? read = null;
        try
        {
            if (!Act(port, _session.Opened()))
            {
                return;
            }

            while (true)
            {
                read ??= port.ReadAsync(buffer, ct).AsTask();
                var timedOut = false;
                if (_session.UntilDeadline is { } wait)
                {
                    try
                    {
                        await read.WaitAsync(wait, _time, ct).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        timedOut = true;
                    }
                }
                else
                {
                    await read.ConfigureAwait(false);
                }

                if (timedOut)
                {
                    if (!Act(port, _session.OnDeadline()))
                    {
                        return;
                    }

                    continue;
                }

                var n = await read.ConfigureAwait(false);
                read = null;
                if (n == 0)
                {
                    Act(port, _session.Lost("the port closed"));
                    return;
                }

                _decoder.Append(buffer.AsSpan(0, n));
                while (_decoder.TryRead(out var result))
                {
                    if (!Act(port, _session.OnRead(result)))
                    {
                        return;
                    }
                }
            }
        }
        catch (IOException e)
        {
            Act(port, _session.Lost(e.Message));
            Changed();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            try
            {
                Act(port, _session.Shutdown());
            }
            catch (IOException)
            {
                // unplugged while stopping: nothing left to stop
            }

            Changed();
            throw;
        }
        finally
        {
            if (read is not null)
            {
                // The port is disposed next; a read left pending ends with it.
                _ = read.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }
        }
    }

    // Does what the session decided; false when the port must be reopened.
    private bool Act(Stream port, IReadOnlyList<LidarAction> actions)
    {
        var before = _session.State;
        var keep = true;
        foreach (var action in actions)
        {
            switch (action.Kind)
            {
                case LidarActionKind.Write:
                    port.Write(action.Bytes);
                    _decoder.ExpectResponse();
                    break;
                case LidarActionKind.Motor:
                    MotorOn = action.MotorOn;
                    if (port is TtyStream tty)
                    {
                        // The adapter's motor runs while DTR is clear.
                        tty.SetDtr(!action.MotorOn);
                    }

                    break;
                case LidarActionKind.Revolution:
                    Scanned?.Invoke(new LidarScan(++_sequence, _time.GetTimestamp(), _time.GetUtcNow(), action.Revolution!));
                    break;
                case LidarActionKind.Reopen:
                    keep = false;
                    break;
                case LidarActionKind.Log:
                    _log(action.Text!);
                    break;
            }
        }

        if (_session.State != before)
        {
            Changed();
        }

        return keep;
    }

    private void Changed() => StateChanged?.Invoke(_session.State);
}
