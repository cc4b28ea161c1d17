using System.Net.WebSockets;
using Alex.Client;
using Alex.Protocol.Extensions;
using Alex.Protocol.Mapping;
using Alex.Protocol.Recording;
using Alex.Web.Robot;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Replay;

/// <summary>
/// Joins open pages to a recording played back (`alex replay --web`) instead of a robot: the same page, told in its
/// hello that this is a replay, so it shows the file and the recording's clock and offers nothing to drive. The
/// playback starts when the first page opens and runs once, at the recorded pace times the speed; a page that opens
/// later gets the path, the pose, the last scan and the last map so far. Requests are answered as a robot-less gateway would:
/// pings, and a refusal for anything that would drive.
/// </summary>
internal sealed class ReplayHub : IPageHub
{
    /// <summary>The page's clock is moved on at least this often (in recording time) while the recording plays.</summary>
    private static readonly TimeSpan ClockStep = TimeSpan.FromMilliseconds(500);

    /// <summary>Points closer than this (cm) to the path's last one only move the pose, as the page's own path does.</summary>
    private const double MinStepCm = 0.5;

    /// <summary>The path a late page is sent is thinned to at most this many points.</summary>
    private const int MaxPathPoints = 5000;

    /// <summary>Tiles in one map message (about 30 kB at most), as the live gateway sends them.</summary>
    private const int TilesPerMessage = 64;

    private readonly ReplayTimeline _timeline;
    private readonly ReplayInfo _info;
    private readonly string _version;
    private readonly RobotGeometry _geometry;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly HashSet<PageSession> _pages = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Pose> _path = [default];
    private Task _playing = Task.CompletedTask;
    private bool _started;
    private Pose _pose;
    private byte[]? _lastScan;
    private long _scans;
    private byte[][] _lastMap = [];
    private uint _maps;
    private TimeSpan _clock;
    private bool _ended;

    public ReplayHub(ReplayTimeline timeline, ReplayInfo info, string version, RobotGeometry geometry, TimeProvider time, ILogger log)
    {
        _timeline = timeline;
        _info = info;
        _version = version;
        _geometry = geometry;
        _time = time;
        _log = log;
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

    public bool HasRobotLink => false;

    public async Task RunPageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var page = new PageSession(socket, _log);
        lock (_gate)
        {
            page.Post(PageMessages.Hello($"replay of {_info.File}", _version, _geometry, _info));
            page.Post(PageMessages.Link("replay", $"{_info.File}: a recording, nothing to drive"));
            page.Post(PageMessages.Path(_path, _pose));
            if (_lastScan is { } scan)
            {
                page.Post(scan);
            }

            foreach (var map in _lastMap)
            {
                page.Post(map);
            }

            page.Post(PageMessages.Replay(_clock, _ended));
            _pages.Add(page);
            if (!_started)
            {
                _started = true;
                _playing = Task.Run(() => PlayAsync(_stop.Token), CancellationToken.None);
            }
        }

        await page.RunAsync(ct => page.ReadRequestsAsync(TeamExtensions.None, request => Answer(page, request), ct), () => Leave(page), cancellationToken).ConfigureAwait(false);
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
        await _stop.CancelAsync().ConfigureAwait(false);
        await _playing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private static void Answer(PageSession page, PageRequest request)
    {
        switch (request.Type)
        {
            case "ping":
                page.Post(PageMessages.Pong(request.Id));
                return;
            case "reset-path":
                return; // the recording's path is what it is
            default:
                page.Post(PageMessages.Reply(request.Id, new RobotReply(false, "a replay: there is no robot to drive"), TimeSpan.Zero));
                return;
        }
    }

    private async Task PlayAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var lastClock = TimeSpan.Zero;
        if (_timeline.Unreadable > 0 && _log.IsEnabled(LogLevel.Warning))
        {
            _log.LogWarning("{Count} messages are not in their schema's shape: left out", _timeline.Unreadable);
        }

        try
        {
            foreach (var frame in _timeline.Frames)
            {
                var due = (frame.At / _info.Speed) - _time.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, _time, cancellationToken).ConfigureAwait(false);
                }

                lock (_gate)
                {
                    Show(frame.Event);
                    _clock = frame.At;
                    if (frame.At - lastClock >= ClockStep)
                    {
                        lastClock = frame.At;
                        Broadcast(PageMessages.Replay(_clock, false));
                    }
                }
            }

            lock (_gate)
            {
                _clock = _timeline.Duration;
                _ended = true;
                Broadcast(PageMessages.Replay(_clock, true));
            }

            if (_log.IsEnabled(LogLevel.Information))
            {
                _log.LogInformation("played the whole recording ({Frames} frames)", _timeline.Frames.Count);
            }
        }
        catch (OperationCanceledException)
        {
            // The gateway stopped.
        }
    }

    // Under the gate: the state a late page is sent, and the message every page is sent now.
    private void Show(ReplayEvent e)
    {
        switch (e)
        {
            case ReplayPose { Pose: var pose }:
                var last = _path[^1];
                if (Math.Abs(pose.X - last.X) + Math.Abs(pose.Y - last.Y) >= MinStepCm)
                {
                    _path.Add(pose);
                    if (_path.Count > MaxPathPoints)
                    {
                        // Every other point: the shape stays, the size halves.
                        var kept = _path.Where((_, i) => i % 2 == 0 || i == _path.Count - 1).ToList();
                        _path.Clear();
                        _path.AddRange(kept);
                    }
                }

                if (pose != _pose)
                {
                    _pose = pose;
                    Broadcast(PageMessages.Pose(pose));
                }

                break;
            case ReplayScan scan:
                _lastScan = PageMessages.Scan(++_scans, scan.Points);
                Broadcast(_lastScan);
                break;
            case ReplayMap map:
                // Each recorded grid is the whole map: the pages replace theirs. Its frame is the odometry's, so the
                // pose given with it is Alex's odometry pose and the page places the map where it was recorded.
                var at = new MapPose(_pose.X, _pose.Y, _pose.HeadingDeg * Math.PI / 180);
                _maps++;
                _lastMap = [.. map.Tiles.Chunk(TilesPerMessage).DefaultIfEmpty([]).Select((tiles, i) => PageMessages.Map(_maps, map.CellCm, at, tiles, reset: i == 0))];
                foreach (var message in _lastMap)
                {
                    Broadcast(message);
                }

                break;
            case ReplayLog { Name: "arduino" } log:
                Broadcast(PageMessages.Message(log.Text));
                break;
            case ReplayLog log when log.Level >= FoxgloveLogLevel.Warning && log.Text.StartsWith("safety stop", StringComparison.Ordinal):
                Broadcast(PageMessages.Notice("safety", $"{log.Name}: {log.Text}"));
                break;
            case ReplayLog log:
                Broadcast(PageMessages.Notice("log", $"{log.Name}: {log.Text}"));
                break;
        }
    }

    private void Broadcast(byte[] message)
    {
        foreach (var p in _pages)
        {
            p.Post(message);
        }
    }
}
