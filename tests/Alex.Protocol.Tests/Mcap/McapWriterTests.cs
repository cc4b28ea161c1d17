using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;
using Alex.Tests.Shared;

namespace Alex.Protocol.Tests.Mcap;

/// <summary>Whole files from <see cref="McapWriter"/>: their layout, read back by our reader and by the reference reader.</summary>
public sealed class McapWriterTests
{
    private const ulong Second = 1_000_000_000;
    private const ulong T0 = 1_767_225_600 * Second; // 2026-01-01T00:00:00Z

    // A small run: the four schemas, three channels, scans, poses and log lines over 5 s, in chunks of at most 2 s.
    private static byte[] SampleFile(out int messages)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new McapWriter(output, new McapWriterOptions { Library = "alexlink test" });
        writer.Start();
        var scanSchema = writer.AddSchema(FoxgloveMessages.LaserScanSchema, "jsonschema", FoxgloveMessages.Schema(FoxgloveMessages.LaserScanSchema));
        var poseSchema = writer.AddSchema(FoxgloveMessages.PoseInFrameSchema, "jsonschema", FoxgloveMessages.Schema(FoxgloveMessages.PoseInFrameSchema));
        var logSchema = writer.AddSchema(FoxgloveMessages.LogSchema, "jsonschema", FoxgloveMessages.Schema(FoxgloveMessages.LogSchema));
        var scan = writer.AddChannel(scanSchema, "/alex/scan", "json");
        var pose = writer.AddChannel(poseSchema, "/alex/pose", "json");
        var log = writer.AddChannel(logSchema, "/alex/log", "json", [new("source", "test")]);
        messages = 0;
        ScanPoint[] points = [new(0, 1000), new(16384, 400), new(32768, 0), new(49152, 2500)];
        for (ulong i = 0; i < 50; i++)
        {
            var t = T0 + (i * Second / 10);
            writer.AddMessage(scan, t, FoxgloveMessages.LaserScan(t, "odom", new PlanarPose(i * 0.01, 0, 0), points));
            writer.AddMessage(pose, t, FoxgloveMessages.PoseInFrame(t, "odom", new PlanarPose(i * 0.01, 0, 0)));
            messages += 2;
            if (i % 10 == 0)
            {
                writer.AddMessage(log, t, FoxgloveMessages.Log(t, FoxgloveLogLevel.Info, "laptop", $"f 10 50 -> OK ({i})"));
                messages++;
            }
        }

        writer.Finish();
        Assert.Equal(output.WrittenCount, writer.Position);
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void Finish_Layout_MagicHeaderDataEndSummaryFooterMagic()
    {
        var file = SampleFile(out _);
        Assert.True(file.AsSpan(0, 8).SequenceEqual(McapRecords.Magic));
        Assert.True(file.AsSpan(file.Length - 8).SequenceEqual(McapRecords.Magic));
        Assert.Equal((byte)McapOpcode.Header, file[8]);

        var footer = file.Length - 8 - McapRecords.FooterLength;
        Assert.Equal((byte)McapOpcode.Footer, file[footer]);
        var summaryStart = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(footer + 9));
        var summaryOffsetStart = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(footer + 17));
        var summaryCrc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(footer + 25));

        // Data End right before the summary, its CRC over every byte before it.
        var dataEnd = summaryStart - McapRecords.DataEndLength;
        Assert.Equal((byte)McapOpcode.DataEnd, file[dataEnd]);
        Assert.Equal(Crc32.Compute(file.AsSpan(0, dataEnd)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(dataEnd + 9)));
        Assert.Equal(Crc32.Compute(file.AsSpan(summaryStart, footer + 25 - summaryStart)), summaryCrc);

        // The summary: grouped by opcode in this order, each group named by a Summary Offset that points at it.
        var summary = Records(file, summaryStart, summaryOffsetStart);
        Assert.Equal(
            [McapOpcode.Schema, McapOpcode.Schema, McapOpcode.Schema, McapOpcode.Channel, McapOpcode.Channel, McapOpcode.Channel, McapOpcode.Statistics, McapOpcode.ChunkIndex, McapOpcode.ChunkIndex, McapOpcode.ChunkIndex],
            summary.Select(r => r.Op));
        var offsets = Records(file, summaryOffsetStart, footer);
        Assert.All(offsets, o => Assert.Equal(McapOpcode.SummaryOffset, o.Op));
        Assert.Equal([McapOpcode.Schema, McapOpcode.Channel, McapOpcode.Statistics, McapOpcode.ChunkIndex], offsets.Select(o => (McapOpcode)file[o.At + 9]));
        foreach (var o in offsets)
        {
            var group = summary.Where(r => r.Op == (McapOpcode)file[o.At + 9]).ToList();
            Assert.Equal((ulong)group[0].At, BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(o.At + 10)));
            Assert.Equal((ulong)group.Sum(r => r.Length), BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(o.At + 18)));
        }

        // The data section: header, schemas and channels, then chunks each followed by its message indexes.
        var data = Records(file, 8, dataEnd);
        Assert.Equal(McapOpcode.Header, data[0].Op);
        Assert.Equal(3, data.Count(r => r.Op == McapOpcode.Chunk));
        for (var i = 0; i < data.Count; i++)
        {
            if (data[i].Op == McapOpcode.Chunk)
            {
                Assert.Equal(McapOpcode.MessageIndex, data[i + 1].Op);
            }
        }
    }

    [Fact]
    public void ReadBack_OurReader_EveryMessageInOrder()
    {
        var file = SampleFile(out var count);

        Assert.True(McapReader.TryRead(file, out var contents, out var error), error?.ToString());
        Assert.Equal("alexlink test", contents!.Library);
        Assert.Equal(["/alex/scan", "/alex/pose", "/alex/log"], contents.Channels.Select(c => c.Topic));
        Assert.Equal(count, contents.Messages.Count);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (uint)i), contents.Messages.Where(m => m.ChannelId == 1).Select(m => m.Sequence));
        using var scan = JsonDocument.Parse(contents.Messages[0].Data);
        Assert.Equal(1_767_225_600, scan.RootElement.GetProperty("timestamp").GetProperty("sec").GetInt64());
        Assert.Equal(FoxgloveMessages.ScanBins, scan.RootElement.GetProperty("ranges").GetArrayLength());
    }

    [Fact]
    public void AddMessage_ChunkSpanReached_ClosesTheChunk()
    {
        var writer = new McapWriter(new ArrayBufferWriter<byte>(), new McapWriterOptions { ChunkSpan = TimeSpan.FromSeconds(2) });
        writer.Start();
        var channel = writer.AddChannel(0, "/t", "json");
        Assert.False(writer.AddMessage(channel, T0, "{}"u8));
        Assert.False(writer.AddMessage(channel, T0 + Second, "{}"u8));
        Assert.True(writer.AddMessage(channel, T0 + (2 * Second), "{}"u8));
        Assert.Equal(0, writer.PendingBytes);
        Assert.Equal(1, writer.ChunkCount);
    }

    [Fact]
    public void Finish_NoMessages_StillAValidFile()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new McapWriter(output);
        writer.Start();
        writer.Finish();
        Assert.True(McapReader.TryRead(output.WrittenMemory, out var contents, out var error), error?.ToString());
        Assert.Empty(contents!.Messages);
        Assert.Throws<InvalidOperationException>(() => writer.AddChannel(0, "/late", "json"));
    }

    [Fact]
    public void Read_CutAtEveryOffset_TruncatedErrorNeverAnException()
    {
        var file = SampleFile(out _);
        for (var cut = 0; cut < file.Length; cut += cut < 64 ? 1 : 97)
        {
            Assert.False(McapReader.TryRead(file.AsMemory(0, cut), out _, out var error), $"cut at {cut}");
            Assert.InRange(error!.Offset, 0, Math.Max(cut, 0));
            Assert.False(string.IsNullOrWhiteSpace(error.Text));
        }

        Assert.False(McapReader.TryRead(file.AsMemory(0, file.Length - 1), out _, out var last));
        Assert.Contains("truncated", last!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_FileCutMidRun_SaysTruncatedWithoutFooter()
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new McapWriter(output);
        writer.Start();
        var channel = writer.AddChannel(0, "/t", "json");
        writer.AddMessage(channel, T0, "{}"u8);
        writer.CloseChunk();

        Assert.False(McapReader.TryRead(output.WrittenMemory, out _, out var error));
        Assert.Equal(output.WrittenCount, error!.Offset);
        Assert.Equal("truncated: the file ends without a footer (cut off while recording?)", error.Text);
    }

    [Fact]
    public void Read_FlippedByteInAChunk_ChunkCrcError()
    {
        var file = SampleFile(out _);
        var chunk = Records(file, 8, file.Length - 8).First(r => r.Op == McapOpcode.Chunk);
        file[chunk.At + chunk.Length - 5] ^= 0x20;

        Assert.False(McapReader.TryRead(file, out _, out var error));
        Assert.Equal(chunk.At + 9, error!.Offset);
        Assert.StartsWith("corrupt: chunk CRC is 0x", error.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NotMcap_SaysSo()
    {
        Assert.False(McapReader.TryRead(Encoding.ASCII.GetBytes("{\"json\": true}\n"), out _, out var error));
        Assert.Equal(new McapReadError(0, "not an MCAP file (no MCAP magic at the start)"), error);
        Assert.False(McapReader.TryRead(Array.Empty<byte>(), out _, out error));
        Assert.Equal("the file is empty", error!.Text);
    }

    [Fact]
    public void Read_HostileLengths_ErrorsNeverExceptions()
    {
        var file = SampleFile(out _);
        var random = new Random(19);
        for (var i = 0; i < 300; i++)
        {
            var bad = (byte[])file.Clone();
            for (var k = 0; k < 3; k++)
            {
                bad[random.Next(8, bad.Length)] = (byte)random.Next(256);
            }

            // Either still valid (a byte of JSON text in a chunk is caught by the CRC, so rarely) or a clear error.
            if (!McapReader.TryRead(bad, out _, out var error))
            {
                Assert.InRange(error!.Offset, 0, bad.Length);
            }
        }
    }

    [McapReferenceFact]
    public async Task ReferenceReader_ReadsEveryRecord_CrcsChecked()
    {
        var file = SampleFile(out var count);
        var path = Path.Combine(Directory.CreateTempSubdirectory("alex-mcap-").FullName, "sample.mcap");
        await File.WriteAllBytesAsync(path, file);

        var read = await McapReferenceReader.ReadAsync(path);

        Assert.Equal("alexlink test", read.GetProperty("header").GetProperty("library").GetString());
        Assert.Equal(["foxglove.LaserScan", "foxglove.PoseInFrame", "foxglove.Log"], read.GetProperty("schemas").EnumerateArray().Select(s => s.GetProperty("title").GetString()));
        Assert.All(read.GetProperty("schemas").EnumerateArray(), s => Assert.Equal("jsonschema", s.GetProperty("encoding").GetString()));
        Assert.Equal("checked", read.GetProperty("summaryCrc").GetString());
        Assert.Equal("checked", read.GetProperty("dataSectionCrc").GetString());
        Assert.Equal(3, read.GetProperty("chunkIndexes").GetInt32());
        Assert.Equal(count, read.GetProperty("statistics").GetProperty("messageCount").GetInt32());
        var records = read.GetProperty("records");
        Assert.Equal(3, records.GetProperty("Chunk").GetInt32());
        Assert.Equal(1, records.GetProperty("DataEnd").GetInt32());
        Assert.Equal(1, records.GetProperty("Footer").GetInt32());
        Assert.Equal(count, records.GetProperty("Message").GetInt32());
        foreach (var way in new[] { "indexed", "streamed" })
        {
            var counts = read.GetProperty("messages").GetProperty(way);
            Assert.Equal(50, counts.GetProperty("/alex/scan").GetInt32());
            Assert.Equal(50, counts.GetProperty("/alex/pose").GetInt32());
            Assert.Equal(5, counts.GetProperty("/alex/log").GetInt32());
        }

        var log = read.GetProperty("first").GetProperty("/alex/log");
        Assert.Equal("f 10 50 -> OK (0)", log.GetProperty("message").GetString());
        Assert.Equal(2, log.GetProperty("level").GetInt32());
    }

    [McapReferenceFact]
    public async Task ReferenceReader_CorruptChunk_Refused()
    {
        var file = SampleFile(out _);
        var chunk = Records(file, 8, file.Length - 8).First(r => r.Op == McapOpcode.Chunk);
        file[chunk.At + chunk.Length - 5] ^= 0x20;
        var path = Path.Combine(Directory.CreateTempSubdirectory("alex-mcap-").FullName, "corrupt.mcap");
        await File.WriteAllBytesAsync(path, file);

        Assert.Contains("CRC", await McapReferenceReader.RefusalAsync(path), StringComparison.Ordinal);
    }

    // The records between two offsets: (opcode, where it starts, its whole length).
    private static List<(McapOpcode Op, int At, int Length)> Records(byte[] file, int from, int to)
    {
        var list = new List<(McapOpcode, int, int)>();
        for (var at = from; at < to;)
        {
            var length = 9 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at + 1));
            list.Add(((McapOpcode)file[at], at, length));
            at += length;
        }

        return list;
    }
}
