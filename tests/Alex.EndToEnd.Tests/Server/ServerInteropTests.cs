using System.Diagnostics;
using System.Globalization;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// Independent clients against our server: `openssl s_client` (OpenSSL 3) with good and bad
/// certificates, and python3's `ssl` module speaking the classic protocol. Python's SSL_read returns
/// at most one TLS record, so it also proves "one message per record" (PROTOCOL.md §4).
/// </summary>
public sealed class ServerInteropTests : IClassFixture<TestPki>
{
    private readonly TestPki _pki;

    public ServerInteropTests(TestPki pki)
    {
        _pki = pki;
    }

    [Fact]
    public async Task OpenSslClient_GoodCertificate_ForwardAcknowledged()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-cert", _pki.Path("laptop.crt"), "-key", _pki.Path("laptop.key"),
            "-CAfile", _pki.CaPath, "-verify_return_error", "-verify_hostname", TestPki.ServerName, "-noservername", "-quiet", "-no_ign_eof");
        Assert.StartsWith("0000", Convert.ToHexString(run.Stdout), StringComparison.Ordinal);
        var accepted = await server.WaitForAuditAsync("connection-accepted");
        Assert.Equal("classic", accepted.Field("protocol"));
        Assert.Contains("Tls13", accepted.Field("tls"), StringComparison.Ordinal);
        await server.WaitForAuditAsync("command", r => r.Field("command") == "f 50 75");
    }

    [Fact]
    public async Task OpenSslClient_Tls12_StillAnAeadForwardSecretSuite()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-cert", _pki.Path("laptop.crt"), "-key", _pki.Path("laptop.key"),
            "-CAfile", _pki.CaPath, "-verify_return_error", "-tls1_2", "-quiet", "-no_ign_eof");
        Assert.StartsWith("0000", Convert.ToHexString(run.Stdout), StringComparison.Ordinal);
        var accepted = await server.WaitForAuditAsync("connection-accepted");
        Assert.Matches("Tls12 TLS_ECDHE_(ECDSA|RSA)_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)", accepted.Field("tls"));
    }

    [Fact]
    public async Task OpenSslClient_WeakCipherOnly_HandshakeFails()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-cert", _pki.Path("laptop.crt"), "-key", _pki.Path("laptop.key"),
            "-CAfile", _pki.CaPath, "-tls1_2", "-cipher", "AES128-SHA:ECDHE-RSA-AES128-SHA", "-quiet", "-no_ign_eof");
        Assert.Empty(run.Stdout);
        Assert.Contains("handshake failure", run.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task OpenSslClient_NoCertificate_AlertAndAudit()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-CAfile", _pki.CaPath, "-quiet", "-no_ign_eof");
        Assert.Empty(run.Stdout);
        // .NET on Linux closes a refused handshake without an alert: TLS 1.3 clients see EOF after "their" handshake.
        Assert.Matches("unexpected eof|alert", run.Stderr);
        var refused = await server.WaitForAuditAsync("connection-refused");
        Assert.Equal("no client certificate", refused.Field("reason"));
    }

    [Fact]
    public async Task OpenSslClient_OtherCa_AlertAndAudit()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-cert", _pki.Path("other-ca.crt"), "-key", _pki.Path("other-ca.key"),
            "-CAfile", _pki.CaPath, "-quiet", "-no_ign_eof");
        Assert.Empty(run.Stdout);
        Assert.Matches("unexpected eof|alert", run.Stderr);
        var refused = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("does not chain to our CA", refused.Field("reason"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenSslClient_NotOnTheList_ClosedWithoutAReply_ReasonInAudit()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var run = await RunAsync("openssl", StdinCommand(), "s_client", "-connect", Target(server), "-cert", _pki.Path("stranger.crt"), "-key", _pki.Path("stranger.key"),
            "-CAfile", _pki.CaPath, "-quiet", "-no_ign_eof");
        Assert.Empty(run.Stdout);
        var refused = await server.WaitForAuditAsync("connection-refused");
        Assert.Contains("stranger", refused.Field("reason"), StringComparison.Ordinal);
        Assert.DoesNotContain(server.Records, r => r.Event == "command");
    }

    [Fact]
    public async Task PythonSsl_ClassicClient_ForwardThenStats_OneMessagePerRecord()
    {
        await using var server = await TestServer.StartAsync(_pki);
        var script = """
            import socket, ssl, sys, struct
            host, port, ca, crt, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(ca)
            ctx.load_cert_chain(crt, key)
            with socket.create_connection((host, port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="alex.epp.com") as s:
                    s.sendall(struct.pack("<Bcii", 3, b"f", 50, 75))
                    print("f", s.recv(4096).hex())
                    s.sendall(struct.pack("<Bcii", 3, b"s", 0, 0))
                    print("s", s.recv(4096).hex())
                    s.sendall(struct.pack("<Bcii", 3, b"g", 0, 0))
                    print("g1", s.recv(4096).hex())
                    print("g2", len(s.recv(4096)))
                    print("version", s.version())
            """;
        var path = _pki.Path($"classic-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(path, script);
        var run = await RunAsync("python3", null, path, "127.0.0.1", server.EndPoint.Port.ToString(CultureInfo.InvariantCulture), _pki.CaPath, _pki.Path("laptop.crt"), _pki.Path("laptop.key"));
        var lines = System.Text.Encoding.ASCII.GetString(run.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 5, run.Stderr + string.Join("|", lines));
        Assert.Equal("f 0000", lines[0]);
        Assert.Equal("s 0000", lines[1]);
        Assert.Equal("g1 0000", lines[2]);
        Assert.Equal("g2 65", lines[3]);
        Assert.Equal("version TLSv1.3", lines[4]);
    }

    private static string Target(TestServer server) => $"127.0.0.1:{server.EndPoint.Port}";

    // `f 50 75` as the course client sends it (PROTOCOL.md §4), then stdin stays open briefly for the reply.
    private static byte[] StdinCommand() => Classic.Command('f', 50, 75);

    private sealed record Run(int ExitCode, byte[] Stdout, string Stderr);

    // Writes stdin, waits for the first reply bytes (or the process to end), then closes stdin.
    private static async Task<Run> RunAsync(string program, byte[]? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin).AsTask().Within();
                await process.StandardInput.BaseStream.FlushAsync();
                // s_client exits on stdin EOF: keep it open until the reply or the refusal has come.
                await Task.WhenAny(reading, Bounded.Until(() => stdout.Length >= 2)).Within();
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(20), $"{program} to exit");
            await reading.Within();
            return new Run(process.ExitCode, stdout.ToArray(), await stderr.Within());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
