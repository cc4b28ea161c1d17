using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Alex.Pki.Diagnostics;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Doctor;

/// <summary>`alex doctor` as a user runs it: the real executable, its output and exit code.</summary>
public sealed class DoctorCommandTests : IClassFixture<DoctorPki>
{
    private readonly DoctorPki _pki;

    public DoctorCommandTests(DoctorPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task Doctor_GoodLaptopFiles_ExitZeroAllGood()
    {
        var (code, stdout, stderr) = await AlexAsync("doctor", "--pki", _pki.Machine(DeviceRole.Laptop));
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("  ok   laptop.key belongs to laptop.crt, owner-only (0600)", stdout, StringComparison.Ordinal);
        Assert.Matches(@"all good \(\d+ checks\)\s*$", stdout);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Doctor_KeyReadableByOthers_ExitOneWithFix()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        var key = Path.Combine(dir, "laptop.key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var (code, stdout, _) = await AlexAsync("doctor", "--pki", dir);
        Assert.Equal(1, code);
        Assert.Contains($"  FAIL {key} is readable by every user on this machine (mode 0644)", stdout, StringComparison.Ordinal);
        Assert.Contains($"       fix: chmod 600 {key}", stdout, StringComparison.Ordinal);
        Assert.Contains("1 problem: a connection will fail (or is unsafe) until the problems are fixed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_ExpiringSoon_WarningExitZero()
    {
        var (code, stdout, _) = await AlexAsync("doctor", "--pki", _pki.Machine(DeviceRole.Laptop, days: 5));
        Assert.Equal(0, code);
        Assert.Contains("  warn laptop.crt expires in", stdout, StringComparison.Ordinal);
        Assert.Contains("no problems, 1 warning", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_ExplicitFilesAndRefusedPort_Json()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (code, stdout, stderr) = await AlexAsync("doctor", "--cert", Path.Combine(dir, "laptop.crt"), "--key", Path.Combine(dir, "laptop.key"), "--ca", Path.Combine(dir, "signing.pem"), $"127.0.0.1:{port}", "--json");
        Assert.True(code == 1, stdout + stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal(1, root.GetProperty("problems").GetInt32());
        var network = root.GetProperty("sections")[1];
        Assert.Equal($"connection to 127.0.0.1:{port}", network.GetProperty("title").GetString());
        var finding = network.GetProperty("findings")[0];
        Assert.Equal("problem", finding.GetProperty("level").GetString());
        Assert.Contains("connection refused", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(finding.GetProperty("fix").GetString()));
    }

    [Fact]
    public async Task Doctor_MissingSerialPort_ExitOne()
    {
        var (code, stdout, _) = await AlexAsync("doctor", "--serial", "/dev/ttyACM-alex-doctor-missing");
        Assert.Equal(1, code);
        Assert.Contains("  FAIL /dev/ttyACM-alex-doctor-missing does not exist", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_NothingToCheck_UsageError()
    {
        var (code, _, stderr) = await AlexAsync("doctor", "--pki", Path.Combine(_pki.Root, "no-such-dir"));
        Assert.Equal(2, code);
        Assert.StartsWith("alex: ", stderr, StringComparison.Ordinal);
        Assert.Contains("hint: ", stderr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stdout, string Stderr)> AlexAsync(params string[] args) => AlexCli.RunAsync(TimeSpan.FromSeconds(60), args);
}
