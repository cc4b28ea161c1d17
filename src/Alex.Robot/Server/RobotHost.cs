// Puts the robot server together from files and a link to the Arduino: what `alex serve` runs, and
// what the end-to-end tests and the benchmark start (so they test the same wiring).
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;

namespace Alex.Robot.Server;

/// <summary>Everything `alex serve` was told.</summary>
public sealed record RobotHostOptions
{
    public required string CertificatePath { get; init; }

    public required string KeyPath { get; init; }

    /// <summary>The passphrase of an encrypted key; null for a plain one.</summary>
    public string? KeyPassphrase { get; init; }

    public required PolicySources Policy { get; init; }

    public IPEndPoint Listen { get; init; } = new(IPAddress.Any, RobotServerOptions.DefaultPort);

    public HubOptions Hub { get; init; } = new();

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public int MaxUnauthenticated { get; init; } = 32;

    /// <summary>From this many connections in their handshake on, new ones are refused at random (null: half of MaxUnauthenticated).</summary>
    public int? EarlyDropStart { get; init; }

    /// <summary>Authenticated sessions allowed at once (watchers are refused first: see RobotServerOptions).</summary>
    public int MaxSessions { get; init; } = RobotServerOptions.DefaultMaxSessions;

    /// <summary>JSON-lines audit file (appended); null: audit only to <c>echo</c>.</summary>
    public string? AuditPath { get; init; }

    /// <summary>Size cap and rotation of the audit file.</summary>
    public AuditFileOptions AuditFile { get; init; } = new();
}

/// <summary>A running robot server: policy files (watched), audit log, hub and accept loop.</summary>
public sealed class RobotHost : IAsyncDisposable
{
    private readonly PolicyFiles _policyFiles;
    private int _disposed;

    private RobotHost(PolicyFiles policyFiles, AuditLog audit, RobotHub hub, RobotServer server, X509Certificate2 certificate)
    {
        _policyFiles = policyFiles;
        Audit = audit;
        Hub = hub;
        Server = server;
        Certificate = certificate;
    }

    public AuditLog Audit { get; }

    public RobotHub Hub { get; }

    public RobotServer Server { get; }

    /// <summary>The server's own certificate.</summary>
    public X509Certificate2 Certificate { get; }

    public IPEndPoint LocalEndPoint => Server.LocalEndPoint;

    /// <summary>
    /// Loads every file (each failure is a PkiException naming the file), opens the audit log, and starts
    /// listening. The link is owned by the caller. <paramref name="echo"/> hears every audit record; <paramref name="warn"/>
    /// hears that audit records are being lost (and when writing resumes). Refuses a key others can read or replace
    /// (KeyFileProtection) and a certificate no client would accept (ServingCertificate): a server that cannot complete a
    /// handshake must not say "listening".
    /// </summary>
    public static RobotHost Start(RobotHostOptions options, IRobotLink link, TimeProvider time, Action<string>? echo = null, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(time);
        if (KeyFileProtection.Read(options.KeyPath) is { } keyFile && KeyFileProtection.Check(keyFile) is { } unprotected)
        {
            throw unprotected;
        }

        var certificate = PrivateKeyFile.LoadCertificateWithKey(options.CertificatePath, options.KeyPath, options.KeyPassphrase);
        if (ServingCertificate.Check(certificate, options.CertificatePath, time.GetUtcNow()) is { } unusable)
        {
            certificate.Dispose();
            throw unusable;
        }

        var ca = CertificateFile.Load(options.Policy.CaPath);
        var policyFiles = new PolicyFiles(options.Policy, time);
        var policy = policyFiles.Load();

        AuditLog audit;
        try
        {
            audit = options.AuditPath is null ? new AuditLog(time, echo) : AuditLog.OpenFile(options.AuditPath, time, echo, options.AuditFile, warn);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            policyFiles.Dispose();
            throw new PkiException($"{options.AuditPath}: cannot open the audit log ({e.Message})", hint: "check the directory exists and is writable");
        }

        var hub = new RobotHub(link, options.Hub, audit, time);
        var server = new RobotServer(
            new RobotServerOptions
            {
                Listen = options.Listen,
                Certificate = certificate,
                Ca = ca,
                HandshakeTimeout = options.HandshakeTimeout,
                MaxUnauthenticated = options.MaxUnauthenticated,
                EarlyDropStart = options.EarlyDropStart,
                MaxSessions = options.MaxSessions,
                AuditPath = options.AuditPath,
            },
            policy,
            hub,
            audit,
            time);
        try
        {
            server.Start();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            policyFiles.Dispose();
            audit.Dispose();
            throw new PkiException($"cannot listen on {options.Listen}: {e.Message}", hint: "pick another port with --listen, or stop the other server");
        }

        var host = new RobotHost(policyFiles, audit, hub, server, certificate);
        policyFiles.Watch((p, why) => server.ReplacePolicy(p, why));
        audit.Write(
            "server-started",
            ("listen", server.LocalEndPoint.ToString()),
            ("subject", certificate.Subject),
            ("fingerprint", CertificateText.Fingerprint(certificate)),
            ("lease_ms", (long)options.Hub.LeaseWindow.TotalMilliseconds),
            ("max_speed", options.Hub.MaxSpeedPercent),
            ("max_distance_cm", options.Hub.MaxDistanceCm),
            ("max_angle", options.Hub.MaxAngleDegrees),
            ("classic_silence_ms", (long)options.Hub.SilentMoveLimit.TotalMilliseconds),
            ("allow", options.Policy.AllowAny ? "any" : string.Join(",", options.Policy.AllowEntries)),
            ("allow_file", options.Policy.AllowFilePath),
            ("crl", options.Policy.CrlPath),
            ("legacy_certs", options.Policy.Legacy));
        if (options.Policy.CrlPath is null)
        {
            audit.Write("warning", ("detail", "no CRL (--no-crl): a revoked certificate still gets in"));
        }

        return host;
    }

    /// <summary>Re-reads the CRL and allow-list now (SIGHUP) and re-checks every connected client.</summary>
    public void Reload(string why) => _policyFiles.Reload(why);

    /// <summary>Closes every connection, stops the robot if a driver left it moving (and waits for that STOP), then the log. Once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _policyFiles.Dispose();
        await Server.DisposeAsync().ConfigureAwait(false);
        await Hub.DisposeAsync().ConfigureAwait(false);
        Audit.Write("server-stopped");
        Audit.Dispose();
        Certificate.Dispose();
    }
}
