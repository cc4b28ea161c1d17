// A lidar revolution drawn with text, for the console: the robot in the middle, straight ahead up,
// each point a dot. On a terminal every character is a 2×4 braille cell (U+2800 + dot bits: dots 1-3
// and 7 down the left column, 4-6 and 8 down the right), so an 40×20 view has 80×80 dots; off a
// terminal plain '#' per character, which any log or pipe keeps.
using System.Text;
using Alex.Protocol.AlexLink;

namespace Alex.Client;

/// <summary>Renders lidar points as lines of text. Pure.</summary>
public static class LidarPicture
{
    // Braille dot bit for the dot at (column 0-1, row 0-3) of a cell.
    private static readonly int[,] DotBits = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };

    /// <summary>
    /// Draws <paramref name="points"/> in a <paramref name="columns"/> × <paramref name="rows"/> box covering
    /// ±<paramref name="rangeMm"/> around the robot (marked 'A' in text mode, the middle cell in braille).
    /// </summary>
    public static IReadOnlyList<string> Render(IEnumerable<ScanPoint> points, int columns, int rows, double rangeMm, bool braille)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 3);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rangeMm);
        var (dotsX, dotsY) = braille ? (2, 4) : (1, 1);
        var width = columns * dotsX;
        var height = rows * dotsY;
        // A terminal cell is about twice as tall as wide: scale y by the cell shape so circles stay round.
        var aspect = braille ? 1.0 : 0.5;
        var cells = new int[rows, columns];
        foreach (var p in points)
        {
            if (p.DistanceMm == 0)
            {
                continue;
            }

            // Angle clockwise from ahead; ahead is up, so right of the robot is +x.
            var a = p.AngleDegrees * Math.PI / 180;
            var x = p.DistanceMm * Math.Sin(a) / rangeMm;
            var y = -p.DistanceMm * Math.Cos(a) / rangeMm;
            var dx = (int)Math.Floor((x + 1) / 2 * width);
            var dy = (int)Math.Floor(((y * aspect * width / height) + 1) / 2 * height);
            if (dx < 0 || dx >= width || dy < 0 || dy >= height)
            {
                continue;
            }

            cells[dy / dotsY, dx / dotsX] |= braille ? DotBits[dx % 2, dy % 4] : 1;
        }

        var lines = new string[rows];
        var text = new StringBuilder(columns);
        for (var r = 0; r < rows; r++)
        {
            text.Clear();
            for (var c = 0; c < columns; c++)
            {
                var robot = r == rows / 2 && c == columns / 2;
                text.Append(braille
                    ? robot ? '◆' : (char)(0x2800 + cells[r, c])
                    : robot ? 'A' : cells[r, c] != 0 ? '#' : '.');
            }

            lines[r] = text.ToString();
        }

        return lines;
    }
}
