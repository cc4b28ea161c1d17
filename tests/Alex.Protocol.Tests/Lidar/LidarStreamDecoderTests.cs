using Alex.Protocol.Lidar;
using FsCheck;
using FsCheck.Xunit;

namespace Alex.Protocol.Tests.Lidar;

/// <summary>
/// The streaming reader (docs/lidar.md §6): a recorded session (info, health, scan) split at every
/// offset, noise before and inside the node stream, bad check bits, a node cut short, a stop and a
/// new descriptor, hostile descriptors, and arbitrary bytes.
/// </summary>
public sealed class LidarStreamDecoderTests
{
    private static readonly byte[] InfoPacket = [0x18, 0x1D, 0x01, 0x07, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    private static readonly LidarScanNode[] Turn =
    [
        new(true, 47, 0, 4000),
        new(false, 47, 5760, 2000),
        new(false, 0, 11520, 0),
        new(false, 30, 17280, 1234),
    ];

    // A host's view of GET_INFO, GET_HEALTH then SCAN: every descriptor from the protocol document.
    private static byte[] Session() =>
    [
        0xA5, 0x5A, 0x14, 0x00, 0x00, 0x00, 0x04, .. InfoPacket,
        0xA5, 0x5A, 0x03, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
        0xA5, 0x5A, 0x05, 0x00, 0x00, 0x40, 0x81, .. LidarCodecTests.Nodes(Turn), .. LidarCodecTests.Nodes(Turn[0]),
    ];

    private static readonly string[] SessionResults =
    [
        "descriptor OneResponse type 0x04 length 20",
        "info model 24, firmware 1.29, hardware 7, serial 000102030405060708090A0B0C0D0E0F",
        "descriptor OneResponse type 0x06 length 3",
        "health good",
        "descriptor Stream type 0x81 length 5",
        "node S 0.00° 1000.00 mm q47",
        "node 90.00° 500.00 mm q47",
        "node 180.00° 0.00 mm q0",
        "node 270.00° 308.50 mm q30",
        "node S 0.00° 1000.00 mm q47",
    ];

    [Fact]
    public void TryRead_RecordedSession_EveryResultInOrder()
    {
        Assert.Equal(SessionResults, Feed([Session()]));
    }

    [Fact]
    public void TryRead_SessionSplitAtEveryOffset_SameResults()
    {
        var bytes = Session();
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.Equal(SessionResults, Feed([bytes[..cut], bytes[cut..]]));
        }

        Assert.Equal(SessionResults, Feed(bytes.Select(b => new[] { b }).ToArray()));
    }

    [Fact]
    public void TryRead_NoiseBeforeDescriptor_ReportedOnceThenSession()
    {
        var results = Feed([[0x00, 0xA5, 0x13, 0x5A, 0xFF], Session()]);

        Assert.Equal(["noise (5 bytes)", .. SessionResults], results);
    }

    [Fact]
    public void TryRead_StrayByteInsideNodeStream_ResyncsOnNextGoodNode()
    {
        // 0x00 has S = !S = 0: never a node start, so the reader slides one byte and finds the next node.
        byte[] bytes = [.. LidarDescriptor.ForScan.ToArray(), .. LidarCodecTests.Nodes(Turn[0]), 0x00, .. LidarCodecTests.Nodes(Turn[1], Turn[2])];

        Assert.Equal(
            ["descriptor Stream type 0x81 length 5", "node S 0.00° 1000.00 mm q47", "noise (1 bytes)", "node 90.00° 500.00 mm q47", "node 180.00° 0.00 mm q0"],
            Feed([bytes]));
    }

    [Fact]
    public void TryRead_BadCheckBit_NodeRejectedAndCountedAsNoise()
    {
        var bad = LidarCodecTests.Nodes(Turn[1]);
        bad[1] &= 0xFE;
        byte[] bytes = [.. LidarDescriptor.ForScan.ToArray(), .. bad, .. LidarCodecTests.Nodes(Turn[2])];

        var results = Feed([bytes]);

        Assert.DoesNotContain("node 90.00° 500.00 mm q47", results);
        Assert.Equal("node 180.00° 0.00 mm q0", results[^1]);
        Assert.Equal(bad.Length, results.Where(r => r.StartsWith("noise", StringComparison.Ordinal)).Sum(r => int.Parse(r[7..r.IndexOf(' ', 7)], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void TryRead_TruncatedNode_WaitsThenResyncsOnNextNode()
    {
        var decoder = new LidarStreamDecoder();
        decoder.Append(LidarDescriptor.ForScan.ToArray());
        decoder.Append(LidarCodecTests.Nodes(Turn[1]).AsSpan(0, 3));
        Assert.True(decoder.TryRead(out var descriptor));
        Assert.Equal(LidarReadKind.Descriptor, descriptor.Kind);
        Assert.False(decoder.TryRead(out _));

        // The node lost its last two bytes on the line; the next node follows right after.
        decoder.Append(LidarCodecTests.Nodes(Turn[3], Turn[2]));
        var results = Drain(decoder);

        Assert.Contains("node 180.00° 0.00 mm q0", results);
        Assert.Equal(3 + 10, results.Sum(Bytes));
    }

    [Fact]
    public void TryRead_StopThenNewRequest_StaleNodesAreNoiseUntilTheDescriptor()
    {
        var decoder = new LidarStreamDecoder();
        decoder.Append([.. LidarDescriptor.ForScan.ToArray(), .. LidarCodecTests.Nodes(Turn[0])]);
        Assert.Equal(2, Drain(decoder).Count);

        decoder.ExpectResponse();
        decoder.Append([.. LidarCodecTests.Nodes(Turn[1], Turn[2]), .. LidarDescriptor.ForHealth.ToArray(), 0x01, 0x02, 0x00]);

        Assert.Equal(["noise (10 bytes)", "descriptor OneResponse type 0x06 length 3", "health warning (error code 0x0002)"], Drain(decoder));
        Assert.Null(decoder.Response);
    }

    [Fact]
    public void TryRead_DescriptorInsideNodeStream_StartsTheNewResponse()
    {
        byte[] bytes = [.. LidarDescriptor.ForScan.ToArray(), .. LidarCodecTests.Nodes(Turn[0]), .. LidarDescriptor.ForScan.ToArray(), .. LidarCodecTests.Nodes(Turn[1])];

        Assert.Equal(
            ["descriptor Stream type 0x81 length 5", "node S 0.00° 1000.00 mm q47", "descriptor Stream type 0x81 length 5", "node 90.00° 500.00 mm q47"],
            Feed([bytes]));
    }

    [Fact]
    public void TryRead_HugeDeclaredLength_IsNoiseNotAWait()
    {
        byte[] bytes = [0xA5, 0x5A, 0xFF, 0xFF, 0xFF, 0x3F, 0x04, .. LidarDescriptor.ForHealth.ToArray(), 0, 0, 0];

        Assert.Equal(["noise (7 bytes)", "descriptor OneResponse type 0x06 length 3", "health good"], Feed([bytes]));
    }

    [Fact]
    public void TryRead_UnknownType_SkippedWholeAsPacket()
    {
        byte[] bytes = [0xA5, 0x5A, 0x04, 0x00, 0x00, 0x00, 0x15, 1, 2, 3, 4, .. LidarDescriptor.ForHealth.ToArray(), 0, 0, 0];

        Assert.Equal(["descriptor OneResponse type 0x15 length 4", "packet (4 bytes)", "descriptor OneResponse type 0x06 length 3", "health good"], Feed([bytes]));
    }

    [Fact]
    public void TryRead_LongGarbage_ReportedInBoundedPieces()
    {
        var decoder = new LidarStreamDecoder();
        decoder.Append(new byte[1000]);

        var results = Drain(decoder);
        Assert.True(decoder.FlushNoise(out var rest));

        Assert.All(results, r => Assert.Equal("noise (64 bytes)", r));
        Assert.Equal(1000, results.Sum(Bytes) + rest.ByteCount);
        Assert.Equal(0, decoder.Buffered);
    }

    [Fact]
    public void FlushNoise_PartialDescriptorAtIdle_ReportedAsNoise()
    {
        var decoder = new LidarStreamDecoder();
        decoder.Append([0x01, 0xA5, 0x5A, 0x05]);
        Assert.False(decoder.TryRead(out _));

        Assert.True(decoder.FlushNoise(out var noise));
        Assert.Equal(4, noise.ByteCount);
        Assert.False(decoder.FlushNoise(out _));
    }

    [Property(MaxTest = 200)]
    public bool TryRead_ArbitraryBytes_NeverThrowsAndAccountsForEveryByte(byte[] bytes, PositiveInt chunk)
    {
        var decoder = new LidarStreamDecoder();
        var total = 0;
        for (var i = 0; i < bytes.Length; i += chunk.Get)
        {
            decoder.Append(bytes.AsSpan(i, Math.Min(chunk.Get, bytes.Length - i)));
            while (decoder.TryRead(out var r))
            {
                total += r.ByteCount;
            }
        }

        while (decoder.FlushNoise(out var n))
        {
            total += n.ByteCount;
        }

        return total + decoder.Buffered == bytes.Length;
    }

    [Property(MaxTest = 100)]
    public bool TryRead_NoiseThenNodes_EveryNodeAfterResyncDelivered(NonEmptyArray<byte> noise, byte[] seeds)
    {
        // Noise without 0xA5 5A cannot fake a descriptor; noise may fake nodes, but once the real nodes start
        // the reader is aligned and every one of them arrives.
        var nodes = seeds.Select((s, i) => new LidarScanNode(i == 0, (byte)(s % 64), (ushort)(s * 80), (ushort)(s * 7))).ToArray();
        byte[] bytes = [.. LidarDescriptor.ForScan.ToArray(), .. noise.Get.Select(b => (byte)(b & 0xFC)), .. LidarCodecTests.Nodes(nodes)];

        var results = Feed([bytes]);

        return results.Where(r => r.StartsWith("node", StringComparison.Ordinal)).TakeLast(nodes.Length)
            .SequenceEqual(nodes.Select(n => $"node {n}"));
    }

    private static int Bytes(string result) => result switch
    {
        _ when result.StartsWith("noise (", StringComparison.Ordinal) => int.Parse(result[7..result.IndexOf(' ', 7)], System.Globalization.CultureInfo.InvariantCulture),
        _ when result.StartsWith("node", StringComparison.Ordinal) => 5,
        _ when result.StartsWith("descriptor", StringComparison.Ordinal) => 7,
        _ => 0,
    };

    private static List<string> Feed(byte[][] chunks)
    {
        var decoder = new LidarStreamDecoder();
        var results = new List<string>();
        foreach (var chunk in chunks)
        {
            decoder.Append(chunk);
            results.AddRange(Drain(decoder));
        }

        if (decoder.FlushNoise(out var noise))
        {
            results.Add(noise.ToString());
        }

        return results;
    }

    private static List<string> Drain(LidarStreamDecoder decoder)
    {
        var results = new List<string>();
        while (decoder.TryRead(out var result))
        {
            results.Add(result.ToString());
        }

        return results;
    }
}
