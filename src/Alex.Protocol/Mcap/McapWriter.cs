// A spec-following MCAP writer (https://mcap.dev/spec; what we write: docs/recording.md "The file"). Pure: it lays
// records out into an IBufferWriter and keeps the file position itself; the caller moves the bytes to a file.
//
// Layout written:
//   magic, Header
//   data section: Schema and Channel records as they are added (outside chunks, so a reader streaming a cut-off file
//                 knows every channel), uncompressed Chunks of Message records, each followed by one Message Index per
//                 channel in it; Data End with the CRC-32 of every byte before it
//   summary:      Schema group, Channel group, Statistics, Chunk Index group
//   summary offsets: one Summary Offset per group
//   Footer (summary_start, summary_offset_start, CRC-32 of the summary through those two fields), magic
//
// A chunk is closed when its records reach ChunkBytes or its messages span ChunkSpan of log time (AddMessage returns
// true then: the caller should flush to disk). A file cut off mid-run keeps every closed chunk readable by a
// streaming reader; only the summary and footer are missing.
using System.Buffers;
using System.Runtime.InteropServices;

namespace Alex.Protocol.Mcap;

/// <summary>How an <see cref="McapWriter"/> names itself and sizes its chunks.</summary>
public sealed record McapWriterOptions
{
    /// <summary>Header profile: "" (no well-known profile: our channels are JSON with JSON schemas).</summary>
    public string Profile { get; init; } = "";

    /// <summary>Header library: the writer's name and version, for people debugging a file.</summary>
    public string Library { get; init; } = "alexlink";

    /// <summary>A chunk is closed once its records reach this many bytes.</summary>
    public int ChunkBytes { get; init; } = 256 * 1024;

    /// <summary>A chunk is closed once its messages span this much log time (bounds what a crash can lose).</summary>
    public TimeSpan ChunkSpan { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Writes one MCAP file: <see cref="Start"/>, then schemas, channels and messages, then <see cref="Finish"/>. Not
/// thread-safe (one writer task owns it).
/// </summary>
public sealed class McapWriter
{
    private readonly IBufferWriter<byte> _output;
    private readonly McapWriterOptions _options;
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private readonly ArrayBufferWriter<byte> _chunk = new(64 * 1024);
    private readonly List<Schema> _schemas = [];
    private readonly List<Channel> _channels = [];
    private readonly List<McapChunkIndex> _chunkIndexes = [];
    private readonly SortedDictionary<ushort, List<(ulong LogTime, ulong Offset)>> _chunkMessages = [];
    private Crc32 _dataCrc;
    private ulong _chunkStart = ulong.MaxValue;
    private ulong _chunkEnd;
    private ulong _fileStart = ulong.MaxValue;
    private ulong _fileEnd;
    private State _state;

    public McapWriter(IBufferWriter<byte> output, McapWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _options = options ?? new McapWriterOptions();
    }

    private enum State
    {
        New,
        Writing,
        Finished,
    }

    /// <summary>Bytes written so far (the offset the next record starts at).</summary>
    public long Position { get; private set; }

    public ulong MessageCount { get; private set; }

    public int ChunkCount { get; private set; }

    /// <summary>Bytes of messages waiting in the open chunk (not yet handed to the output).</summary>
    public int PendingBytes => _chunk.WrittenCount;

    /// <summary>The leading magic and the Header.</summary>
    public void Start()
    {
        Expect(State.New);
        McapRecords.WriteMagic(_scratch);
        McapRecords.WriteHeader(_scratch, _options.Profile, _options.Library);
        EmitData();
        _state = State.Writing;
    }

    /// <summary>Writes a Schema record; returns its id (1, 2, ...).</summary>
    public ushort AddSchema(string name, string encoding, ReadOnlySpan<byte> data)
    {
        Expect(State.Writing);
        var id = checked((ushort)(_schemas.Count + 1));
        var schema = new Schema(id, name, encoding, data.ToArray());
        _schemas.Add(schema);
        schema.Write(_scratch);
        EmitData();
        return id;
    }

    /// <summary>Writes a Channel record; returns its id (1, 2, ...).</summary>
    public ushort AddChannel(ushort schemaId, string topic, string messageEncoding, IReadOnlyList<KeyValuePair<string, string>>? metadata = null)
    {
        Expect(State.Writing);
        if (schemaId != 0 && schemaId > _schemas.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(schemaId), $"no schema {schemaId}");
        }

        var id = checked((ushort)(_channels.Count + 1));
        var channel = new Channel(id, schemaId, topic, messageEncoding, metadata ?? []);
        _channels.Add(channel);
        channel.Write(_scratch);
        EmitData();
        return id;
    }

    /// <summary>
    /// Adds a message to the open chunk (publish time = log time; sequence numbered per channel from 1). Returns true
    /// when this closed a chunk: the bytes are in the output now, a good moment to flush.
    /// </summary>
    public bool AddMessage(ushort channelId, ulong logTime, ReadOnlySpan<byte> data)
    {
        Expect(State.Writing);
        if (channelId == 0 || channelId > _channels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(channelId), $"no channel {channelId}");
        }

        var channel = _channels[channelId - 1];
        channel.Count++;
        if (!_chunkMessages.TryGetValue(channelId, out var entries))
        {
            _chunkMessages[channelId] = entries = [];
        }

        entries.Add((logTime, (ulong)_chunk.WrittenCount));
        McapRecords.WriteMessage(_chunk, channelId, (uint)channel.Count, logTime, logTime, data);
        MessageCount++;
        _chunkStart = Math.Min(_chunkStart, logTime);
        _chunkEnd = Math.Max(_chunkEnd, logTime);
        _fileStart = Math.Min(_fileStart, logTime);
        _fileEnd = Math.Max(_fileEnd, logTime);
        if (_chunk.WrittenCount >= _options.ChunkBytes || _chunkEnd - _chunkStart >= (ulong)_options.ChunkSpan.Ticks * 100)
        {
            return CloseChunk();
        }

        return false;
    }

    /// <summary>Writes the open chunk and its message indexes, if it holds any message; returns whether it did.</summary>
    public bool CloseChunk()
    {
        Expect(State.Writing);
        if (_chunk.WrittenCount == 0)
        {
            return false;
        }

        var chunkStart = (ulong)Position;
        var chunkLength = (ulong)McapRecords.WriteChunk(_scratch, _chunkStart, _chunkEnd, _chunk.WrittenSpan);
        EmitData();
        var indexStart = (ulong)Position;
        var offsets = new List<KeyValuePair<ushort, ulong>>(_chunkMessages.Count);
        foreach (var (channelId, entries) in _chunkMessages)
        {
            offsets.Add(new(channelId, (ulong)Position));
            // Log times from a wall clock may step back: the index is in log-time order, as readers expect.
            var sorted = CollectionsMarshal.AsSpan(entries);
            sorted.Sort(static (a, b) => a.LogTime != b.LogTime ? a.LogTime.CompareTo(b.LogTime) : a.Offset.CompareTo(b.Offset));
            McapRecords.WriteMessageIndex(_scratch, channelId, sorted);
            EmitData();
        }

        _chunkIndexes.Add(new McapChunkIndex(_chunkStart, _chunkEnd, chunkStart, chunkLength, offsets, (ulong)Position - indexStart, (ulong)_chunk.WrittenCount));
        ChunkCount++;
        _chunk.ResetWrittenCount();
        _chunkMessages.Clear();
        _chunkStart = ulong.MaxValue;
        _chunkEnd = 0;
        return true;
    }

    /// <summary>Closes the open chunk and writes Data End, the summary, the summary offsets, the Footer and the magic.</summary>
    public void Finish()
    {
        Expect(State.Writing);
        CloseChunk();
        McapRecords.WriteDataEnd(_scratch, _dataCrc.Value);
        EmitData();

        var summaryCrc = default(Crc32);
        var summaryStart = (ulong)Position;
        var groups = new List<(McapOpcode Op, ulong Start, ulong Length)>();
        void Group(McapOpcode op, Action<ArrayBufferWriter<byte>> write)
        {
            var start = (ulong)Position;
            write(_scratch);
            if (_scratch.WrittenCount == 0)
            {
                return;
            }

            summaryCrc.Append(_scratch.WrittenSpan);
            Emit();
            groups.Add((op, start, (ulong)Position - start));
        }

        Group(McapOpcode.Schema, w => _schemas.ForEach(s => s.Write(w)));
        Group(McapOpcode.Channel, w => _channels.ForEach(c => c.Write(w)));
        Group(McapOpcode.Statistics, w => McapRecords.WriteStatistics(w, Statistics()));
        Group(McapOpcode.ChunkIndex, w => _chunkIndexes.ForEach(i => McapRecords.WriteChunkIndex(w, i)));

        var summaryOffsetStart = (ulong)Position;
        foreach (var (op, start, length) in groups)
        {
            McapRecords.WriteSummaryOffset(_scratch, op, start, length);
            summaryCrc.Append(_scratch.WrittenSpan);
            Emit();
        }

        // The footer's CRC covers the summary through the footer's own summary_offset_start field.
        McapRecords.WriteFooter(_scratch, summaryStart, summaryOffsetStart, 0);
        summaryCrc.Append(_scratch.WrittenSpan[..(McapRecords.FooterLength - 4)]);
        _scratch.ResetWrittenCount();
        McapRecords.WriteFooter(_scratch, summaryStart, summaryOffsetStart, summaryCrc.Value);
        McapRecords.WriteMagic(_scratch);
        Emit();
        _state = State.Finished;
    }

    private McapStatistics Statistics() => new(
        MessageCount,
        (ushort)_schemas.Count,
        (uint)_channels.Count,
        (uint)ChunkCount,
        MessageCount == 0 ? 0 : _fileStart,
        MessageCount == 0 ? 0 : _fileEnd,
        _channels.Select(c => new KeyValuePair<ushort, ulong>(c.Id, c.Count)).ToList());

    private void Expect(State state)
    {
        if (_state != state)
        {
            throw new InvalidOperationException(_state switch
            {
                State.New => "Start first",
                State.Finished => "the file is finished",
                _ => "already started",
            });
        }
    }

    // The scratch buffer's records belong to the data section: counted in the data section's CRC.
    private void EmitData()
    {
        _dataCrc.Append(_scratch.WrittenSpan);
        Emit();
    }

    private void Emit()
    {
        _output.Write(_scratch.WrittenSpan);
        Position += _scratch.WrittenCount;
        _scratch.ResetWrittenCount();
    }

    private sealed record Schema(ushort Id, string Name, string Encoding, byte[] Data)
    {
        public void Write(IBufferWriter<byte> w) => McapRecords.WriteSchema(w, Id, Name, Encoding, Data);
    }

    private sealed record Channel(ushort Id, ushort SchemaId, string Topic, string MessageEncoding, IReadOnlyList<KeyValuePair<string, string>> Metadata)
    {
        public ulong Count { get; set; }

        public void Write(IBufferWriter<byte> w) => McapRecords.WriteChannel(w, Id, SchemaId, Topic, MessageEncoding, Metadata);
    }
}
