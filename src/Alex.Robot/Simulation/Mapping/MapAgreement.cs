// How well a map agrees with the world it was built in (docs/BENCHMARKS.md "map-accuracy"), both in the
// map frame (the world's start pose is its origin):
//
// - walls: points every centimetre along every true wall; a point is found when the map marks its cell or
//   one of the 8 around it occupied (a wall on a cell boundary belongs to either cell);
// - free: the cells the robot could reach from its start without crossing a wall (box insides are not),
//   whose centre is more than one cell from any wall; a cell agrees when the map marks it free. A cell never
//   seen counts against the map, as does one marked occupied.
using Alex.Protocol.Mapping;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Robot.Simulation.Mapping;

/// <summary>Shares in 0..1, and the numbers of wall points and free cells they are of.</summary>
public readonly record struct MapAgreement(double Walls, int WallPoints, double Free, int FreeCells);

public static class MapAgreementCheck
{
    public static MapAgreement Measure(OccupancyGrid map, LidarWorld world)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(world);
        var origin = world.Start;
        var c = map.CellCm;
        var points = new List<(double X, double Y)>();
        foreach (var s in world.Segments)
        {
            var length = Math.Sqrt(((s.X2 - s.X1) * (s.X2 - s.X1)) + ((s.Y2 - s.Y1) * (s.Y2 - s.Y1)));
            var n = Math.Max(1, (int)Math.Ceiling(length));
            for (var i = 0; i <= n; i++)
            {
                var p = MapDrill.InMapFrame(new WorldPose(s.X1 + ((s.X2 - s.X1) * i / n), s.Y1 + ((s.Y2 - s.Y1) * i / n), 0), origin);
                points.Add((p.X, p.Y));
            }
        }

        var found = 0;
        var wallCells = new HashSet<(int, int)>();
        foreach (var (x, y) in points)
        {
            var (i, j) = map.CellOf(x, y);
            wallCells.Add((i, j));
            var hit = false;
            for (var dj = -1; dj <= 1 && !hit; dj++)
            {
                for (var di = -1; di <= 1 && !hit; di++)
                {
                    hit = map.LogOdds(i + di, j + dj) > 0;
                }
            }

            found += hit ? 1 : 0;
        }

        // Reachable cells: a flood fill from the start over cells no wall passes through, within the walls' bounds.
        var (minX, minY) = (points.Min(p => p.X), points.Min(p => p.Y));
        var (maxX, maxY) = (points.Max(p => p.X), points.Max(p => p.Y));
        var (loI, loJ) = map.CellOf(minX, minY);
        var (hiI, hiJ) = map.CellOf(maxX, maxY);
        var reached = new HashSet<(int, int)>();
        var queue = new Queue<(int, int)>();
        queue.Enqueue(map.CellOf(0, 0));
        while (queue.TryDequeue(out var cell))
        {
            var (i, j) = cell;
            if (i < loI || i > hiI || j < loJ || j > hiJ || wallCells.Contains(cell) || !reached.Add(cell))
            {
                continue;
            }

            queue.Enqueue((i + 1, j));
            queue.Enqueue((i - 1, j));
            queue.Enqueue((i, j + 1));
            queue.Enqueue((i, j - 1));
        }

        int freeCells = 0, free = 0;
        foreach (var (i, j) in reached)
        {
            var (cx, cy) = ((i + 0.5) * c, (j + 0.5) * c);
            if (points.Any(p => Math.Abs(p.X - cx) <= c && Math.Abs(p.Y - cy) <= c))
            {
                continue; // within a cell of a wall: partly wall, partly free
            }

            freeCells++;
            free += map.LogOdds(i, j) < 0 ? 1 : 0;
        }

        return new MapAgreement((double)found / points.Count, points.Count, freeCells == 0 ? 0 : (double)free / freeCells, freeCells);
    }
}
