// `alex serve --map` (docs/mapping.md §4): the server builds the map for everyone watching.
//
// It hears what the hub publishes (RobotHub.Published, on the fan-out task, never a command's path): each status
// moves the odometry (dead reckoning), each whole lidar revolution is handed, with the odometry pose at that moment,
// to the mapper's own loop through a one-place slot: a mapper still busy with the last revolution loses the one
// before the newest (counted), it never makes anyone wait. After each revolution the changed tiles and the corrected
// pose go onto the MapTileBoard, which decides what each client subscribed to Map is owed; each such client's writer
// is woken and takes a few frames at a time from the board (ClientSession), so a slow reader is owed the newest copy
// of each changed tile instead of a growing queue, and a command's reply waits behind at most a few frames.
using System.Threading.Channels;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Odometry;

namespace Alex.Robot.Server;

/// <summary>The server's map: built from the hub's revolutions and status, pushed to clients subscribed to Map.</summary>
public sealed class ServerMapper : IAsyncDisposable
{
    /// <summary>How often the server polls the status for the odometry while it maps (as a watching page does).</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Frames one client is sent per turn of its writer (16 KiB at most): a reply waits behind no more.</summary>
    internal const int FramesPerWrite = 4;

    private readonly RobotHub _hub;
    private readonly Mapper _mapper;
    private readonly Lock _mapperGate = new();
    private readonly MapTileBoard _board;
    private readonly Lock _boardGate = new();
    private readonly DeadReckoning _odometry;
    private readonly AlexLinkScanAssembler _assembler = new();
    private readonly Channel<(ScanRevolution Revolution, Pose Odometry)> _revolutions;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile ClientSession[] _readers = [];
    private long _dropped;
    private long _failed;

    private ServerMapper(RobotHub hub, MapperSettings settings, RobotGeometry geometry)
    {
        _hub = hub;
        _mapper = new Mapper(settings);
        _board = new MapTileBoard(settings.CellCm);
        _odometry = new DeadReckoning(geometry);
        _revolutions = Channel.CreateBounded<(ScanRevolution, Pose)>(
            new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.DropOldest },
            _ => Interlocked.Increment(ref _dropped));
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Revolutions the mapper was too busy for (a newer one replaced them).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Revolutions the mapper could not add (with the last one's reason): none is expected.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public string? LastFailure { get; private set; }

    /// <summary>Map updates so far (one a revolution mapped).</summary>
    public uint Sequence
    {
        get
        {
            lock (_boardGate)
            {
                return _board.Sequence;
            }
        }
    }

    /// <summary>
    /// Starts mapping what <paramref name="hub"/> publishes. The hub must be told to poll the status for the odometry
    /// (HubOptions.ObserverStatusInterval, <see cref="StatusInterval"/>): the mapper never asks the Arduino itself.
    /// </summary>
    public static ServerMapper Start(RobotHub hub, MapperSettings? settings = null, RobotGeometry? geometry = null)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var mapper = new ServerMapper(hub, settings ?? new MapperSettings(), geometry ?? new RobotGeometry());
        hub.Published += mapper.OnPublished;
        hub.Mapper = mapper;
        return mapper;
    }

    /// <summary>Reads the mapper (its map, pose, counts) while no revolution is being added: for status and tests.</summary>
    public T Read<T>(Func<Mapper, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (_mapperGate)
        {
            return read(_mapper);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _hub.Published -= OnPublished;
        _hub.Mapper = null;
        _revolutions.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    /// <summary>A session subscribed to Map: it is owed the whole map from now on, and its writer is woken.</summary>
    internal MapTileReader Join(ClientSession session)
    {
        MapTileReader reader;
        lock (_boardGate)
        {
            reader = _board.Join();
            _readers = [.. _readers, session];
        }

        session.WakeForMap();
        return reader;
    }

    internal void Leave(ClientSession session, MapTileReader reader)
    {
        lock (_boardGate)
        {
            _board.Leave(reader);
            _readers = [.. _readers.Where(s => !ReferenceEquals(s, session))];
        }
    }

    /// <summary>The next frames for a reader, and whether it is owed more after them.</summary>
    internal (IReadOnlyList<AlexLinkMapTiles> Frames, bool More) Take(MapTileReader reader)
    {
        lock (_boardGate)
        {
            var frames = _board.Take(reader, FramesPerWrite);
            return (frames, _board.Owes(reader));
        }
    }

    // On the hub's fan-out task: quick, and never throws.
    private void OnPublished(AlexLinkMessage message)
    {
        if (message is AlexLinkStatus status)
        {
            lock (_odometry)
            {
                _odometry.Update(status.Counters);
            }
        }
        else if (message is AlexLinkScan scan && _assembler.Offer(scan) is { } revolution)
        {
            Pose pose;
            lock (_odometry)
            {
                pose = _odometry.Current;
            }

            _revolutions.Writer.TryWrite((revolution, pose));
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await foreach (var (revolution, odometry) in _revolutions.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            MapUpdate update;
            List<MapTile> changed = [];
            lock (_mapperGate)
            {
                try
                {
                    update = _mapper.Add(new MapPose(odometry.X, odometry.Y, odometry.HeadingDeg * Math.PI / 180), MapScan.FromPoints(revolution.Points));
                }
                catch (Exception e) when (e is ArithmeticException or ArgumentException or IndexOutOfRangeException)
                {
                    // One bad revolution must not end the map for everyone: counted, and the next one is mapped.
                    LastFailure = e.GetType().Name + ": " + e.Message;
                    Interlocked.Increment(ref _failed);
                    continue;
                }

                foreach (var key in _mapper.Map.TakeChanged())
                {
                    if (MapTile.From(_mapper.Map, key) is { } tile)
                    {
                        changed.Add(tile);
                    }
                }
            }

            ClientSession[] readers;
            lock (_boardGate)
            {
                _board.Update(revolution.CompletedUnixMs, update.Pose, changed);
                readers = _readers;
            }

            foreach (var session in readers)
            {
                session.WakeForMap();
            }
        }
    }
}
