using Alex.Client;
using Alex.Protocol.AlexLink;

namespace Alex.Client.Tests;

/// <summary>The console's lidar picture: ahead is up, the robot in the middle, braille on a terminal and plain text off one.</summary>
public sealed class LidarPictureTests
{
    private static ScanPoint At(double degrees, ushort mm) => new((ushort)(degrees / 360 * 65536), mm);

    [Fact]
    public void Render_Text_PointAheadAboveTheRobotPointRightToItsRight()
    {
        var lines = LidarPicture.Render([At(0, 1000), At(90, 1000), At(45, 0)], 11, 11, 2000, braille: false);

        Assert.Equal(11, lines.Count);
        Assert.All(lines, l => Assert.Equal(11, l.Length));
        Assert.Equal('A', lines[5][5]);
        // Ahead 1 m of ±2 m: a quarter of the height up (cells are twice as tall as wide, so half as many rows per metre).
        Assert.Equal(2, lines.Count(l => l.Contains('#', StringComparison.Ordinal)));
        Assert.Contains(lines.Take(5), l => l[5] == '#');
        Assert.Equal('#', lines[5][8]);
    }

    [Fact]
    public void Render_Braille_DotsInTheRightCellsAndOnlyBrailleCharacters()
    {
        var lines = LidarPicture.Render([At(0, 1000), At(180, 1000)], 10, 5, 2000, braille: true);

        Assert.All(lines.SelectMany(l => l), c => Assert.True(c is >= '\u2800' and <= '\u28FF' or '◆', $"U+{(int)c:X4}"));
        var dotted = lines.SelectMany((l, r) => l.Select((c, col) => (r, col, c))).Where(x => x.c is > '\u2800' and <= '\u28FF').ToList();
        Assert.Equal(2, dotted.Count);
        Assert.True(dotted[0].r < 2 && dotted[1].r > 2, string.Join("\n", lines));
    }

    [Fact]
    public void Render_OutOfRangeAndNoReturn_LeftOut()
    {
        var lines = LidarPicture.Render([At(0, 5000), At(90, 0)], 9, 9, 1000, braille: false);

        Assert.DoesNotContain(lines, l => l.Contains('#', StringComparison.Ordinal));
    }
}
