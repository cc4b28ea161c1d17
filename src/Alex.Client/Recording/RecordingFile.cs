// A recording on disk: what RunRecorder decides, written by one background task, so whoever posts (a client's read
// loop, the robot server's fan-out) never waits for the disk. Like the server's audit log (docs/security.md "Audit
// log"): the queue is bounded; when the disk does not keep up, messages are dropped and counted (the count is noted in
// the file when it can be written again, and at the end); a write that fails stops the recording, never the poster.
// Bytes reach the file a chunk at a time (every 256 KiB or 2 s, McapWriter), each flushed: a crash loses at most the
// open chunk, and what is on disk reads with a streaming reader (docs/recording.md "Cut off").
using System.Buffers;
using System.Threading.Channels;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;
using Alex.Protocol.Mcap;
using Alex.Protocol.Recording;

namespace Alex.Client.Recording;

/// <summary>Sizes of a recording on disk.</summary>
public sealed record RecordingFileOptions
{
    /// <summary>Past this many bytes the file is finished and the next one begun; null: one file, however long.</summary>
    public long? MaxFileBytes { get; init; }

    /// <summary>Messages waiting for the disk; more are dropped (counted).</summary>
    public int QueueCapacity { get; init; } = 8192;

    /// <summary>The writer's chunking (how much a crash can lose).</summary>
    public McapWriterOptions Writer { get; init; } = new() { Library = "alexlink " + typeof(RecordingFile).Assembly.GetName().Version };

    /// <summary>The robot's size, for the odometry pose.</summary>
    public RobotGeometry? Geometry { get; init; }
}

/// <summary>Records to one file, or to a series of files (<see cref="RecordingFileOptions.MaxFileBytes"/>). Post from any thread.</summary>
public sealed class RecordingFile : IAsyncDisposable
{
    private static readonly TimeSpan FinishWait = TimeSpan.FromSeconds(10);

    private readonly Func<string> _nextPath;
    private readonly Action<string>? _finished;
    private readonly Action<string>? _warn;
    private readonly TimeProvider _time;
    private readonly RecordingFileOptions _options;
    private readonly Channel<Item> _queue;
    private readonly ArrayBufferWriter<byte> _bytes = new(256 * 1024);
    private readonly Task _writer;
    private readonly DeadReckoning _odometry;
    private readonly Mapper _mapper = new();
    private RunRecorder _recorder;
    private FileStream _file;
    private long _dropped;
    private long _droppedNoted;
    private int _dropsSaid;
    private string _path;

    private RecordingFile(Func<string> nextPath, TimeProvider time, RecordingFileOptions options, Action<string>? finished, Action<string>? warn)
    {
        _nextPath = nextPath;
        _time = time;
        _options = options;
        _finished = finished;
        _warn = warn;
        _odometry = new DeadReckoning(options.Geometry);
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _path = nextPath();
        (_file, _recorder) = Begin(_path);
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The file being written.</summary>
    public string Path => Volatile.Read(ref _path);

    /// <summary>Messages dropped because the disk did not keep up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages recorded in the current file.</summary>
    public ulong Messages => _recorder.MessageCount;

    /// <summary>Faults with the I/O error when writing failed (the recording stopped); completes when disposed.</summary>
    public Task Completion => _writer;

    /// <summary>
    /// Creates the first file (owner-only) and starts writing. <paramref name="nextPath"/> names each file;
    /// <paramref name="finished"/> hears each finished file's path; <paramref name="warn"/> hears, once each, that messages
    /// are being dropped and that writing failed (the recording stopped). Fails with the I/O error when the file cannot be created.
    /// </summary>
    public static RecordingFile Start(Func<string> nextPath, TimeProvider time, RecordingFileOptions? options = null, Action<string>? finished = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(nextPath);
        ArgumentNullException.ThrowIfNull(time);
        return new RecordingFile(nextPath, time, options ?? new RecordingFileOptions(), finished, warn);
    }

    /// <summary>Queues a message with the time now; never blocks. False when it was dropped.</summary>
    public bool Post(AlexLinkMessage message) => Enqueue(new Item(_time.GetUtcNow(), message, null, null));

    /// <summary>Queues an audit record (the JSON line); never blocks. False when it was dropped.</summary>
    public bool PostAudit(string json) => Enqueue(new Item(_time.GetUtcNow(), null, json, null));

    /// <summary>Queues a line of the recorder's own (what it records, why it ended); never blocks.</summary>
    public bool PostNote(string text, FoxgloveLogLevel level = FoxgloveLogLevel.Info) => Enqueue(new Item(_time.GetUtcNow(), null, null, (level, text)));

    /// <summary>Writes what is queued, notes drops, finishes the file (summary, footer). Rethrows nothing: see <see cref="Completion"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(FinishWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private bool Enqueue(Item item)
    {
        if (_queue.Writer.TryWrite(item))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        if (!_writer.IsFaulted && _warn is { } warn && Interlocked.Exchange(ref _dropsSaid, 1) == 0)
        {
            // Said off the poster's thread (the robot server's fan-out may be on it).
            ThreadPool.QueueUserWorkItem(static w => w("is dropping messages: the disk does not keep up (the count goes in the file)"), warn, preferLocal: false);
        }

        return false;
    }

    private (FileStream, RunRecorder) Begin(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            // A recording says who drove when: owner-only, like the audit log.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var file = new FileStream(path, options);
        // One odometry and one map for the whole series: the next file's pose and map go on from where the last one's ended.
        var recorder = new RunRecorder(new McapWriter(_bytes, _options.Writer), _odometry, _mapper);
        return (file, recorder);
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            var reader = _queue.Reader;
            await DrainAsync().ConfigureAwait(false);
            while (true)
            {
                // Nothing new for a chunk's span: close the open chunk so what came last is on disk too.
                var more = reader.WaitToReadAsync().AsTask();
                using (var quiet = new CancellationTokenSource())
                {
                    var idle = Task.Delay(_options.Writer.ChunkSpan, _time, quiet.Token);
                    if (await Task.WhenAny(more, idle).ConfigureAwait(false) == idle)
                    {
                        _recorder.CloseChunk();
                        await DrainAsync().ConfigureAwait(false);
                    }

                    await quiet.CancelAsync().ConfigureAwait(false);
                }

                if (!await more.ConfigureAwait(false))
                {
                    break;
                }

                while (reader.TryRead(out var item))
                {
                    NoteDrops(item.At);
                    var closed = item switch
                    {
                        { Message: { } m } => _recorder.Record(m, item.At),
                        { Audit: { } json } => _recorder.RecordAudit(json, item.At),
                        { Note: var (level, text) } => _recorder.Note(item.At, level, text),
                        _ => false,
                    };
                    if (closed)
                    {
                        await DrainAsync().ConfigureAwait(false);
                        await RotateIfFullAsync().ConfigureAwait(false);
                    }
                }
            }

            NoteDrops(_time.GetUtcNow());
            await FinishFileAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _warn?.Invoke($"stopped: {Path}: {e.Message} (the file holds what was written before)");
            _queue.Writer.TryComplete();
            try
            {
                await _file.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The disk that failed the write fails the close too: the file is as the last good write left it.
            }

            throw;
        }
    }

    private void NoteDrops(DateTimeOffset at)
    {
        var dropped = Dropped;
        if (dropped != _droppedNoted)
        {
            _recorder.Note(at, FoxgloveLogLevel.Warning, $"{dropped - _droppedNoted} messages not recorded: the disk did not keep up");
            _droppedNoted = dropped;
            Volatile.Write(ref _dropsSaid, 0);
        }
    }

    private async Task RotateIfFullAsync()
    {
        if (_options.MaxFileBytes is not { } max || _file.Length < max)
        {
            return;
        }

        await FinishFileAsync().ConfigureAwait(false);
        var path = _nextPath();
        (_file, _recorder) = Begin(path);
        Volatile.Write(ref _path, path);
        await DrainAsync().ConfigureAwait(false);
    }

    private async Task FinishFileAsync()
    {
        _recorder.Finish(_time.GetUtcNow());
        await DrainAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
        _finished?.Invoke(_path);
    }

    // Moves the writer's bytes to the file and flushes them to the disk.
    private async Task DrainAsync()
    {
        if (_bytes.WrittenCount == 0)
        {
            return;
        }

        await _file.WriteAsync(_bytes.WrittenMemory).ConfigureAwait(false);
        await _file.FlushAsync().ConfigureAwait(false);
        _bytes.ResetWrittenCount();
    }

    private sealed record Item(DateTimeOffset At, AlexLinkMessage? Message, string? Audit, (FoxgloveLogLevel Level, string Text)? Note);
}
