// What `alex serve` was asked, as one record, and the rules that turn it into a host to start: which
// files a --pki directory supplies, which combinations make sense, the ranges of the numbers. The
// command line only fills the record and shows the error; every problem is one ServeOptionsException
// with the fix in its hint.
using System.Globalization;
using System.Net;
using Alex.Pki;
using Alex.Protocol.Extensions;

namespace Alex.Robot.Server;

/// <summary>Everything `alex serve` can be told, before any file is read.</summary>
public sealed record ServeOptions
{
    public const int DefaultBaud = 9600;

    /// <summary>Directory holding alex.crt, alex.key, signing.pem and crl.pem.</summary>
    public string? PkiDir { get; init; }

    public string? CertificatePath { get; init; }

    public string? KeyPath { get; init; }

    /// <summary>The key's passphrase is the first line of this file (else <see cref="PassphraseFromEnvironment"/>).</summary>
    public string? PassphraseFile { get; init; }

    /// <summary>The value of ALEX_PKI_PASSPHRASE, used when no passphrase file is given.</summary>
    public string? PassphraseFromEnvironment { get; init; }

    public string? CaPath { get; init; }

    public string? CrlPath { get; init; }

    /// <summary>Run without a CRL: nothing a client holds can be revoked. Said loudly at start.</summary>
    public bool NoCrl { get; init; }

    public IReadOnlyList<string> Allow { get; init; } = [];

    public string? AllowFile { get; init; }

    public bool AllowAny { get; init; }

    public string? SerialPath { get; init; }

    public int Baud { get; init; } = DefaultBaud;

    public bool Simulate { get; init; }

    public string? Listen { get; init; }

    public int LeaseMs { get; init; } = 1500;

    public int ClassicSilenceMs { get; init; } = (int)Alex.Protocol.Safety.DriverLease.DefaultSilentMoveLimit.TotalMilliseconds;

    public int MaxSpeed { get; init; } = 100;

    public int? MaxDistance { get; init; }

    public int? MaxAngle { get; init; }

    public string? AuditPath { get; init; }

    public bool Legacy { get; init; }

    public int HandshakeTimeoutMs { get; init; } = 5000;

    /// <summary>Rotate the audit file before it passes this size: bytes, or with K, M, G (powers of 1024); "0" never rotates.</summary>
    public string AuditMaxSize { get; init; } = "16M";

    public int AuditKeep { get; init; } = AuditFileOptions.DefaultKeep;

    /// <summary>Record every run to MCAP files in this folder (docs/recording.md "On the robot"); null: no recording.</summary>
    public string? RecordDir { get; init; }

    /// <summary>A recording file is closed and the next begun past this size: bytes, or with K, M, G; "0": one file per run.</summary>
    public string RecordMaxSize { get; init; } = "64M";

    /// <summary>Recording files kept in the folder (the oldest are deleted).</summary>
    public int RecordKeep { get; init; } = 20;

    /// <summary>
    /// How often the server's recording samples the status (the pose). A poll shares the serial line (a command waits
    /// behind at most one exchange, docs/protocol.md §3): slower than a watching page's 200 ms.
    /// </summary>
    public static readonly TimeSpan RecordStatusInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The recording asked for, checked (call after <see cref="Resolve"/>, which refuses bad values); null: none.</summary>
    public RecordingSpec? Recording => RecordDir is null ? null : new RecordingSpec(RecordDir, ParseSize(RecordMaxSize) is > 0 and var max ? max : null, RecordKeep);

    public int MaxSessions { get; init; } = RobotServerOptions.DefaultMaxSessions;

    /// <summary>The server builds the map from its lidar (ServerMapper, docs/mapping.md §4): the status is polled for the odometry.</summary>
    public bool Map { get; init; }

    /// <summary>The team's declaration file (docs/extensions.md): its commands are relayed; a bad file refuses to start.</summary>
    public string? ExtensionsPath { get; init; }

    /// <summary>Checks the options and turns them into host options and the robot link to open.</summary>
    /// <exception cref="ServeOptionsException">Anything that would not work, in one line with its fix.</exception>
    public (RobotHostOptions Host, RobotLinkSpec Link) Resolve()
    {
        var cert = CertificatePath;
        var key = KeyPath;
        var ca = CaPath;
        var crl = CrlPath;
        if (PkiDir is { } pkiDir)
        {
            if (!Directory.Exists(pkiDir))
            {
                throw new ServeOptionsException($"--pki {pkiDir}: no such directory", "make one with `alex pki init --dir " + pkiDir + "`");
            }

            cert ??= Path.Combine(pkiDir, "alex.crt");
            key ??= Path.Combine(pkiDir, "alex.key");
            ca ??= Path.Combine(pkiDir, CertificateAuthority.CertificateFileName);
            if (crl is null && !NoCrl)
            {
                crl = Path.Combine(pkiDir, CertificateAuthority.CrlFileName);
                if (!File.Exists(crl))
                {
                    throw new ServeOptionsException(
                        $"{crl}: no such CRL file: without it a revoked certificate would get in",
                        $"make it with `alex pki crl --dir {pkiDir}`, give --crl FILE, or start with --no-crl to check no revocations");
                }
            }
        }

        if (cert is null || key is null || ca is null)
        {
            throw new ServeOptionsException("the robot's certificate, key and CA are needed", "give --pki DIR, or --cert alex.crt --key alex.key --ca signing.pem");
        }

        foreach (var (path, what, flag) in new[] { (cert, "certificate", "--cert"), (key, "private key", "--key"), (ca, "CA certificate", "--ca") })
        {
            if (!File.Exists(path))
            {
                throw new ServeOptionsException($"{path}: no such {what} file", PkiDir is null ? $"check {flag}" : $"issue it with `alex pki issue` into {PkiDir}, or give {flag}");
            }
        }

        if (NoCrl && crl is not null)
        {
            throw new ServeOptionsException("--no-crl cannot be combined with --crl", "use one or the other");
        }

        if (crl is null && !NoCrl)
        {
            throw new ServeOptionsException("no CRL: without one a revoked certificate would get in", "give --crl crl.pem (from `alex pki crl`), or --no-crl to check no revocations");
        }

        if (crl is not null && !File.Exists(crl))
        {
            throw new ServeOptionsException($"{crl}: no such CRL file", "make one with `alex pki crl`, or leave out --crl");
        }

        if (AllowFile is not null && !File.Exists(AllowFile))
        {
            throw new ServeOptionsException($"{AllowFile}: no such allow file", "one NAME[=drive|watch|admin] per line");
        }

        if (!AllowAny && Allow.Count == 0 && AllowFile is null)
        {
            throw new ServeOptionsException("no allow-list: the server would let nobody in", "name the clients with --allow NAME[=drive|watch|admin] (or --allow-file FILE), or pass --allow-any to let in every certificate from the CA");
        }

        if (AllowAny && (Allow.Count > 0 || AllowFile is not null))
        {
            throw new ServeOptionsException("--allow-any cannot be combined with --allow or --allow-file", "use one or the other");
        }

        try
        {
            AllowList.Parse(Allow);
        }
        catch (PkiException e)
        {
            throw new ServeOptionsException(e.Message, e.Hint);
        }

        if (Simulate == (SerialPath is not null))
        {
            throw new ServeOptionsException(Simulate ? "--simulate and --serial are exclusive" : "no robot: give --serial PATH or --simulate", "e.g. --serial /dev/ttyACM0, or --simulate to use the simulated Alex");
        }

        if (Baud is < 300 or > 2_000_000)
        {
            throw new ServeOptionsException($"--baud {Baud}: not a serial speed", "the course uses 9600 (57600 in 2019)");
        }

        if (LeaseMs is < 100 or > 60_000)
        {
            throw new ServeOptionsException($"--lease-ms {LeaseMs}: must be between 100 and 60000", "1500 suits Wi-Fi; shorter stops sooner but trips on a slow network");
        }

        if (ClassicSilenceMs is < 100 or > 600_000)
        {
            throw new ServeOptionsException($"--classic-silence-ms {ClassicSilenceMs}: must be between 100 and 600000", "a few seconds: longer than a student takes to type the next command");
        }

        if (MaxSpeed is < 0 or > 100)
        {
            throw new ServeOptionsException($"--max-speed {MaxSpeed}: must be a percentage from 0 to 100", hint: null);
        }

        if (MaxDistance is < 1)
        {
            throw new ServeOptionsException($"--max-distance {MaxDistance}: must be 1 cm or more", hint: null);
        }

        if (MaxAngle is < 1)
        {
            throw new ServeOptionsException($"--max-angle {MaxAngle}: must be 1 degree or more", hint: null);
        }

        if (HandshakeTimeoutMs is < 100 or > 60_000)
        {
            throw new ServeOptionsException($"--handshake-timeout-ms {HandshakeTimeoutMs}: must be between 100 and 60000", hint: null);
        }

        if (MaxSessions is < 1 or > 10_000)
        {
            throw new ServeOptionsException($"--max-sessions {MaxSessions}: must be between 1 and 10000", $"the default is {RobotServerOptions.DefaultMaxSessions}");
        }

        if (AuditKeep is < 0 or > 1000)
        {
            throw new ServeOptionsException($"--audit-keep {AuditKeep}: must be between 0 and 1000", hint: null);
        }

        if (ParseSize(AuditMaxSize) is not { } auditMaxBytes)
        {
            throw new ServeOptionsException($"--audit-max-size {AuditMaxSize}: not a size", "e.g. --audit-max-size 16M (K, M and G are powers of 1024; 0 never rotates)");
        }

        if (RecordKeep is < 1 or > 10_000)
        {
            throw new ServeOptionsException($"--record-keep {RecordKeep}: must be between 1 and 10000", hint: null);
        }

        if (ParseSize(RecordMaxSize) is not { } recordMax || recordMax is > 0 and < 64 * 1024)
        {
            throw new ServeOptionsException($"--record-max-size {RecordMaxSize}: not a size of 64K or more", "e.g. --record-max-size 64M (K, M and G are powers of 1024; 0: one file per run)");
        }

        var extensions = ExtensionsPath is { } declarations ? LoadExtensions(declarations) : TeamExtensions.None;
        var host = new RobotHostOptions
        {
            CertificatePath = cert,
            KeyPath = key,
            KeyPassphrase = Passphrase(key),
            Policy = new PolicySources(ca, crl, Allow, AllowFile, AllowAny, Legacy),
            Listen = ParseListen(Listen),
            Hub = new HubOptions
            {
                LeaseWindow = TimeSpan.FromMilliseconds(LeaseMs),
                SilentMoveLimit = TimeSpan.FromMilliseconds(ClassicSilenceMs),
                MaxSpeedPercent = (uint)MaxSpeed,
                MaxDistanceCm = MaxDistance is { } d ? (uint)d : null,
                MaxAngleDegrees = MaxAngle is { } a ? (uint)a : null,
                Extensions = extensions,
                ObserverStatusInterval = Map ? ServerMapper.StatusInterval : RecordDir is null ? null : RecordStatusInterval,
            },
            HandshakeTimeout = TimeSpan.FromMilliseconds(HandshakeTimeoutMs),
            AuditPath = AuditPath,
            AuditFile = new AuditFileOptions { MaxBytes = auditMaxBytes, Keep = AuditKeep },
            MaxSessions = MaxSessions,
        };
        return (host, new RobotLinkSpec(SerialPath, Baud, Simulate, extensions));
    }

    /// <summary>Reads and checks a declaration file: the refusal names the file, the line and why.</summary>
    /// <exception cref="ServeOptionsException">The file cannot be read or is not a good declaration.</exception>
    public static TeamExtensions LoadExtensions(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServeOptionsException($"--extensions {path}: cannot read it: {e.Message}", "give the path of the team's declaration file (docs/extensions.md)");
        }

        if (ExtensionFile.Parse(text, out var problems) is { } extensions)
        {
            return extensions;
        }

        var (message, hint) = ExtensionFile.Refusal(path, problems);
        throw new ServeOptionsException(message, hint);
    }

    /// <summary>"1048576", "512K", "16M", "1G" (powers of 1024); null when not a size.</summary>
    public static long? ParseSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var shift = text.Length == 0 ? 0 : char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= (long.MaxValue >> 30)
            ? n << shift
            : null;
    }

    // As every other command (KeyPassphrase): the passphrase file's first line, else the environment, never a
    // prompt (a service has no terminal); asked only for an encrypted key.
    private string? Passphrase(string keyPath)
    {
        try
        {
            return new KeyPassphrase(PassphraseFile, PassphraseFromEnvironment, prompt: null).For(keyPath);
        }
        catch (PkiException e)
        {
            throw new ServeOptionsException(e.Message, e.Hint);
        }
    }

    /// <summary>"ADDRESS:PORT", "[v6]:PORT", a bare port, or nothing (0.0.0.0:5000).</summary>
    public static IPEndPoint ParseListen(string? listen)
    {
        if (string.IsNullOrEmpty(listen))
        {
            return new IPEndPoint(IPAddress.Any, RobotServerOptions.DefaultPort);
        }

        // A bare number is a port ("5000" would otherwise parse as the IPv4 address 0.0.19.136).
        if (int.TryParse(listen, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            if (port is > 0 and < 65536)
            {
                return new IPEndPoint(IPAddress.Any, port);
            }
        }
        else if (IPEndPoint.TryParse(listen, out var endpoint))
        {
            if (endpoint.Port == 0 && !listen.EndsWith(":0", StringComparison.Ordinal))
            {
                endpoint.Port = RobotServerOptions.DefaultPort;
            }

            return endpoint;
        }

        throw new ServeOptionsException($"--listen {listen}: not an address and port", "e.g. --listen 0.0.0.0:5000, --listen 127.0.0.1:5001 or --listen [::]:5000");
    }
}

/// <summary>An option of `alex serve` that cannot work: one line, and what to do instead.</summary>
public sealed class ServeOptionsException : Exception
{
    public ServeOptionsException(string message, string? hint)
        : base(message)
    {
        Hint = hint;
    }

    public ServeOptionsException()
    {
    }

    public ServeOptionsException(string message)
        : base(message)
    {
    }

    public ServeOptionsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Hint { get; }
}

/// <summary>Where and how `alex serve --record` records: the folder, the size past which the next file begins (null: one file per run), the files kept.</summary>
public sealed record RecordingSpec(string Dir, long? MaxFileBytes, int Keep);
