// The serial half of `alex doctor`, run on the Pi: is the Arduino's port there,
// may we open it, and does the Arduino answer at the baud we use?
//
// Baud: a line opened at the wrong speed still carries bytes, but every byte arrives mangled, so
// the decoder sees only noise and bad checksums and never a frame. So: open at the chosen baud, wait
// for the Uno's reset (opening toggles DTR; docs/course-protocol.md §2), send GET_STATS, and read for a short
// window. A valid frame: fine. Only noise: a baud mismatch is suspected, and the other common bauds
// (9600 the course, 57600 the 2019 course, 115200) are tried so the fix can name the right one.
// Nothing at all: no firmware, or the wrong port.
using Alex.Pki.Diagnostics;
using Alex.Protocol.Serial;
using Alex.Robot.Serial;

namespace Alex.Robot.Diagnostics;

/// <summary>Settings of the serial check.</summary>
public sealed record SerialCheckupOptions
{
    /// <summary>The baud the server will use.</summary>
    public int BaudRate { get; init; } = 9600;

    /// <summary>The bauds tried when the chosen one gives only noise.</summary>
    public IReadOnlyList<int> CommonBaudRates { get; init; } = [9600, 57600, 115200];

    /// <summary>Wait after opening (the Uno resets through DTR and its bootloader eats what comes meanwhile). Zero for a pty or a test.</summary>
    public TimeSpan ResetDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to listen for the answer to GET_STATS.</summary>
    public TimeSpan ReplyWindow { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Send GET_STATS and judge the answer; off: only presence and permissions are checked.</summary>
    public bool ProbeBaud { get; init; } = true;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>What came back to one GET_STATS at one baud.</summary>
public sealed record BaudProbe(int BaudRate, int Frames, int BadFrames, int NoiseBytes, SerialPacket? FirstFrame)
{
    public bool Answered => Frames > 0;

    public bool OnlyNoise => Frames == 0 && (BadFrames > 0 || NoiseBytes > 0);

    public bool Silent => Frames == 0 && BadFrames == 0 && NoiseBytes == 0;
}

/// <summary>Checks the Arduino's serial port.</summary>
public static class SerialCheckup
{
    public const string Subject = SerialAccess.Subject;

    /// <summary>Presence, permissions and, when asked, the baud; <paramref name="open"/> opens the port at a baud (default: <see cref="TtyStream"/>).</summary>
    public static async Task<IReadOnlyList<Finding>> CheckAsync(string path, SerialCheckupOptions? options, Func<string, int, Stream>? open, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SerialCheckupOptions();
        var findings = new List<Finding>();
        if (!Path.Exists(path))
        {
            findings.Add(Missing(path, Candidates()));
            return findings;
        }

        if (Directory.Exists(path))
        {
            findings.Add(Finding.Problem(Subject, $"{path} is a directory, not a serial port", $"give the device, e.g. {(Candidates() is { Count: > 0 } c ? c[0] : "/dev/ttyACM0")}"));
            return findings;
        }

        if (SerialAccess.Stat(path) is { } ownership && SerialAccess.CurrentProcess() is { } me)
        {
            var access = SerialAccess.Decide(path, ownership, me, SerialAccess.SystemGroups());
            findings.Add(access);
            if (access.Level == FindingLevel.Problem)
            {
                return findings;
            }
        }

        if (options.ProbeBaud)
        {
            findings.AddRange(await ProbeAsync(path, options, open ?? OpenSerialPort, cancellationToken).ConfigureAwait(false));
        }

        return findings;
    }

    /// <summary>The finding for a missing port, naming the serial devices that do exist.</summary>
    public static Finding Missing(string path, IReadOnlyList<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        return candidates.Count == 0
            ? Finding.Problem(Subject, $"{path} does not exist, and no serial device (/dev/ttyACM*, /dev/ttyUSB*) is present: the Arduino is not plugged in, or its USB cable carries power only",
                "plug the Arduino into the Pi with a data USB cable; `dmesg | tail` shows it arrive")
            : Finding.Problem(Subject, $"{path} does not exist; serial devices present: {string.Join(", ", candidates)}",
                $"use --serial {candidates[0]}");
    }

    /// <summary>Serial devices an Arduino shows up as (stable /dev/serial/by-id names first).</summary>
    public static IReadOnlyList<string> Candidates()
    {
        var found = new List<string>();
        try
        {
            if (Directory.Exists("/dev/serial/by-id"))
            {
                found.AddRange(Directory.GetFileSystemEntries("/dev/serial/by-id").Order(StringComparer.Ordinal));
            }

            found.AddRange(Directory.GetFileSystemEntries("/dev", "ttyACM*").Order(StringComparer.Ordinal));
            found.AddRange(Directory.GetFileSystemEntries("/dev", "ttyUSB*").Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // /dev unreadable: report no candidates rather than fail the check.
        }

        return found;
    }

    /// <summary>Probes the chosen baud and, if only noise came back, the other common ones.</summary>
    public static async Task<IReadOnlyList<Finding>> ProbeAsync(string path, SerialCheckupOptions options, Func<string, int, Stream> open, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(open);
        var chosen = await ProbeOneAsync(path, options.BaudRate, options, open, cancellationToken).ConfigureAwait(false);
        if (chosen.Error is { } error)
        {
            return [error];
        }

        var probe = chosen.Probe!;
        if (probe.Answered)
        {
            return [Finding.Ok(Subject, $"the Arduino on {path} answers GET_STATS at {probe.BaudRate} baud ({Describe(probe.FirstFrame!)})")];
        }

        if (probe.Silent)
        {
            return [Finding.Problem(Subject,
                $"no answer on {path} to GET_STATS within {options.ReplyWindow.TotalSeconds:0.#} s at {probe.BaudRate} baud: no firmware running, another program holding the port, or the wrong port",
                "upload the course firmware (Alex.ino) to the Arduino, stop other programs using the port (alex serve, the course server), and check the port with ls /dev/ttyACM* /dev/ttyUSB*")];
        }

        var heard = $"at {probe.BaudRate} baud only noise came back ({probe.NoiseBytes} stray bytes, {probe.BadFrames} frames with bad checksums, no valid frame)";
        foreach (var baud in options.CommonBaudRates.Where(b => b != options.BaudRate))
        {
            var other = await ProbeOneAsync(path, baud, options, open, cancellationToken).ConfigureAwait(false);
            if (other.Probe is { Answered: true })
            {
                return [Finding.Problem(Subject, $"baud mismatch: {heard}, but the Arduino answers at {baud} baud",
                    $"use --baud {baud} (or make the sketch's Serial.begin({options.BaudRate}) match)")];
            }
        }

        var others = string.Join(" or ", options.CommonBaudRates.Where(b => b != options.BaudRate));
        return [Finding.Problem(Subject, $"baud mismatch suspected: {heard}; no valid answer at {others} either",
            $"use the baud of the sketch's Serial.begin(...) with --baud (common: {string.Join(", ", options.CommonBaudRates)}); check the cable and the ground")];
    }

    private static async Task<(BaudProbe? Probe, Finding? Error)> ProbeOneAsync(string path, int baud, SerialCheckupOptions options, Func<string, int, Stream> open, CancellationToken cancellationToken)
    {
        Stream port;
        try
        {
            port = open(path, baud);
        }
        catch (UnauthorizedAccessException)
        {
            return (null, Finding.Problem(Subject, $"{path}: permission denied when opening it", "sudo usermod -aG dialout $USER, then log out and back in"));
        }
        catch (IOException e)
        {
            return (null, Finding.Problem(Subject, $"{path}: cannot open it at {baud} baud ({e.Message.TrimEnd('.')})", "is another program using it (alex serve, the course server)? is it a serial device?"));
        }

        await using (port.ConfigureAwait(false))
        {
            if (options.ResetDelay > TimeSpan.Zero)
            {
                await Task.Delay(options.ResetDelay, options.Time, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await port.WriteAsync(SerialFrame.Encode(SerialPacket.ForCommand(CommandCode.GetStats)), cancellationToken).ConfigureAwait(false);
                await port.FlushAsync(cancellationToken).ConfigureAwait(false);
                return (await ListenAsync(port, baud, options, cancellationToken).ConfigureAwait(false), null);
            }
            catch (IOException e)
            {
                return (null, Finding.Problem(Subject, $"{path}: the port failed while probing at {baud} baud ({e.Message.TrimEnd('.')}): was the Arduino unplugged?", "check the USB cable"));
            }
        }
    }

    private static async Task<BaudProbe> ListenAsync(Stream port, int baud, SerialCheckupOptions options, CancellationToken cancellationToken)
    {
        var decoder = new SerialFrameDecoder();
        int frames = 0, bad = 0, noise = 0;
        SerialPacket? first = null;
        var buffer = new byte[1024];
        using var window = new CancellationTokenSource(options.ReplyWindow, options.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(window.Token, cancellationToken);
        try
        {
            while (frames == 0)
            {
                var n = await port.ReadAsync(buffer, linked.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                decoder.Append(buffer.AsSpan(0, n));
                while (decoder.TryRead(out var result))
                {
                    Count(result);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The window closed: judge what came.
        }

        if (decoder.FlushNoise(out var rest))
        {
            Count(rest);
        }

        // Bytes still waiting for the rest of a frame never became one: at a wrong baud that is noise too.
        noise += decoder.Buffered;
        return new BaudProbe(baud, frames, bad, noise, first);

        void Count(SerialReadResult result)
        {
            switch (result.Kind)
            {
                case SerialReadKind.Frame:
                    frames++;
                    first ??= result.Packet;
                    break;
                case SerialReadKind.BadChecksum:
                    bad++;
                    break;
                default:
                    noise += result.ByteCount;
                    break;
            }
        }
    }

    private static string Describe(SerialPacket packet) => packet.Type switch
    {
        PacketType.Response when packet.IsStatus => $"STATUS, forward distance {packet.Status.ForwardDistanceCm} cm",
        PacketType.Response => $"RESPONSE {packet.Response}",
        PacketType.Error => $"ERROR {packet.Response}: the firmware is there and speaks the frame format",
        _ => packet.Type.ToString(),
    };

    private static TtyStream OpenSerialPort(string path, int baud) => TtyStream.Open(path, baud);
}
