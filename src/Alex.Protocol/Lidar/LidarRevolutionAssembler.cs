// Cuts the node stream into revolutions at the start flag (docs/lidar.md §5: S is set on the first
// node of each new 360° turn). Nodes before the first start flag belong to a turn seen only in part
// and are dropped; so is a turn that grows past MaxNodes without a start flag (a device whose S bit
// is stuck at 0 must not grow memory without bound).
namespace Alex.Protocol.Lidar;

/// <summary>One 360° turn, in the order the device measured it.</summary>
public sealed record LidarRevolution(IReadOnlyList<LidarScanNode> Nodes)
{
    /// <summary>Nodes with a measured distance (distance 0 means no return).</summary>
    public int MeasuredCount => Nodes.Count(n => n.HasDistance);
}

/// <summary>Collects nodes and hands out whole revolutions. Not thread-safe: one read loop owns it.</summary>
public sealed class LidarRevolutionAssembler
{
    /// <summary>Far above any device's samples per turn (A1 standard mode: about 360; A2/A3 faster modes: under 2,000).</summary>
    public const int MaxNodes = 4096;

    private List<LidarScanNode>? _current;

    /// <summary>Nodes thrown away: before the first start flag, or in a turn that overflowed.</summary>
    public long DroppedNodes { get; private set; }

    /// <summary>Adds a node; returns the revolution the node's start flag completed, if any.</summary>
    public LidarRevolution? Add(LidarScanNode node)
    {
        LidarRevolution? completed = null;
        if (node.Start)
        {
            if (_current is { Count: > 0 })
            {
                completed = new LidarRevolution(_current);
            }

            _current = new List<LidarScanNode>(400);
        }

        if (_current is null)
        {
            DroppedNodes++;
            return completed;
        }

        if (_current.Count >= MaxNodes)
        {
            DroppedNodes += _current.Count + 1;
            _current = null;
            return completed;
        }

        _current.Add(node);
        return completed;
    }

    /// <summary>Forgets the turn in progress (the scan was stopped or the port reopened).</summary>
    public void Reset()
    {
        if (_current is not null)
        {
            DroppedNodes += _current.Count;
        }

        _current = null;
    }
}
