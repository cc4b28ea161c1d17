using Alex.Protocol.Lidar;

namespace Alex.Protocol.Tests.Lidar;

/// <summary>Revolutions cut at the start flag (docs/lidar.md §5).</summary>
public sealed class LidarRevolutionAssemblerTests
{
    private static LidarScanNode Node(bool start, int degrees) => new(start, 10, (ushort)(degrees * 64), 4000);

    [Fact]
    public void Add_StartFlag_CompletesThePreviousTurn()
    {
        var assembler = new LidarRevolutionAssembler();
        Assert.Null(assembler.Add(Node(true, 0)));
        Assert.Null(assembler.Add(Node(false, 120)));
        Assert.Null(assembler.Add(Node(false, 240)));

        var turn = assembler.Add(Node(true, 1));

        Assert.NotNull(turn);
        Assert.Equal([0.0, 120.0, 240.0], turn.Nodes.Select(n => n.AngleDegrees));
        Assert.Equal(0, assembler.DroppedNodes);
    }

    [Fact]
    public void Add_NodesBeforeFirstStart_DroppedAsAPartialTurn()
    {
        var assembler = new LidarRevolutionAssembler();
        assembler.Add(Node(false, 300));
        assembler.Add(Node(false, 310));
        assembler.Add(Node(true, 0));
        assembler.Add(Node(false, 180));

        var turn = assembler.Add(Node(true, 0));

        Assert.Equal(2, turn!.Nodes.Count);
        Assert.Equal(2, assembler.DroppedNodes);
    }

    [Fact]
    public void Add_StartBitStuckAtZero_MemoryBoundedAndCounted()
    {
        var assembler = new LidarRevolutionAssembler();
        assembler.Add(Node(true, 0));
        for (var i = 0; i < LidarRevolutionAssembler.MaxNodes * 3; i++)
        {
            Assert.Null(assembler.Add(Node(false, i % 360)));
        }

        Assert.Null(assembler.Add(Node(true, 0)));
        Assert.Equal(LidarRevolutionAssembler.MaxNodes * 3 + 1, assembler.DroppedNodes);
    }

    [Fact]
    public void Reset_TurnInProgress_DroppedAndNextStartBeginsAfresh()
    {
        var assembler = new LidarRevolutionAssembler();
        assembler.Add(Node(true, 0));
        assembler.Add(Node(false, 90));
        assembler.Reset();

        Assert.Null(assembler.Add(Node(true, 0)));
        Assert.Equal(2, assembler.DroppedNodes);
    }
}
