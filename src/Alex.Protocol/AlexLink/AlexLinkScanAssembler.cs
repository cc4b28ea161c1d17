// Puts a revolution split over several Scan frames back together (docs/protocol.md §4 "Scan"). The
// server may skip revolutions for a slow reader, never parts of one: a revolution whose parts stop
// coming is dropped when a newer one begins.
namespace Alex.Protocol.AlexLink;

/// <summary>A whole lidar revolution as a client has it.</summary>
public sealed record ScanRevolution(uint Sequence, long CompletedUnixMs, IReadOnlyList<ScanPoint> Points)
{
    /// <summary>Points with a return.</summary>
    public IEnumerable<ScanPoint> Measured => Points.Where(p => p.DistanceMm != 0);
}

/// <summary>Collects Scan parts. Not thread-safe: one reader owns it.</summary>
public sealed class AlexLinkScanAssembler
{
    private readonly List<ScanPoint> _points = [];
    private uint _sequence;
    private int _nextPart = -1;

    /// <summary>Takes a part; returns the revolution when this was its last part.</summary>
    public ScanRevolution? Offer(AlexLinkScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Part == 0)
        {
            _points.Clear();
            _sequence = scan.Sequence;
            _nextPart = 0;
        }

        if (scan.Sequence != _sequence || scan.Part != _nextPart)
        {
            _nextPart = -1; // a part missing: wait for the next revolution's first part
            return null;
        }

        _points.AddRange(scan.Points);
        _nextPart++;
        if (_nextPart < scan.Parts)
        {
            return null;
        }

        _nextPart = -1;
        return new ScanRevolution(scan.Sequence, scan.CompletedUnixMs, _points.ToArray());
    }
}
