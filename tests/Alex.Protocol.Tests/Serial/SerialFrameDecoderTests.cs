using Alex.Protocol.Serial;
using Alex.Tests.Shared;
using FsCheck.Xunit;

namespace Alex.Protocol.Tests.Serial;

/// <summary>
/// The streaming decoder (PROTOCOL.md §2, "ours must do better"): recorded streams, every vector split
/// at every offset, noise before and between frames, a lost byte, and arbitrary packets and chunkings.
/// </summary>
public sealed class SerialFrameDecoderTests
{
    public static TheoryData<int> SerialVectors => GoldenVectors.Indexes(v => v.Channel == "serial");

    private static GoldenVector Vector(string descriptionStart) =>
        GoldenVectors.Serial.Single(v => v.Description.StartsWith(descriptionStart, StringComparison.Ordinal));

    [Fact]
    public void TryRead_StrayByteThenThreeFrames_ReportsNoiseThenEveryFrame()
    {
        var v = Vector("STREAM: 1 stray byte");

        var results = Feed([v.Bytes]);

        Assert.Equal(
            ["noise (1 bytes)", "frame RESPONSE Ok", "frame RESPONSE Ok", "frame RESPONSE Ok"],
            results.Select(r => r.ToString()));
        Assert.All(results.Skip(1), r => Assert.Equal(SerialPacket.Ok(), r.Packet));
    }

    [Fact]
    public void TryDecode_StrayByteThenThreeFrames_CourseBlocksAreAllBad()
    {
        // The course receiver cuts fixed 140-byte blocks: the stray byte spoils all three.
        var v = Vector("STREAM: 1 stray byte");
        var expected = v.Raw.GetProperty("expected_results_per_140_byte_block").EnumerateArray().Select(e => e.GetString()).ToArray();

        var actual = Enumerable.Range(0, v.Bytes.Length / SerialFrame.Size)
            .Select(i => SerialFrame.TryDecode(v.Bytes.AsSpan(i * SerialFrame.Size, SerialFrame.Size), out _))
            .Select(s => s == FrameStatus.BadMagic ? "PACKET_BAD" : s.ToString())
            .ToArray();

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void TryRead_TwoFramesInOneRead_ReturnsBothWithoutMoreBytes()
    {
        var v = Vector("STREAM: RESP_OK + RESP_STATUS");
        var decoder = new SerialFrameDecoder();
        decoder.Append(v.Bytes);

        Assert.True(decoder.TryRead(out var first));
        Assert.True(decoder.TryRead(out var second));
        Assert.False(decoder.TryRead(out _));

        Assert.Equal(SerialPacket.Ok(), first.Packet);
        Assert.NotNull(second.Packet);
        Assert.True(second.Packet.IsStatus);
        Assert.Equal(v.Raw.GetProperty("second_call_with_1_new_byte").GetProperty("params0").GetUInt32(), second.Packet.Params[0]);
        Assert.Equal(0, decoder.Buffered);
    }

    [Theory]
    [MemberData(nameof(SerialVectors))]
    public void TryRead_VectorSplitAtEveryOffset_SameResultsAsWhole(int index)
    {
        var bytes = GoldenVectors.Items[index].Bytes;
        var whole = Describe(Feed([bytes]));

        for (var cut = 1; cut < bytes.Length; cut++)
        {
            Assert.Equal(whole, Describe(Feed([bytes[..cut], bytes[cut..]])));
        }

        Assert.Equal(whole, Describe(Feed(bytes.Select(b => new[] { b }).ToArray())));
    }

    [Theory]
    [MemberData(nameof(SerialVectors))]
    public void TryRead_Vector_AccountsForEveryByte(int index)
    {
        var bytes = GoldenVectors.Items[index].Bytes;

        var results = Feed([bytes]);

        Assert.Equal(bytes.Length, results.Sum(r => r.ByteCount));
    }

    [Theory]
    [MemberData(nameof(SerialVectors))]
    public void TryRead_Vector_AgreesWithWholeFrameDecode(int index)
    {
        var v = GoldenVectors.Items[index];
        if (v.Bytes.Length != SerialFrame.Size)
        {
            return; // the two stream vectors have their own tests above
        }

        var status = SerialFrame.TryDecode(v.Bytes, out var packet);
        var results = Feed([v.Bytes]);

        switch (status)
        {
            case FrameStatus.Ok:
                Assert.Equal(SerialReadKind.Frame, Assert.Single(results).Kind);
                Assert.Equal(packet, results[0].Packet);
                break;
            case FrameStatus.BadChecksum:
                Assert.Equal(SerialReadKind.BadChecksum, Assert.Single(results).Kind);
                break;
            default:
                Assert.All(results, r => Assert.Equal(SerialReadKind.Noise, r.Kind));
                break;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(139)]
    [InlineData(140)]
    [InlineData(141)]
    [InlineData(500)]
    public void TryRead_GarbageBeforeAndBetweenFrames_ResyncsOnEveryFrame(int garbageLength)
    {
        var frames = new[] { SerialPacket.Ok(), SerialPacket.StatusReply(new(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), SerialPacket.Message("hi") };
        var rng = new Random(garbageLength);
        var stream = new List<byte>();
        foreach (var p in frames)
        {
            stream.AddRange(Garbage(rng, garbageLength));
            stream.AddRange(SerialFrame.Encode(p));
        }

        var results = Feed([stream.ToArray()]);

        Assert.Equal(frames, results.Where(r => r.Kind == SerialReadKind.Frame).Select(r => r.Packet));
        Assert.Equal(garbageLength * frames.Length, results.Where(r => r.Kind == SerialReadKind.Noise).Sum(r => r.ByteCount));
        Assert.DoesNotContain(results, r => r.Kind == SerialReadKind.BadChecksum);
        // A run of noise is reported at most once per frame length.
        Assert.All(results, r => Assert.InRange(r.ByteCount, 1, SerialFrame.Size));
    }

    [Fact]
    public void TryRead_GarbageEndingInMagicPrefix_HeldUntilFlush()
    {
        var decoder = new SerialFrameDecoder();
        decoder.Append([0x10, 0x20, 0xFF, 0xFE]);

        Assert.False(decoder.TryRead(out _));
        Assert.True(decoder.FlushNoise(out var noise));
        Assert.Equal(SerialReadResult.NoiseOf(4), noise);
        Assert.Equal(0, decoder.Buffered);
    }

    [Fact]
    public void TryRead_FrameAfterFlushedNoise_StillDecodes()
    {
        var decoder = new SerialFrameDecoder();
        decoder.Append([0x55]);
        Assert.False(decoder.TryRead(out _));
        Assert.True(decoder.FlushNoise(out var noise));
        Assert.Equal(SerialReadResult.NoiseOf(1), noise);
        decoder.Append(SerialFrame.Encode(SerialPacket.Ok()));

        Assert.True(decoder.TryRead(out var r));
        Assert.Equal(SerialPacket.Ok(), r.Packet);
    }

    public static TheoryData<int> LostBytePositions()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < SerialFrame.Size; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LostBytePositions))]
    public void TryRead_ByteLostInMiddleFrame_FramesAroundItSurvive(int lost)
    {
        // Every clean arduino->pi reply kind as the damaged frame, so checksums 00 and 01 are covered.
        foreach (var middle in GoldenVectors.Serial.Where(v => v.Raw.TryGetProperty("roundtrip_whole", out _)))
        {
            var before = SerialPacket.Message("before");
            var after = SerialPacket.StatusReply(new(7, 7, 0, 0, 0, 0, 0, 0, 1, 0));
            var damaged = middle.Bytes.Where((_, i) => i != lost).ToArray();
            byte[] stream = [.. SerialFrame.Encode(before), .. damaged, .. SerialFrame.Encode(after)];

            var results = Feed([stream]);

            var frames = results.Where(r => r.Kind == SerialReadKind.Frame).Select(r => r.Packet!).ToList();
            Assert.Equal(before, frames[0]);
            Assert.Equal(after, frames[^1]);
            Assert.Equal(stream.Length, results.Sum(r => r.ByteCount));
        }
    }

    [Fact]
    public void TryRead_FrameWhoseLastUnusedByteIsFF_KeepsThatByteForTheNextScan()
    {
        // The price of surviving a lost byte: a sender's FF in the last unused byte becomes 1 byte of noise.
        var frame = SerialFrame.Encode(SerialPacket.Ok());
        frame[^1] = 0xFF;
        var results = Feed([frame, SerialFrame.Encode(SerialPacket.Ok())]);

        Assert.Equal(["frame RESPONSE Ok", "noise (1 bytes)", "frame RESPONSE Ok"], Describe(results));
        Assert.Equal(2 * SerialFrame.Size, results.Sum(r => r.ByteCount));
    }

    [Property(MaxTest = 300)]
    public bool EncodeDecode_ArbitraryPacket_RoundTrips(byte type, byte code, byte[] data, uint[] parameters)
    {
        var packet = new SerialPacket((PacketType)type, code, (data ?? []).Take(SerialPacket.DataLength).ToArray(), (parameters ?? []).Take(SerialPacket.ParamCount).ToArray());

        var frame = SerialFrame.Encode(packet);

        return SerialFrame.TryDecode(frame, out var decoded) == FrameStatus.Ok && packet.Equals(decoded);
    }

    [Property(MaxTest = 200)]
    public bool TryRead_ArbitraryPacketsAndChunking_YieldsThePacketsInOrder(byte[][] seeds, int[] cuts)
    {
        var packets = (seeds ?? []).Where(s => s is not null).Take(6)
            .Select(s => new SerialPacket(
                (PacketType)(s.Length > 0 ? s[0] : 0),
                s.Length > 1 ? s[1] : (byte)0,
                s.Skip(2).Take(SerialPacket.DataLength).ToArray(),
                s.Skip(2).Select(b => (uint)b * 0x01010101u).Take(SerialPacket.ParamCount).ToArray()))
            .ToList();
        var stream = packets.SelectMany(SerialFrame.Encode).ToArray();
        var chunks = Chunk(stream, cuts ?? []);

        var results = Feed(chunks);

        return results.All(r => r.Kind == SerialReadKind.Frame) && results.Select(r => r.Packet!).SequenceEqual(packets);
    }

    [Property(MaxTest = 200)]
    public bool TryRead_ArbitraryBytes_NeverLosesCount(byte[] noise, int[] cuts)
    {
        // Hostile input: whatever arrives, every byte is either in a result or still buffered.
        var bytes = noise ?? [];
        var decoder = new SerialFrameDecoder();
        var counted = 0;
        foreach (var chunk in Chunk(bytes, cuts ?? []))
        {
            decoder.Append(chunk);
            while (decoder.TryRead(out var r))
            {
                counted += r.ByteCount;
            }
        }

        return counted + decoder.Buffered + decoder.PendingNoise == bytes.Length;
    }

    private static byte[][] Chunk(byte[] stream, int[] cuts)
    {
        var points = cuts.Select(c => (int)((uint)c % (uint)(stream.Length + 1))).Append(0).Append(stream.Length).Distinct().Order().ToArray();
        return points.Zip(points.Skip(1), (a, b) => stream[a..b]).ToArray();
    }

    // Garbage that holds no magic byte, so it can never start a frame.
    private static byte[] Garbage(Random rng, int n)
    {
        var g = new byte[n];
        rng.NextBytes(g);
        for (var i = 0; i < n; i++)
        {
            g[i] &= 0x7F;
        }

        return g;
    }

    private static List<SerialReadResult> Feed(byte[][] chunks)
    {
        var decoder = new SerialFrameDecoder();
        var results = new List<SerialReadResult>();
        foreach (var chunk in chunks)
        {
            decoder.Append(chunk);
            while (decoder.TryRead(out var r))
            {
                results.Add(r);
            }
        }

        if (decoder.FlushNoise(out var tail))
        {
            results.Add(tail);
        }

        return results;
    }

    private static List<string> Describe(List<SerialReadResult> results) => results.ConvertAll(r => r.ToString());
}
