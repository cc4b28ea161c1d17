// Installs and removes `alex serve` as a systemd service (docs/service.md). Every path is taken under a
// root directory ("/" on a robot, a temporary folder in tests) and every system command (useradd,
// chown, systemctl) goes through one injected runner, so a test exercises the whole install without
// touching the machine.
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Protocol.Discovery;
using Alex.Robot.Discovery;

namespace Alex.Robot.Service;

/// <summary>Runs one system command; returns its exit code and what it printed.</summary>
public delegate (int ExitCode, string Output) SystemCommand(string program, IReadOnlyList<string> arguments);

/// <summary>The robot's files as given on the command line, to be copied into the service's config folder.</summary>
public sealed record ServiceFiles(string CertificatePath, string KeyPath, string CaPath, string? CrlPath, IReadOnlyList<string> AllowEntries, string? AllowFilePath)
{
    /// <summary>The team's declaration file (docs/extensions.md), copied as alex-extensions.json; null: none.</summary>
    public string? ExtensionsPath { get; init; }
}

/// <summary>A refusal or failure of install/uninstall, with what to do next.</summary>
public sealed class ServiceException : Exception
{
    public ServiceException(string message, string? hint)
        : base(message)
    {
        Hint = hint;
    }

    public ServiceException()
    {
    }

    public ServiceException(string message)
        : base(message)
    {
    }

    public ServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Hint { get; }
}

/// <summary>Writes the config folder and the unit, creates the user, enables the service; and undoes it.</summary>
public sealed class ServiceInstaller
{
    private readonly string _root;
    private readonly SystemCommand _run;
    private readonly Action<string> _say;

    public ServiceInstaller(string root, SystemCommand run, Action<string> say)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(say);
        _root = root;
        _run = run;
        _say = say;
    }

    /// <summary>
    /// Refuses what must never reach the robot: the CA's private key (by name, or because the "robot" certificate is
    /// the CA's own), and a program folder the service cannot see. Throws <see cref="ServiceException"/>.
    /// </summary>
    public static void Check(ServiceDefinition service, ServiceFiles files, bool programMustBeVisible = true)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(files);
        foreach (var path in new[] { files.CertificatePath, files.KeyPath, files.CaPath, files.CrlPath, files.AllowFilePath, files.ExtensionsPath })
        {
            if (path is not null && Path.GetFileName(path).Equals(ServiceLayout.SigningKeyFile, StringComparison.OrdinalIgnoreCase))
            {
                throw new ServiceException($"{path}: the CA's signing key never goes onto the robot", "give the robot's own key (alex.key from `alex pki issue server`); signing.key stays on the machine that signs");
            }
        }

        using var certificate = CertificateFile.Load(files.CertificatePath);
        using var ca = CertificateFile.Load(files.CaPath);
        var isCa = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);
        if (isCa || certificate.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
        {
            throw new ServiceException($"{files.CertificatePath} is a CA certificate: its key is the CA's signing key, which never goes onto the robot", "give the robot's certificate and key (alex.crt, alex.key from `alex pki issue server`)");
        }

        if (programMustBeVisible && service.Program.FirstOrDefault(p => ServiceLayout.HiddenFromService.Any(h => p.StartsWith(h, StringComparison.Ordinal))) is { } program)
        {
            throw new ServiceException($"{program}: a service cannot run a program from home folders or /tmp (the unit hides them)", "copy alex somewhere shared first: sudo install -m 755 alex /usr/local/bin/alex, then run that one");
        }
    }

    /// <summary>Copies the files, writes the unit, creates the user, enables and (re)starts the service.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Install(ServiceDefinition service, ServiceFiles files)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(files);
        Check(service, files);

        var user = service.User;
        if (Run("id", "-u", user).ExitCode == 0)
        {
            Must("usermod", "--append", "--groups", "dialout", user);
        }
        else
        {
            Must("useradd", "--system", "--user-group", "--groups", "dialout", "--home-dir", ServiceLayout.StateDir, "--no-create-home", "--shell", "/usr/sbin/nologin", user);
        }

        var config = Here(ServiceLayout.ConfigDir);
        Directory.CreateDirectory(config);
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        const UnixFileMode Public = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode GroupOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        Copy(files.CertificatePath, ServiceLayout.CertificateFile, Public);
        Copy(files.KeyPath, ServiceLayout.KeyFile, GroupOnly);
        Copy(files.CaPath, ServiceLayout.CaFile, Public);
        if (files.CrlPath is not null)
        {
            Copy(files.CrlPath, ServiceLayout.CrlFile, Public);
        }
        else
        {
            File.Delete(Path.Combine(config, ServiceLayout.CrlFile));
        }

        if (files.ExtensionsPath is not null)
        {
            Copy(files.ExtensionsPath, ServiceLayout.ExtensionsFile, Public);
        }
        else
        {
            File.Delete(Path.Combine(config, ServiceLayout.ExtensionsFile));
        }

        if (!service.AllowAny)
        {
            var lines = new List<string> { "# Who may connect: NAME, NAME=drive, NAME=watch or NAME=admin; re-read when it changes." };
            if (files.AllowFilePath is not null)
            {
                lines.AddRange(File.ReadAllLines(files.AllowFilePath));
            }

            lines.AddRange(files.AllowEntries);
            Write(ServiceLayout.AllowFile, string.Join('\n', lines) + "\n", Public);
        }

        // One responder answers for the robot, never two with different host names: Avahi where it runs, else alex serve.
        if (AvahiRuns)
        {
            var advert = Announce(files, service.Port);
            WriteAtomically(Here(AvahiService.Path), AvahiService.Render(advert), Public);
            service = service with { Announce = false };
            _say($"announced as '{advert.CertificateName}' ({RobotAdvert.ServiceType}, port {service.Port}) through Avahi ({AvahiService.Path}); alex serve's own responder is off");
        }
        else
        {
            _say($"announced as {RobotAdvert.ServiceType} on port {service.Port} by alex serve itself (mDNS, UDP port 5353): no {AvahiService.Directory}");
        }

        // The service reads its key through its group; nobody else can list the folder.
        Must("chown", "root:" + user, config, Path.Combine(config, ServiceLayout.KeyFile));

        var unit = Here(ServiceLayout.UnitPath);
        Directory.CreateDirectory(Path.GetDirectoryName(unit)!);
        WriteAtomically(unit, ServiceUnit.Render(service), Public);
        _say($"wrote {ServiceLayout.UnitPath} and {ServiceLayout.ConfigDir}/ (the CA's signing key is not there, and never will be)");
        Must("systemctl", "daemon-reload");
        Must("systemctl", "enable", ServiceLayout.Name + ".service");
        Must("systemctl", "restart", ServiceLayout.Name + ".service");
    }

    /// <summary>Stops and disables the service, removes the unit and the config folder; keeps the audit log and the user.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Uninstall()
    {
        var unit = Here(ServiceLayout.UnitPath);
        if (!File.Exists(unit))
        {
            throw new ServiceException($"{ServiceLayout.UnitPath}: not installed", "nothing to remove");
        }

        Must("systemctl", "disable", "--now", ServiceLayout.Name + ".service");
        File.Delete(unit);
        var config = Here(ServiceLayout.ConfigDir);
        if (Directory.Exists(config))
        {
            Directory.Delete(config, recursive: true);
        }

        if (File.Exists(Here(AvahiService.Path)))
        {
            File.Delete(Here(AvahiService.Path));
        }

        Must("systemctl", "daemon-reload");
        _say($"removed {ServiceLayout.UnitPath} and {ServiceLayout.ConfigDir}/; kept the audit log in {ServiceLayout.StateDir} and the user {ServiceLayout.DefaultUser} (sudo rm -r {ServiceLayout.StateDir}; sudo userdel {ServiceLayout.DefaultUser} to remove them)");
    }

    /// <summary>True when Avahi's service folder exists here: Avahi announces the robot, and the unit runs alex serve --no-announce.</summary>
    public bool AvahiRuns => Directory.Exists(Here(AvahiService.Directory));

    /// <summary>What the robot announces: its certificate's name, the port, its fingerprint and its CA's.</summary>
    public static RobotAdvert Announce(ServiceFiles files, int port)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var certificate = CertificateFile.Load(files.CertificatePath);
        using var ca = CertificateFile.Load(files.CaPath);
        return RobotAdverts.From(certificate, ca, port);
    }

    private string Here(string absolute) => Path.Combine(_root, absolute.TrimStart('/'));

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private void Copy(string from, string name, UnixFileMode mode)
    {
        try
        {
            WriteAtomically(Path.Combine(Here(ServiceLayout.ConfigDir), name), File.ReadAllBytes(from), mode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServiceException($"{from}: cannot copy it into {ServiceLayout.ConfigDir} ({e.Message.TrimEnd('.')})", "run with sudo");
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private void Write(string name, string text, UnixFileMode mode) => WriteAtomically(Path.Combine(Here(ServiceLayout.ConfigDir), name), System.Text.Encoding.UTF8.GetBytes(text), mode);

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void WriteAtomically(string path, string text, UnixFileMode mode) => WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text), mode);

    // The mode is set at creation: a key is never readable by others, not even for a moment.
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void WriteAtomically(string path, byte[] bytes, UnixFileMode mode)
    {
        var temp = path + ".new";
        File.Delete(temp);
        using (var file = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
        {
            file.Write(bytes);
        }

        File.SetUnixFileMode(temp, mode);
        File.Move(temp, path, overwrite: true);
    }

    private (int ExitCode, string Output) Run(string program, params string[] args) => _run(program, args);

    private void Must(string program, params string[] args)
    {
        _say("running: " + ServiceUnit.ShellLine([program, .. args]));
        var (code, output) = _run(program, args);
        if (code != 0)
        {
            throw new ServiceException($"{program} {string.Join(' ', args)} failed (exit {code}): {output.Trim()}", program == "systemctl" ? "is systemd running? On a Pi without systemd, start alex serve another way (docs/service.md)" : "run with sudo");
        }
    }
}
