using System.Buffers;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Lidar;

namespace Alex.Protocol.Tests.AlexLink;

/// <summary>The Scan push (docs/protocol.md §4 "Scan"): quantisation, the byte budget, splitting, hostile payloads.</summary>
public sealed class AlexLinkScanTests
{
    private static LidarRevolution Turn(int points) =>
        new(Enumerable.Range(0, points).Select(i => new LidarScanNode(i == 0, 30, (ushort)(i * LidarScanNode.FullTurnQ6 / points), (ushort)(4 * (500 + i)))).ToArray());

    [Fact]
    public void From_DeviceNode_AngleToTurnFractionDistanceToMillimetres()
    {
        Assert.Equal(new ScanPoint(16384, 1000), ScanPoint.From(new LidarScanNode(false, 1, 90 * 64, 4000)));
        Assert.Equal(new ScanPoint(65533, 1), ScanPoint.From(new LidarScanNode(false, 1, LidarScanNode.FullTurnQ6 - 1, 3)));
        Assert.Equal(0, ScanPoint.From(new LidarScanNode(false, 0, 0, 1)).DistanceMm);
    }

    [Fact]
    public void Split_A1Revolution_OneFrameWithinTheStatedBudget()
    {
        var parts = AlexLinkScan.Split(7, 1, Turn(360));

        var part = Assert.Single(parts);
        Assert.Equal(8 + 16 + (4 * 360), AlexLinkWriter.Encode(part).Length);
    }

    [Fact]
    public void Split_LongRevolution_PartsEachFitAFrameAndKeepEveryPoint()
    {
        var parts = AlexLinkScan.Split(7, 1, Turn(3000));

        Assert.Equal(3, parts.Count);
        Assert.All(parts, p => Assert.True(AlexLinkWriter.Encode(p).Length <= AlexLinkFrame.HeaderSize + AlexLinkFrame.MaxPayload));
        Assert.Equal(3000, parts.Sum(p => p.Points.Count));
        Assert.Equal([0, 1, 2], parts.Select(p => (int)p.Part));
        Assert.All(parts, p => Assert.Equal(3, p.Parts));
    }

    [Theory]
    [InlineData("1c001900000000002a000000b0d135c59a01000001010300000090010040e20400800000", "part 1 of 1")]
    [InlineData("1c001900000000002a000000b0d135c59a01000000000300000090010040e20400800000", "0 parts")]
    [InlineData("1c001900000000002a000000b0d135c59a01000000010400000090010040e20400800000", "4 points declared, 3 sent")]
    [InlineData("0c001900000000002a000000b0d135c59a010000", "cut before the count")]
    public void TryRead_HostileScan_BadFrameNotACrash(string hex, string why)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(hex));

        Assert.True(AlexLinkReader.TryRead(ref buffer, out _, out var error) == OperationStatus.InvalidData, why);
        Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
    }
}
