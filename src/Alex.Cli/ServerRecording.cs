using Alex.Client.Recording;
using Alex.Protocol.AlexLink;
using Alex.Robot.Server;

namespace Alex.Cli;

/// <summary>
/// `alex serve --record DIR`: the server's run recorded from inside (docs/recording.md "On the robot"): every broadcast
/// the hub hands out (scans, status, lease, link, safety, the Arduino's text) and every audit record (commands and
/// their replies, who connected), posted to a <see cref="RecordingFile"/>, which never makes them wait.
/// </summary>
internal sealed class ServerRecording : IAsyncDisposable
{
    private readonly RecordingFile _file;
    private readonly RobotHost _host;

    private ServerRecording(RecordingFile file, RobotHost host)
    {
        _file = file;
        _host = host;
    }

    /// <summary>Nothing to finish: the server records nothing.</summary>
    public static IAsyncDisposable None { get; } = new Nothing();

    /// <summary>The file being written.</summary>
    public string Path => _file.Path;

    public static ServerRecording Start(RecordingSpec spec, RobotHost host, TimeProvider time, Action<string> warn)
    {
        var file = RecordingFolder.Start(spec.Dir, spec.MaxFileBytes, spec.Keep, time, warn);
        var recording = new ServerRecording(file, host);
        file.PostNote($"recording the server on {host.LocalEndPoint}: every client's commands and replies included");
        host.Hub.Published += recording.OnPublished;
        host.Audit.Written += recording.OnAudit;
        return recording;
    }

    public async ValueTask DisposeAsync()
    {
        _host.Hub.Published -= OnPublished;
        _host.Audit.Written -= OnAudit;
        await _file.DisposeAsync().ConfigureAwait(false);
    }

    private void OnPublished(AlexLinkMessage message) => _file.Post(message);

    private void OnAudit(AuditRecord record) => _file.PostAudit(record.Json);

    private sealed class Nothing : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
