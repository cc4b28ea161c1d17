using Alex.Protocol.AlexLink;

namespace Alex.Protocol.Tests.AlexLink;

/// <summary>Revolutions put back together from Scan parts (docs/protocol.md §4 "Scan").</summary>
public sealed class AlexLinkScanAssemblerTests
{
    private static AlexLinkScan Part(uint sequence, byte part, byte parts, params ushort[] angles) =>
        new(sequence, 1000 + sequence, part, parts, angles.Select(a => new ScanPoint(a, 500)).ToArray());

    [Fact]
    public void Offer_SinglePart_WholeRevolutionAtOnce()
    {
        var revolution = new AlexLinkScanAssembler().Offer(Part(3, 0, 1, 0, 100));

        Assert.NotNull(revolution);
        Assert.Equal((3u, 1003L, 2), (revolution.Sequence, revolution.CompletedUnixMs, revolution.Points.Count));
    }

    [Fact]
    public void Offer_ThreeParts_RevolutionAfterTheLastInOrder()
    {
        var assembler = new AlexLinkScanAssembler();

        Assert.Null(assembler.Offer(Part(4, 0, 3, 0)));
        Assert.Null(assembler.Offer(Part(4, 1, 3, 1)));
        var revolution = assembler.Offer(Part(4, 2, 3, 2));

        Assert.Equal([0, 1, 2], revolution!.Points.Select(p => (int)p.Angle));
    }

    [Fact]
    public void Offer_PartMissing_RevolutionDroppedNextOneWhole()
    {
        var assembler = new AlexLinkScanAssembler();
        Assert.Null(assembler.Offer(Part(5, 0, 3, 0)));
        Assert.Null(assembler.Offer(Part(5, 2, 3, 2)));
        Assert.Null(assembler.Offer(Part(6, 1, 2, 1)));

        Assert.Null(assembler.Offer(Part(7, 0, 2, 7)));
        Assert.Equal(2, assembler.Offer(Part(7, 1, 2, 8))!.Points.Count);
    }
}
