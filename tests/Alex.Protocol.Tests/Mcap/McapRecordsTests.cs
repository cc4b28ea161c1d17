using System.Buffers;
using Alex.Protocol.Mcap;

namespace Alex.Protocol.Tests.Mcap;

/// <summary>Each record's bytes, written out by hand from the MCAP spec's tables (src/Alex.Protocol/Mcap/McapRecords.cs).</summary>
public sealed class McapRecordsTests
{
    private static string Hex(Func<IBufferWriter<byte>, int> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var n = write(buffer);
        Assert.Equal(buffer.WrittenCount, n);
        return Convert.ToHexString(buffer.WrittenSpan);
    }

    // <opcode><u64 content length>: the 9-byte prefix of every record.
    private static string Prefix(byte op, int length) => op.ToString("X2") + Convert.ToHexString(BitConverter.GetBytes((ulong)length));

    [Fact]
    public void Crc32_CheckValue_MatchesZlib()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute([]));
        var running = default(Crc32);
        running.Append("1234"u8);
        running.Append("56789"u8);
        Assert.Equal(0xCBF43926u, running.Value);
    }

    [Fact]
    public void Magic_IsTheSpecsEightBytes() =>
        Assert.Equal("894D434150300D0A", Hex(w => McapRecords.WriteMagic(w)));

    [Fact]
    public void Header_ProfileAndLibrary_AsStrings() =>
        Assert.Equal(Prefix(0x01, 13) + "00000000" + "05000000" + "616C6578" + "21", Hex(w => McapRecords.WriteHeader(w, "", "alex!")));

    [Fact]
    public void Footer_TwoOffsetsAndCrc() =>
        Assert.Equal(
            Prefix(0x02, 20) + "0201000000000000" + "0403000000000000" + "78563412",
            Hex(w => McapRecords.WriteFooter(w, 0x0102, 0x0304, 0x12345678)));

    [Fact]
    public void Schema_IdNameEncodingAndLengthPrefixedData() =>
        Assert.Equal(
            Prefix(0x03, 2 + 5 + 8 + 4 + 2) + "0100" + "01000000" + "4C" + "04000000" + "6A736F6E" + "02000000" + "7B7D",
            Hex(w => McapRecords.WriteSchema(w, 1, "L", "json", "{}"u8)));

    [Fact]
    public void Schema_IdZero_Refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => McapRecords.WriteSchema(new ArrayBufferWriter<byte>(), 0, "x", "", []));

    [Fact]
    public void Channel_MetadataMapHasItsByteLength() =>
        Assert.Equal(
            Prefix(0x04, 2 + 2 + 6 + 8 + 4 + 10) + "0200" + "0100" + "02000000" + "2F73" + "04000000" + "6A736F6E"
                + "0A000000" + "01000000" + "6B" + "01000000" + "76",
            Hex(w => McapRecords.WriteChannel(w, 2, 1, "/s", "json", [new("k", "v")])));

    [Fact]
    public void Message_FixedFieldsThenDataToTheEnd() =>
        Assert.Equal(
            Prefix(0x05, 22 + 2) + "0300" + "07000000" + "0807060504030201" + "0807060504030201" + "7B7D",
            Hex(w => McapRecords.WriteMessage(w, 3, 7, 0x0102030405060708, 0x0102030405060708, "{}"u8)));

    [Fact]
    public void Chunk_Uncompressed_SizesAndCrcOfItsRecords()
    {
        byte[] records = [0x01, 0x02, 0x03];
        var crc = Convert.ToHexString(BitConverter.GetBytes(Crc32.Compute(records)));
        Assert.Equal(
            Prefix(0x06, 8 + 8 + 8 + 4 + 4 + 8 + 3) + "0A00000000000000" + "1400000000000000" + "0300000000000000" + crc + "00000000"
                + "0300000000000000" + "010203",
            Hex(w => McapRecords.WriteChunk(w, 10, 20, records)));
    }

    [Fact]
    public void MessageIndex_ArrayOfTimeOffsetPairs() =>
        Assert.Equal(
            Prefix(0x07, 2 + 4 + 32) + "0100" + "20000000" + "0A00000000000000" + "0000000000000000" + "0B00000000000000" + "2000000000000000",
            Hex(w => McapRecords.WriteMessageIndex(w, 1, [(10ul, 0ul), (11ul, 32ul)])));

    [Fact]
    public void ChunkIndex_AllFieldsInOrder() =>
        Assert.Equal(
            Prefix(0x08, 8 + 8 + 8 + 8 + 4 + 10 + 8 + 4 + 8 + 8)
                + "0100000000000000" + "0200000000000000" + "0300000000000000" + "0400000000000000"
                + "0A000000" + "0100" + "0500000000000000"
                + "0600000000000000" + "00000000" + "0700000000000000" + "0700000000000000",
            Hex(w => McapRecords.WriteChunkIndex(w, new McapChunkIndex(1, 2, 3, 4, [new(1, 5)], 6, 7))));

    [Fact]
    public void Statistics_CountsTimesAndPerChannelCounts() =>
        Assert.Equal(
            Prefix(0x0B, 8 + 2 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 20)
                + "0900000000000000" + "0200" + "03000000" + "00000000" + "00000000" + "01000000"
                + "0A00000000000000" + "1400000000000000"
                + "14000000" + "0100" + "0400000000000000" + "0200" + "0500000000000000",
            Hex(w => McapRecords.WriteStatistics(w, new McapStatistics(9, 2, 3, 1, 10, 20, [new(1, 4), new(2, 5)]))));

    [Fact]
    public void SummaryOffset_OpcodeStartLength() =>
        Assert.Equal(
            Prefix(0x0E, 17) + "03" + "1000000000000000" + "2000000000000000",
            Hex(w => McapRecords.WriteSummaryOffset(w, McapOpcode.Schema, 16, 32)));

    [Fact]
    public void DataEnd_Crc() =>
        Assert.Equal(Prefix(0x0F, 4) + "EFBEADDE", Hex(w => McapRecords.WriteDataEnd(w, 0xDEADBEEF)));
}
