// MCAP records (https://mcap.dev/spec, major version 0; what we write: docs/recording.md). Every record is
// <opcode u8><content length u64><content>, integers little-endian, strings u32 byte length + UTF-8, maps and arrays
// u32 byte length + entries, timestamps u64 nanoseconds since the Unix epoch.
//
// | op   | record         | content                                                                                        |
// |------|----------------|------------------------------------------------------------------------------------------------|
// | 0x01 | Header         | string profile, string library                                                                 |
// | 0x02 | Footer         | u64 summary_start, u64 summary_offset_start, u32 summary_crc                                   |
// | 0x03 | Schema         | u16 id (≠ 0), string name, string encoding, u32 length + bytes data                            |
// | 0x04 | Channel        | u16 id, u16 schema_id, string topic, string message_encoding, map<string,string> metadata      |
// | 0x05 | Message        | u16 channel_id, u32 sequence, u64 log_time, u64 publish_time, bytes data (to the record's end) |
// | 0x06 | Chunk          | u64 start_time, u64 end_time, u64 uncompressed_size, u32 uncompressed_crc, string compression, |
// |      |                | u64 length + records                                                                           |
// | 0x07 | Message Index  | u16 channel_id, u32 length + (u64 log_time, u64 offset in the chunk's records)*                |
// | 0x08 | Chunk Index    | u64 start_time, u64 end_time, u64 chunk_start_offset, u64 chunk_length,                        |
// |      |                | map<u16,u64> message_index_offsets, u64 message_index_length, string compression,              |
// |      |                | u64 compressed_size, u64 uncompressed_size                                                     |
// | 0x0B | Statistics     | u64 message_count, u16 schema_count, u32 channel_count, u32 attachment_count,                  |
// |      |                | u32 metadata_count, u32 chunk_count, u64 start_time, u64 end_time, map<u16,u64> per channel    |
// | 0x0E | Summary Offset | u8 group_opcode, u64 group_start, u64 group_length                                             |
// | 0x0F | Data End       | u32 data_section_crc                                                                           |
//
// A file: magic, Header, data section (… Data End), summary section, summary offset section, Footer, magic.
// The magic is 0x89 'M' 'C' 'A' 'P' '0' '\r' '\n' at both ends.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Alex.Protocol.Mcap;

/// <summary>MCAP record opcodes (the ones this writer and reader know; others are skipped by the reader).</summary>
public enum McapOpcode : byte
{
    Header = 0x01,
    Footer = 0x02,
    Schema = 0x03,
    Channel = 0x04,
    Message = 0x05,
    Chunk = 0x06,
    MessageIndex = 0x07,
    ChunkIndex = 0x08,
    Attachment = 0x09,
    AttachmentIndex = 0x0A,
    Statistics = 0x0B,
    Metadata = 0x0C,
    MetadataIndex = 0x0D,
    SummaryOffset = 0x0E,
    DataEnd = 0x0F,
}

/// <summary>A Chunk Index record's fields (the chunk is uncompressed: compressed size = uncompressed size).</summary>
public sealed record McapChunkIndex(
    ulong MessageStartTime,
    ulong MessageEndTime,
    ulong ChunkStartOffset,
    ulong ChunkLength,
    IReadOnlyList<KeyValuePair<ushort, ulong>> MessageIndexOffsets,
    ulong MessageIndexLength,
    ulong UncompressedSize);

/// <summary>A Statistics record's fields (no attachments or metadata records are written).</summary>
public sealed record McapStatistics(
    ulong MessageCount,
    ushort SchemaCount,
    uint ChannelCount,
    uint ChunkCount,
    ulong MessageStartTime,
    ulong MessageEndTime,
    IReadOnlyList<KeyValuePair<ushort, ulong>> ChannelMessageCounts);

/// <summary>Encoders for each record: each writes opcode, length and content to the writer and returns the bytes written.</summary>
public static class McapRecords
{
    /// <summary>Opcode (1) and content length (8).</summary>
    public const int RecordPrefixLength = 9;

    /// <summary>The Footer record's whole length: prefix + 8 + 8 + 4.</summary>
    public const int FooterLength = RecordPrefixLength + 20;

    /// <summary>The Data End record's whole length: prefix + 4.</summary>
    public const int DataEndLength = RecordPrefixLength + 4;

    /// <summary>A Message record's fixed fields before its data: channel, sequence, log time, publish time.</summary>
    public const int MessageFixedLength = 2 + 4 + 8 + 8;

    /// <summary>The chunk compression we write: none.</summary>
    public const string NoCompression = "";

    /// <summary>The first and last 8 bytes of every MCAP file (major version '0').</summary>
    public static ReadOnlySpan<byte> Magic => [0x89, (byte)'M', (byte)'C', (byte)'A', (byte)'P', (byte)'0', (byte)'\r', (byte)'\n'];

    public static int WriteMagic(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(Magic);
        return Magic.Length;
    }

    public static int WriteHeader(IBufferWriter<byte> output, string profile, string library)
    {
        var r = new RecordSpan(output, McapOpcode.Header, Str(profile) + Str(library));
        r.String(profile);
        r.String(library);
        return r.Done();
    }

    public static int WriteFooter(IBufferWriter<byte> output, ulong summaryStart, ulong summaryOffsetStart, uint summaryCrc)
    {
        var r = new RecordSpan(output, McapOpcode.Footer, 20);
        r.U64(summaryStart);
        r.U64(summaryOffsetStart);
        r.U32(summaryCrc);
        return r.Done();
    }

    public static int WriteSchema(IBufferWriter<byte> output, ushort id, string name, string encoding, ReadOnlySpan<byte> data)
    {
        if (id == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(id), "a schema id of 0 means no schema");
        }

        var r = new RecordSpan(output, McapOpcode.Schema, 2 + Str(name) + Str(encoding) + 4 + data.Length);
        r.U16(id);
        r.String(name);
        r.String(encoding);
        r.U32((uint)data.Length);
        r.Bytes(data);
        return r.Done();
    }

    public static int WriteChannel(IBufferWriter<byte> output, ushort id, ushort schemaId, string topic, string messageEncoding, IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var map = 0L;
        foreach (var (key, value) in metadata)
        {
            map += Str(key) + Str(value);
        }

        var r = new RecordSpan(output, McapOpcode.Channel, 2 + 2 + Str(topic) + Str(messageEncoding) + 4 + map);
        r.U16(id);
        r.U16(schemaId);
        r.String(topic);
        r.String(messageEncoding);
        r.U32((uint)map);
        foreach (var (key, value) in metadata)
        {
            r.String(key);
            r.String(value);
        }

        return r.Done();
    }

    public static int WriteMessage(IBufferWriter<byte> output, ushort channelId, uint sequence, ulong logTime, ulong publishTime, ReadOnlySpan<byte> data)
    {
        var r = new RecordSpan(output, McapOpcode.Message, MessageFixedLength + data.Length);
        r.U16(channelId);
        r.U32(sequence);
        r.U64(logTime);
        r.U64(publishTime);
        r.Bytes(data);
        return r.Done();
    }

    /// <summary>An uncompressed chunk around <paramref name="records"/> (whole records: Schema, Channel, Message).</summary>
    public static int WriteChunk(IBufferWriter<byte> output, ulong messageStartTime, ulong messageEndTime, ReadOnlySpan<byte> records)
    {
        var r = new RecordSpan(output, McapOpcode.Chunk, 8 + 8 + 8 + 4 + Str(NoCompression) + 8 + records.Length);
        r.U64(messageStartTime);
        r.U64(messageEndTime);
        r.U64((ulong)records.Length);
        r.U32(Crc32.Compute(records));
        r.String(NoCompression);
        r.U64((ulong)records.Length);
        r.Bytes(records);
        return r.Done();
    }

    /// <summary>The index of one channel's messages in the chunk just written: (log time, offset in the chunk's records) each.</summary>
    public static int WriteMessageIndex(IBufferWriter<byte> output, ushort channelId, ReadOnlySpan<(ulong LogTime, ulong Offset)> entries)
    {
        var r = new RecordSpan(output, McapOpcode.MessageIndex, 2 + 4 + (16L * entries.Length));
        r.U16(channelId);
        r.U32((uint)(16 * entries.Length));
        foreach (var (logTime, offset) in entries)
        {
            r.U64(logTime);
            r.U64(offset);
        }

        return r.Done();
    }

    public static int WriteChunkIndex(IBufferWriter<byte> output, McapChunkIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        var map = 10L * index.MessageIndexOffsets.Count;
        var r = new RecordSpan(output, McapOpcode.ChunkIndex, 8 + 8 + 8 + 8 + 4 + map + 8 + Str(NoCompression) + 8 + 8);
        r.U64(index.MessageStartTime);
        r.U64(index.MessageEndTime);
        r.U64(index.ChunkStartOffset);
        r.U64(index.ChunkLength);
        r.U32((uint)map);
        foreach (var (channel, offset) in index.MessageIndexOffsets)
        {
            r.U16(channel);
            r.U64(offset);
        }

        r.U64(index.MessageIndexLength);
        r.String(NoCompression);
        r.U64(index.UncompressedSize);
        r.U64(index.UncompressedSize);
        return r.Done();
    }

    public static int WriteStatistics(IBufferWriter<byte> output, McapStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        var map = 10L * statistics.ChannelMessageCounts.Count;
        var r = new RecordSpan(output, McapOpcode.Statistics, 8 + 2 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + map);
        r.U64(statistics.MessageCount);
        r.U16(statistics.SchemaCount);
        r.U32(statistics.ChannelCount);
        r.U32(0); // attachments
        r.U32(0); // metadata
        r.U32(statistics.ChunkCount);
        r.U64(statistics.MessageStartTime);
        r.U64(statistics.MessageEndTime);
        r.U32((uint)map);
        foreach (var (channel, count) in statistics.ChannelMessageCounts)
        {
            r.U16(channel);
            r.U64(count);
        }

        return r.Done();
    }

    public static int WriteSummaryOffset(IBufferWriter<byte> output, McapOpcode groupOpcode, ulong groupStart, ulong groupLength)
    {
        var r = new RecordSpan(output, McapOpcode.SummaryOffset, 1 + 8 + 8);
        r.U8((byte)groupOpcode);
        r.U64(groupStart);
        r.U64(groupLength);
        return r.Done();
    }

    public static int WriteDataEnd(IBufferWriter<byte> output, uint dataSectionCrc)
    {
        var r = new RecordSpan(output, McapOpcode.DataEnd, 4);
        r.U32(dataSectionCrc);
        return r.Done();
    }

    // A string's encoded length: u32 byte count + UTF-8.
    private static long Str(string s) => 4L + Encoding.UTF8.GetByteCount(s);

    /// <summary>One record laid out in a span of the output of exactly its length, then committed.</summary>
    private ref struct RecordSpan
    {
        private readonly IBufferWriter<byte> _output;
        private readonly Span<byte> _span;
        private int _at;

        public RecordSpan(IBufferWriter<byte> output, McapOpcode opcode, long contentLength)
        {
            ArgumentNullException.ThrowIfNull(output);
            if (contentLength > int.MaxValue - RecordPrefixLength)
            {
                throw new ArgumentOutOfRangeException(nameof(contentLength), "a record over 2 GiB");
            }

            _output = output;
            var total = RecordPrefixLength + (int)contentLength;
            _span = output.GetSpan(total)[..total];
            _span[0] = (byte)opcode;
            BinaryPrimitives.WriteUInt64LittleEndian(_span[1..], (ulong)contentLength);
            _at = RecordPrefixLength;
        }

        public void U8(byte v) => _span[_at++] = v;

        public void U16(ushort v)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_span[_at..], v);
            _at += 2;
        }

        public void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_span[_at..], v);
            _at += 4;
        }

        public void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_span[_at..], v);
            _at += 8;
        }

        public void String(string s)
        {
            var n = Encoding.UTF8.GetBytes(s, _span[(_at + 4)..]);
            U32((uint)n);
            _at += n;
        }

        public void Bytes(ReadOnlySpan<byte> data)
        {
            data.CopyTo(_span[_at..]);
            _at += data.Length;
        }

        public readonly int Done()
        {
            if (_at != _span.Length)
            {
                throw new InvalidOperationException($"record laid out {_at} bytes of {_span.Length}");
            }

            _output.Advance(_span.Length);
            return _span.Length;
        }
    }
}
