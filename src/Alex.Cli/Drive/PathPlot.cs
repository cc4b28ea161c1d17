// The path driven so far as a small braille plot for the terminal. Each character cell holds 2×4 dots
// (Unicode braille U+2800, dot bits below), so a 30×10 cell plot has 60×40 dots: fine enough to see a
// square drive. Screen up is the direction Alex faced at the start; left turns bend the path left.
//
// | dot (col,row) | bit  |   | dot | bit  |
// |---------------|------|---|-----|------|
// | (0,0)         | 0x01 |   | (1,0) | 0x08 |
// | (0,1)         | 0x02 |   | (1,1) | 0x10 |
// | (0,2)         | 0x04 |   | (1,2) | 0x20 |
// | (0,3)         | 0x40 |   | (1,3) | 0x80 |
using System.Text;
using Alex.Client;

namespace Alex.Cli.Drive;

internal static class PathPlot
{
    private static readonly int[,] DotBits = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };

    /// <summary>
    /// Renders <paramref name="path"/> into <paramref name="rows"/> lines of <paramref name="columns"/>
    /// characters; the current pose is drawn as an arrow showing the heading, and <paramref name="lidar"/>
    /// (points seen by the lidar, in the path's frame) as single dots. Returns the scale too.
    /// </summary>
    public static (IReadOnlyList<string> Lines, double CmPerDot) Render(IReadOnlyList<Pose> path, Pose current, int columns, int rows, IReadOnlyList<Pose>? lidar = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        lidar ??= [];
        columns = Math.Max(columns, 2);
        rows = Math.Max(rows, 2);
        var dotsX = columns * 2;
        var dotsY = rows * 4;

        // Screen coordinates in cm: right = -Y (Y grows to the left), up = X (forward at the start).
        double minX = 0, maxX = 0, minY = 0, maxY = 0;
        foreach (var p in path.Append(current).Concat(lidar))
        {
            minX = Math.Min(minX, -p.Y);
            maxX = Math.Max(maxX, -p.Y);
            minY = Math.Min(minY, p.X);
            maxY = Math.Max(maxY, p.X);
        }

        // One scale for both axes (braille dots are about square), at least 1 cm per dot, with a margin.
        var cmPerDot = Math.Max(1.0, Math.Max((maxX - minX) / (dotsX - 2), (maxY - minY) / (dotsY - 2)));
        var midX = (minX + maxX) / 2;
        var midY = (minY + maxY) / 2;
        var cells = new int[columns, rows];

        (int X, int Y) ToDot(Pose p) => (
            (int)Math.Round((dotsX / 2.0) + ((-p.Y - midX) / cmPerDot)),
            (int)Math.Round((dotsY / 2.0) - ((p.X - midY) / cmPerDot)));

        void Plot(int x, int y)
        {
            if (x >= 0 && y >= 0 && x < dotsX && y < dotsY)
            {
                cells[x / 2, y / 4] |= DotBits[x % 2, y % 4];
            }
        }

        var previous = ToDot(path.Count > 0 ? path[0] : current);
        Plot(previous.X, previous.Y);
        foreach (var pose in path.Skip(1).Append(current))
        {
            var next = ToDot(pose);
            Line(previous, next, Plot);
            previous = next;
        }

        foreach (var seen in lidar)
        {
            var dot = ToDot(seen);
            Plot(dot.X, dot.Y);
        }

        var here = ToDot(current);
        var lines = new List<string>(rows);
        var sb = new StringBuilder(columns);
        for (var r = 0; r < rows; r++)
        {
            sb.Clear();
            for (var c = 0; c < columns; c++)
            {
                sb.Append(c == Math.Clamp(here.X / 2, 0, columns - 1) && r == Math.Clamp(here.Y / 4, 0, rows - 1)
                    ? Arrow(current.HeadingDeg)
                    : (char)(0x2800 + cells[c, r]));
            }

            lines.Add(sb.ToString());
        }

        return (lines, cmPerDot);
    }

    /// <summary>The arrow for a heading (0 = up, counter-clockwise positive).</summary>
    public static char Arrow(double headingDeg)
    {
        var octant = (int)Math.Round(headingDeg / 45.0);
        octant = ((octant % 8) + 8) % 8;
        return "↑↖←↙↓↘→↗"[octant];
    }

    private static void Line((int X, int Y) a, (int X, int Y) b, Action<int, int> plot)
    {
        // Bresenham: every dot between two path points, so a straight drive is a solid line.
        int dx = Math.Abs(b.X - a.X), sx = a.X < b.X ? 1 : -1;
        int dy = -Math.Abs(b.Y - a.Y), sy = a.Y < b.Y ? 1 : -1;
        int err = dx + dy, x = a.X, y = a.Y;
        while (true)
        {
            plot(x, y);
            if (x == b.X && y == b.Y)
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
}
