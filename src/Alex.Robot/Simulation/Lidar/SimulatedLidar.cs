// A simulated RPLidar A1 (docs/lidar.md): it answers GET_INFO, GET_HEALTH, SCAN, STOP and RESET with
// the device's bytes, and while scanning sends standard 5-byte nodes at the device's rate, each a ray
// cast from the simulated Alex's pose into the world, with range limits and noise.
//
// The device's angle grows clockwise seen from above, 0° straight ahead; the world's heading grows
// counter-clockwise, so a node at device angle θ looks along heading − θ. Time comes from a
// TimeProvider: the nodes due are those whose sampling time has passed, so a fake clock drives it.
using System.Buffers;
using Alex.Protocol.Lidar;

namespace Alex.Robot.Simulation.Lidar;

/// <summary>How the simulated lidar behaves (defaults: an A1M8 in standard mode).</summary>
public sealed record LidarSimSettings
{
    public double RevolutionsPerSecond { get; init; } = 5.5;

    public int SamplesPerRevolution { get; init; } = 360;

    /// <summary>Nearer than this the A1 reports no distance.</summary>
    public double MinRangeCm { get; init; } = 15;

    /// <summary>Farther than this the A1 reports no distance.</summary>
    public double MaxRangeCm { get; init; } = 1200;

    /// <summary>Standard deviation of the distance error, as a fraction of the distance (the A1 claims under 1 %).</summary>
    public double NoiseFraction { get; init; } = 0.005;

    /// <summary>Random jitter of each sample's angle, ± degrees.</summary>
    public double AngleJitterDeg { get; init; } = 0.2;

    public LidarDeviceInfo Info { get; init; } = new(0x18, 1, 29, 7, "5C8AE2F0C9E29BD1A0E59AF34A1B3C2D");

    public int? Seed { get; init; }

    public void Validate()
    {
        if (RevolutionsPerSecond is <= 0 or > 50 || SamplesPerRevolution is < 8 or > 4000 || MinRangeCm < 0 || MaxRangeCm <= MinRangeCm
            || NoiseFraction is < 0 or > 0.5 || AngleJitterDeg is < 0 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(RevolutionsPerSecond), "lidar settings out of range");
        }
    }

    public double NodesPerSecond => RevolutionsPerSecond * SamplesPerRevolution;
}

/// <summary>The device as a state machine over request bytes in and response bytes out. Thread-safe.</summary>
public sealed class SimulatedLidar
{
    /// <summary>What an A1 prints after RESET before it listens again.</summary>
    public static ReadOnlySpan<byte> ResetBanner => "RP LIDAR System.\r\nFirmware Ver 1.29 - rc9, HW Ver 7\r\nModel: 18\r\n"u8;

    private readonly Lock _gate = new();
    private readonly LidarWorld _world;
    private readonly SimulatedBody _body;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly byte[] _pending = new byte[LidarRequest.LengthOf(LidarRequest.MaxPayload)];
    private int _pendingLength;
    private long _scanStart;
    private long _nodesSent;

    public SimulatedLidar(LidarWorld world, SimulatedBody body, LidarSimSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        settings.Validate();
        _world = world;
        _body = body;
        Settings = settings;
        _time = time;
#pragma warning disable CA5394 // simulated measurement noise, not security
        _random = settings.Seed is { } seed ? new Random(seed) : new Random();
#pragma warning restore CA5394
    }

    public LidarSimSettings Settings { get; }

    /// <summary>Where the lidar really is (the simulator's truth, with wheel slip): for measuring a mapper against it.</summary>
    public SimulatedBody Body => _body;

    /// <summary>Sampling (between SCAN and STOP, RESET or another request).</summary>
    public bool Scanning { get; private set; }

    /// <summary>The motor turns (on the A1's adapter: DTR clear). A stopped motor sends no nodes.</summary>
    public bool MotorRunning { get; set; } = true;

    /// <summary>Requests understood, and bytes that were not a request.</summary>
    public long Requests { get; private set; }

    public long Noise { get; private set; }

    /// <summary>Takes bytes from the host (any chunking); returns what the device sends at once.</summary>
    public byte[] Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            var output = new ArrayBufferWriter<byte>();
            while (!bytes.IsEmpty)
            {
                var take = Math.Min(bytes.Length, _pending.Length - _pendingLength);
                bytes[..take].CopyTo(_pending.AsSpan(_pendingLength));
                _pendingLength += take;
                bytes = bytes[take..];
                while (true)
                {
                    var status = LidarRequest.TryRead(_pending.AsSpan(0, _pendingLength), out var command, out var consumed);
                    if (status == OperationStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == OperationStatus.Done)
                    {
                        Requests++;
                        Answer(command, output);
                    }
                    else
                    {
                        Noise += consumed;
                    }

                    _pending.AsSpan(consumed, _pendingLength - consumed).CopyTo(_pending);
                    _pendingLength -= consumed;
                }
            }

            return output.WrittenSpan.ToArray();
        }
    }

    /// <summary>The nodes whose sampling time has passed, encoded (empty when not scanning). After a stall, at most one revolution, continuing the stream.</summary>
    public byte[] TakeDue()
    {
        lock (_gate)
        {
            if (!Scanning || !MotorRunning)
            {
                return [];
            }

            var due = (long)(_time.GetElapsedTime(_scanStart).TotalSeconds * Settings.NodesPerSecond);
            if (due - _nodesSent > Settings.SamplesPerRevolution)
            {
                // Nobody took the nodes for more than a turn (a stalled pump): carry on where the stream stopped, as a
                // motor that slowed down would, so the angles stay continuous and every turn keeps its samples.
                var behind = due - _nodesSent - Settings.SamplesPerRevolution;
                _scanStart += (long)(behind / Settings.NodesPerSecond * _time.TimestampFrequency);
                due = _nodesSent + Settings.SamplesPerRevolution;
            }

            var count = (int)Math.Max(0, due - _nodesSent);
            var bytes = new byte[count * LidarScanNode.Size];
            var pose = _body.Pose;
            for (var i = 0; i < count; i++)
            {
                Sample(_nodesSent++, pose).Write(bytes.AsSpan(i * LidarScanNode.Size));
            }

            return bytes;
        }
    }

    private void Answer(byte command, ArrayBufferWriter<byte> output)
    {
        Scanning = false;
        switch ((LidarCommand)command)
        {
            case LidarCommand.GetInfo:
                LidarDescriptor.ForInfo.Write(output.GetSpan(LidarDescriptor.Size));
                output.Advance(LidarDescriptor.Size);
                Settings.Info.Write(output.GetSpan(LidarDeviceInfo.Size));
                output.Advance(LidarDeviceInfo.Size);
                break;
            case LidarCommand.GetHealth:
                LidarDescriptor.ForHealth.Write(output.GetSpan(LidarDescriptor.Size));
                output.Advance(LidarDescriptor.Size);
                new LidarHealth(LidarHealthStatus.Good, 0).Write(output.GetSpan(LidarHealth.Size));
                output.Advance(LidarHealth.Size);
                break;
            case LidarCommand.Scan:
                LidarDescriptor.ForScan.Write(output.GetSpan(LidarDescriptor.Size));
                output.Advance(LidarDescriptor.Size);
                Scanning = true;
                _scanStart = _time.GetTimestamp();
                _nodesSent = 0;
                break;
            case LidarCommand.Reset:
                output.Write(ResetBanner);
                break;
            default:
                // STOP, and requests this model ignores: no answer.
                break;
        }
    }

    private LidarScanNode Sample(long index, WorldPose pose)
    {
        var k = (int)(index % Settings.SamplesPerRevolution);
#pragma warning disable CA5394 // simulated measurement noise
        var angle = (k * 360.0 / Settings.SamplesPerRevolution) + ((_random.NextDouble() * 2) - 1) * Settings.AngleJitterDeg;
        var hit = _world.Cast(pose.X, pose.Y, pose.HeadingDeg - angle);
        if (hit is not { } cm || cm < Settings.MinRangeCm || cm > Settings.MaxRangeCm)
        {
            return LidarScanNode.From(k == 0, 0, angle, 0);
        }

        // Box-Muller: a normal deviate from two uniform ones.
        var gauss = Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
#pragma warning restore CA5394
        var mm = cm * 10 * (1 + (gauss * Settings.NoiseFraction));
        var quality = (byte)Math.Clamp(60 - (cm / 40), 10, LidarScanNode.MaxQuality);
        return LidarScanNode.From(k == 0, quality, angle, mm);
    }
}
