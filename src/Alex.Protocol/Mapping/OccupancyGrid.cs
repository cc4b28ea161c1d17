// A log-odds occupancy grid (docs/mapping.md §1): square cells of a fixed size, stored in square tiles
// of TileCells × TileCells cells that are created when a scan first touches them, so the map grows with
// the room and an unseen cell costs nothing. A cell's value is the log-odds of "occupied"; 0 is unknown.
//
// Cell (i, j) covers [i·c, (i+1)·c) × [j·c, (j+1)·c) in the map frame (cm, x right, y up). Tile (ti, tj)
// holds cells ti·TileCells … ti·TileCells + TileCells − 1 (floor division, so negative cells work).
//
// Memory: 8 bytes per cell (a float log-odds and an int stamp), 8 KiB per 32 × 32 tile (1.6 m × 1.6 m at
// 5 cm); at most MaxTiles tiles (≈ 8 MiB, 51 m × 51 m at 5 cm). Writes past that are dropped and counted.
namespace Alex.Protocol.Mapping;

/// <summary>A tile's place in the grid: tile column and row (cells TileX·TileCells …).</summary>
public readonly record struct TileKey(int TileX, int TileY);

/// <summary>The occupancy grid. Pure and not thread-safe: one owner inserts, reads and renders.</summary>
public sealed class OccupancyGrid
{
    /// <summary>Cells per tile side.</summary>
    public const int TileCells = 1 << TileShift;

    private const int TileShift = 5;

    /// <summary>The most tiles one grid holds.</summary>
    public const int MaxTiles = 1024;

    // Hector SLAM's update weights: a hit raises a cell to p = 0.7 from unknown, a pass lowers it to p = 0.4;
    // clamped so a moved box is forgotten after a few scans rather than never.
    public const float OccupiedStep = 0.8473f; // ln(0.7 / 0.3)
    public const float FreeStep = -0.4055f; // ln(0.4 / 0.6)
    public const float MaxLogOdds = 3.5f;

    private readonly Dictionary<TileKey, Tile> _tiles = [];
    private readonly HashSet<TileKey> _changed = [];
    private int _scanMark;

    public OccupancyGrid(double cellCm)
    {
        if (!(cellCm is >= 0.5 and <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(cellCm), cellCm, "a cell is 0.5 to 100 cm");
        }

        CellCm = cellCm;
    }

    public double CellCm { get; }

    public int TileCount => _tiles.Count;

    /// <summary>Bytes held by the tiles' cells.</summary>
    public long CellBytes => (long)_tiles.Count * TileCells * TileCells * (sizeof(float) + sizeof(int));

    /// <summary>Cell updates dropped because the grid was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Scans inserted.</summary>
    public int Scans => _scanMark;

    public IEnumerable<TileKey> Tiles => _tiles.Keys;

    /// <summary>The cell that holds map point (x, y) cm.</summary>
    public (int X, int Y) CellOf(double x, double y) => ((int)Math.Floor(x / CellCm), (int)Math.Floor(y / CellCm));

    /// <summary>The log-odds of cell (x, y); 0 where nothing was seen.</summary>
    public float LogOdds(int x, int y)
    {
        var key = new TileKey(FloorDiv(x), FloorDiv(y));
        return _tiles.TryGetValue(key, out var tile) ? tile.LogOdds[Index(x, y)] : 0f;
    }

    /// <summary>The probability that cell (x, y) is occupied: 0.5 where nothing was seen.</summary>
    public double Probability(int x, int y) => 1 - (1 / (1 + Math.Exp(LogOdds(x, y))));

    /// <summary>The smallest cell rectangle holding every tile: (min x, min y, width, height) in cells; empty grid: all 0.</summary>
    public (int X, int Y, int Width, int Height) Bounds()
    {
        if (_tiles.Count == 0)
        {
            return (0, 0, 0, 0);
        }

        int minX = int.MaxValue, minY = int.MaxValue, maxX = int.MinValue, maxY = int.MinValue;
        foreach (var k in _tiles.Keys)
        {
            minX = Math.Min(minX, k.TileX);
            minY = Math.Min(minY, k.TileY);
            maxX = Math.Max(maxX, k.TileX);
            maxY = Math.Max(maxY, k.TileY);
        }

        return (minX * TileCells, minY * TileCells, (maxX - minX + 1) * TileCells, (maxY - minY + 1) * TileCells);
    }

    /// <summary>Copies a tile's log-odds, row by row from its bottom row (TileCells²); false when the tile was never touched.</summary>
    public bool TryCopyTile(TileKey key, Span<float> destination)
    {
        if (!_tiles.TryGetValue(key, out var tile))
        {
            return false;
        }

        tile.LogOdds.CopyTo(destination);
        return true;
    }

    /// <summary>Sets a tile's log-odds (a copy of someone else's map, e.g. from tile updates).</summary>
    public void SetTile(TileKey key, ReadOnlySpan<float> logOdds)
    {
        if (logOdds.Length != TileCells * TileCells)
        {
            throw new ArgumentException($"a tile is {TileCells * TileCells} cells", nameof(logOdds));
        }

        if (GetOrAdd(key) is { } tile)
        {
            logOdds.CopyTo(tile.LogOdds);
            _changed.Add(key);
        }
    }

    /// <summary>The tiles changed since the last call, and forgets them.</summary>
    public IReadOnlyList<TileKey> TakeChanged()
    {
        var list = _changed.ToArray();
        _changed.Clear();
        return list;
    }

    /// <summary>
    /// Adds one scan seen from <paramref name="pose"/>: every cell a ray crosses is passed (free) and the
    /// cell of its hit is occupied; a ray without a hit only frees. Each cell changes at most once per scan,
    /// and a hit wins over a pass of the same scan (as Hector SLAM does).
    /// </summary>
    public void Insert(MapPose pose, MapScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        _scanMark++;
        var freeMark = _scanMark * 2;
        var occupiedMark = freeMark + 1;
        var (x0, y0) = CellOf(pose.X, pose.Y);
        var (sin, cos) = Math.SinCos(pose.Theta);
        foreach (var ray in scan.Rays)
        {
            var ex = pose.X + (cos * ray.X) - (sin * ray.Y);
            var ey = pose.Y + (sin * ray.X) + (cos * ray.Y);
            var (x1, y1) = CellOf(ex, ey);
            Trace(x0, y0, x1, y1, freeMark, includeEnd: !ray.Hit);
            if (ray.Hit)
            {
                MarkOccupied(x1, y1, freeMark, occupiedMark);
            }
        }
    }

    // Bresenham's line from (x0, y0) to (x1, y1), every cell but the last unless includeEnd.
    private void Trace(int x0, int y0, int x1, int y1, int freeMark, bool includeEnd)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        var err = dx + dy;
        var (x, y) = (x0, y0);
        while (true)
        {
            var last = x == x1 && y == y1;
            if (last && !includeEnd)
            {
                return;
            }

            MarkFree(x, y, freeMark);
            if (last)
            {
                return;
            }

            var e2 = 2 * err;
            if (e2 >= dy)
            {
                err += dy;
                x += sx;
            }

            if (e2 <= dx)
            {
                err += dx;
                y += sy;
            }
        }
    }

    private void MarkFree(int x, int y, int freeMark)
    {
        if (Cell(x, y) is not { } tile)
        {
            return;
        }

        var i = Index(x, y);
        if (tile.Stamp[i] >= freeMark)
        {
            return; // already passed or hit in this scan
        }

        tile.Stamp[i] = freeMark;
        tile.LogOdds[i] = Math.Max(-MaxLogOdds, tile.LogOdds[i] + FreeStep);
    }

    private void MarkOccupied(int x, int y, int freeMark, int occupiedMark)
    {
        if (Cell(x, y) is not { } tile)
        {
            return;
        }

        var i = Index(x, y);
        if (tile.Stamp[i] >= occupiedMark)
        {
            return;
        }

        var value = tile.LogOdds[i];
        if (tile.Stamp[i] == freeMark)
        {
            value -= FreeStep; // a ray of this scan passed it: the hit wins
        }

        tile.Stamp[i] = occupiedMark;
        tile.LogOdds[i] = Math.Min(MaxLogOdds, value + OccupiedStep);
    }

    private Tile? Cell(int x, int y)
    {
        var key = new TileKey(FloorDiv(x), FloorDiv(y));
        var tile = GetOrAdd(key);
        if (tile is not null)
        {
            _changed.Add(key);
        }

        return tile;
    }

    private Tile? GetOrAdd(TileKey key)
    {
        if (_tiles.TryGetValue(key, out var tile))
        {
            return tile;
        }

        if (_tiles.Count >= MaxTiles)
        {
            Dropped++;
            return null;
        }

        tile = new Tile();
        _tiles.Add(key, tile);
        return tile;
    }

    // TileCells is 2^TileShift: an arithmetic shift is floor division, the mask the remainder, negatives included.
    private static int FloorDiv(int cell) => cell >> TileShift;

    private static int Index(int x, int y) => ((y & (TileCells - 1)) * TileCells) + (x & (TileCells - 1));

    private sealed class Tile
    {
        public readonly float[] LogOdds = new float[TileCells * TileCells];
        public readonly int[] Stamp = new int[TileCells * TileCells];
    }
}
