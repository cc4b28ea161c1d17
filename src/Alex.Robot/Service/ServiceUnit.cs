// `alex serve` as a systemd service (docs/service.md): where its files go and the unit that runs it.
// Pure: paths and text only; ServiceInstaller does the writing.
//
// The unit's hardening, from systemd.exec(5): the server runs as its own system user (in dialout for the
// serial port), can gain no privileges (NoNewPrivileges, no capabilities), sees the whole file system
// read-only (ProtectSystem=strict) except its state directory, where the audit log is (StateDirectory=),
// and no home directories. MemoryDenyWriteExecute is left off on purpose: .NET's JIT writes code.
using System.Globalization;
using System.Text;

namespace Alex.Robot.Service;

/// <summary>What the service runs: `alex serve` with these settings, its files copied into the config folder.</summary>
public sealed record ServiceDefinition
{
    /// <summary>The program and its leading arguments (e.g. ["/usr/local/bin/alex"], or a dotnet host and alex.dll).</summary>
    public required IReadOnlyList<string> Program { get; init; }

    /// <summary>The Arduino's serial port; null: the simulated Alex.</summary>
    public string? SerialPath { get; init; }

    public int Baud { get; init; } = 9600;

    /// <summary>True when the robot's CRL is copied (crl.pem).</summary>
    public bool HasCrl { get; init; }

    /// <summary>True for --allow-any (no allow file).</summary>
    public bool AllowAny { get; init; }

    public bool Legacy { get; init; }

    /// <summary>True when the team's declaration file is copied (alex-extensions.json, docs/extensions.md).</summary>
    public bool HasExtensions { get; init; }

    /// <summary>The other `alex serve` options, passed through as given (e.g. --listen, --lease-ms, --max-speed).</summary>
    public IReadOnlyList<string> ServeOptions { get; init; } = [];

    public string User { get; init; } = ServiceLayout.DefaultUser;

    /// <summary>False when Avahi announces the robot: the server then runs with --no-announce (docs/service.md "Finding the robot").</summary>
    public bool Announce { get; init; } = true;

    /// <summary>The port clients connect to, announced on the local network (docs/service.md "Finding the robot").</summary>
    public int Port { get; init; } = 5000;
}

/// <summary>Where the service's files live on the robot.</summary>
public static class ServiceLayout
{
    public const string Name = "alexlink";
    public const string DefaultUser = "alexlink";
    public const string UnitPath = "/etc/systemd/system/alexlink.service";

    /// <summary>Root-owned, readable by the service's group only: the robot's certificate, key, CA, CRL, allow-list and the team's declarations.</summary>
    public const string ConfigDir = "/etc/alexlink";

    /// <summary>The service's only writable place (systemd creates it, owned by the service user): the audit log.</summary>
    public const string StateDir = "/var/lib/alexlink";

    public const string CertificateFile = "alex.crt";
    public const string KeyFile = "alex.key";
    public const string CaFile = "signing.pem";
    public const string CrlFile = "crl.pem";
    public const string AllowFile = "allowed.txt";
    public const string ExtensionsFile = "alex-extensions.json";
    public const string AuditFile = "audit.jsonl";

    /// <summary>The CA's private key: it never leaves the machine that signs (docs/security.md), so never onto the robot.</summary>
    public const string SigningKeyFile = "signing.key";

    /// <summary>Folders a service cannot run a program from: systemd hides them (ProtectHome, PrivateTmp).</summary>
    public static readonly IReadOnlyList<string> HiddenFromService = ["/home/", "/root/", "/tmp/", "/var/tmp/", "/run/user/"];

    public static string Config(string file) => ConfigDir + "/" + file;
}

/// <summary>Renders the systemd unit for a <see cref="ServiceDefinition"/>.</summary>
public static class ServiceUnit
{
    /// <summary>The `alex serve` command line the unit runs (also what a Pi without systemd runs, docs/service.md).</summary>
    public static IReadOnlyList<string> Command(ServiceDefinition service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var args = new List<string>(service.Program)
        {
            "serve",
            "--cert", ServiceLayout.Config(ServiceLayout.CertificateFile),
            "--key", ServiceLayout.Config(ServiceLayout.KeyFile),
            "--ca", ServiceLayout.Config(ServiceLayout.CaFile),
        };
        args.AddRange(service.HasCrl ? ["--crl", ServiceLayout.Config(ServiceLayout.CrlFile)] : ["--no-crl"]);

        args.AddRange(service.AllowAny ? ["--allow-any"] : ["--allow-file", ServiceLayout.Config(ServiceLayout.AllowFile)]);
        args.AddRange(service.SerialPath is { } serial
            ? ["--serial", serial, "--baud", service.Baud.ToString(CultureInfo.InvariantCulture)]
            : ["--simulate"]);
        if (service.HasExtensions)
        {
            args.AddRange(["--extensions", ServiceLayout.Config(ServiceLayout.ExtensionsFile)]);
        }

        if (service.Legacy)
        {
            args.Add("--legacy-certs");
        }

        if (!service.Announce)
        {
            args.Add("--no-announce");
        }

        args.AddRange(service.ServeOptions);
        args.AddRange(["--audit", ServiceLayout.StateDir + "/" + ServiceLayout.AuditFile]);
        return args;
    }

    public static string Render(ServiceDefinition service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var exec = string.Join(' ', Command(service).Select(Quote));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"""
            # AlexLink robot server, written by `alex serve install` (docs/service.md).
            # Config (root-owned): {ServiceLayout.ConfigDir}; audit log: {ServiceLayout.StateDir}/{ServiceLayout.AuditFile}.
            # Logs: journalctl -u {ServiceLayout.Name}; after editing {ServiceLayout.Config(ServiceLayout.AllowFile)} or crl.pem nothing is needed (re-read on change).
            [Unit]
            Description=AlexLink robot server (alex serve)
            After=network-online.target
            Wants=network-online.target

            [Service]
            Type=exec
            User={service.User}
            Group={service.User}
            SupplementaryGroups=dialout
            ExecStart={exec}
            ExecReload=/bin/kill -HUP $MAINPID
            Restart=on-failure
            RestartSec=2s
            StateDirectory={ServiceLayout.Name}
            StateDirectoryMode=0750
            UMask=0077
            NoNewPrivileges=yes
            CapabilityBoundingSet=
            AmbientCapabilities=
            ProtectSystem=strict
            ProtectHome=yes
            PrivateTmp=yes
            ProtectKernelTunables=yes
            ProtectKernelModules=yes
            ProtectKernelLogs=yes
            ProtectControlGroups=yes
            ProtectClock=yes
            ProtectHostname=yes
            RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
            RestrictNamespaces=yes
            RestrictRealtime=yes
            RestrictSUIDSGID=yes
            LockPersonality=yes
            SystemCallArchitectures=native
            StandardOutput=journal
            StandardError=journal
            SyslogIdentifier={ServiceLayout.Name}

            [Install]
            WantedBy=multi-user.target

            """);
        return text.ToString();
    }

    /// <summary>One word of ExecStart (systemd.service(5) "Command lines"): quoted when it must be; % and $ doubled.</summary>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var escaped = word.Replace("%", "%%", StringComparison.Ordinal).Replace("$", "$$", StringComparison.Ordinal);
        if (escaped.Length > 0 && !escaped.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or ';'))
        {
            return escaped;
        }

        return "\"" + escaped.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>The same command for a shell (a Pi without systemd): single-quoted where needed.</summary>
    public static string ShellLine(IEnumerable<string> words) =>
        string.Join(' ', words.Select(w => w.Length > 0 && w.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '=' or ':' or ',')
            ? w
            : "'" + w.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
}
