// The server's audit log: one JSON object per line, appended and flushed to the file system in small batches, so a
// crash or a pulled power cable loses at most the last 10 ms.
// The caller only stamps the time and queues the record: it never waits and never sees an error. One background
// writer formats what is queued and writes it in order with one flush, then echoes each line and raises Written.
// A record that comes after a quiet spell is written at once; under load the writer writes at most one batch per
// 10 ms (a write+flush per record competed with the commands themselves: docs/BENCHMARKS.md roundtrip).
// The audit trail must never stop the robot server (docs/security.md "Audit log"), so:
// - the queue is bounded: a disk too slow to keep up loses records (counted), it never holds up a STOP or a session;
// - a failed write (disk full, read-only, gone) loses its batch (counted) and leaves the file as it was before the
//   batch, so records are whole lines or absent; the file is tried again once a second;
// - the first loss is said once (the warn callback: standard error in `alex serve`), Trouble/Lost show it meanwhile,
//   and the first record written afterwards is "audit-lost" with the count;
// - a file deleted or moved away is noticed and created again; past MaxBytes the file is rotated (AuditLedger).
// When to write, drop, announce and rotate is decided by Alex.Protocol.Audit.AuditLedger; this class does the I/O.
//
// Every record has "time" (UTC, ISO 8601 with milliseconds) and "event", then fields per event:
//   connection-accepted         peer, subject, fingerprint (SHA-256 hex), name, role, protocol
//   connection-refused          peer, subject?, fingerprint?, reason (the first from its source in a window)
//   connection-refused-summary  source, count, from, reasons (the rest of that window, counted)
//   connection-closed           peer, name, reason
//   lease                       name, change (acquired / released / expired / revoked), holder
//   command                     name, command, result
//   dead-man                    name, reason
//   link                        state, detail
//   policy-reloaded             detail
//   audit-lost                  count, since, reason
//   audit-followed              name, peer (an admin started `alex logs --follow`)
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Alex.Protocol.Audit;

namespace Alex.Robot.Server;

/// <summary>Size cap and rotation of the audit file.</summary>
public sealed record AuditFileOptions
{
    /// <summary>The file is rotated before it would grow past this many bytes; 0: no cap.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>How many rotated files (PATH.1 newest ... PATH.keep) are kept.</summary>
    public int Keep { get; init; } = DefaultKeep;

    public const long DefaultMaxBytes = 16L << 20;

    public const int DefaultKeep = 4;
}

/// <summary>
/// A JSON-lines audit trail. Thread-safe and never blocking: lines are written in order by a background writer, which
/// writes what is queued with one flush per batch; records that cannot be written are counted and reported, not waited for.
/// </summary>
public sealed class AuditLog : IDisposable
{
    // The shortest time between two batches (see WriteLinesAsync).
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(10);

    // Records waiting for the writer: a few seconds of the busiest legitimate traffic. More means the disk does not keep up.
    private const int QueueCapacity = 16384;

    // How long Dispose waits for the last records to reach a disk that may be stuck.
    private static readonly TimeSpan DisposeWait = TimeSpan.FromSeconds(3);

    // How often the writer checks that the path still names its file (deleted or moved away: create it again).
    private static readonly TimeSpan PathCheckInterval = TimeSpan.FromSeconds(1);

    private readonly string? _path;
    private readonly AuditFileOptions _fileOptions;
    private readonly TimeProvider _time;
    private readonly Action<string>? _echo;
    private readonly Action<string>? _warn;
    private readonly Channel<Entry> _lines = Channel.CreateBounded<Entry>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = false });

    private readonly AuditLedger _ledger = new();
    private readonly Task _writer;
    private FileStream? _file;
    private long _fileLength;
    private DateTimeOffset _pathCheckedAt;
    private long _overflow;
    private long _lostTotal;
    private int _announced;
    private volatile string? _trouble;
    private volatile bool _disposed;

    private AuditLog(string? path, AuditFileOptions? fileOptions, TimeProvider time, Action<string>? echo, Action<string>? warn)
    {
        ArgumentNullException.ThrowIfNull(time);
        _path = path;
        _fileOptions = fileOptions ?? new AuditFileOptions();
        _time = time;
        _echo = echo;
        _warn = warn;
        if (path is not null)
        {
            // Opening fails loudly at start (the caller says which file); later trouble only loses records.
            _file = Open(path);
            _fileLength = LengthOf(_file);
        }

        _writer = Task.Run(WriteLinesAsync);
    }

    /// <summary>An audit trail that is only echoed (no file).</summary>
    public AuditLog(TimeProvider time, Action<string>? echo = null)
        : this(null, null, time, echo, null)
    {
    }

    /// <summary>Raised after a record is written and flushed (tests await records this way instead of polling the file).</summary>
    public event Action<AuditRecord>? Written;

    /// <summary>Why records are being lost right now, or null when the file is being written.</summary>
    public string? Trouble => _trouble;

    /// <summary>Records lost since the server started (disk full, read-only, too slow).</summary>
    public long LostTotal => Interlocked.Read(ref _lostTotal);

    /// <summary>
    /// Opens (creating, owner-only) a file for appending. <paramref name="warn"/> hears, once per spell, that records are
    /// being lost and, afterwards, that writing resumed.
    /// </summary>
    public static AuditLog OpenFile(string path, TimeProvider time, Action<string>? echo = null, AuditFileOptions? fileOptions = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new AuditLog(path, fileOptions, time, echo, warn);
    }

    /// <summary>
    /// Queues a record; never blocks and never throws. Only the time is taken here; the line is formatted by the background
    /// writer, so values must not change after the call (strings, numbers, enums, immutable records: their ToString() is
    /// what is logged).
    /// </summary>
    public void Write(string eventName, params (string Key, object? Value)[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (_disposed)
        {
            return;
        }

        if (_lines.Writer.TryWrite(new Entry(eventName, _time.GetUtcNow(), fields)) || _disposed)
        {
            return;
        }

        // The writer is stuck on a slow disk: count the loss; say so once, off this thread (a STOP may be on it).
        Interlocked.Increment(ref _overflow);
        Interlocked.Increment(ref _lostTotal);
        if (Interlocked.Exchange(ref _announced, 1) == 0)
        {
            const string Why = "the disk does not keep up (queue full)";
            _trouble = Why;
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Self.Warn(s.Why), (Self: this, Why), preferLocal: false);
        }
    }

    // Appends one record and its newline to the batch's buffer; `json` writes into that buffer and is reset per record.
    private static void Format(Entry entry, Utf8JsonWriter json, ArrayBufferWriter<byte> buffer)
    {
        json.Reset(buffer);
        json.WriteStartObject();
        Span<char> time = stackalloc char[32];
        entry.Time.UtcDateTime.TryFormat(time, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        json.WriteString("time", time[..length]);
        json.WriteString("event", entry.Event);
        foreach (var (key, value) in entry.Fields)
        {
            switch (value)
            {
                case null:
                    break;
                case bool b:
                    json.WriteBoolean(key, b);
                    break;
                case int i:
                    json.WriteNumber(key, i);
                    break;
                case long l:
                    json.WriteNumber(key, l);
                    break;
                case uint u:
                    json.WriteNumber(key, u);
                    break;
                case double d:
                    json.WriteNumber(key, d);
                    break;
                case string text:
                    json.WriteString(key, text);
                    break;
                case DateTimeOffset at:
                    json.WriteString(key, at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                    break;
                default:
                    json.WriteString(key, value.ToString());
                    break;
            }
        }

        json.WriteEndObject();
        json.Flush();
        buffer.Write("\n"u8);
    }

    /// <summary>Writes every queued line (waiting a few seconds at most for a stuck disk), then closes the file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _lines.Writer.TryComplete();
        // The writer never waits on the caller, so waiting here cannot deadlock; a disk that hangs is given up on.
        _writer.WaitAsync(DisposeWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        if (_writer.IsCompleted)
        {
            _file?.Dispose();
        }
    }

    private async Task WriteLinesAsync()
    {
        var reader = _lines.Reader;
        // One buffer and one JSON writer for every batch: formatting a record allocates nothing of its own.
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var json = new Utf8JsonWriter(buffer);
        var lines = new List<(string Event, int End)>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            buffer.ResetWrittenCount();
            lines.Clear();
            var now = _time.GetUtcNow();
            var overflow = Interlocked.Exchange(ref _overflow, 0);
            _ledger.Dropped(now, overflow, "the disk does not keep up (queue full)");
            if (_ledger.PendingLoss is { } loss)
            {
                Format(new Entry("audit-lost", now, [("count", loss.Records), ("since", loss.Since), ("reason", loss.Reason)]), json, buffer);
            }

            if (buffer.WrittenCount > 0)
            {
                lines.Add(("audit-lost", buffer.WrittenCount));
            }

            var records = 0;
            while (records < QueueCapacity && reader.TryRead(out var entry))
            {
                Format(entry, json, buffer);
                lines.Add((entry.Event, buffer.WrittenCount));
                records++;
            }

            var written = WriteBatch(buffer.WrittenSpan, records, now);
            Echo(buffer, lines, written);

            // A burst (a reconnect storm, a flood of refusals) may grow the buffer: do not keep that for the quiet hours.
            if (buffer.Capacity > 1 << 20)
            {
                buffer = new ArrayBufferWriter<byte>(4096);
            }

            // What arrives in the next moments waits for one batch: a busy server (a command every few tens of
            // microseconds) then wakes this writer once per interval instead of once per line, which on a small machine
            // competes with the commands themselves (bench `roundtrip`); after a quiet spell, a record is written at once.
            // Real time on purpose: this is I/O batching, not logic under test.
            if (!reader.Completion.IsCompleted)
            {
                await Task.Delay(BatchInterval).ConfigureAwait(false);
            }
        }
    }

    // Writes one batch (the loss record first, if any): true when it is in the file (or there is no file).
    private bool WriteBatch(ReadOnlySpan<byte> batch, int records, DateTimeOffset now)
    {
        if (_path is null)
        {
            // Echo only: whatever was lost in the queue is said in this batch, once.
            _ledger.Written();
            return true;
        }

        if (_ledger.Next(now) == AuditBatchStep.Drop)
        {
            Lose(now, records, _ledger.Trouble ?? "the file cannot be written", failed: false);
            return false;
        }

        var resumed = _ledger.PendingLoss;
        try
        {
            if (_file is null || PathGone(now))
            {
                Reopen();
            }

            if (AuditLedger.ShouldRotate(_fileLength, batch.Length, _fileOptions.MaxBytes))
            {
                Rotate();
            }

            _file!.Write(batch);
            _file.Flush();
            _fileLength += batch.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or NotSupportedException)
        {
            CutBack();
            Lose(now, records, e.Message, failed: true);
            return false;
        }

        _ledger.Written();
        _trouble = null;
        if (resumed is not null)
        {
            Volatile.Write(ref _announced, 0);
            Warn($"writing again; {resumed.Records} records were lost since {resumed.Since.UtcDateTime:HH:mm:ss} UTC ({resumed.Reason})");
        }

        return true;
    }

    private void Lose(DateTimeOffset now, int records, string reason, bool failed)
    {
        Interlocked.Add(ref _lostTotal, records);
        var starts = failed ? _ledger.Failed(now, records, reason) : _ledger.Dropped(now, records, reason);
        _trouble = _ledger.Trouble;
        if (starts && Interlocked.Exchange(ref _announced, 1) == 0)
        {
            Warn($"cannot write {_path} ({reason}): audit records are being lost until it can");
        }
    }

    // A failed write may have left part of the batch: cut the file back to its last whole line. If even that fails
    // (read-only), the file is reopened before the next try and the length taken from what is there.
    private void CutBack()
    {
        try
        {
            if (_file is { CanSeek: true } && _file.Length != _fileLength)
            {
                _file.SetLength(_fileLength);
                _file.Position = _fileLength;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or NotSupportedException)
        {
            CloseFile();
        }
    }

    private bool PathGone(DateTimeOffset now)
    {
        if (now - _pathCheckedAt < PathCheckInterval)
        {
            return false;
        }

        _pathCheckedAt = now;
        return !File.Exists(_path);
    }

    private void Reopen()
    {
        CloseFile();
        _file = Open(_path!);
        _fileLength = LengthOf(_file);
    }

    private void Rotate()
    {
        CloseFile();
        foreach (var (from, to) in AuditLedger.RotationSteps(_path!, _fileOptions.Keep))
        {
            if (to is null)
            {
                File.Delete(from);
            }
            else if (File.Exists(from))
            {
                File.Move(from, to, overwrite: true);
            }
        }

        _file = Open(_path!);
        _fileLength = LengthOf(_file);
    }

    private void CloseFile()
    {
        try
        {
            _file?.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A close that cannot flush: the batch was already counted as lost.
        }

        _file = null;
    }

    private static FileStream Open(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            // Unbuffered: each batch is one write, and a failed one can be cut back to the last whole line.
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            // The log names who connected from where: not for every local user to read.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var file = new FileStream(path, options);
        if (file.CanSeek)
        {
            file.Seek(0, SeekOrigin.End);
        }

        return file;
    }

    private static long LengthOf(FileStream file) => file.CanSeek ? file.Length : 0;

    private void Echo(ArrayBufferWriter<byte> buffer, List<(string Event, int End)> lines, bool written)
    {
        var start = 0;
        var handlers = written ? Written : null;
        if (_echo is null && handlers is null)
        {
            return;
        }

        foreach (var (name, end) in lines)
        {
            var text = Encoding.UTF8.GetString(buffer.WrittenSpan[start..(end - 1)]);
            start = end;
            try
            {
                _echo?.Invoke(text);
            }
            catch (IOException)
            {
                // Standard output gone (a closed pipe): the file is what matters.
            }

            handlers?.Invoke(new AuditRecord(name, text));
        }
    }

    private void Warn(string text)
    {
        try
        {
            _warn?.Invoke("audit log: " + text);
        }
        catch (IOException)
        {
            // Nowhere to say it; Trouble and LostTotal still show it.
        }
    }
}

/// <summary>A record as queued: formatted by the writer.</summary>
internal sealed record Entry(string Event, DateTimeOffset Time, (string Key, object? Value)[] Fields);

/// <summary>One written record: the event name and the JSON line.</summary>
public sealed record AuditRecord(string Event, string Json)
{
    /// <summary>A field of the record as text, or null.</summary>
    public string? Field(string name)
    {
        using var doc = JsonDocument.Parse(Json);
        return doc.RootElement.TryGetProperty(name, out var v) ? v.ToString() : null;
    }
}
