// Which map tiles go to whom (docs/protocol.md §4 "MapTiles"): the server's map as its clients are sent it.
//
// The board holds the newest copy of every tile the mapper changed and, for each reader (a client subscribed to
// Map), the set of tiles it has not been sent since they last changed. A change marks the tile for every reader;
// sending takes the newest copy. So a reader that falls behind is owed at most one copy of each tile, however many
// times the tile changed meanwhile (the map is bounded, so is what it is owed), and it never loses a change for good:
// once it reads on it is sent the newest state of every tile that changed. A reader that joins late is owed every
// tile that holds anything. The pose travels in every frame; a reader is owed it when the map moved on since.
using Alex.Protocol.AlexLink;

namespace Alex.Protocol.Mapping;

/// <summary>One client's place on a <see cref="MapTileBoard"/>: what it is owed. Only the board reads or changes it.</summary>
public sealed class MapTileReader
{
    // Insertion-ordered: a tile owed longest goes first.
    internal readonly List<TileKey> Owed = [];
    internal readonly HashSet<TileKey> OwedSet = [];

    internal MapTileReader()
    {
    }

    /// <summary>The map sequence this reader was last sent (0: nothing yet).</summary>
    public uint SentSequence { get; internal set; }

    /// <summary>Tiles this reader is owed.</summary>
    public int OwedTiles => Owed.Count;

    internal void Owe(TileKey key)
    {
        if (OwedSet.Add(key))
        {
            Owed.Add(key);
        }
    }
}

/// <summary>The newest copy of each tile and the pose, and what each reader is owed. Pure and not thread-safe: the owner locks.</summary>
public sealed class MapTileBoard
{
    private readonly Dictionary<TileKey, MapTile> _tiles = [];
    private readonly List<MapTileReader> _readers = [];
    private long _atUnixMs;
    private MapPose _pose;

    public MapTileBoard(double cellCm)
    {
        if (!(cellCm is >= 0.5 and <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(cellCm), cellCm, "a cell is 0.5 to 100 cm");
        }

        CellCm = cellCm;
    }

    public double CellCm { get; }

    /// <summary>Updates so far (0: none yet: there is nothing to send).</summary>
    public uint Sequence { get; private set; }

    /// <summary>Tiles held.</summary>
    public int TileCount => _tiles.Count;

    public int ReaderCount => _readers.Count;

    /// <summary>The newest copy of every tile, for a reader that wants the whole map at once.</summary>
    public IReadOnlyCollection<MapTile> Tiles => _tiles.Values;

    /// <summary>A new reader, owed every tile that holds anything (and the pose, once there is one).</summary>
    public MapTileReader Join()
    {
        var reader = new MapTileReader();
        foreach (var (key, tile) in _tiles)
        {
            if (!IsEmpty(tile))
            {
                reader.Owe(key);
            }
        }

        _readers.Add(reader);
        return reader;
    }

    public void Leave(MapTileReader reader) => _readers.Remove(reader);

    /// <summary>One update of the map: the pose after a scan and the tiles the scan changed (none when it only moved the pose).</summary>
    public void Update(long atUnixMs, MapPose pose, IEnumerable<MapTile> changed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        Sequence++;
        _atUnixMs = atUnixMs;
        _pose = pose;
        foreach (var tile in changed)
        {
            var key = new TileKey(tile.TileX, tile.TileY);
            _tiles[key] = tile;
            foreach (var reader in _readers)
            {
                reader.Owe(key);
            }
        }
    }

    /// <summary>True when <paramref name="reader"/> is owed a tile or a newer pose.</summary>
    public bool Owes(MapTileReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.Owed.Count > 0 || (Sequence > 0 && reader.SentSequence != Sequence);
    }

    /// <summary>
    /// What to send <paramref name="reader"/> next: up to <paramref name="maxFrames"/> frames (each fits the frame limit)
    /// of the newest copies of the tiles it is owed, the longest owed first, with the current pose; none when it is owed
    /// nothing. What does not fit stays owed for the next call.
    /// </summary>
    public IReadOnlyList<AlexLinkMapTiles> Take(MapTileReader reader, int maxFrames)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrames, 1);
        if (!Owes(reader))
        {
            return [];
        }

        // No more tiles than the frames could hold, so a reader owed the whole map costs a few frames' work a call.
        var budget = (long)maxFrames * (AlexLinkFrame.MaxPayload - AlexLinkMapTiles.HeaderSize);
        var candidates = new List<MapTile>();
        foreach (var key in reader.Owed)
        {
            var tile = _tiles[key];
            budget -= tile.WireSize;
            if (budget < 0 && candidates.Count > 0)
            {
                break;
            }

            candidates.Add(tile);
        }

        var frames = AlexLinkMapTiles.Pack(Sequence, _atUnixMs, _pose, CellCm, candidates);
        if (frames.Count > maxFrames)
        {
            frames = [.. frames.Take(maxFrames)];
        }

        var sent = frames.Sum(f => f.Tiles.Count);
        foreach (var key in reader.Owed.Take(sent))
        {
            reader.OwedSet.Remove(key);
        }

        reader.Owed.RemoveRange(0, sent);
        reader.SentSequence = Sequence;
        return frames;
    }

    private static bool IsEmpty(MapTile tile) => !tile.Cells.AsSpan().ContainsAnyExcept((sbyte)0);
}
