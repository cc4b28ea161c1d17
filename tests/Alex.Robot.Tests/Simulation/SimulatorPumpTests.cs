using Alex.Protocol.Serial;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Robot.Tests.Simulation;

/// <summary>The simulator served over a stream: an in-memory serial line, fake clock.</summary>
public sealed class SimulatorPumpTests
{
    private static async Task<List<SerialPacket>> ReadFramesAsync(Stream s, int count)
    {
        var decoder = new SerialFrameDecoder();
        var frames = new List<SerialPacket>();
        var buffer = new byte[512];
        while (frames.Count < count)
        {
            var n = await s.ReadAsync(buffer).AsTask().Within();
            Assert.NotEqual(0, n);
            decoder.Append(buffer.AsSpan(0, n));
            while (decoder.TryRead(out var r))
            {
                Assert.Equal(SerialReadKind.Frame, r.Kind);
                frames.Add(r.Packet!);
            }
        }

        return frames;
    }

    [Fact]
    public async Task RunAsync_AnswersFramesAndInjectedMessages()
    {
        var time = new FakeTimeProvider();
        var line = new InMemorySerialLine();
        var pump = new SimulatorPump(new SimulatedAlex(new(), time), line.ArduinoEnd, pacing: null, time);
        var seen = new List<string>();
        pump.Exchanged += e => { lock (seen) { seen.Add(e.ToString()); } };
        using var cts = new CancellationTokenSource();
        var run = pump.RunAsync(cts.Token);

        // Written in two pieces with a stray byte in front.
        var frame = SerialFrame.Encode(SerialPacket.ForCommand(CommandCode.GetStats));
        await line.PiEnd.WriteAsync(new byte[] { 0x00 }.Concat(frame[..50]).ToArray());
        await line.PiEnd.WriteAsync(frame.AsMemory(50));
        var replies = await ReadFramesAsync(line.PiEnd, 3);

        Assert.Equal(SerialPacket.Error(ResponseCode.BadPacket), replies[0]);
        Assert.True(replies[1].IsOk);
        Assert.True(replies[2].IsStatus);

        pump.SendMessage("Hello from Alex");
        var message = Assert.Single(await ReadFramesAsync(line.PiEnd, 1));
        Assert.Equal(PacketType.Message, message.Type);
        Assert.Equal("Hello from Alex", message.Text);
        lock (seen)
        {
            Assert.Equal(["noise (1 bytes) -> ERROR BadPacket", "frame COMMAND GetStats 0 0 -> RESPONSE Ok, RESPONSE STATUS [0,0,0,0,0,0,0,0,0,0]"], seen);
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
    }

    [Fact]
    public async Task RunAsync_OtherEndCloses_Returns()
    {
        var time = new FakeTimeProvider();
        var line = new InMemorySerialLine();
        var pump = new SimulatorPump(new SimulatedAlex(new(), time), line.ArduinoEnd, pacing: null, time);
        var run = pump.RunAsync(CancellationToken.None);

        await line.PiEnd.DisposeAsync();

        await run.Within();
    }

    [Fact]
    public async Task RunAsync_Paced_ReplyTakesTwoFrameTimes()
    {
        // 9600 baud, 10 bits a byte: 140 bytes in 145.8 ms each way. Real clock: the bound is a
        // lower one (the reply cannot come sooner), so a slow machine cannot make this fail.
        var line = new InMemorySerialLine();
        var pacing = new SerialLinePacing(9600);
        var pump = new SimulatorPump(new SimulatedAlex(new(), TimeProvider.System), line.ArduinoEnd, pacing, TimeProvider.System);
        using var cts = new CancellationTokenSource();
        var run = pump.RunAsync(cts.Token);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await line.PiEnd.WriteAsync(SerialFrame.Encode(SerialPacket.ForCommand(CommandCode.Stop)));
        var reply = await ReadFramesAsync(line.PiEnd, 1);

        Assert.True(reply.Single().IsOk);
        Assert.Equal(TimeSpan.FromSeconds(140 * 10 / 9600.0), pacing.TimeFor(140));
        // Timers have millisecond resolution: allow for two roundings.
        Assert.True(clock.Elapsed >= (2 * pacing.TimeFor(SerialFrame.Size)) - TimeSpan.FromMilliseconds(2), $"reply after {clock.Elapsed}");

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
    }

    [Fact]
    public async Task InMemorySerialLine_Sever_ReadsAndWritesFail()
    {
        var line = new InMemorySerialLine();
        var read = line.PiEnd.ReadAsync(new byte[10]).AsTask();

        line.Sever();

        await Assert.ThrowsAsync<IOException>(() => read.Within());
        Assert.Throws<IOException>(() => line.ArduinoEnd.Write([1]));
    }
}
