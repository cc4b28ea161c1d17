using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;

namespace Alex.Client.Tests;

/// <summary>
/// The client against a scripted AlexLink/1 server on loopback TLS that speaks the codec, to drive the
/// cases a well-behaved server never shows: replies out of order, frames of unknown types, a Welcome
/// split over records, an oversized frame.
/// </summary>
public sealed class ScriptedAlexLinkServerTests : IClassFixture<TestPkiFixture>
{
    private static readonly AlexLinkWelcome Welcome = new(AlexLinkRole.Driver, 1500, 500, 100, 0, 0, 50, 4096, 0, 0, "laptop.epp.com", TestPki.RobotName, "");

    private readonly TestPki _pki;

    public ScriptedAlexLinkServerTests(TestPkiFixture fixture)
    {
        _pki = fixture.Pki;
    }

    [Fact]
    public async Task Replies_OutOfOrderAndUnknownFrames_EachReachesItsRequest()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (ssl, read, ct) =>
        {
            // The Welcome in three records, cut mid-header and mid-payload.
            var welcome = AlexLinkWriter.Encode(Welcome);
            await ssl.WriteAsync(welcome.AsMemory(0, 3), ct);
            await ssl.WriteAsync(welcome.AsMemory(3, 20), ct);
            await ssl.WriteAsync(welcome.AsMemory(23), ct);

            var first = (AlexLinkCommand)await read(ct);
            var second = (AlexLinkCommand)await read(ct);

            // A frame from "version 1.7" the client must skip, then the replies in reverse order in one record.
            byte[] unknown = [.. AlexLinkWriter.Encode(new AlexLinkUnknown(0x1E, [1, 2, 3])), .. AlexLinkWriter.Encode(new AlexLinkArduinoText("hi"))];
            await ssl.WriteAsync(unknown, ct);
            byte[] both =
            [
                .. AlexLinkWriter.Encode(new AlexLinkStatus(0, new StatusCounters(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) { RequestId = second.RequestId }),
                .. AlexLinkWriter.Encode(new AlexLinkError(AlexLinkErrorCode.NotDriver, 0, "not the driver: laptop-2 holds the lease since 12:01:07") { RequestId = first.RequestId }),
            ];
            await ssl.WriteAsync(both, ct);
            await read(ct); // wait until the client goes
        });

        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port), CancellationToken.None).Within();
        Assert.Equal(Welcome, client.Welcome);
        var move = client.SendAsync(new DriveCommand(CommandCode.Forward, 10, 10), CancellationToken.None);
        var stats = client.SendAsync(DriveCommand.GetStats, CancellationToken.None);

        var moveReply = await move.Within();
        Assert.Equal(AlexLinkErrorCode.NotDriver, moveReply.Error);
        Assert.Equal("not the driver: laptop-2 holds the lease since 12:01:07", moveReply.Text);
        Assert.Equal(new StatusCounters(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), (await stats.Within()).Status);
        Assert.Equal("hi", Assert.IsType<AlexLinkArduinoText>(await client.Telemetry.ReadAsync().AsTask().Within()).Text);
    }

    [Fact]
    public async Task Command_ServerNeverAnswers_ReplyNamesTheRequestOnce()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (ssl, read, ct) =>
        {
            await ssl.WriteAsync(AlexLinkWriter.Encode(Welcome), ct);
            await read(ct); // the command, never answered
            await read(ct); // wait until the client goes
        });

        var options = _pki.Options(_pki.Laptop, server.Port) with { ReplyTimeout = TimeSpan.FromSeconds(1) };
        await using var client = await AlexLinkClient.ConnectAsync(options, CancellationToken.None).Within();
        var reply = await client.SendAsync(DriveCommand.GetStats, CancellationToken.None).Within();

        Assert.Equal(AlexLinkErrorCode.Timeout, reply.Error);
        Assert.Equal($"no reply from {client.Endpoint} within 1 s", reply.Text);
        Assert.Equal($"g: no reply from {client.Endpoint} within 1 s", reply.ToString());
    }

    [Fact]
    public async Task OversizedFrame_ClientClosesSayingTheServerBrokeTheProtocol()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (ssl, read, ct) =>
        {
            await ssl.WriteAsync(AlexLinkWriter.Encode(Welcome), ct);
            var header = new byte[AlexLinkFrame.HeaderSize];
            BinaryPrimitives.WriteUInt16LittleEndian(header, 60000);
            header[AlexLinkFrame.TypeOffset] = (byte)AlexLinkMessageType.Status;
            await ssl.WriteAsync(header, ct);
            await read(ct);
        });

        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port), CancellationToken.None).Within();
        var why = await client.Closed.Within();
        Assert.Equal(ConnectFailure.ProtocolMismatch, why.Failure);
        Assert.Contains("frame of 60000 bytes is over the limit of 4096", why.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AlexConnectException>(() => client.SendAsync(DriveCommand.Stop, CancellationToken.None).Within());
    }

    [Fact]
    public async Task ServerSilent_NoWelcome_TimesOutInWords()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (_, read, ct) => await read(ct));
        var options = _pki.Options(_pki.Laptop, server.Port) with { ConnectTimeout = TimeSpan.FromMilliseconds(700) };
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => AlexLinkClient.ConnectAsync(options, CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.Timeout, e.Failure);
        Assert.Contains("Welcome", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerClosesMidReply_PendingRequestFailsWithConnectionLost()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (ssl, read, ct) =>
        {
            await ssl.WriteAsync(AlexLinkWriter.Encode(Welcome), ct);
            var request = await read(ct);
            var reply = AlexLinkWriter.Encode(new AlexLinkOk { RequestId = request.RequestId });
            await ssl.WriteAsync(reply.AsMemory(0, 5), ct); // then hang up mid-frame
        });

        await using var client = await AlexLinkClient.ConnectAsync(_pki.Options(_pki.Laptop, server.Port), CancellationToken.None).Within();
        var e = await Assert.ThrowsAsync<AlexConnectException>(() => client.StopAsync(CancellationToken.None).Within());
        Assert.Equal(ConnectFailure.ConnectionLost, e.Failure);
        Assert.Contains("in the middle of a message (5 bytes)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reconnecting_ServerGoesSilent_ConnectionCountsAsLost()
    {
        await using var server = await ScriptedServer.StartAsync(_pki, async (ssl, read, ct) =>
        {
            await ssl.WriteAsync(AlexLinkWriter.Encode(Welcome), ct);
            var subscribe = Assert.IsType<AlexLinkSubscribe>(await read(ct));
            await ssl.WriteAsync(AlexLinkWriter.Encode(new AlexLinkOk { RequestId = subscribe.RequestId }), ct);
            await read(ct); // and never a status, although one was asked for every 100 ms
        });

        var lost = new TaskCompletionSource<LinkState>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = new ReconnectingClient(_pki.Options(_pki.Laptop, server.Port))
        {
            Topics = AlexLinkTopics.All,
            StatusInterval = TimeSpan.FromMilliseconds(100),
            SilenceLimit = TimeSpan.FromSeconds(1),
        };
        client.Changed += e =>
        {
            if (e is LinkState { Phase: LinkPhase.Waiting } s)
            {
                lost.TrySetResult(s);
            }
        };
        using var stop = new CancellationTokenSource();
        var run = client.RunAsync(stop.Token);

        var state = await lost.Task.Within();
        Assert.Equal(ConnectFailure.ConnectionLost, state.Failure!.Failure);
        Assert.Contains("no word from the server for", state.Failure.Message, StringComparison.Ordinal);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Within());
    }

    private delegate Task<AlexLinkMessage> ReadMessage(CancellationToken ct);

    private sealed class ScriptedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        private ScriptedServer(TcpListener listener)
        {
            _listener = listener;
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static Task<ScriptedServer> StartAsync(TestPki pki, Func<SslStream, ReadMessage, CancellationToken, Task> script)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var self = new ScriptedServer(listener);
            self._run = Task.Run(async () =>
            {
                using var tcp = await listener.AcceptTcpClientAsync(self._stop.Token);
                using var certificate = PrivateKeyFile.LoadCertificateWithKey(pki.RobotCertificate, pki.RobotKey);
                using var ca = CertificateFile.Load(pki.CaPath);
                await using var ssl = new SslStream(tcp.GetStream());
                await ssl.AuthenticateAsServerAsync(TlsProfiles.Server(TlsProfiles.CreateServerContext(certificate), ca, new ClientCertificateCheck()), self._stop.Token);
                var buffer = new byte[8192];
                var held = 0;
                async Task<AlexLinkMessage> Read(CancellationToken ct)
                {
                    while (true)
                    {
                        var sequence = new ReadOnlySequence<byte>(buffer, 0, held);
                        if (AlexLinkReader.TryRead(ref sequence, out var message, out _) == OperationStatus.Done)
                        {
                            var used = held - (int)sequence.Length;
                            Buffer.BlockCopy(buffer, used, buffer, 0, held - used);
                            held -= used;
                            if (message is AlexLinkHeartbeat)
                            {
                                continue; // the client's heartbeats are not part of the script
                            }

                            return message!;
                        }

                        var n = await ssl.ReadAsync(buffer.AsMemory(held), ct);
                        if (n == 0)
                        {
                            throw new EndOfStreamException("client went away");
                        }

                        held += n;
                    }
                }

                await script(ssl, Read, self._stop.Token);
            });
            return Task.FromResult(self);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _run.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or EndOfStreamException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
            {
            }

            _stop.Dispose();
        }
    }
}
