// The audit log as an admin reads it remotely (`alex logs`, docs/protocol.md "Admin messages"): the
// last records from the file, and each new record as the log writes it. The feed listens to the log
// only while someone follows it, so a server nobody follows makes no text per record.
using System.Text;

namespace Alex.Robot.Server;

/// <summary>The last lines of the audit file, and every new line to whoever follows.</summary>
internal sealed class AuditFeed
{
    // How far back from the end of the file the tail looks: a record is a few hundred bytes.
    private const int TailWindowBytes = 512 * 1024;

    private readonly AuditLog _log;
    private readonly Lock _gate = new();
    private Action<string>[] _followers = [];

    public AuditFeed(AuditLog log, string? path)
    {
        ArgumentNullException.ThrowIfNull(log);
        _log = log;
        Path = path;
    }

    /// <summary>The audit file, or null when the server writes none.</summary>
    public string? Path { get; }

    /// <summary>Calls <paramref name="line"/> with each record written from now on (on the log's writer: keep it short) until disposed.</summary>
    public IDisposable Follow(Action<string> line)
    {
        ArgumentNullException.ThrowIfNull(line);
        lock (_gate)
        {
            _followers = [.. _followers, line];
            if (_followers.Length == 1)
            {
                _log.Written += OnWritten;
            }
        }

        return new Following(this, line);
    }

    /// <summary>The last <paramref name="count"/> lines of the audit file (fewer if it has fewer; none without a file).</summary>
    public IReadOnlyList<string> Tail(int count)
    {
        if (Path is null || count <= 0)
        {
            return [];
        }

        try
        {
            // The log keeps the file open for appending: share it, read the end only.
            using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(0, file.Length - TailWindowBytes);
            file.Seek(start, SeekOrigin.Begin);
            var bytes = new byte[file.Length - start];
            file.ReadExactly(bytes);
            var lines = Encoding.UTF8.GetString(bytes).Split('\n');

            // A window that starts inside the file starts inside a line: drop that part line. The last part is what
            // follows the final newline: empty, or a line still being written.
            var whole = lines.AsSpan(start > 0 ? 1 : 0, Math.Max(0, lines.Length - 1 - (start > 0 ? 1 : 0)));
            return whole.Length <= count ? whole.ToArray() : whole[^count..].ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private void OnWritten(AuditRecord record)
    {
        foreach (var follower in Volatile.Read(ref _followers))
        {
            follower(record.Json);
        }
    }

    private void Unfollow(Action<string> line)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_followers, line);
            if (index < 0)
            {
                return;
            }

            _followers = [.. _followers[..index], .. _followers[(index + 1)..]];
            if (_followers.Length == 0)
            {
                _log.Written -= OnWritten;
            }
        }
    }

    private sealed class Following(AuditFeed feed, Action<string> line) : IDisposable
    {
        public void Dispose() => feed.Unfollow(line);
    }
}
