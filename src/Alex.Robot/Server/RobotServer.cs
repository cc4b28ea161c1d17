// The robot server's accept loop. In order, for every TCP connection:
//   1. Admission (Alex.Protocol.Admission.HandshakeAdmission, after OpenSSH MaxStartups): at most
//      PerSourceUnauthenticated connections in their handshake per source address, at most MaxUnauthenticated in all,
//      and past EarlyDropStart a rising chance of refusal; a refused connection is closed at once. One address
//      flooding or holding slots (slowloris) thus fills only its own share: the laptop still gets in.
//   2. TLS handshake with an ABSOLUTE deadline (not a per-read timeout: a client trickling one byte
//      a second would never trip that). Each connection runs on its own task, so a stalled client
//      never blocks another (the course server's defect, docs/course-protocol.md §5).
//   3. TLS-level check (TlsProfiles): a certificate is required and must chain to our CA.
//   4. Trust policy (Alex.Pki TrustPolicy): validity, EKU, key strength, CRL,
//      allow-list and role. Refused → an AlexLink/1 client gets a refusal frame with the reason
//      (under TLS 1.3 it would otherwise only see EOF); a classic client is closed.
//   5. A seat (Alex.Protocol.Admission.SessionSeats): watchers are refused before the seats kept for drivers.
//   6. The session for the protocol ALPN chose: AlexLink/1 or classic.
// Refusals are audited through RefusalTally: per source, the first of a window in full, the rest summed up when the
// window ends, so nobody unauthenticated can write the log full (docs/security.md "Audit log").
// Every SslStream is shut down (close_notify) before it is disposed.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Pki.Tls;
using Alex.Protocol.Admission;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Safety;

namespace Alex.Robot.Server;

/// <summary>Settings of the robot server.</summary>
public sealed class RobotServerOptions
{
    /// <summary>Where to listen; port 0 picks a free port (tests).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, DefaultPort);

    public const int DefaultPort = 5000;

    /// <summary>The server's certificate with its private key (alex.crt + alex.key).</summary>
    public required X509Certificate2 Certificate { get; init; }

    /// <summary>Certificates between ours and the CA, sent in the handshake.</summary>
    public X509Certificate2Collection? Intermediates { get; init; }

    /// <summary>The AlexLink CA (signing.pem): the only root trusted for client certificates.</summary>
    public required X509Certificate2 Ca { get; init; }

    /// <summary>Absolute limit for the whole TLS handshake plus admission.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Connections allowed in their handshake at once; more are closed at once.</summary>
    public int MaxUnauthenticated { get; init; } = 32;

    /// <summary>Connections allowed in their handshake at once from one source (an IPv4 address, an IPv6 /64).</summary>
    public int PerSourceUnauthenticated { get; init; } = 8;

    /// <summary>From this many connections in their handshake on, new ones are refused at random (null: half of MaxUnauthenticated).</summary>
    public int? EarlyDropStart { get; init; }

    /// <summary>Authenticated sessions allowed at once.</summary>
    public int MaxSessions { get; init; } = DefaultMaxSessions;

    public const int DefaultMaxSessions = 64;

    /// <summary>Seats only drivers may take (null: SessionSeats.DefaultDriverSeats).</summary>
    public int? DriverSeats { get; init; }

    /// <summary>Refusals from one source within this window are audited as one record plus one summary.</summary>
    public TimeSpan RefusalWindow { get; init; } = TimeSpan.FromSeconds(10);

    internal StartupLimits Startups
    {
        get
        {
            var full = MaxUnauthenticated;
            var start = Math.Clamp(EarlyDropStart ?? full / 2, 1, full);
            return new StartupLimits(start, 30, full, Math.Clamp(PerSourceUnauthenticated, 1, full));
        }
    }

    /// <summary>The audit log's file (null: none), whose tail and free space admins may read.</summary>
    public string? AuditPath { get; init; }
}

/// <summary>Accepts TLS connections, admits clients by the trust policy and runs their sessions against the hub.</summary>
public sealed class RobotServer : IAsyncDisposable
{
    private readonly RobotServerOptions _options;
    private readonly RobotHub _hub;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly SslStreamCertificateContext _serverContext;
    private readonly string _serverName;
    private readonly ConcurrentDictionary<ClientSession, byte> _sessions = new();
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly AuditFeed _auditFeed;
    private TrustPolicy _policy;
    // Admission, seats and the refusal tally: small pure decisions, each call a few lines under this lock.
    private readonly Lock _admitting = new();
    private readonly HandshakeAdmission _admission;
    private readonly SessionSeats _seats;
    private readonly RefusalTally _refusals;
    private readonly ITimer _refusalFlush;
    private DateTimeOffset _started;
    private TcpListener? _listener;
    private Task? _acceptLoop;

    public RobotServer(RobotServerOptions options, TrustPolicy policy, RobotHub hub, AuditLog audit, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _policy = policy;
        _hub = hub;
        _audit = audit;
        _time = time;
        _admission = new HandshakeAdmission(options.Startups);
        _seats = new SessionSeats(options.MaxSessions, options.DriverSeats);
        _refusals = new RefusalTally(options.RefusalWindow);
        _refusalFlush = time.CreateTimer(static s => ((RobotServer)s!).FlushRefusals(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _serverContext = TlsProfiles.CreateServerContext(options.Certificate, options.Intermediates);
        _auditFeed = new AuditFeed(audit, options.AuditPath);
        _serverName = options.Certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } dns
            ? dns
            : options.Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }

    /// <summary>The bound address (the real port when port 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndpoint ?? throw new InvalidOperationException("not started");

    /// <summary>Connections in their handshake right now.</summary>
    public int Unauthenticated
    {
        get
        {
            lock (_admitting)
            {
                return _admission.InHandshake;
            }
        }
    }

    /// <summary>Sessions connected right now.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>Binds and starts accepting.</summary>
    public void Start()
    {
        _listener = new TcpListener(_options.Listen);
        _listener.Start(backlog: 128);
        _started = _time.GetUtcNow();
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
    }

    /// <summary>
    /// Installs a new policy (CRL or allow-list reloaded) and re-checks every connected client with it:
    /// a client now refused is told why and disconnected; if it was driving, the hub stops the robot.
    /// </summary>
    public void ReplacePolicy(TrustPolicy policy, string why)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Volatile.Write(ref _policy, policy);
        RecheckSessions(why);
    }

    /// <summary>Re-checks every connected client against the current policy (the CRL file may have changed under it).</summary>
    public void RecheckSessions(string why)
    {
        var policy = Volatile.Read(ref _policy);
        _audit.Write("policy-reloaded", ("detail", why), ("sessions", _sessions.Count));
        foreach (var session in _sessions.Keys)
        {
            var decision = policy.EvaluateClient(session.Certificate, session.ExtraCertificates);
            if (!decision.Accepted)
            {
                _hub.Revoke(session, decision.Reason, RefusalCodeOf(decision.Failure));
            }
            else if (decision.Role != session.Identity.Role)
            {
                _hub.Revoke(session, $"role changed to {decision.Role.ToString()!.ToLowerInvariant()}: reconnect", AlexLinkRefusalCode.NotAllowed);
            }
        }
    }

    /// <summary>What an admin's `alex status` shows: the server, the Arduino link, the sessions, the lease, the CRL, the certificate, the audit log.</summary>
    public AlexLinkServerStatus Status()
    {
        var lease = _hub.Lease;
        var crl = Volatile.Read(ref _policy).Options.Crl?.Current().List;
        var sessions = _sessions.Keys
            .OrderBy(s => s.ConnectedAt)
            .Select(s => new AlexLinkSessionInfo(
                s.Identity.WireRole,
                s.Protocol == SessionProtocol.AlexLink1 ? AlexLinkSessionProtocol.AlexLink1 : AlexLinkSessionProtocol.Classic,
                s.ConnectedAt.ToUnixTimeMilliseconds(),
                s.Identity.Name,
                s.Identity.Peer))
            .ToArray();
        var (free, size) = AuditSpace(_auditFeed.Path);
        return new AlexLinkServerStatus
        {
            ServerTimeUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            StartedUnixMs = _started.ToUnixTimeMilliseconds(),
            Link = _hub.LinkUp ? AlexLinkLinkStatus.Up : AlexLinkLinkStatus.Down,
            MayBeMoving = _hub.MayBeMoving,
            SessionCount = (ushort)Math.Min(sessions.Length, ushort.MaxValue),
            LeaseSinceUnixMs = lease.Holder is null ? 0 : lease.Since.ToUnixTimeMilliseconds(),
            CertificateNotAfterUnixMs = new DateTimeOffset(_options.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeMilliseconds(),
            CrlThisUpdateUnixMs = crl?.ThisUpdate.ToUnixTimeMilliseconds() ?? 0,
            CrlNextUpdateUnixMs = crl?.NextUpdate?.ToUnixTimeMilliseconds() ?? 0,
            AuditFreeBytes = free,
            AuditSizeBytes = size,
            Version = Version,
            ServerName = _serverName,
            LinkDetail = _hub.Link.Detail,
            LeaseHolder = lease.Holder ?? "",
            CrlNumber = crl?.CrlNumber?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            AuditPath = _auditFeed.Path is null ? "" : Path.GetFullPath(_auditFeed.Path),
            Sessions = sessions,
            Counters = [.. _hub.Link.Counters.Select(c => new AlexLinkCounter(c.Key, c.Value))],
        }.FitTo();
    }

    /// <summary>This build's version, as `alex --version` prints it.</summary>
    internal static string Version { get; } =
        typeof(RobotServer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";

    // Free bytes where the audit file is, and its size; -1 for what cannot be known (no file, no permission).
    private static (long Free, long Size) AuditSpace(string? path)
    {
        if (path is null)
        {
            return (-1, -1);
        }

        try
        {
            var full = Path.GetFullPath(path);
            var file = new FileInfo(full);
            var free = new DriveInfo(Path.GetDirectoryName(full)!).AvailableFreeSpace;
            return (free, file.Exists ? file.Length : -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return (-1, -1);
        }
    }

    /// <summary>What admin sessions may reach: the status, and the audit feed (each follow is itself audited).</summary>
    internal sealed class AdminDesk(RobotServer server)
    {
        public AlexLinkServerStatus Status() => server.Status();

        public AuditFeed Audit => server._auditFeed;

        public void Noted(string eventName, ClientIdentity who) => server._audit.Write(eventName, ("name", who.Name), ("peer", who.Peer));
    }

    /// <summary>Stops accepting, closes every session (each driver's disconnect stops the robot) and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(_connections.Keys).WaitAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _refusalFlush.DisposeAsync().ConfigureAwait(false);
        FlushRefusals(force: true);
        _listener?.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        var listener = _listener!;
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // e.g. the peer reset before we accepted, or out of file descriptors: log, keep serving.
                _audit.Write("accept-failed", ("reason", e.SocketErrorCode.ToString()));
                continue;
            }

            var remote = socket.RemoteEndPoint as IPEndPoint;
            var peer = remote?.ToString() ?? "unknown";
            var source = HandshakeAdmission.SourceOf(remote?.Address);
            AdmissionVerdict verdict;
            int inHandshake;
            lock (_admitting)
            {
                verdict = _admission.TryAdmit(source, RandomNumberGenerator.GetInt32(100));
                inHandshake = _admission.InHandshake;
            }

            if (verdict != AdmissionVerdict.Admitted)
            {
                var limits = _options.Startups;
                Refused(source, peer, RefusalKind.Busy, null, verdict switch
                {
                    AdmissionVerdict.SourceFull => $"too many connections in their handshake from {source} (limit {limits.PerSource})",
                    AdmissionVerdict.Full => $"too many connections in their handshake (limit {limits.Full})",
                    _ => $"too many connections in their handshake ({inHandshake}, limit {limits.Full}): refused at random",
                });
                socket.Dispose();
                continue;
            }

            socket.NoDelay = true;
            WatchForDeadNetwork(socket);
            var task = Task.Run(() => HandleConnectionAsync(socket, peer, source, cancellationToken), CancellationToken.None);
            _connections.TryAdd(task, 0);
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleConnectionAsync(Socket socket, string peer, string source, CancellationToken cancellationToken)
    {
        var counted = true;
        var check = new ClientCertificateCheck();
        var wire = new RecordBatchingStream(new NetworkStream(socket, ownsSocket: true));
        var ssl = new SslStream(wire, leaveInnerStreamOpen: false);
        try
        {
            var admitted = await HandshakeAndAdmitAsync(ssl, socket, check, peer, source, cancellationToken).ConfigureAwait(false);
            if (admitted is null)
            {
                return;
            }

            var (identity, protocol) = admitted.Value;
            var role = identity.WireRole;
            string? full;
            lock (_admitting)
            {
                _admission.Finished(source);
                counted = false;
                full = _seats.TryTake(role) ? null : _seats.FullText(role);
            }

            if (full is not null)
            {
                // An authenticated client: written in full (it is accountable, and it has a name).
                _audit.Write("connection-refused", ("peer", peer), ("name", identity.Name), ("reason", full));
                if (protocol == SessionProtocol.AlexLink1)
                {
                    using var refusalDeadline = new CancellationTokenSource(_options.HandshakeTimeout, _time);
                    await SendRefusalAsync(ssl, AlexLinkRefusalCode.Busy, full, refusalDeadline.Token).ConfigureAwait(false);
                }

                return;
            }

            ClientSession session = protocol == SessionProtocol.AlexLink1
                ? new AlexLinkSession(ssl, wire, identity, check.Certificate!, check.ExtraCertificates, _hub, _time, _serverName, new AdminDesk(this))
                : new ClassicSession(ssl, wire, identity, check.Certificate!, check.ExtraCertificates, _hub, _time);
            _sessions.TryAdd(session, 0);
            (string Key, object? Value)[] accepted =
            [
                ("peer", peer),
                ("subject", identity.Subject),
                ("fingerprint", identity.Fingerprint),
                ("name", identity.Name),
                ("role", identity.Role.ToString().ToLowerInvariant()),
                ("protocol", protocol == SessionProtocol.AlexLink1 ? "alexlink/1" : "classic"),
                ("tls", $"{ssl.SslProtocol} {ssl.NegotiatedCipherSuite}"),
            ];
            try
            {
                // "connection-accepted" is written once the hub knows the session, so whoever reads the audit log can rely on
                // the session already receiving Arduino messages and telemetry.
                await session.RunAsync(() => _audit.Write("connection-accepted", accepted), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _sessions.TryRemove(session, out _);
                lock (_admitting)
                {
                    _seats.Leave(role);
                }

                session.Dispose();
                _audit.Write("connection-closed", ("peer", peer), ("name", identity.Name), ("reason", session.CloseReason));
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            // The connection broke outside a session's own handling (e.g. while refusing): nothing to tell.
        }
        finally
        {
            if (counted)
            {
                lock (_admitting)
                {
                    _admission.Finished(source);
                }
            }

            await CloseAsync(ssl).ConfigureAwait(false);
        }
    }

    // Returns the identity and protocol, or null when the client was refused (already logged and told).
    private async Task<(ClientIdentity Identity, SessionProtocol Protocol)?> HandshakeAndAdmitAsync(
        SslStream ssl, Socket socket, ClientCertificateCheck check, string peer, string source, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.HandshakeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        // Cancelling a pending socket read is not enough on every platform: closing the socket is.
        using (linked.Token.Register(static s => ((Socket)s!).Dispose(), socket))
        {
            try
            {
                await ssl.AuthenticateAsServerAsync(TlsProfiles.Server(_serverContext, _options.Ca, check), linked.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or AuthenticationException or ObjectDisposedException or SocketException)
            {
                var (kind, reason) = (deadline.IsCancellationRequested, cancellationToken.IsCancellationRequested, check.Status) switch
                {
                    (true, false, _) => (RefusalKind.Timeout, $"TLS handshake not finished within {_options.HandshakeTimeout.TotalMilliseconds:0} ms"),
                    (_, true, _) => (RefusalKind.ShuttingDown, "server shutting down"),
                    (_, _, ClientChainStatus.Missing) => (RefusalKind.NoCertificate, check.Reason),
                    (_, _, ClientChainStatus.NotOurCa) => (RefusalKind.UntrustedCertificate, check.Reason),
                    _ => (RefusalKind.HandshakeFailed, "TLS handshake failed: " + Innermost(e).Message),
                };
                Refused(source, peer, kind, check.Certificate, reason);
                return null;
            }
        }

        var protocol = ssl.NegotiatedApplicationProtocol == TlsProfiles.AlexLink1 ? SessionProtocol.AlexLink1 : SessionProtocol.Classic;
        var certificate = check.Certificate;
        if (certificate is null)
        {
            // The handshake completed without our callback seeing a certificate: never admit that.
            Refused(source, peer, RefusalKind.NoCertificate, null, "no client certificate");
            return null;
        }

        var decision = Volatile.Read(ref _policy).EvaluateClient(certificate, check.ExtraCertificates);
        if (!decision.Accepted)
        {
            Refused(source, peer, RefusalKind.Policy, certificate, decision.Reason);
            if (protocol == SessionProtocol.AlexLink1)
            {
                using var refusalDeadline = new CancellationTokenSource(_options.HandshakeTimeout, _time);
                await SendRefusalAsync(ssl, RefusalCodeOf(decision.Failure), decision.Reason, refusalDeadline.Token).ConfigureAwait(false);
            }

            return null;
        }

        var identity = new ClientIdentity(
            decision.PeerName ?? certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false),
            decision.Role ?? PeerRole.Watch,
            certificate.Subject,
            decision.Sha256Fingerprint ?? CertificateText.Fingerprint(certificate),
            peer);
        return (identity, protocol);
    }

    private static async Task SendRefusalAsync(SslStream ssl, AlexLinkRefusalCode code, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await ssl.WriteAsync(AlexLinkSession.EncodeRefusal(code, reason), cancellationToken).ConfigureAwait(false);
            await ssl.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client left first; the refusal is in the audit log anyway.
        }
    }

    /// <summary>The AlexLink/1 refusal code for a trust policy failure (docs/protocol.md §5).</summary>
    internal static AlexLinkRefusalCode RefusalCodeOf(TrustFailure? failure) => failure switch
    {
        TrustFailure.NameNotAllowed or TrustFailure.AmbiguousName => AlexLinkRefusalCode.NotAllowed,
        TrustFailure.Revoked => AlexLinkRefusalCode.Revoked,
        TrustFailure.Expired or TrustFailure.NotYetValid => AlexLinkRefusalCode.NotTimeValid,
        TrustFailure.WrongUsage or TrustFailure.NotCa => AlexLinkRefusalCode.WrongUsage,
        TrustFailure.WeakKey or TrustFailure.WeakSignature => AlexLinkRefusalCode.WeakKey,
        TrustFailure.CrlMissing or TrustFailure.CrlStale or TrustFailure.CrlInvalid or TrustFailure.CrlNotYetValid => AlexLinkRefusalCode.CannotCheck,
        _ => AlexLinkRefusalCode.Other,
    };

    // A refusal: the first from its source in a window is written in full, the rest are counted (RefusalTally).
    private void Refused(string source, string peer, RefusalKind kind, X509Certificate2? certificate, string reason)
    {
        var now = _time.GetUtcNow();
        bool inFull;
        IReadOnlyList<RefusalSummary> due;
        lock (_admitting)
        {
            // A timer that fires late must not let a window grow: end it here when it is due.
            due = _refusals.Flush(now);
            var armed = _refusals.FlushDueAt is not null;
            inFull = _refusals.Refused(now, source, kind);
            if (!armed && _refusals.FlushDueAt is { } at)
            {
                _refusalFlush.Change(at - now, Timeout.InfiniteTimeSpan);
            }
        }

        WriteSummaries(due);
        if (inFull)
        {
            _audit.Write(
                "connection-refused",
                ("peer", peer),
                ("subject", certificate?.Subject),
                ("fingerprint", certificate is null ? null : CertificateText.Fingerprint(certificate)),
                ("reason", reason));
        }
    }

    private void FlushRefusals() => FlushRefusals(force: false);

    private void FlushRefusals(bool force)
    {
        IReadOnlyList<RefusalSummary> due;
        lock (_admitting)
        {
            var now = _time.GetUtcNow();
            due = _refusals.Flush(force && _refusals.FlushDueAt is { } at && at > now ? at : now);
            if (!force && _refusals.FlushDueAt is { } still)
            {
                // The timer came early: wait for the rest of the window.
                _refusalFlush.Change(still > now ? still - now : TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
            }
        }

        WriteSummaries(due);
    }

    private void WriteSummaries(IReadOnlyList<RefusalSummary> summaries)
    {
        foreach (var s in summaries)
        {
            _audit.Write(
                "connection-refused-summary",
                ("source", s.Source),
                ("count", s.Count),
                ("from", s.From),
                ("reasons", s.Reasons));
        }
    }

    // close_notify first, then dispose (a live SslStream is never disposed without ShutdownAsync).
    private async Task CloseAsync(SslStream ssl)
    {
        try
        {
            if (ssl.IsAuthenticated)
            {
                await ssl.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException or TimeoutException or AuthenticationException)
        {
            // The peer is gone or a write is stuck on a client that does not read: dispose anyway.
        }

        await ssl.DisposeAsync().ConfigureAwait(false);
    }

    // A black-holed network sends no FIN or RST: the kernel's keepalive notices instead (NetworkLiveness), the session's
    // read fails, and a driver leaving stops the robot.
    private static void WatchForDeadNetwork(Socket socket)
    {
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)NetworkLiveness.KeepAliveIdle.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)NetworkLiveness.KeepAliveInterval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, NetworkLiveness.KeepAliveProbes);
            if (OperatingSystem.IsLinux())
            {
                Span<byte> ms = stackalloc byte[sizeof(int)];
                BitConverter.TryWriteBytes(ms, (int)NetworkLiveness.UserTimeout.TotalMilliseconds);
                socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, ms);
            }
        }
        catch (SocketException)
        {
            // The peer is already gone: the handshake will fail on its own.
        }
    }

    // <netinet/tcp.h> on Linux.
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18;

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }
}
