using System.Diagnostics;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// A course-style C client (CourseClient/course_client.c: OpenSSL defaults, no SNI, no ALPN, the files the course
/// uses, one message per record) drives our server unchanged, with the course's X.509 v1 certificate in legacy mode.
/// </summary>
public sealed class CourseClientInteropTests : IClassFixture<TestPki>, IClassFixture<CourseClientInteropTests.Binary>
{
    private readonly TestPki _pki;
    private readonly Binary _client;

    public CourseClientInteropTests(TestPki pki, Binary client)
    {
        _pki = pki;
        _client = client;
    }

    [Fact]
    public async Task CourseClient_V1Certificate_DrivesAndReadsStatus()
    {
        await using var server = await TestServer.StartAsync(_pki, legacy: true);
        var run = await _client.RunAsync(_pki, server.Host.LocalEndPoint.Port, "f\n10 60\ng\ns\nc\nq\n");

        Assert.True(run.Code == 0, $"course client failed ({run.Code}):\n{run.Stdout}\n{run.Stderr}");
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("connected TLSv1.3", lines[0], StringComparison.Ordinal);
        var records = lines.Skip(1).Select(l => l.StartsWith("record ", StringComparison.Ordinal) ? l["record ".Length..] : l).ToList();

        // f → OK; g → OK, then the 65-byte status in its own record; s → OK; c → OK.
        Assert.Equal(5, records.Count);
        Assert.Equal("0000", records[0]);
        Assert.Equal("0000", records[1]);
        Assert.Equal(65 * 2, records[2].Length);
        Assert.StartsWith("01", records[2], StringComparison.Ordinal);
        Assert.Equal("0000", records[3]);
        Assert.Equal("0000", records[4]);

        var forward = await server.WaitForAuditAsync("command", r => r.Field("command") == "f 10 60");
        Assert.Equal("course-laptop", forward.Field("name"));
        Assert.Equal("ok", forward.Field("result"));
        Assert.Equal(MotionKind.Stopped, server.Robot.Alex.Motion);

        // `q` leaves without close_notify: the server notes the end and, the driver gone, stops the robot.
        await server.WaitForAuditAsync("connection-closed", r => r.Field("name") == "course-laptop");
    }

    [Fact]
    public async Task CourseClient_WithoutLegacyOption_RefusedAtTheHandshake()
    {
        await using var server = await TestServer.StartAsync(_pki, legacy: false);
        var run = await _client.RunAsync(_pki, server.Host.LocalEndPoint.Port, "s\nq\n");

        Assert.NotEqual(0, run.Code);
        Assert.DoesNotContain("record 0000", run.Stdout, StringComparison.Ordinal);
        var refused = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("course-laptop", refused.Field("subject"), StringComparison.Ordinal);
        Assert.Contains("accepted only in legacy mode", refused.Field("reason"), StringComparison.Ordinal);
    }

    /// <summary>course_client.c, compiled once for the test class.</summary>
    public sealed class Binary : IDisposable
    {
        public CProgram Program { get; } = new(Path.Combine("CourseClient", "course_client.c"));

        /// <summary>
        /// Runs the C client against 127.0.0.1:<paramref name="port"/> with <paramref name="input"/> on its stdin, in a
        /// directory holding the course's file names: laptop.crt / laptop.key (the v1 "course" certificate) and signing.pem.
        /// </summary>
        public async Task<(int Code, string Stdout, string Stderr)> RunAsync(TestPki pki, int port, string input, params string[] more)
        {
            var dir = Directory.CreateTempSubdirectory("alex-course-client-").FullName;
            try
            {
                File.Copy(pki.Path("course.crt"), Path.Combine(dir, "laptop.crt"));
                File.Copy(pki.Path("course.key"), Path.Combine(dir, "laptop.key"));
                File.Copy(pki.CaPath, Path.Combine(dir, "signing.pem"));
                var start = new ProcessStartInfo(Program.Path)
                {
                    WorkingDirectory = dir,
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                start.ArgumentList.Add("127.0.0.1");
                start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                foreach (var arg in more)
                {
                    start.ArgumentList.Add(arg);
                }

                using var process = Process.Start(start)!;
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.StandardInput.WriteAsync(input);
                process.StandardInput.Close();
                try
                {
                    await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(30), "the course client to finish");
                }
                finally
                {
                    if (!process.HasExited)
                    {
                        process.Kill();
                    }
                }

                return (process.ExitCode, await stdout, await stderr);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        public void Dispose() => Program.Dispose();
    }
}
