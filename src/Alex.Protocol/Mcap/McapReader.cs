// Reads a whole MCAP file back (the layout: McapRecords.cs; https://mcap.dev/spec), checking what a file promises:
// both magics, the Header first, every record's length against what is left, chunk CRCs and sizes, the data section CRC
// in Data End, the summary CRC in the Footer, and that every message names a channel defined before it. The first
// problem is returned as a value with the byte offset where it was found; nothing here throws on bad input.
// Chunks must be uncompressed (what McapWriter writes); records this reader does not know are skipped, as the spec asks.
using System.Buffers.Binary;
using System.Text;

namespace Alex.Protocol.Mcap;

/// <summary>A channel as its Channel record declared it.</summary>
public sealed record McapChannel(ushort Id, ushort SchemaId, string Topic, string MessageEncoding);

/// <summary>A schema as its Schema record declared it.</summary>
public sealed record McapSchema(ushort Id, string Name, string Encoding, ReadOnlyMemory<byte> Data);

/// <summary>One Message record.</summary>
public sealed record McapMessage(ushort ChannelId, uint Sequence, ulong LogTime, ulong PublishTime, ReadOnlyMemory<byte> Data);

/// <summary>What a file holds, in file order.</summary>
public sealed record McapContents(string Profile, string Library, IReadOnlyList<McapSchema> Schemas, IReadOnlyList<McapChannel> Channels, IReadOnlyList<McapMessage> Messages);

/// <summary>The first problem found: where (bytes from the start of the file) and what, in words.</summary>
public sealed record McapReadError(long Offset, string Text)
{
    public override string ToString() => $"at offset {Offset}: {Text}";
}

public static class McapReader
{
    /// <summary>Reads and checks a whole file. False with <paramref name="error"/> on the first problem.</summary>
    public static bool TryRead(ReadOnlyMemory<byte> file, out McapContents? contents, out McapReadError? error)
    {
        var read = Read(file, out error);
        contents = error is null ? read : null;
        return error is null;
    }

    /// <summary>
    /// Reads a file as far as it is whole: everything before the first problem, and the problem (null when there is
    /// none). A recording cut off by a crash gives its messages up to the last whole chunk and a "truncated" error.
    /// </summary>
    public static McapContents Read(ReadOnlyMemory<byte> file, out McapReadError? error)
    {
        var state = new ReadState(file);
        try
        {
            state.Read();
            error = null;
        }
        catch (BadFileException e)
        {
            error = new McapReadError(e.Offset, e.Message);
        }

        return state.Contents;
    }

    private static string Name(byte op) => Enum.IsDefined((McapOpcode)op) ? ((McapOpcode)op).ToString() : $"0x{op:X2}";

    private sealed class BadFileException(long offset, string message) : Exception(message)
    {
        public long Offset { get; } = offset;
    }

    private sealed class ReadState(ReadOnlyMemory<byte> file)
    {
        private readonly Dictionary<ushort, McapSchema> _schemas = [];
        private readonly Dictionary<ushort, McapChannel> _channels = [];
        private readonly List<McapMessage> _messages = [];
        private string _profile = "";
        private string _library = "";

        public McapContents Contents => new(_profile, _library, [.. _schemas.Values.OrderBy(s => s.Id)], [.. _channels.Values.OrderBy(c => c.Id)], _messages);

        public void Read()
        {
            var span = file.Span;
            var magic = McapRecords.Magic;
            if (span.Length < magic.Length || !span[..magic.Length].SequenceEqual(magic))
            {
                throw new BadFileException(0, span.Length == 0 ? "the file is empty" : "not an MCAP file (no MCAP magic at the start)");
            }

            long at = magic.Length;
            var first = true;
            var inData = true;
            while (true)
            {
                if (at == span.Length)
                {
                    throw new BadFileException(at, "truncated: the file ends without a footer (cut off while recording?)");
                }

                if (span.Length - at < McapRecords.RecordPrefixLength)
                {
                    throw new BadFileException(at, $"truncated: a record header needs 9 bytes, {span.Length - at} left");
                }

                var op = span[(int)at];
                var length = BinaryPrimitives.ReadUInt64LittleEndian(span[(int)(at + 1)..]);
                var contentStart = at + McapRecords.RecordPrefixLength;
                if (length > (ulong)(span.Length - contentStart))
                {
                    throw new BadFileException(at, $"truncated: a {Name(op)} record of {length} bytes, {span.Length - contentStart} left");
                }

                if (op == 0)
                {
                    throw new BadFileException(at, "corrupt: record opcode 0x00");
                }

                if (first != (op == (byte)McapOpcode.Header))
                {
                    throw new BadFileException(at, first ? $"corrupt: the first record is {Name(op)}, not Header" : "corrupt: a second Header");
                }

                first = false;
                var content = file.Slice((int)contentStart, (int)length);
                switch ((McapOpcode)op)
                {
                    case McapOpcode.Header:
                        var header = new Fields(content, contentStart);
                        _profile = header.String();
                        _library = header.String();
                        break;
                    case McapOpcode.Footer:
                        Footer(at, content);
                        return;
                    case McapOpcode.DataEnd:
                        var expected = new Fields(content, contentStart).U32();
                        if (expected != 0 && Crc32.Compute(span[..(int)at]) is var actual && actual != expected)
                        {
                            throw new BadFileException(at, $"corrupt: data section CRC is 0x{actual:X8}, Data End says 0x{expected:X8}");
                        }

                        inData = false;
                        break;
                    case McapOpcode.Chunk when inData:
                        Chunk(content, contentStart);
                        break;
                    default:
                        Record(op, content, contentStart, inData);
                        break;
                }

                at = contentStart + (long)length;
            }
        }

        private void Footer(long at, ReadOnlyMemory<byte> content)
        {
            var span = file.Span;
            var f = new Fields(content, at + McapRecords.RecordPrefixLength);
            var summaryStart = f.U64();
            var summaryOffsetStart = f.U64();
            var crc = f.U32();
            var end = at + McapRecords.FooterLength;
            if (span.Length - end < McapRecords.Magic.Length)
            {
                throw new BadFileException(end, "truncated: the closing magic is missing");
            }

            if (!span.Slice((int)end, McapRecords.Magic.Length).SequenceEqual(McapRecords.Magic) || span.Length != end + McapRecords.Magic.Length)
            {
                throw new BadFileException(end, "corrupt: the Footer is not followed by the closing magic and the end of the file");
            }

            if (summaryStart > (ulong)at || summaryOffsetStart > (ulong)at)
            {
                throw new BadFileException(at, $"corrupt: the Footer points past itself (summary at {summaryStart}, offsets at {summaryOffsetStart})");
            }

            if (crc != 0 && summaryStart != 0)
            {
                var actual = Crc32.Compute(span[(int)summaryStart..(int)(at + McapRecords.FooterLength - 4)]);
                if (actual != crc)
                {
                    throw new BadFileException(at, $"corrupt: summary CRC is 0x{actual:X8}, the Footer says 0x{crc:X8}");
                }
            }
        }

        private void Chunk(ReadOnlyMemory<byte> content, long contentStart)
        {
            var f = new Fields(content, contentStart);
            f.U64();
            f.U64();
            var uncompressedSize = f.U64();
            var crc = f.U32();
            var compression = f.String();
            var recordsAt = f.Offset + 8;
            var records = f.Bytes64();
            if (compression.Length != 0)
            {
                throw new BadFileException(contentStart, $"unsupported: a chunk compressed with {compression} (alex writes uncompressed chunks)");
            }

            if ((ulong)records.Length != uncompressedSize)
            {
                throw new BadFileException(contentStart, $"corrupt: a chunk of {records.Length} bytes says it holds {uncompressedSize}");
            }

            if (crc != 0 && Crc32.Compute(records.Span) is var actual && actual != crc)
            {
                throw new BadFileException(contentStart, $"corrupt: chunk CRC is 0x{actual:X8}, the chunk says 0x{crc:X8}");
            }

            long at = 0;
            while (at < records.Length)
            {
                var span = records.Span;
                if (records.Length - at < McapRecords.RecordPrefixLength)
                {
                    throw new BadFileException(recordsAt + at, "corrupt: a record header cut off inside a chunk");
                }

                var op = span[(int)at];
                var length = BinaryPrimitives.ReadUInt64LittleEndian(span[(int)(at + 1)..]);
                if (length > (ulong)(records.Length - at - McapRecords.RecordPrefixLength))
                {
                    throw new BadFileException(recordsAt + at, $"corrupt: a {Name(op)} record of {length} bytes overruns its chunk");
                }

                Record(op, records.Slice((int)at + McapRecords.RecordPrefixLength, (int)length), recordsAt + at + McapRecords.RecordPrefixLength, inData: true);
                at += McapRecords.RecordPrefixLength + (long)length;
            }
        }

        private void Record(byte op, ReadOnlyMemory<byte> content, long contentStart, bool inData)
        {
            var f = new Fields(content, contentStart);
            switch ((McapOpcode)op)
            {
                case McapOpcode.Schema:
                    var schema = new McapSchema(f.U16(), f.String(), f.String(), f.Bytes32());
                    if (schema.Id != 0 && _schemas.TryGetValue(schema.Id, out var known) && (known.Name != schema.Name || known.Encoding != schema.Encoding || !known.Data.Span.SequenceEqual(schema.Data.Span)))
                    {
                        throw new BadFileException(contentStart, $"corrupt: schema {schema.Id} defined twice, differently");
                    }

                    if (schema.Id != 0)
                    {
                        _schemas[schema.Id] = schema;
                    }

                    break;
                case McapOpcode.Channel:
                    var channel = new McapChannel(f.U16(), f.U16(), f.String(), f.String());
                    f.Bytes32(); // metadata
                    if (channel.SchemaId != 0 && !_schemas.ContainsKey(channel.SchemaId))
                    {
                        throw new BadFileException(contentStart, $"corrupt: channel {channel.Id} ({channel.Topic}) names schema {channel.SchemaId}, not defined before it");
                    }

                    if (_channels.TryGetValue(channel.Id, out var seen) && seen != channel)
                    {
                        throw new BadFileException(contentStart, $"corrupt: channel {channel.Id} defined twice, differently");
                    }

                    _channels[channel.Id] = channel;
                    break;
                case McapOpcode.Message when inData:
                    var message = new McapMessage(f.U16(), f.U32(), f.U64(), f.U64(), f.Rest());
                    if (!_channels.ContainsKey(message.ChannelId))
                    {
                        throw new BadFileException(contentStart, $"corrupt: a message on channel {message.ChannelId}, not defined before it");
                    }

                    _messages.Add(message);
                    break;
                case McapOpcode.Message or McapOpcode.Chunk:
                    throw new BadFileException(contentStart, $"corrupt: a {Name(op)} record after Data End");
                default:
                    // Indexes, statistics, attachments, metadata, private records: not needed to play the file back.
                    break;
            }
        }
    }

    // Bounds-checked little-endian fields of one record's content; offsets reported from the start of the file.
    private struct Fields(ReadOnlyMemory<byte> content, long fileOffset)
    {
        private int _at;

        public readonly long Offset => fileOffset + _at;

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2).Span);

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4).Span);

        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8).Span);

        public string String()
        {
            var bytes = Bytes32();
            try
            {
                return Strict.GetString(bytes.Span);
            }
            catch (DecoderFallbackException)
            {
                throw new BadFileException(Offset - bytes.Length, "corrupt: a string that is not UTF-8");
            }
        }

        public ReadOnlyMemory<byte> Bytes32() => Take(U32());

        public ReadOnlyMemory<byte> Bytes64()
        {
            var n = U64();
            return Take(n);
        }

        public ReadOnlyMemory<byte> Rest() => Take((ulong)(content.Length - _at));

        private ReadOnlyMemory<byte> Take(ulong n)
        {
            if (n > (ulong)(content.Length - _at))
            {
                throw new BadFileException(Offset, $"corrupt: a field of {n} bytes overruns its record ({content.Length - _at} left)");
            }

            var slice = content.Slice(_at, (int)n);
            _at += (int)n;
            return slice;
        }
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
