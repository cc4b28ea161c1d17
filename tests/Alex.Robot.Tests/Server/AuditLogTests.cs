using System.Collections.Concurrent;
using System.Text.Json;
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

    [Fact]
    public async Task FullDisk_WriteNeverThrows_LinesWholeOrAbsent_LossSaidOnce_ResumesWithTheCount()
    {
        using var disk = new Tmpfs("256k");
        var path = disk.Path("audit.jsonl");
        var warnings = new ConcurrentQueue<string>();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = AuditLog.OpenFile(path, TimeProvider.System, warn: w =>
        {
            warnings.Enqueue(w);
            lost.TrySetResult();
        });
        var filler = disk.Path("filler");
        Tmpfs.Fill(filler);

        var padding = new string('x', 200);
        for (var i = 0; i < 5000; i++)
        {
            log.Write("command", ("n", i), ("pad", padding));
        }

        await lost.Task.Within(what: "the loss to be said");
        Assert.NotNull(log.Trouble);
        AssertWholeLines(path);

        var resumed = new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        log.Written += r =>
        {
            if (r.Event == "audit-lost")
            {
                resumed.TrySetResult(r);
            }
        };
        File.Delete(filler);
        // The file is tried again about once a second: keep writing until a batch gets through.
        var n = 0;
        await Bounded.Until(() =>
        {
            log.Write("after", ("n", n++));
            return resumed.Task.IsCompleted;
        }, what: "writing to resume");
        var record = await resumed.Task.Within();
        Assert.True(long.Parse(record.Field("count")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Null(log.Trouble);
        log.Dispose();

        AssertWholeLines(path);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("being lost", warnings.First(), StringComparison.Ordinal);
        Assert.Contains("writing again", warnings.Last(), StringComparison.Ordinal);
        Assert.Contains("\"event\":\"after\"", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedFile_CreatedAgain()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        using var log = AuditLog.OpenFile(path, TimeProvider.System);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        log.Written += r => first.TrySetResult();
        log.Write("first");
        await first.Task.Within();
        File.Delete(path);
        await Bounded.Until(() =>
        {
            log.Write("after");
            return File.Exists(path);
        }, what: "the file to be created again");
        log.Dispose();
        Assert.Contains("\"event\":\"after\"", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxBytes_RotatesKeepingN_NewestRecordsKeptInOrder()
    {
        var path = Path.Combine(_dir, "audit.jsonl");
        var options = new AuditFileOptions { MaxBytes = 1000, Keep = 2 };
        using var log = AuditLog.OpenFile(path, new FakeTimeProvider(), fileOptions: options);
        var written = new ConcurrentQueue<AuditRecord>();
        var signal = new SemaphoreSlim(0);
        log.Written += r =>
        {
            written.Enqueue(r);
            signal.Release();
        };
        const int Count = 100;
        for (var i = 0; i < Count; i++)
        {
            log.Write("command", ("n", i));
            Assert.True(await signal.WaitAsync(Bounded.Step), "a record to be written");
        }

        Assert.True(File.Exists(path + ".1"));
        Assert.True(File.Exists(path + ".2"));
        Assert.False(File.Exists(path + ".3"));
        var kept = new[] { path + ".2", path + ".1", path }.SelectMany(File.ReadAllLines).ToList();
        foreach (var file in new[] { path, path + ".1", path + ".2" })
        {
            Assert.InRange(new FileInfo(file).Length, 1, options.MaxBytes);
        }

        var numbers = kept.Select(l => int.Parse(new AuditRecord("command", l).Field("n")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(Count - numbers.Count, numbers.Count), numbers);
    }

    [Fact]
    public async Task SlowDisk_WriteNeverWaits_OverflowCountedAndSaidOnce_ThenResumes()
    {
        // A FIFO nobody reads is a disk that stops answering: the writer blocks in write(2).
        var path = Path.Combine(_dir, "audit.fifo");
        Tmpfs.Fifo(path);
        var reader = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0));
        var warnings = new ConcurrentQueue<string>();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = AuditLog.OpenFile(path, TimeProvider.System, fileOptions: new AuditFileOptions { MaxBytes = 0 }, warn: w =>
        {
            warnings.Enqueue(w);
            lost.TrySetResult();
        });
        await using var pipe = await reader.Within();
        var resumed = new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        log.Written += r =>
        {
            if (r.Event == "audit-lost")
            {
                resumed.TrySetResult(r);
            }
        };

        // Far more than the pipe (64 KiB) and the queue hold; every call returns without waiting for the disk.
        var padding = new string('x', 100);
        await Task.Run(() =>
        {
            for (var i = 0; i < 200_000; i++)
            {
                log.Write("command", ("n", i), ("pad", padding));
            }
        }).Within(what: "200000 writes that must not wait for the disk");
        await lost.Task.Within(what: "the loss to be said");
        Assert.True(log.LostTotal > 0);
        Assert.Contains("does not keep up", Assert.Single(warnings), StringComparison.Ordinal);

        // The disk answers again.
        var drained = new MemoryStream();
        var draining = pipe.CopyToAsync(drained);
        await Bounded.Until(() =>
        {
            log.Write("after");
            return resumed.Task.IsCompleted;
        }, what: "writing to resume");
        Assert.True(long.Parse((await resumed.Task).Field("count")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        log.Dispose();
        await draining.Within();
        foreach (var line in System.Text.Encoding.UTF8.GetString(drained.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var _ = JsonDocument.Parse(line);
        }
    }

    private static void AssertWholeLines(string path)
    {
        var text = File.ReadAllText(path);
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the file ends in the middle of a line");
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var _ = JsonDocument.Parse(line);
        }
    }
}
