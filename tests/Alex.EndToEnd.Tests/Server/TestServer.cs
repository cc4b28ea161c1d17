using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki.Tls;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Classic;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Tests.Shared;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>A robot server on 127.0.0.1 port 0, backed by the simulated Alex through ArduinoLink, with the audit log captured.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<AuditRecord> _records = new();
    private readonly List<(Func<AuditRecord, bool> Match, TaskCompletionSource<AuditRecord> Done)> _waiters = [];
    private readonly Lock _gate = new();

    private TestServer(TestPki pki, SimulatedRobot robot, string auditPath)
    {
        Pki = pki;
        Robot = robot;
        AuditPath = auditPath;
    }

    public TestPki Pki { get; }

    public SimulatedRobot Robot { get; }

    public RobotHost Host { get; private set; } = null!;

    public string AuditPath { get; }

    public IPEndPoint EndPoint => Host.LocalEndPoint;

    public IReadOnlyCollection<AuditRecord> Records => _records;

    public static async Task<TestServer> StartAsync(
        TestPki pki,
        string[]? allow = null,
        bool legacy = false,
        TimeSpan? lease = null,
        uint maxSpeed = 100,
        uint? maxDistance = null,
        TimeSpan? handshakeTimeout = null,
        int maxUnauthenticated = 32,
        string? allowFile = null,
        bool crl = true,
        SerialLinePacing? pacing = null,
        string? auditPath = null,
        int maxSessions = RobotServerOptions.DefaultMaxSessions,
        int? earlyDropStart = null,
        uint? maxAngle = null,
        TimeSpan? classicSilence = null,
        IPAddress? listen = null,
        Alex.Protocol.Extensions.TeamExtensions? extensions = null,
        TimeSpan? observerStatus = null,
        TimeSpan? replyTimeout = null)
    {
        var settings = new SimulatorSettings { Extensions = extensions ?? Alex.Protocol.Extensions.TeamExtensions.None };
        var robot = await SimulatedRobot.StartAsync(settings, pacing, TimeProvider.System, CancellationToken.None, replyTimeout).Within();
        var audit = auditPath ?? System.IO.Path.Combine(pki.Dir, $"audit-{Guid.NewGuid():N}.jsonl");
        var server = new TestServer(pki, robot, audit);
        var options = new RobotHostOptions
        {
            CertificatePath = pki.Path("alex.crt"),
            KeyPath = pki.Path("alex.key"),
            Policy = new PolicySources(pki.CaPath, crl ? pki.Ca.CrlPath : null, allow ?? ["laptop=drive", "tutor=watch", "course-laptop"], allowFile, AllowAny: false, Legacy: legacy),
            Listen = new IPEndPoint(listen ?? IPAddress.Loopback, 0),
            Hub = new HubOptions
            {
                LeaseWindow = lease ?? TimeSpan.FromMilliseconds(1500),
                SilentMoveLimit = classicSilence ?? Alex.Protocol.Safety.DriverLease.DefaultSilentMoveLimit,
                MaxSpeedPercent = maxSpeed,
                MaxDistanceCm = maxDistance,
                MaxAngleDegrees = maxAngle,
                Extensions = settings.Extensions,
                ObserverStatusInterval = observerStatus,
            },
            HandshakeTimeout = handshakeTimeout ?? TimeSpan.FromSeconds(5),
            MaxUnauthenticated = maxUnauthenticated,
            EarlyDropStart = earlyDropStart,
            MaxSessions = maxSessions,
            AuditPath = audit,
        };
        server.Host = RobotHost.Start(options, robot.Link, TimeProvider.System);
        server.Host.Audit.Written += server.OnRecord;
        return server;
    }

    /// <summary>Waits for an audit record of <paramref name="eventName"/> matching <paramref name="match"/> (already written ones count).</summary>
    public Task<AuditRecord> WaitForAuditAsync(string eventName, Func<AuditRecord, bool>? match = null)
    {
        bool Matches(AuditRecord r) => r.Event == eventName && (match is null || match(r));
        lock (_gate)
        {
            var found = _records.FirstOrDefault(Matches);
            if (found is not null)
            {
                return Task.FromResult(found);
            }

            var tcs = new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Matches, tcs));
            return tcs.Task.Within(what: $"audit record '{eventName}'");
        }
    }

    /// <summary>Connects with our TLS profile; <paramref name="clientStem"/> null: no client certificate.</summary>
    public async Task<SslStream> ConnectAsync(string? clientStem, bool alexLink) => (await ConnectWithSocketAsync(clientStem, alexLink)).Ssl;

    /// <summary>As ConnectAsync, with the TCP connection itself (to kill it without a TLS close).</summary>
    public async Task<(SslStream Ssl, TcpClient Tcp)> ConnectWithSocketAsync(string? clientStem, bool alexLink, IPAddress? from = null)
    {
        // The whole of 127.0.0.0/8 is loopback: another local address plays another machine.
        var client = from is null ? new TcpClient() : new TcpClient(new IPEndPoint(from, 0));
        await client.ConnectAsync(EndPoint.Address, EndPoint.Port).Within();
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
        var ca = Pki.LoadCa();
        var options = TlsProfiles.Client(clientStem is null ? null : Pki.Load(clientStem), ca, TestPki.ServerName, alexLink);

        await ssl.AuthenticateAsClientAsync(options).Within(what: "client handshake");
        return (ssl, client);
    }

    public async Task<AlexLinkTestClient> ConnectAlexLinkAsync(string clientStem)
    {
        var (ssl, tcp) = await ConnectWithSocketAsync(clientStem, alexLink: true);
        Assert.Equal(TlsProfiles.AlexLink1, ssl.NegotiatedApplicationProtocol);
        return new AlexLinkTestClient(ssl, tcp);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Robot.DisposeAsync();
    }

    private void OnRecord(AuditRecord record)
    {
        lock (_gate)
        {
            _records.Enqueue(record);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(record))
                {
                    _waiters[i].Done.TrySetResult(record);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}

/// <summary>An AlexLink/1 client over a raw SslStream (independent of Alex.Client): frames in, frames out.</summary>
public sealed class AlexLinkTestClient : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _held;
    private uint _nextId = 1;

    private readonly TcpClient _tcp;

    public AlexLinkTestClient(SslStream ssl, TcpClient tcp)
    {
        Ssl = ssl;
        _tcp = tcp;
    }

    public SslStream Ssl { get; }

    /// <summary>Drops the TCP connection without a TLS close_notify (a laptop losing its Wi-Fi sends not even a FIN, but this is the closest).</summary>
    public void Kill() => _tcp.Client.Close(0);

    public uint NextId() => _nextId++;

    public Task SendAsync(AlexLinkMessage message) => Ssl.WriteAsync(AlexLinkWriter.Encode(message)).AsTask().Within(what: "send");

    /// <summary>Sends a request with a fresh id and returns the reply with that id (pushed frames in between are skipped).</summary>
    public async Task<AlexLinkMessage> RequestAsync(AlexLinkMessage request, TimeSpan? limit = null)
    {
        var id = NextId();
        await SendAsync(request with { RequestId = id });
        return await ReadUntilAsync(m => m.RequestId == id, limit);
    }

    /// <summary>The next frame, or null at a clean end of stream.</summary>
    public async Task<AlexLinkMessage?> ReadAsync(TimeSpan? limit = null)
    {
        while (true)
        {
            var unread = new ReadOnlySequence<byte>(_buffer, 0, _held);
            var status = AlexLinkReader.TryRead(ref unread, out var message, out var error, maxPayload: 65535);
            if (status == OperationStatus.Done)
            {
                var consumed = _held - (int)unread.Length;
                _buffer.AsSpan(consumed, _held - consumed).CopyTo(_buffer);
                _held -= consumed;
                return message;
            }

            Assert.True(status == OperationStatus.NeedMoreData, $"server sent a bad frame: {error.Text}");
            var n = await Ssl.ReadAsync(_buffer.AsMemory(_held)).AsTask().Within(limit, "a frame from the server");
            if (n == 0)
            {
                return null;
            }

            _held += n;
        }
    }

    public async Task<AlexLinkMessage> ReadUntilAsync(Func<AlexLinkMessage, bool> match, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? Bounded.Step);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var m = await ReadAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)) ?? throw new EndOfStreamException("server closed the connection");
            if (match(m))
            {
                return m;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Ssl.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException or InvalidOperationException)
        {
        }

        await Ssl.DisposeAsync();
    }
}

/// <summary>Classic helpers. The server writes each message with its own write (one TLS record each);
/// .NET's SslStream may hand two buffered records to one read, so the reader here splits by the
/// type's length, as a robust client must (PROTOCOL.md §4). The python test checks record boundaries.</summary>
public static class Classic
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SslStream, List<byte>> Pending = new();

    public static byte[] Command(char letter, int p0 = 0, int p1 = 0) => new ClassicCommand((byte)letter, p0, p1).Encode();

    /// <summary>Reads exactly one classic message.</summary>
    public static async Task<byte[]> ReadRecordAsync(SslStream ssl, TimeSpan? limit = null)
    {
        var pending = Pending.GetOrCreateValue(ssl);
        var buffer = new byte[16 * 1024];
        while (true)
        {
            if (pending.Count > 0)
            {
                Assert.True(ClassicMessage.TryGetSize(pending[0], out var size), $"type byte {pending[0]:X2}");
                if (pending.Count >= size)
                {
                    var message = pending.GetRange(0, size).ToArray();
                    pending.RemoveRange(0, size);
                    return message;
                }
            }

            var n = await ssl.ReadAsync(buffer).AsTask().Within(limit, "a classic message");
            if (n == 0)
            {
                throw new EndOfStreamException("server closed the connection");
            }

            pending.AddRange(buffer.AsSpan(0, n));
        }
    }
}
