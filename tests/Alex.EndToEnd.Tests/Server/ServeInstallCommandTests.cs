using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>`alex serve install --print`: the unit the real command writes, checked by systemd itself; and the refusals.</summary>
public sealed class ServeInstallCommandTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServeInstallCommandTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task Print_RobotOptions_UnitPassesSystemdAnalyzeVerify()
    {
        var (code, unit, stderr) = await AlexCli.RunAsync(
            TimeSpan.FromSeconds(60),
            "serve", "install", "--print", "--pki", _pki.Dir, "--allow", "laptop=drive", "--allow", "tutor=admin", "--serial", "/dev/ttyACM0", "--max-speed", "60");
        Assert.True(code == 0, stderr);
        // Where Avahi runs it announces the robot, and the server is told not to (docs/service.md "Finding the robot").
        var announce = Directory.Exists("/etc/avahi/services") ? " --no-announce" : "";
        Assert.Contains($"--crl /etc/alexlink/crl.pem --allow-file /etc/alexlink/allowed.txt --serial /dev/ttyACM0 --baud 9600{announce} --max-speed 60 --audit /var/lib/alexlink/audit.jsonl\n", unit, StringComparison.Ordinal);

        var dir = Directory.CreateTempSubdirectory("alex-unit-").FullName;
        try
        {
            var path = Path.Combine(dir, "alexlink.service");
            await File.WriteAllTextAsync(path, unit);
            var (verified, output, problems) = await ToolRun.RunAsync("systemd-analyze", ["verify", path], TimeSpan.FromSeconds(60), "systemd-analyze verify");
            Assert.True(verified == 0, output + problems);
            Assert.Equal("", (output + problems).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Print_WithExtensions_UnitPassesTheCopiedDeclaration_BadFileRefusedWithItsLine()
    {
        var example = Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json");
        var (code, unit, stderr) = await AlexCli.RunAsync(
            TimeSpan.FromSeconds(60),
            "serve", "install", "--print", "--pki", _pki.Dir, "--allow", "laptop", "--serial", "/dev/ttyACM0", "--extensions", example);
        Assert.True(code == 0, stderr);
        Assert.Contains(" --baud 9600 --extensions /etc/alexlink/alex-extensions.json ", unit, StringComparison.Ordinal);
        Assert.DoesNotContain(example, unit, StringComparison.Ordinal);

        var bad = _pki.Path($"bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(bad, "{ \"alexExtensions\": 1,\n  \"commands\": [ { \"name\": \"x\", \"code\": 5, \"roles\": [\"drive\"], \"reply\": \"ok\" } ] }");
        var refused = await AlexCli.RunAsync(
            TimeSpan.FromSeconds(60),
            "serve", "install", "--print", "--pki", _pki.Dir, "--allow", "laptop", "--serial", "/dev/ttyACM0", "--extensions", bad);
        Assert.Equal(2, refused.Code);
        Assert.Equal("", refused.Stdout);
        Assert.StartsWith($"alex: {bad} line 2: command \"x\": code 5 is the course's GET_STATS", refused.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Print_SigningKeyAsTheRobotsKey_RefusedExit1()
    {
        var (code, stdout, stderr) = await AlexCli.RunAsync(
            TimeSpan.FromSeconds(60),
            "serve", "install", "--print", "--cert", _pki.Path("alex.crt"), "--key", _pki.Path("signing.key"), "--ca", _pki.CaPath, "--crl", _pki.Path("crl.pem"), "--allow", "laptop", "--serial", "/dev/ttyACM0");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            [$"alex: {_pki.Path("signing.key")}: the CA's signing key never goes onto the robot", "hint: give the robot's own key (alex.key from `alex pki issue server`); signing.key stays on the machine that signs"],
            stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
