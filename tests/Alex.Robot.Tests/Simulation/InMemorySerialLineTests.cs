using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Simulation;

/// <summary>The in-memory serial cable: bytes, chunks, end of stream, a pulled cable, cancellation, and no garbage per read.</summary>
public sealed class InMemorySerialLineTests
{
    [Fact]
    public async Task Write_ReachesTheOtherEnd_InBothDirections()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[16];
        await line.PiEnd.WriteAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(3, await line.ArduinoEnd.ReadAsync(buffer).Within());
        Assert.Equal(new byte[] { 1, 2, 3 }, buffer[..3]);

        await line.ArduinoEnd.WriteAsync(new byte[] { 9, 8 });
        Assert.Equal(2, await line.PiEnd.ReadAsync(buffer).Within());
        Assert.Equal(new byte[] { 9, 8 }, buffer[..2]);
    }

    [Fact]
    public async Task WaitingRead_TakesTheBytes_OnTheWritersThread()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[16];
        var reading = line.ArduinoEnd.ReadAsync(buffer).AsTask();
        Assert.False(reading.IsCompleted);
        var writer = Environment.CurrentManagedThreadId;
        var readerThread = 0;
        var continued = reading.ContinueWith(_ => readerThread = Environment.CurrentManagedThreadId, TaskContinuationOptions.ExecuteSynchronously);

        line.PiEnd.Write([5, 6, 7]);

        Assert.True(reading.IsCompleted);
        await continued.Within();
        Assert.Equal(writer, readerThread);
        Assert.Equal(3, await reading);
        Assert.Equal(new byte[] { 5, 6, 7 }, buffer[..3]);
    }

    [Fact]
    public async Task ShortReads_SplitAChunk_AndChunksAreNotMerged()
    {
        var line = new InMemorySerialLine();
        line.PiEnd.Write([1, 2, 3, 4, 5]);
        line.PiEnd.Write([6]);
        var two = new byte[2];
        Assert.Equal(2, await line.ArduinoEnd.ReadAsync(two).Within());
        Assert.Equal(new byte[] { 1, 2 }, two);
        Assert.Equal(2, await line.ArduinoEnd.ReadAsync(two).Within());
        Assert.Equal(new byte[] { 3, 4 }, two);
        var big = new byte[10];
        Assert.Equal(1, await line.ArduinoEnd.ReadAsync(big).Within());
        Assert.Equal(5, big[0]);
        Assert.Equal(1, await line.ArduinoEnd.ReadAsync(big).Within());
        Assert.Equal(6, big[0]);
    }

    [Fact]
    public async Task WaitingRead_WithASmallBuffer_KeepsTheRestForTheNextRead()
    {
        var line = new InMemorySerialLine();
        var two = new byte[2];
        var reading = line.ArduinoEnd.ReadAsync(two);
        line.PiEnd.Write([1, 2, 3]);
        Assert.Equal(2, await reading.AsTask().Within());
        Assert.Equal(new byte[] { 1, 2 }, two);
        Assert.Equal(1, await line.ArduinoEnd.ReadAsync(two).Within());
        Assert.Equal(3, two[0]);
    }

    [Fact]
    public async Task DisposedWriter_GivesEndOfStream_AfterWhatItWrote()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[8];
        var waiting = line.ArduinoEnd.ReadAsync(buffer);
        line.PiEnd.Write([1]);
        Assert.Equal(1, await waiting.AsTask().Within());

        line.PiEnd.Write([2]);
        await line.PiEnd.DisposeAsync();
        Assert.Equal(1, await line.ArduinoEnd.ReadAsync(buffer).Within());
        Assert.Equal(0, await line.ArduinoEnd.ReadAsync(buffer).Within());

        // A read already waiting when the other end goes away ends too.
        var line2 = new InMemorySerialLine();
        var pending = line2.PiEnd.ReadAsync(buffer);
        await line2.ArduinoEnd.DisposeAsync();
        Assert.Equal(0, await pending.AsTask().Within());
        Assert.Throws<IOException>(() => line2.ArduinoEnd.Write([1]));
    }

    [Fact]
    public async Task Sever_FailsTheWaitingRead_AndEveryReadAndWriteAfter()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[8];
        var waiting = line.PiEnd.ReadAsync(buffer);
        line.PiEnd.Write([1, 2]); // unread at the Arduino end: a pulled cable keeps nothing

        line.Sever();

        var failed = await Assert.ThrowsAsync<IOException>(() => waiting.AsTask().Within());
        Assert.Contains("unplugged", failed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IOException>(() => line.ArduinoEnd.ReadAsync(buffer).AsTask().Within());
        await Assert.ThrowsAsync<IOException>(() => line.PiEnd.ReadAsync(buffer).AsTask().Within());
        Assert.Throws<IOException>(() => line.PiEnd.Write([3]));
        Assert.Throws<IOException>(() => line.ArduinoEnd.Write([3]));
    }

    [Fact]
    public async Task Cancelling_AWaitingRead_EndsIt_AndTheLineStillWorks()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[8];
        using var cts = new CancellationTokenSource();
        var waiting = line.ArduinoEnd.ReadAsync(buffer, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask().Within());

        // The bytes written after the cancellation are not lost: the next read gets them.
        line.PiEnd.Write([4, 2]);
        Assert.Equal(2, await line.ArduinoEnd.ReadAsync(buffer).Within());
        Assert.Equal(new byte[] { 4, 2 }, buffer[..2]);

        // A read answered before its token is cancelled is not disturbed by that token later.
        using var later = new CancellationTokenSource();
        var answered = line.ArduinoEnd.ReadAsync(buffer, later.Token);
        line.PiEnd.Write([7]);
        Assert.Equal(1, await answered.AsTask().Within());
        var next = line.ArduinoEnd.ReadAsync(buffer, CancellationToken.None);
        await later.CancelAsync();
        Assert.False(next.IsCompleted);
        line.PiEnd.Write([8]);
        Assert.Equal(1, await next.AsTask().Within());
        Assert.Equal(8, buffer[0]);
    }

    [Fact]
    public void ReadAndWrite_AllocateNothing_OnceWarm()
    {
        var line = new InMemorySerialLine();
        var buffer = new byte[140];
        var frame = new byte[140];
        using var cts = new CancellationTokenSource();
        void OneExchange()
        {
            // A waiting read answered by a write (the simulator's and the link's steady state), and a queued chunk read later.
            var reading = line.ArduinoEnd.ReadAsync(buffer, cts.Token);
            line.PiEnd.Write(frame);
            Check(reading);
            line.PiEnd.Write(frame);
            Check(line.ArduinoEnd.ReadAsync(buffer, cts.Token));
        }

        void Check(ValueTask<int> read)
        {
            // Answered by the write on this thread: complete, so its result may be taken without waiting.
            if (!read.IsCompleted)
            {
                throw new InvalidOperationException("the read was not answered by the write");
            }

            if (read.Result != frame.Length)
            {
                throw new InvalidOperationException("short read");
            }
        }

        for (var i = 0; i < 100; i++)
        {
            OneExchange();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            OneExchange();
        }

        var perExchange = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000.0;
        Assert.True(perExchange < 8, $"{perExchange:0.0} bytes allocated per read and write");
    }
}
