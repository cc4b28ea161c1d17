using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Install;

/// <summary>
/// The Pi's build (linux-arm64 NativeAOT, made by build/publish.sh: docs/install.md) run under qemu-aarch64 on
/// this machine: it starts, and a robot server made of it answers a client made of it over TLS on loopback.
/// Runs when ALEX_ARM64_EXE names that build; CI (.ci/run) builds it and sets it, so there it always runs.
/// </summary>
public sealed partial class Arm64BuildTests
{
    /// <summary>qemu emulates every instruction (a TLS handshake took 10-30 s on a loaded 2-core machine): generous bounds.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private static string Exe => Environment.GetEnvironmentVariable("ALEX_ARM64_EXE") is { Length: > 0 } exe
        ? Path.GetFullPath(exe)
        : throw new InvalidOperationException("ALEX_ARM64_EXE is not set: CI builds the arm64 binary first (build/publish.sh linux-arm64)");

    [Arm64Fact]
    public void Binary_IsArm64Elf()
    {
        var header = new byte[20];
        using (var file = File.OpenRead(Exe))
        {
            file.ReadExactly(header);
        }

        Assert.Equal("\u007fELF"u8.ToArray(), header[..4]);
        const ushort ElfMachineAarch64 = 183;
        Assert.Equal(ElfMachineAarch64, BitConverter.ToUInt16(header, 18));
    }

    [Arm64Fact]
    public async Task Version_UnderQemu_PrintsTheVersion()
    {
        var (code, stdout, stderr) = await QemuAsync("--version");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout.Trim());
    }

    [Arm64Fact]
    public async Task ServeSimulateAndSend_UnderQemu_RoundTripOverTls()
    {
        var dir = Directory.CreateTempSubdirectory("alex-arm64-").FullName;
        try
        {
            var pki = Path.Combine(dir, "pki");
            foreach (var step in new[]
            {
                new[] { "pki", "init", "--dir", pki },
                ["pki", "issue", "server", "alex.epp.com", "--ip", "127.0.0.1", "--dir", pki],
                ["pki", "issue", "client", "laptop", "--dir", pki],
            })
            {
                var run = await QemuAsync(step);
                Assert.True(run.Code == 0, $"alex {string.Join(' ', step)}: {run.Stderr}");
            }

            var start = new ProcessStartInfo(Qemu) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Exe, "serve", "--pki", pki, "--allow", "laptop", "--simulate", "--listen", "127.0.0.1:0", "--quiet", "--handshake-timeout-ms", "60000" })
            {
                start.ArgumentList.Add(a);
            }

            using var serve = Process.Start(start)!;
            try
            {
                var port = await ReadListeningPortAsync(serve).Within(Limit, "alex serve (arm64) to listen");
                var (code, stdout, stderr) = await QemuAsync("send", $"127.0.0.1:{port}", "--pki", pki, "--name", "alex.epp.com", "--timeout", "90", "f", "10", "50", ";", "g", "--json");
                Assert.True(code == 0, stderr + stdout);
                using var json = JsonDocument.Parse(stdout);
                Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
                Assert.Equal("alexlink/1", json.RootElement.GetProperty("protocol").GetString());
                Assert.Equal(2, json.RootElement.GetProperty("results").GetArrayLength());
            }
            finally
            {
                serve.Kill(entireProcessTree: true);
                await serve.WaitForExitAsync().Within(Limit, "alex serve (arm64) to end");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Qemu => File.Exists("/usr/bin/qemu-aarch64-static") ? "/usr/bin/qemu-aarch64-static" : "qemu-aarch64";

    private static Task<(int Code, string Stdout, string Stderr)> QemuAsync(params string[] args) =>
        ToolRun.RunAsync(Qemu, [Exe, .. args], Limit, "alex (arm64) " + string.Join(' ', args));

    /// <summary>`alex serve` announces its port on standard error (standard output is for the audit log).</summary>
    private static async Task<int> ReadListeningPortAsync(Process serve)
    {
        _ = serve.StandardOutput.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        while (await serve.StandardError.ReadLineAsync() is { } line)
        {
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            seen.AppendLine(line);
        }

        throw new InvalidOperationException($"alex serve (arm64) exited without listening: {seen}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();
}

/// <summary>
/// A test of the arm64 build: skipped (with the reason) on a developer's machine that has not built it, never in
/// CI, where a missing build must fail the run instead of passing it unseen.
/// </summary>
public sealed class Arm64FactAttribute : FactAttribute
{
    public Arm64FactAttribute()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ALEX_ARM64_EXE")) && !ci)
        {
            Skip = "no arm64 build: run build/publish.sh linux-arm64 and set ALEX_ARM64_EXE=artifacts/linux-arm64/alex";
        }
    }
}
