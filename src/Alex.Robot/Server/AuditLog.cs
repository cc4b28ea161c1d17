// The server's audit log (issue 4 item 6): one JSON object per line, appended and flushed to the file
// system in small batches, so a crash or a pulled power cable loses at most the last 10 ms.
// The caller only stamps the time and queues the record: one background writer (fed by an unbounded channel,
// so no record is ever dropped or blocks a command) formats what is queued and writes it in order with one flush,
// then echoes each line and raises Written. A record that comes after a quiet spell is written at once; under load the
// writer writes at most one batch per 10 ms. Dispose drains the queue before closing the file.
// Measured: a write+flush per command, then a writer wake-up per command, then a timer and a wake-up every 2 ms,
// each competed with the commands themselves (docs/BENCHMARKS.md roundtrip).
//
// Every record has "time" (UTC, ISO 8601 with milliseconds) and "event", then fields per event:
//   connection-accepted  peer, subject, fingerprint (SHA-256 hex), name, role, protocol
//   connection-refused   peer, subject?, fingerprint?, reason
//   connection-closed    peer, name, reason
//   lease                name, change (acquired / released / expired / revoked), holder
//   command              name, command, result
//   dead-man             name, reason
//   link                 state, detail
//   policy-reloaded      detail
using System.Buffers;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Alex.Robot.Server;

/// <summary>
/// A JSON-lines audit trail. Thread-safe; lines are written in order by a background writer, which writes what is queued
/// with one flush per batch: at once after a quiet spell, at most one batch per 10 ms under load.
/// </summary>
public sealed class AuditLog : IDisposable
{
    // The shortest time between two batches (see WriteLinesAsync).
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly Stream? _stream;
    private readonly TimeProvider _time;
    private readonly Action<string>? _echo;
    private readonly Channel<Entry> _lines = Channel.CreateUnbounded<Entry>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly Task _writer;
    private ExceptionDispatchInfo? _failure;
    private bool _disposed;

    /// <summary>Audit into <paramref name="stream"/> (a file opened for append), and optionally echo each line.</summary>
    public AuditLog(Stream? stream, TimeProvider time, Action<string>? echo = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        _stream = stream;
        _time = time;
        _echo = echo;
        _writer = Task.Run(WriteLinesAsync);
    }

    /// <summary>Raised after a record is written and flushed (tests await records this way instead of polling the file).</summary>
    public event Action<AuditRecord>? Written;

    /// <summary>Opens (creating, owner-only) a file for appending.</summary>
    public static AuditLog OpenFile(string path, TimeProvider time, Action<string>? echo = null)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
        };
        if (!OperatingSystem.IsWindows())
        {
            // The log names who connected from where: not for every local user to read.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new AuditLog(new FileStream(path, options), time, echo);
    }

    /// <summary>
    /// Queues a record. Only the time is taken here; the line is formatted by the background writer, so values must not
    /// change after the call (strings, numbers, enums, immutable records: their ToString() is what is logged).
    /// </summary>
    public void Write(string eventName, params (string Key, object? Value)[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            // A file that failed (disk full, gone) is reported to the next writer, as before the queue.
            _failure?.Throw();
            if (_disposed)
            {
                return;
            }

            _lines.Writer.TryWrite(new Entry(eventName, now, fields));
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
                default:
                    json.WriteString(key, value.ToString());
                    break;
            }
        }

        json.WriteEndObject();
        json.Flush();
        buffer.Write("\n"u8);
    }

    /// <summary>Writes every queued line, then closes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _lines.Writer.TryComplete();
        }

        // The writer never waits on the caller, so waiting here cannot deadlock.
        _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        _stream?.Dispose();
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
            while (reader.TryRead(out var entry))
            {
                Format(entry, json, buffer);
                lines.Add((entry.Event, buffer.WrittenCount));
            }

            if (_stream is not null)
            {
                try
                {
                    _stream.Write(buffer.WrittenSpan);
                    _stream.Flush();
                }
                catch (IOException e)
                {
                    lock (_gate)
                    {
                        _failure = ExceptionDispatchInfo.Capture(e);
                    }

                    continue;
                }
            }

            var written = Written;
            if (_echo is not null || written is not null)
            {
                var start = 0;
                foreach (var (name, end) in lines)
                {
                    var text = Encoding.UTF8.GetString(buffer.WrittenSpan[start..(end - 1)]);
                    start = end;
                    _echo?.Invoke(text);
                    written?.Invoke(new AuditRecord(name, text));
                }
            }

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
