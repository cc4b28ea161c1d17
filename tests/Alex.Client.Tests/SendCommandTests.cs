using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Alex.Robot.Server;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

/// <summary>`alex send` as a user runs it: the real executable against the real server on loopback.</summary>
public sealed class SendCommandTests : IClassFixture<TestPkiFixture>, IAsyncLifetime
{
    private readonly TestPki _pki;
    private readonly SimulatedRobotLink _link = new(TimeProvider.System);
    private RobotHost _host = null!;

    public SendCommandTests(TestPkiFixture fixture)
    {
        _pki = fixture.Pki;
    }

    private string Target => $"127.0.0.1:{_host.LocalEndPoint.Port}";

    public Task InitializeAsync()
    {
        _host = RobotHost.Start(
            new RobotHostOptions
            {
                CertificatePath = _pki.RobotCertificate,
                KeyPath = _pki.RobotKey,
                Policy = new PolicySources(_pki.CaPath, null, TestPki.AllowEntries, null, AllowAny: false, Legacy: false),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                Hub = new HubOptions { MaxSpeedPercent = 80 },
                HandshakeTimeout = TimeSpan.FromSeconds(60), // a cold `dotnet alex.dll` on a loaded machine handshakes slowly
            },
            _link,
            TimeProvider.System);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync().AsTask().Within();

    [Fact]
    public async Task Send_MoveThenStats_Json_ExitZeroWithStatus()
    {
        var (code, stdout, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", TestPki.RobotName, "f", "50", "75", ";", "g", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal("alexlink/1", root.GetProperty("protocol").GetString());
        Assert.Equal("laptop.epp.com", root.GetProperty("clientName").GetString());
        var results = root.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        Assert.Equal("f 50 75", results[0].GetProperty("command").GetString());
        Assert.True(results[1].GetProperty("status").TryGetProperty("forwardDistanceCm", out _));
    }

    [Fact]
    public async Task Send_Text_OneLinePerCommandAndStatusTable()
    {
        var (code, stdout, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", TestPki.RobotName, "c;", "g");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"^c\s+OK\s+\d+ ms", stdout);
        Assert.Contains("Left Forward Ticks", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_Wait_StaysUntilAlexStops()
    {
        var (code, stdout, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", TestPki.RobotName, "f", "20", "80");
        Assert.True(code == 0, stderr);
        Assert.Contains("Alex has stopped.", stdout, StringComparison.Ordinal);
        Assert.True(_link.Alex.Counters.ForwardDistanceCm >= 20, $"moved {_link.Alex.Counters.ForwardDistanceCm} cm");
    }

    [Fact]
    public async Task Send_Classic_ExitZero()
    {
        var (code, _, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", TestPki.RobotName, "--classic", "s");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task Send_WatcherMoves_ExitOneWithReasonAndHint()
    {
        var (code, _, stderr) = await AlexAsync("send", Target, "--pki", _pki.Watcher, "--name", TestPki.RobotName, "f", "10", "10", ";", "s");
        Assert.Equal(1, code);
        var lines = stderr.Trim().Split('\n');
        Assert.StartsWith("alex: f 10 10: ", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("(1 command not sent)", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("hint: this laptop has the watch role", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_OverLimit_ExitOne()
    {
        var (code, stdout, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", TestPki.RobotName, "f", "10", "90", "--json");
        Assert.True(code == 1, stdout + stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("results")[0].TryGetProperty("error", out var error), stdout + stderr);
        Assert.Equal("LimitExceeded", error.GetString());
    }

    [Fact]
    public async Task Send_NotOnAllowList_RefusalInWords()
    {
        var (code, _, stderr) = await AlexAsync("send", Target, "--pki", _pki.Unlisted, "--name", TestPki.RobotName, "g");
        Assert.Equal(1, code);
        Assert.Contains("refused us", stderr, StringComparison.Ordinal);
        Assert.Contains("laptop-3", stderr, StringComparison.Ordinal);
        Assert.Contains("hint: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WrongName_RefusesServer()
    {
        var (code, _, stderr) = await AlexAsync("send", Target, "--pki", _pki.Laptop, "--name", "robot-9", "g");
        Assert.Equal(1, code);
        Assert.Contains("we do not trust the server", stderr, StringComparison.Ordinal);
        Assert.Contains("--name", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_BadCommand_UsageExitTwoBeforeConnecting()
    {
        var (code, _, stderr) = await AlexAsync("send", "127.0.0.1:1", "--pki", _pki.Laptop, "f", "50");
        Assert.Equal(2, code);
        Assert.StartsWith("alex: 'f 50': 'f' takes two numbers", stderr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stdout, string Stderr)> AlexAsync(params string[] args) => AlexCli.RunAsync(TimeSpan.FromSeconds(30), args);
}
