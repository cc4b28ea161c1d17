using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

/// <summary>
/// Our client against a server that behaves as the course's C server does (PROTOCOL.md §4-5): no
/// ALPN, reads exactly one message per TLS record, answers each message with its own record.
/// </summary>
public sealed class ClassicServerTests : IClassFixture<TestPkiFixture>
{
    private static readonly StatusCounters Counters = new(477, 477, 286, 286, 114, 228, 228, 114, 49, 29);

    private readonly TestPki _pki;

    public ClassicServerTests(TestPkiFixture fixture)
    {
        _pki = fixture.Pki;
    }

    [Fact]
    public async Task Auto_ServerPicksNoAlpn_DrivesItClassicOneMessagePerRecord()
    {
        await using var server = CourseServer.Start(_pki, _pki.CaPath, RecordStyle.OnePerRecord);
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port), CancellationToken.None).Within();
        Assert.Equal(AlexProtocol.Classic, client.Protocol);

        Assert.True((await client.SendAsync(new DriveCommand(CommandCode.Forward, 50, 75), CancellationToken.None).Within()).Acknowledged);
        var stats = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();
        Assert.Equal(Counters, stats.Status);
        Assert.True((await client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within()).Acknowledged);
        Assert.True((await client.SendAsync(DriveCommand.ClearStats, CancellationToken.None).Within()).Acknowledged);

        // Exactly the course client's bytes (the golden vectors), each in a record of its own.
        var sent = await server.Records(4).Within();
        Assert.Equal(["0366320000004B000000", "03670000000000000000", "03730000000000000000", "03630000000000000000"], sent);
        Assert.Equal(TestPki.RobotName, server.Sni); // Auto offered alexlink/1 like any modern client; --classic sends none
    }

    [Fact]
    public async Task Classic_SendsNoSniAndNoAlpn()
    {
        await using var server = CourseServer.Start(_pki, _pki.CaPath, RecordStyle.OnePerRecord);
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.Classic), CancellationToken.None).Within();
        Assert.True((await client.SendAsync(new DriveCommand(CommandCode.TurnLeft, 90, 80), CancellationToken.None).Within()).Acknowledged);
        Assert.Equal(["036C5A00000050000000"], await server.Records(1).Within());
        Assert.Equal("", server.Sni);
        Assert.Equal(default, server.Alpn);
    }

    [Fact]
    public async Task Classic_RepliesCoalescedOrSplitAcrossRecords_StillRead()
    {
        // A server that breaks "one message per record" both ways: our reader cuts by type length.
        await using var server = CourseServer.Start(_pki, _pki.CaPath, RecordStyle.Scrambled);
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.Classic), CancellationToken.None).Within();
        for (var i = 0; i < 3; i++)
        {
            var stats = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();
            Assert.True(stats.Acknowledged, stats.Text);
            Assert.Equal(Counters, stats.Status);
        }

        var text = await client.Telemetry.ReadAsync().AsTask().Within();
        Assert.Equal("Hello from Alex", Assert.IsType<AlexLinkArduinoText>(text).Text);
    }

    [Fact]
    public async Task Classic_ArduinoError_ReportedWithItsCode()
    {
        await using var server = CourseServer.Start(_pki, _pki.CaPath, RecordStyle.OnePerRecord, errorCode: (byte)ResponseCode.BadChecksum);
        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.Classic), CancellationToken.None).Within();
        var reply = await client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within();
        Assert.False(reply.Acknowledged);
        Assert.Equal(AlexLinkErrorCode.ArduinoError, reply.Error);
        Assert.Equal((ushort)ResponseCode.BadChecksum, reply.Detail);
        Assert.Contains("BAD_CHECKSUM", reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexLinkOnly_AgainstClassicServer_SaysUseClassic()
    {
        await using var server = CourseServer.Start(_pki, _pki.CaPath, RecordStyle.OnePerRecord);
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.AlexLink1), CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.ProtocolMismatch, e.Failure);
        Assert.Contains("--classic", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classic_ServerRejectsOurCertificate_SaidInWords()
    {
        // The server trusts another CA: under TLS 1.3 our handshake completes and the rejection comes after.
        await using var server = CourseServer.Start(_pki, _pki.OtherCaPath, RecordStyle.OnePerRecord);
        var e = await Assert.ThrowsAsync<AlexConnectException>(async () =>
        {
            await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port, AlexProtocol.Classic), CancellationToken.None).Within();
            await client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within();
        });
        Assert.Equal(ConnectFailure.ClientCertificateRejected, e.Failure);
        Assert.Contains("certificate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_NothingListening_Unreachable()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, port), CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Unreachable, e.Failure);
        Assert.Contains("connection refused", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsTransient);
    }

    private enum RecordStyle
    {
        OnePerRecord,
        Scrambled,
    }

    /// <summary>A loopback TLS server that speaks classic as PROTOCOL.md §4 describes, and records what it read per record.</summary>
    private sealed class CourseServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _serve;
        private readonly List<string> _records = [];
        private readonly CancellationTokenSource _stop = new();

        private CourseServer(TcpListener listener, Func<TcpClient, CancellationToken, Task> serve)
        {
            _listener = listener;
            _serve = Task.Run(async () =>
            {
                using var tcp = await listener.AcceptTcpClientAsync(_stop.Token);
                await serve(tcp, _stop.Token);
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public string? Sni { get; private set; }

        public SslApplicationProtocol Alpn { get; private set; }

        public static CourseServer Start(TestPki pki, string trustedCaPath, RecordStyle style, byte errorCode = 0)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            CourseServer? self = null;
            self = new CourseServer(listener, (tcp, ct) => self!.ServeAsync(tcp, pki, trustedCaPath, style, errorCode, ct));
            return self;
        }

        /// <summary>The hex of the first <paramref name="count"/> records read, once they are in.</summary>
        public async Task<List<string>> Records(int count)
        {
            await Bounded.Until(() => { lock (_records) { return _records.Count >= count; } }, what: $"{count} records at the server");
            lock (_records)
            {
                return [.. _records];
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _serve.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private async Task ServeAsync(TcpClient tcp, TestPki pki, string trustedCaPath, RecordStyle style, byte errorCode, CancellationToken ct)
        {
            using var certificate = PrivateKeyFile.LoadCertificateWithKey(pki.RobotCertificate, pki.RobotKey);
            using var ca = CertificateFile.Load(trustedCaPath);
            await using var ssl = new SslStream(tcp.GetStream());
            var options = TlsProfiles.Server(TlsProfiles.CreateServerContext(certificate), ca, new ClientCertificateCheck(), offerAlexLink: false);
            await ssl.AuthenticateAsServerAsync(options, ct);
            Sni = ssl.TargetHostName;
            Alpn = ssl.NegotiatedApplicationProtocol;
            var buffer = new byte[4096];
            var first = true;
            while (true)
            {
                // SslStream returns at most one record per read: a read is a record, as the course server assumes.
                var n = await ssl.ReadAsync(buffer, ct);
                if (n == 0)
                {
                    return;
                }

                lock (_records)
                {
                    _records.Add(Convert.ToHexString(buffer, 0, n));
                }

                if (n != ClassicCommand.Size || ClassicReader.TryRead(buffer.AsSpan(0, n), out var m, out _) != System.Buffers.OperationStatus.Done || m is not ClassicCommand command)
                {
                    continue; // the course server would misread this; the test sees it in Records
                }

                var ack = new ClassicResponse(errorCode).Encode();
                var status = new ClassicStatus(Counters).Encode();
                var hello = new ClassicText("Hello from Alex").Encode();
                var isStats = command.Letter is (byte)'g' or (byte)'G';
                if (style == RecordStyle.OnePerRecord)
                {
                    await ssl.WriteAsync(ack, ct);
                    if (isStats && errorCode == 0)
                    {
                        await ssl.WriteAsync(status, ct);
                    }

                    continue;
                }

                // Scrambled: a message first time, then ack+half a status in one record, the rest in another.
                if (first)
                {
                    await ssl.WriteAsync(hello, ct);
                    first = false;
                }

                byte[] all = isStats ? [.. ack, .. status] : ack;
                var cut = Math.Min(all.Length, 2 + 30);
                await ssl.WriteAsync(all.AsMemory(0, cut), ct);
                await ssl.WriteAsync(all.AsMemory(cut), ct);
            }
        }
    }
}
