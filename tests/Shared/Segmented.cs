using System.Buffers;

namespace Alex.Tests.Shared;

/// <summary>Builds a ReadOnlySequence whose segments break at given offsets, to test readers against split input.</summary>
public static class Segmented
{
    /// <summary>The bytes in two segments, split at <paramref name="cut"/> (an empty first segment when cut is 0).</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, int cut) => Of(bytes, [cut]);

    /// <summary>The bytes in segments split at each offset (ascending, within the array).</summary>
    public static ReadOnlySequence<byte> Of(byte[] bytes, IReadOnlyList<int> cuts)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(cuts);
        var bounds = cuts.Where(c => c >= 0 && c <= bytes.Length).Distinct().Order().Prepend(0).Append(bytes.Length).ToList();
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i + 1 < bounds.Count; i++)
        {
            var part = bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]);
            if (first is null)
            {
                first = last = new Segment(part, 0);
            }
            else
            {
                last = last!.Append(part);
            }
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
