using System.Diagnostics;
using Alex.Protocol;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

/// <summary>
/// Our client against a C server built on OpenSSL the way the course's tls-alex-server is
/// (CourseServer/course_server.c, compiled per run with gcc): proves the classic path interoperates
/// with an independent TLS stack that reads one message per SSL_read.
/// </summary>
public sealed class CourseServerInteropTests : IClassFixture<TestPkiFixture>, IClassFixture<CourseServerBinary>
{
    private readonly TestPki _pki;
    private readonly CourseServerBinary _binary;

    public CourseServerInteropTests(TestPkiFixture pki, CourseServerBinary binary)
    {
        _pki = pki.Pki;
        _binary = binary;
    }

    [Theory]
    [InlineData(AlexProtocol.Auto)]
    [InlineData(AlexProtocol.Classic)]
    public async Task Drive_CourseStyleOpenSslServer_EveryReplyUnderstood(AlexProtocol protocol)
    {
        await using var server = await CourseProcess.StartAsync(_binary.Path, _pki, "laptop.epp.com");
        await using (var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, protocol), CancellationToken.None).Within())
        {
            Assert.Equal(AlexProtocol.Classic, client.Protocol);
            Assert.True((await client.SendAsync(new DriveCommand(CommandCode.Forward, 50, 75), CancellationToken.None).Within()).Acknowledged);
            var stats = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();
            Assert.Equal(new StatusCounters(477, 477, 286, 286, 114, 228, 228, 114, 49, 29), stats.Status);
            Assert.True((await client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within()).Acknowledged);
        }

        var lines = await server.Finished().Within();
        var tls = Assert.Single(lines, l => l.StartsWith("tls ", StringComparison.Ordinal));
        Assert.Contains("alpn 0", tls, StringComparison.Ordinal); // no ALPN chosen: the classic protocol
        if (protocol == AlexProtocol.Classic)
        {
            Assert.EndsWith("sni -", tls, StringComparison.Ordinal); // as the course client: no SNI
        }

        // One SSL_read per message, byte for byte the course client's (the golden vectors).
        Assert.Equal(
            ["record 0366320000004B000000", "record 03670000000000000000", "record 03730000000000000000"],
            lines.Where(l => l.StartsWith("record ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Connect_ServerExpectsAnotherClientName_RejectionReported()
    {
        await using var server = await CourseProcess.StartAsync(_binary.Path, _pki, "laptop-9.epp.com");
        var e = await Assert.ThrowsAsync<AlexConnectException>(async () =>
        {
            await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.Classic), CancellationToken.None).Within();
            await client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within();
        });
        Assert.Equal(ConnectFailure.ClientCertificateRejected, e.Failure);
        Assert.Contains("TLS alert bad_certificate", e.Message, StringComparison.Ordinal);
    }

    private sealed class CourseProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private CourseProcess(Process process)
        {
            _process = process;
        }

        public int Port { get; private set; }

        public static async Task<CourseProcess> StartAsync(string binary, TestPki pki, string clientName)
        {
            var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { pki.RobotCertificate, pki.RobotKey, pki.CaPath, clientName })
            {
                start.ArgumentList.Add(a);
            }

            var self = new CourseProcess(new Process { StartInfo = start });
            self._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    self._exited.TrySetResult();
                    return;
                }

                lock (self._lines)
                {
                    self._lines.Add(e.Data);
                }

                if (e.Data.StartsWith("port ", StringComparison.Ordinal))
                {
                    self._port.TrySetResult(int.Parse(e.Data[5..], System.Globalization.CultureInfo.InvariantCulture));
                }
            };
            self._process.ErrorDataReceived += (_, _) => { };
            self._process.Start();
            self._process.BeginOutputReadLine();
            self._process.BeginErrorReadLine();
            self.Port = await self._port.Task.Within(what: "the course server to listen");
            return self;
        }

        /// <summary>Its output once the client has gone and it has exited.</summary>
        public async Task<List<string>> Finished()
        {
            await _exited.Task;
            lock (_lines)
            {
                return [.. _lines];
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync().Within();
            _process.Dispose();
        }
    }
}

/// <summary>course_server.c, compiled once for the test class.</summary>
public sealed class CourseServerBinary : IDisposable
{
    private readonly CProgram _program = new(System.IO.Path.Combine("CourseServer", "course_server.c"));

    public string Path => _program.Path;

    public void Dispose() => _program.Dispose();
}
