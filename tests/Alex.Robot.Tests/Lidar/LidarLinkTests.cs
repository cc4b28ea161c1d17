using System.Collections.Concurrent;
using System.Threading.Channels;
using Alex.Protocol.Lidar;
using Alex.Robot.Lidar;
using Alex.Robot.Pty;
using Alex.Robot.Simulation.Lidar;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Lidar;

/// <summary>
/// The lidar driver end to end: against the simulated RPLidar on a pseudo-terminal (opened as a real
/// serial port), and against recorded byte streams with noise, cut nodes and a device that goes quiet.
/// </summary>
public sealed class LidarLinkTests : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private Task? _run;

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        if (_run is not null)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _run).Within(what: "the link to stop");
        }

        foreach (var d in Enumerable.Reverse(_cleanup))
        {
            await d.DisposeAsync().AsTask().Within();
        }

        _cts.Dispose();
    }

    private static SimulatedLidar NewLidar() =>
        new(LidarWorld.DefaultArena, SimulatedBody.Fixed(LidarWorld.DefaultArena.Start), new LidarSimSettings { Seed = 7 }, TimeProvider.System);

    private Channel<LidarScan> Start(LidarLink link)
    {
        var scans = Channel.CreateUnbounded<LidarScan>();
        link.Scanned += s => scans.Writer.TryWrite(s);
        _run = Task.Run(() => link.RunAsync(_cts.Token));
        return scans;
    }

    private async Task<LidarPtySimulator> PtyLidarAsync(string? link = null)
    {
        var sim = LidarPtySimulator.Start(NewLidar(), link, TimeProvider.System, null);
        _cleanup.Add(sim);
        return await Task.FromResult(sim);
    }

    [Fact]
    public async Task RunAsync_PtySimulator_RevolutionsOfTheArena()
    {
        var sim = await PtyLidarAsync();
        var link = new LidarLink(sim.DevicePath, LidarLink.DefaultBaud, TimeProvider.System, _log.Enqueue);
        var scans = Start(link);

        var scan = await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: "a revolution from the pty lidar");

        Assert.InRange(scan.Revolution.Nodes.Count, 340, 380);
        Assert.True(scan.Revolution.MeasuredCount > 300, $"{scan.Revolution.MeasuredCount} measured");
        // Alex starts 40 cm from the bottom wall, facing along it: the wall to its right (device angle 90°) is 40 cm away.
        var right = scan.Revolution.Nodes.MinBy(n => Math.Abs(n.AngleDegrees - 90));
        Assert.InRange(right.DistanceMillimetres, 380, 420);
        Assert.Equal("model 24, firmware 1.29, hardware 7, serial 5C8AE2F0C9E29BD1A0E59AF34A1B3C2D", link.Info!.ToString());
        Assert.True(link.MotorOn);
        Assert.Equal(0, link.Counters.NoiseBytes);
    }

    [Fact]
    public async Task RunAsync_NoiseOnTheLine_CountedLoggedAndScansGoOn()
    {
        var sim = await PtyLidarAsync();
        var link = new LidarLink(sim.DevicePath, LidarLink.DefaultBaud, TimeProvider.System, _log.Enqueue);
        var scans = Start(link);
        await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: "a first revolution");

        sim.Pump.Inject([0x00, 0xFF, 0x13, 0x00, 0x00, 0x00, 0x42]);
        await Bounded.Until(() => link.Counters.NoiseBytes > 0, what: "the noise to be counted");
        var seen = link.Counters.Revolutions;

        await Bounded.Until(() => link.Counters.Revolutions >= seen + 3, what: "revolutions after the noise");
        Assert.Equal(0, link.Counters.Reopens);
    }

    [Fact]
    public async Task RunAsync_DeviceGoesQuiet_TimeoutLoggedAndScanRestarted()
    {
        var sim = await PtyLidarAsync();
        var link = new LidarLink(sim.DevicePath, LidarLink.DefaultBaud, TimeProvider.System, _log.Enqueue, new LidarSessionOptions { NodeTimeout = TimeSpan.FromSeconds(1) });
        var scans = Start(link);
        await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: "a first revolution");

        sim.Pump.Mute = true;
        await Bounded.Until(() => link.Counters.Timeouts > 0, what: "the silence to be noticed");
        sim.Pump.Mute = false;
        var seen = link.Counters.Revolutions;

        await Bounded.Until(() => link.Counters.Revolutions > seen + 1, what: "scanning to resume");
        Assert.Contains(_log, l => l.StartsWith("lidar: no scan data for 1 s; restarting the scan", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_Unplugged_ReopensWhenTheDeviceIsBack()
    {
        var path = Path.Combine(Path.GetTempPath(), $"alex-lidar-{Guid.NewGuid():N}");
        var first = LidarPtySimulator.Start(NewLidar(), path, TimeProvider.System, null);
        var link = new LidarLink(path, LidarLink.DefaultBaud, TimeProvider.System, _log.Enqueue);
        var scans = Start(link);
        await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: "a first revolution");

        await first.DisposeAsync();
        await Bounded.Until(() => link.Counters.Reopens > 0, what: "the unplug to be noticed");
        var second = LidarPtySimulator.Start(NewLidar(), path, TimeProvider.System, null);
        _cleanup.Add(second);
        while (scans.Reader.TryRead(out _))
        {
        }

        await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(TimeSpan.FromSeconds(20), what: "a revolution from the replugged lidar");
        Assert.Contains(_log, l => l.Contains("reopening the port", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_Cancelled_LeavesTheDeviceStopped()
    {
        var sim = await PtyLidarAsync();
        var link = new LidarLink(sim.DevicePath, LidarLink.DefaultBaud, TimeProvider.System, _log.Enqueue);
        var scans = Start(link);
        await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: "a first revolution");

        await _cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _run!).Within(what: "the link to stop");
        _run = null;

        await Bounded.Until(() => !sim.Lidar.Scanning, what: "the STOP to reach the device");
        Assert.False(link.MotorOn);
    }

    [Fact]
    public async Task RunAsync_RecordedStreamWithNoiseAndCutNodes_WholeRevolutionsAndCounts()
    {
        // A recorded A1 session as the host sees it: health, info, scan descriptor, then three turns of 360 nodes
        // with line noise after the first turn's 100th node and a node cut to 3 bytes in the second turn.
        var turn = Enumerable.Range(0, 360).Select(i => new LidarScanNode(i == 0, 40, (ushort)(i * 64), (ushort)(4000 + i))).ToArray();
        var bytes = new List<byte>();
        bytes.AddRange([0xA5, 0x5A, 0x03, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00]);
        bytes.AddRange([0xA5, 0x5A, 0x14, 0x00, 0x00, 0x00, 0x04, 0x18, 0x1D, 0x01, 0x07, .. new byte[16]]);
        bytes.AddRange(LidarDescriptor.ForScan.ToArray());
        for (var t = 0; t < 3; t++)
        {
            for (var i = 0; i < turn.Length; i++)
            {
                var node = new byte[5];
                turn[i].Write(node);
                bytes.AddRange(t == 1 && i == 200 ? node[..3] : node);
                if (t == 0 && i == 100)
                {
                    bytes.AddRange([0x00, 0x00, 0x00]);
                }
            }
        }

        bytes.AddRange(Enumerable.Range(0, 1).SelectMany(_ => { var n = new byte[5]; turn[0].Write(n); return n; }));
        var recorded = new RecordedStream(bytes.ToArray(), chunk: 97);
        var link = new LidarLink(() => recorded, "recorded", TimeProvider.System, _log.Enqueue);
        var scans = Start(link);

        var turns = new List<LidarScan>();
        for (var i = 0; i < 3; i++)
        {
            turns.Add(await scans.Reader.ReadAsync(_cts.Token).AsTask().Within(what: $"turn {i}"));
        }

        Assert.Equal(360, turns[0].Revolution.Nodes.Count);
        Assert.InRange(turns[1].Revolution.Nodes.Count, 357, 360);
        Assert.Equal(360, turns[2].Revolution.Nodes.Count);
        Assert.Equal([1L, 2, 3], turns.Select(t => t.Sequence));
        Assert.InRange(link.Counters.NoiseBytes, 3 + 3, 3 + 3 + 15);
        Assert.StartsWith("A525A552A550A520", Convert.ToHexString(recorded.Written.ToArray()), StringComparison.Ordinal);
    }

    /// <summary>Plays recorded bytes in fixed chunks, then waits for more that never come; keeps what the host wrote.</summary>
    private sealed class RecordedStream(byte[] bytes, int chunk) : Stream
    {
        private int _at;

        public List<byte> Written { get; } = [];

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_at >= bytes.Length)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var n = Math.Min(Math.Min(chunk, buffer.Length), bytes.Length - _at);
            bytes.AsMemory(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (Written)
            {
                Written.AddRange(buffer.AsSpan(offset, count));
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
