using Alex.Robot.Server;
using Alex.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Server;

/// <summary>The audit log writes off the command path but never loses or reorders a record.</summary>
public sealed class AuditLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("alex-audit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Dispose_DrainsEveryQueuedRecordInOrder()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        var log = AuditLog.OpenFile(path, new FakeTimeProvider());
        const int count = 2000;
        for (var i = 0; i < count; i++)
        {
            log.Write("command", ("n", i));
        }

        log.Dispose();
        var lines = File.ReadAllLines(path);
        Assert.Equal(count, lines.Length);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new AuditRecord("command", lines[i]).Field("n"));
        }
    }

    [Fact]
    public async Task Written_RaisedOnceTheLineIsInTheFile()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        using var log = AuditLog.OpenFile(path, new FakeTimeProvider());
        var written = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        log.Written += r => written.TrySetResult(File.ReadAllText(path));
        log.Write("lease", ("name", "laptop"));
        var inFile = await written.Task.Within();
        Assert.Contains("\"name\":\"laptop\"", inFile, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteAfterDispose_Ignored()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        var log = AuditLog.OpenFile(path, new FakeTimeProvider());
        log.Write("link", ("state", "up"));
        log.Dispose();
        log.Write("link", ("state", "down"));
        Assert.Single(File.ReadAllLines(path));
    }
}
