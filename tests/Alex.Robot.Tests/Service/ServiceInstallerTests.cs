using Alex.Pki;
using Alex.Robot.Service;

namespace Alex.Robot.Tests.Service;

/// <summary>
/// `alex serve install` against a temporary root with a recording command runner: the real files and modes,
/// the commands that would run, and what is refused. Nothing here touches the machine's /etc or systemd.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServiceInstallerTests : IDisposable
{
    private readonly string _pki;
    private readonly string _root;
    private readonly List<string> _commands = [];
    private readonly List<string> _said = [];

    public ServiceInstallerTests()
    {
        _pki = Directory.CreateTempSubdirectory("alex-service-pki-").FullName;
        _root = Directory.CreateTempSubdirectory("alex-service-root-").FullName;
        var ca = CertificateAuthority.Create(_pki, "AlexLink Test CA", KeySpec.EcdsaP256, 30, null, force: false);
        ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com" }, Pki("alex.key"), Pki("alex.crt"), null, force: false);
        File.WriteAllText(Pki("more.txt"), "tutor=admin\n");
    }

    private static ServiceDefinition Service => new()
    {
        Program = ["/usr/local/bin/alex"],
        SerialPath = "/dev/ttyACM0",
        HasCrl = true,
        ServeOptions = ["--max-speed", "60"],
    };

    private ServiceFiles Files => new(Pki("alex.crt"), Pki("alex.key"), Pki("signing.pem"), Pki("crl.pem"), ["laptop=drive"], Pki("more.txt"));

    [Fact]
    public void Install_TempRoot_CopiesOnlyTheRobotsFilesWithSafeModesAndEnablesTheUnit()
    {
        Installer(idExit: 1).Install(Service, Files);

        var config = At("/etc/alexlink");
        Assert.Equal(["alex.crt", "alex.key", "allowed.txt", "crl.pem", "signing.pem"], Directory.GetFiles(config).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.DoesNotContain(Directory.GetFiles(_root, "*", SearchOption.AllDirectories), f => Path.GetFileName(f) == "signing.key");
        Assert.Equal(File.ReadAllBytes(Pki("alex.key")), File.ReadAllBytes(Path.Combine(config, "alex.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(config));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(config, "alex.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(config, "signing.pem")));
        var allowed = File.ReadAllLines(Path.Combine(config, "allowed.txt"));
        Assert.Equal(["tutor=admin", "laptop=drive"], allowed.Where(l => !l.StartsWith('#')).ToArray());

        var unit = File.ReadAllText(At("/etc/systemd/system/alexlink.service"));
        Assert.Contains("ExecStart=/usr/local/bin/alex serve --cert /etc/alexlink/alex.crt --key /etc/alexlink/alex.key --ca /etc/alexlink/signing.pem --crl /etc/alexlink/crl.pem --allow-file /etc/alexlink/allowed.txt --serial /dev/ttyACM0 --baud 9600 --max-speed 60 --audit /var/lib/alexlink/audit.jsonl\n", unit, StringComparison.Ordinal);
        foreach (var line in new[] { "User=alexlink", "SupplementaryGroups=dialout", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "StateDirectory=alexlink", "Restart=on-failure", "StandardOutput=journal", "WantedBy=multi-user.target" })
        {
            Assert.Contains(line + "\n", unit, StringComparison.Ordinal);
        }

        var configDir = At("/etc/alexlink");
        Assert.Equal(
            [
                "id -u alexlink",
                "useradd --system --user-group --groups dialout --home-dir /var/lib/alexlink --no-create-home --shell /usr/sbin/nologin alexlink",
                $"chown root:alexlink {configDir} {configDir}/alex.key",
                "systemctl daemon-reload",
                "systemctl enable alexlink.service",
                "systemctl restart alexlink.service",
            ],
            _commands);
    }

    [Fact]
    public void Install_WithTheTeamsDeclarations_CopiedAndPassedToServe_GoneWhenInstalledWithout()
    {
        File.WriteAllText(Pki("team.json"), "{ \"alexExtensions\": 1 }\n");
        Installer(idExit: 1).Install(Service with { HasExtensions = true }, Files with { ExtensionsPath = Pki("team.json") });

        Assert.Equal("{ \"alexExtensions\": 1 }\n", File.ReadAllText(At("/etc/alexlink/alex-extensions.json")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(At("/etc/alexlink/alex-extensions.json")));
        Assert.Contains(" --baud 9600 --extensions /etc/alexlink/alex-extensions.json --max-speed 60 ", File.ReadAllText(At("/etc/systemd/system/alexlink.service")), StringComparison.Ordinal);

        Installer(idExit: 0).Install(Service, Files);
        Assert.False(File.Exists(At("/etc/alexlink/alex-extensions.json")));
        Assert.DoesNotContain("--extensions", File.ReadAllText(At("/etc/systemd/system/alexlink.service")), StringComparison.Ordinal);
    }

    [Fact]
    public void Install_UserExistsAndRunTwice_AddsToDialoutAndReplacesTheFiles()
    {
        Installer(idExit: 0).Install(Service, Files);
        Installer(idExit: 0).Install(Service with { HasCrl = false, AllowAny = true }, Files with { CrlPath = null });

        Assert.Contains("usermod --append --groups dialout alexlink", _commands);
        Assert.DoesNotContain(_commands, c => c.StartsWith("useradd", StringComparison.Ordinal));
        Assert.False(File.Exists(At("/etc/alexlink/crl.pem")));
        Assert.Contains("--allow-any --serial", File.ReadAllText(At("/etc/systemd/system/alexlink.service")), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(At("/etc/alexlink"), "*.new"));
    }

    [Fact]
    public void Uninstall_Installed_RemovesUnitAndConfigKeepsTheAuditLog()
    {
        Installer(idExit: 1).Install(Service, Files);
        Directory.CreateDirectory(At("/var/lib/alexlink"));
        File.WriteAllText(At("/var/lib/alexlink/audit.jsonl"), "{}\n");
        _commands.Clear();

        Installer(idExit: 0).Uninstall();

        Assert.False(File.Exists(At("/etc/systemd/system/alexlink.service")));
        Assert.False(Directory.Exists(At("/etc/alexlink")));
        Assert.True(File.Exists(At("/var/lib/alexlink/audit.jsonl")));
        Assert.Equal(["systemctl disable --now alexlink.service", "systemctl daemon-reload"], _commands);
        Assert.Contains(_said, s => s.Contains("kept the audit log", StringComparison.Ordinal));
    }

    [Fact]
    public void Uninstall_NotInstalled_RefusedWithoutRunningAnything()
    {
        var e = Assert.Throws<ServiceException>(() => Installer(idExit: 0).Uninstall());
        Assert.Equal("/etc/systemd/system/alexlink.service: not installed", e.Message);
        Assert.Empty(_commands);
    }

    [Fact]
    public void Install_TheCasSigningKey_RefusedBeforeAnythingChanges()
    {
        var byName = Assert.Throws<ServiceException>(() => Installer(idExit: 1).Install(Service, Files with { KeyPath = Pki("signing.key") }));
        Assert.Equal($"{Pki("signing.key")}: the CA's signing key never goes onto the robot", byName.Message);

        // The CA's own certificate and key as the "robot's": a matching pair, and still the signing key.
        var asRobot = Assert.Throws<ServiceException>(() => Installer(idExit: 1).Install(Service, Files with { CertificatePath = Pki("signing.pem"), KeyPath = Pki("ca-copy.key") }));
        Assert.StartsWith($"{Pki("signing.pem")} is a CA certificate", asRobot.Message, StringComparison.Ordinal);

        Assert.Empty(_commands);
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void Install_ProgramInAHomeFolder_RefusedWithWhereToPutIt()
    {
        var e = Assert.Throws<ServiceException>(() => Installer(idExit: 1).Install(Service with { Program = ["/home/pi/alex"] }, Files));
        Assert.Equal("/home/pi/alex: a service cannot run a program from home folders or /tmp (the unit hides them)", e.Message);
        Assert.Equal("copy alex somewhere shared first: sudo install -m 755 alex /usr/local/bin/alex, then run that one", e.Hint);
        Assert.Empty(_commands);
    }

    [Fact]
    public void Install_SystemctlFails_SaysSoWithAHint()
    {
        var installer = new ServiceInstaller(_root, (program, args) => program == "systemctl" ? (1, "System has not been booted with systemd") : (0, ""), _said.Add);
        var e = Assert.Throws<ServiceException>(() => installer.Install(Service, Files));
        Assert.Equal("systemctl daemon-reload failed (exit 1): System has not been booted with systemd", e.Message);
        Assert.Contains("without systemd", e.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Install_AvahiPresent_AvahiAnnouncesTheServiceWithNameAndFingerprints_ServerDoesNot()
    {
        Directory.CreateDirectory(At("/etc/avahi/services"));
        Installer(idExit: 1).Install(Service with { Port = 5001 }, Files);

        var text = File.ReadAllText(At("/etc/avahi/services/alexlink.service"));
        using var reader = System.Xml.XmlReader.Create(new StringReader(text), new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Ignore });
        var xml = System.Xml.Linq.XDocument.Load(reader);
        var service = xml.Root!.Element("service")!;
        Assert.Equal("_alexlink._tcp", service.Element("type")!.Value);
        Assert.Equal("5001", service.Element("port")!.Value);
        Assert.Equal("alex.epp.com", xml.Root.Element("name")!.Value);
        Assert.Equal(
            ["v=1", "name=alex.epp.com", "fp=" + Sha256(Pki("alex.crt")), "ca=" + Sha256(Pki("signing.pem"))],
            service.Elements("txt-record").Select(e => e.Value).ToArray());

        Assert.Contains(" --no-announce ", File.ReadAllText(At("/etc/systemd/system/alexlink.service")), StringComparison.Ordinal);

        Installer(idExit: 0).Uninstall();
        Assert.False(File.Exists(At("/etc/avahi/services/alexlink.service")));
        Assert.True(Directory.Exists(At("/etc/avahi/services")));
    }

    [Fact]
    public void Install_NoAvahi_TheServerAnnouncesItself()
    {
        Installer(idExit: 1).Install(Service, Files);
        Assert.False(Directory.Exists(At("/etc/avahi")));
        Assert.Contains("announced as _alexlink._tcp on port 5000 by alex serve itself (mDNS, UDP port 5353): no /etc/avahi/services", _said);
        Assert.DoesNotContain("--no-announce", File.ReadAllText(At("/etc/systemd/system/alexlink.service")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/usr/local/bin/alex", "/usr/local/bin/alex")]
    [InlineData("/opt/alex link/alex", "\"/opt/alex link/alex\"")]
    [InlineData("100%", "100%%")]
    [InlineData("$HOME", "$$HOME")]
    [InlineData("a\"b\\c", "\"a\\\"b\\\\c\"")]
    [InlineData("", "\"\"")]
    public void Quote_ExecStartWord_EscapedForSystemd(string word, string quoted)
    {
        Assert.Equal(quoted, ServiceUnit.Quote(word));
    }

    public void Dispose()
    {
        Directory.Delete(_pki, recursive: true);
        Directory.Delete(_root, recursive: true);
    }

    private ServiceInstaller Installer(int idExit) => new(
        _root,
        (program, args) =>
        {
            _commands.Add(string.Join(' ', [program, .. args]));
            return program == "id" ? (idExit, "") : (0, "");
        },
        _said.Add);

    private string Pki(string file) => Path.Combine(_pki, file);

    // openssl x509 -fingerprint -sha256 form, as `alex pki show` prints it.
    private static string Sha256(string pem)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(pem));
        return string.Join(':', Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(certificate.RawData)).Chunk(2).Select(c => new string(c)));
    }

    private string At(string absolute) => Path.Combine(_root, absolute.TrimStart('/'));
}
