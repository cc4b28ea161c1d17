using System.Net.WebSockets;
using System.Threading.Channels;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Robot;

/// <summary>
/// Joins open pages to one connection to the robot, Alex.Client's ReconnectingClient: the gateway is a
/// client like any other and never speaks the protocol itself (STYLE.md 12). The connection runs only
/// while at least one page's WebSocket is open: when the last page closes (or the browser vanishes and
/// the WebSocket keep-alive times out) the gateway lets go of the robot, so the server's dead-man stops
/// it instead of a gateway heartbeating for a page nobody is watching. While pages are open the client
/// reconnects by itself; this hub only turns what it reports into page messages.
/// </summary>
internal sealed class RobotHub : IPageHub
{
    /// <summary>How long one command may take before the page is told it failed.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How often the page's counters and path are refreshed (the server may slow it to its minimum).</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(200);

    private const int MaxInFlightPerPage = 16;

    private readonly ReconnectingClient _robot;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly RobotGeometry _geometry;
    private readonly string _version;
    private readonly TeamExtensions _extensions;
    private readonly Lock _gate = new();
    private readonly AlexLinkScanAssembler _scans = new();
    private readonly HashSet<PageSession> _pages = [];

    private CancellationTokenSource? _linkCts;
    private Task _linkTask = Task.CompletedTask;
    private string? _identity;
    private string _role = "none";
    private string _linkState = "offline";
    private string? _linkDetail = "waiting for a page";
    private LeaseView _lease = new("none", null);
    private StatusCounters? _status;
    private Pose _pose;
    private IReadOnlyList<Pose> _path = [default];

    // The server's map as last sent (when it maps): each tile's newest copy, and the last frame for its sequence and pose.
    // A page that opens gets all of it; the server sends the whole map again on every new connection.
    private readonly Dictionary<(short, short), MapTile> _mapTiles = [];
    private AlexLinkMapTiles? _mapLast;

    public RobotHub(ReconnectingClient robot, RobotGeometry geometry, string version, TeamExtensions extensions, TimeProvider time, ILogger log)
    {
        _robot = robot;
        _extensions = extensions;
        _geometry = geometry;
        _version = version;
        _time = time;
        _log = log;
        (_pose, _path) = robot.Position;
        robot.Changed += OnLinkEvent;
    }

    /// <summary>
    /// The gateway's connection to the robot: AlexLink/1 only (the page needs leases, telemetry and the
    /// dead-man), the telemetry the page shows, and it keeps trying whatever the failure while a page
    /// is open, showing why (someone may fix the server or the allow-list meanwhile).
    /// </summary>
    public static ReconnectingClient Reach(AlexClientOptions robot, RobotGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(robot);
        var alexLink = robot with { Protocol = AlexProtocol.AlexLink1 };
        return Reach($"{alexLink.Host}:{alexLink.Port}", ct => AlexLinkClient.ConnectAsync(alexLink, ct), geometry, robot.Time);
    }

    /// <summary>As <see cref="Reach(AlexClientOptions, RobotGeometry)"/>, with a connect function of its own (tests: a robot nobody answers for).</summary>
    public static ReconnectingClient Reach(string target, Func<CancellationToken, Task<AlexLinkClient>> connect, RobotGeometry geometry, TimeProvider time) =>
        new(target, connect, time, new ReconnectPolicy { GiveUpIfLasting = false }, geometry)
        {
            Topics = AlexLinkTopics.Status | AlexLinkTopics.Lease | AlexLinkTopics.Link | AlexLinkTopics.ArduinoText | AlexLinkTopics.Safety | AlexLinkTopics.Lidar | AlexLinkTopics.Map,
            StatusInterval = StatusInterval,
        };

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
    public bool HasRobotLink => _robot.IsConnected;

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
                _linkDetail = _robot.Target;
            }

            page.Post(PageMessages.Hello(_robot.Target, _version, _geometry, _extensions));
            page.Post(PageMessages.Link(_linkState, _linkDetail));
            page.Post(PageMessages.Lease(_lease, _identity));
            page.Post(PageMessages.Path(_path, _pose));
            if (_status is { } s)
            {
                page.Post(PageMessages.Status(s, _pose));
            }

            if (_mapLast is { } map)
            {
                // In messages of up to 64 tiles (about 30 kB), so none is large.
                foreach (var chunk in _mapTiles.Values.Chunk(64).DefaultIfEmpty([]))
                {
                    page.Post(PageMessages.Map(map.Sequence, map.CellMm / 10.0, map.Pose, chunk));
                }
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

        await page.RunAsync(ct => page.ReadRequestsAsync(_extensions, request => Dispatch(page, request), ct), () => LeaveAsync(page), cancellationToken).ConfigureAwait(false);
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

    private void Dispatch(PageSession page, PageRequest request)
    {
        switch (request.Type)
        {
            case "ping":
                page.Post(PageMessages.Pong(request.Id));
                return;
            case "reset-path":
                _robot.ResetPath(); // answered by the client's LinkPathReset, broadcast to every page
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
            if (!_robot.IsConnected)
            {
                reply = new RobotReply(false, "not connected to the robot");
            }
            else
            {
                using var timeout = new CancellationTokenSource(CommandTimeout, _time);
                var answer = request.Type == "lease"
                    ? await (request.TakeLease ? _robot.TakeLeaseAsync(timeout.Token) : _robot.ReleaseLeaseAsync(timeout.Token)).ConfigureAwait(false)
                    : await _robot.SendAsync(request.Command, timeout.Token).ConfigureAwait(false);
                reply = new RobotReply(answer.Acknowledged, answer.Acknowledged ? "OK" : answer.Text, DeclaredReading.From(_extensions, answer));
                if (_log.IsEnabled(LogLevel.Information))
                {
                    _log.LogInformation("{Command}: {Reply}", request.Type == "lease" ? (request.TakeLease ? "take lease" : "release lease") : PageMessages.Describe(request.Command, _extensions), reply.Text);
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
        try
        {
            await _robot.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or AlexConnectException)
        {
            // The last page left (the client does not give up while pages are open).
        }

        lock (_gate)
        {
            _lease = new LeaseView("none", null);
        }

        SetLink("offline", "no page open: the gateway let go of the robot");
    }

    /// <summary>What the robot connection reports, turned into page messages (called in order, under the client's lock: never call the client from here).</summary>
    private void OnLinkEvent(LinkEvent e)
    {
        switch (e)
        {
            case LinkState { Phase: LinkPhase.Connecting } s:
                SetLink(s.Failure is null ? "connecting" : "reconnecting", s.Failure is null ? _robot.Target : $"attempt {s.Attempt}: {s.Failure.Message}");
                break;
            case LinkState { Phase: LinkPhase.Connected, Session.Welcome: { } welcome }:
                lock (_gate)
                {
                    if (_mapLast is { } map)
                    {
                        // A new connection (perhaps to a restarted server) sends its whole map: the pages start over.
                        _mapTiles.Clear();
                        _mapLast = null;
                        Broadcast(PageMessages.Map(map.Sequence, map.CellMm / 10.0, map.Pose, [], reset: true));
                    }

                    _identity = welcome.ClientName;
                    _role = welcome.Role == AlexLinkRole.Driver ? "driver" : "watcher";
                    _lease = new LeaseView(_role, welcome.LeaseHolder.Length == 0 ? null : welcome.LeaseHolder);
                    Broadcast(PageMessages.Lease(_lease, _identity));
                }

                SetLink("connected", $"{_robot.Target} as {welcome.ClientName}");
                break;
            case LinkState { Phase: LinkPhase.Waiting or LinkPhase.Stopped, Failure: { } why } s:
                _log.LogWarning("robot link: {Reason}", why.Message);
                SetLink("reconnecting", $"retrying in {(s.RetryIn ?? TimeSpan.Zero).TotalSeconds:0.##} s: {why.Message}");
                break;
            case LinkStatus s:
                lock (_gate)
                {
                    _status = s.Counters;
                    _pose = s.Pose;
                    _path = s.Path ?? _path;
                    Broadcast(PageMessages.Status(s.Counters, s.Pose));
                }

                break;
            case LinkPathReset r:
                lock (_gate)
                {
                    _pose = r.Pose;
                    _path = r.Path;
                    Broadcast(PageMessages.Path(r.Path, r.Pose));
                }

                break;
            case LinkPushed { Message: AlexLinkLeaseState l }:
                lock (_gate)
                {
                    _lease = new LeaseView(_role, l.IsFree ? null : l.Holder);
                    Broadcast(PageMessages.Lease(_lease, _identity));
                }

                break;
            case LinkPushed { Message: AlexLinkArduinoText t }:
                Post(PageMessages.Message(t.Text));
                break;
            case LinkPushed { Message: AlexLinkSafetyStop stop }:
                Post(PageMessages.Notice("safety", stop.Text));
                break;
            case LinkPushed { Message: AlexLinkLinkState link }:
                Post(PageMessages.Notice("serial", link.Detail));
                break;
            case LinkPushed { Message: AlexLinkScan scan }:
                // A revolution split over several frames goes to the pages whole.
                ScanRevolution? revolution;
                lock (_scans)
                {
                    revolution = _scans.Offer(scan);
                }

                if (revolution is not null)
                {
                    Post(PageMessages.Scan(revolution));
                }

                break;
            case LinkPushed { Message: AlexLinkMapTiles map }:
                lock (_gate)
                {
                    _mapLast = map;
                    foreach (var t in map.Tiles)
                    {
                        _mapTiles[(t.TileX, t.TileY)] = t;
                    }

                    Broadcast(PageMessages.Map(map.Sequence, map.CellMm / 10.0, map.Pose, map.Tiles));
                }

                break;
            case LinkPushed { Message: AlexLinkError error }:
                Post(PageMessages.Notice("serial", error.Text));
                break;
            case LinkRoundTrip r:
                Post(PageMessages.RoundTrip(r.RoundTrip));
                break;
            case LinkNotice n:
                _log.LogWarning("robot link: {Notice}", n.Text);
                break;
        }
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

    private void Post(byte[] message)
    {
        lock (_gate)
        {
            Broadcast(message);
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
        _robot.Changed -= OnLinkEvent;
        await _robot.DisposeAsync().ConfigureAwait(false);
    }
}
