using Alex.Pki.Diagnostics;
using Alex.Protocol.Serial;
using Alex.Robot.Diagnostics;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Doctor;

/// <summary>The serial checks: a missing port, who may open it (dialout), and a baud mismatch told from noise.</summary>
public sealed class SerialCheckupTests
{
    private static readonly GroupDatabase Groups = GroupDatabase.Parse(["root:x:0:", "dialout:x:20:pi", "student:x:1000:"]);

    private const UnixFileMode Mode0660 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    [Fact]
    public async Task Check_MissingPath_Problem()
    {
        var path = $"/dev/ttyACM-alex-missing-{Guid.NewGuid():N}";
        var findings = await SerialCheckup.CheckAsync(path, new SerialCheckupOptions { ResetDelay = TimeSpan.Zero }, open: null, CancellationToken.None).Within();
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.StartsWith($"{path} does not exist", f.Message, StringComparison.Ordinal);
        Assert.NotNull(f.Fix);
    }

    [Fact]
    public void Missing_WithCandidates_NamesThem()
    {
        var f = SerialCheckup.Missing("/dev/ttyACM0", ["/dev/ttyUSB0"]);
        Assert.Equal("/dev/ttyACM0 does not exist; serial devices present: /dev/ttyUSB0", f.Message);
        Assert.Equal("use --serial /dev/ttyUSB0", f.Fix);
    }

    [Fact]
    public void Decide_NotInDialout_UsermodFix()
    {
        var f = SerialAccess.Decide("/dev/ttyACM0", new FileOwnership(0, 20, Mode0660), new ProcessIdentity(1000, "student", [1000]), Groups);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.Equal("/dev/ttyACM0 belongs to group dialout (mode 0660) and student is not in it: permission denied", f.Message);
        Assert.Equal("sudo usermod -aG dialout student, then log out and back in", f.Fix);
    }

    [Fact]
    public void Decide_AddedToDialoutButNotLoggedInAgain_SaysLogOut()
    {
        var f = SerialAccess.Decide("/dev/ttyACM0", new FileOwnership(0, 20, Mode0660), new ProcessIdentity(1001, "pi", [1001]), Groups);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.Contains("was added to dialout, but this login session started before that", f.Message, StringComparison.Ordinal);
        Assert.Contains("newgrp dialout", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_InDialout_Ok()
    {
        var f = SerialAccess.Decide("/dev/ttyACM0", new FileOwnership(0, 20, Mode0660), new ProcessIdentity(1001, "pi", [1001, 20]), Groups);
        Assert.Equal(FindingLevel.Ok, f.Level);
        Assert.Contains("through group dialout", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_OwnerOnlyDevice_ChmodFix()
    {
        var f = SerialAccess.Decide("/dev/ttyS0", new FileOwnership(0, 20, UnixFileMode.UserRead | UnixFileMode.UserWrite), new ProcessIdentity(1000, "student", [1000, 20]), Groups);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.Contains("chmod 660", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_Root_Ok()
    {
        var f = SerialAccess.Decide("/dev/ttyACM0", new FileOwnership(0, 20, Mode0660), new ProcessIdentity(0, "root", [0]), Groups);
        Assert.Equal(FindingLevel.Ok, f.Level);
    }

    [Fact]
    public void Stat_RealFile_ReadsModeAndOwner()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var path = Path.GetTempFileName();
        try
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            var stat = SerialAccess.Stat(path);
            var me = SerialAccess.CurrentProcess();
            Assert.NotNull(stat);
            Assert.NotNull(me);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, stat.Value.Mode);
            Assert.Equal(me.Uid, stat.Value.Uid);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Probe_SimulatedArduinoAnswers_Ok()
    {
        var line = new InMemorySerialLine();
        var arduino = AnswerAsync(line.ArduinoEnd, noise: false);
        var findings = await SerialCheckup.ProbeAsync("/dev/sim", Options(), (_, _) => line.PiEnd, CancellationToken.None).Within();
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Ok, f.Level);
        Assert.Contains("answers GET_STATS at 9600 baud", f.Message, StringComparison.Ordinal);
        line.Sever();
        await arduino.Within();
    }

    [Fact]
    public async Task Probe_NoiseAt9600_AnswersAt57600_NamesTheBaud()
    {
        // One line per open; the "Arduino" speaks 57600, so at any other baud its bytes arrive mangled.
        var opened = new List<int>();
        var arduinos = new List<Task>();
        var findings = await SerialCheckup.ProbeAsync("/dev/sim", Options(), (_, baud) =>
        {
            opened.Add(baud);
            var line = new InMemorySerialLine();
            arduinos.Add(AnswerAsync(line.ArduinoEnd, noise: baud != 57600));
            return line.PiEnd;
        }, CancellationToken.None).Within();
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.StartsWith("baud mismatch: at 9600 baud only noise came back", f.Message, StringComparison.Ordinal);
        Assert.Contains("the Arduino answers at 57600 baud", f.Message, StringComparison.Ordinal);
        Assert.Equal("use --baud 57600 (or make the sketch's Serial.begin(9600) match)", f.Fix);
        Assert.Equal([9600, 57600], opened);
    }

    [Fact]
    public async Task Probe_OnlyNoiseAtEveryBaud_MismatchSuspected()
    {
        var findings = await SerialCheckup.ProbeAsync("/dev/sim", Options(), (_, _) =>
        {
            var line = new InMemorySerialLine();
            _ = AnswerAsync(line.ArduinoEnd, noise: true);
            return line.PiEnd;
        }, CancellationToken.None).Within();
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.StartsWith("baud mismatch suspected: at 9600 baud only noise came back", f.Message, StringComparison.Ordinal);
        Assert.Contains("no valid answer at 57600 or 115200 either", f.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_Silence_NoFirmware()
    {
        var line = new InMemorySerialLine();
        var findings = await SerialCheckup.ProbeAsync("/dev/sim", Options(), (_, _) => line.PiEnd, CancellationToken.None).Within();
        var f = Assert.Single(findings);
        Assert.Equal(FindingLevel.Problem, f.Level);
        Assert.StartsWith("no answer on /dev/sim to GET_STATS", f.Message, StringComparison.Ordinal);
    }

    private static SerialCheckupOptions Options() => new() { ResetDelay = TimeSpan.Zero, ReplyWindow = TimeSpan.FromMilliseconds(300) };

    // Reads one command frame and answers OK + STATUS, either intact or as a line at the wrong
    // baud would deliver them: every byte turned into another one (never a valid frame).
    private static async Task AnswerAsync(Stream arduino, bool noise)
    {
        var buffer = new byte[SerialFrame.Size];
        var got = 0;
        try
        {
            while (got < buffer.Length)
            {
                var n = await arduino.ReadAsync(buffer.AsMemory(got));
                if (n == 0)
                {
                    return;
                }

                got += n;
            }

            var reply = SerialFrame.Encode(SerialPacket.Ok()).Concat(SerialFrame.Encode(SerialPacket.StatusReply(default))).ToArray();
            if (noise)
            {
                for (var i = 0; i < reply.Length; i++)
                {
                    reply[i] = (byte)((reply[i] * 7) + 0x35);
                }
            }

            await arduino.WriteAsync(reply);
        }
        catch (IOException)
        {
            // The probe closed the line.
        }
    }
}
