using System.Net;
using Alex.Client;
using Alex.Pki;

namespace Alex.Client.Tests;

/// <summary>
/// Certificates minted per run by our own PKI: a CA, the robot (alex.epp.com, also 127.0.0.1), three
/// laptops in the course's file layout (DIR/laptop.crt, laptop.key, signing.pem), and a stranger from another CA.
/// </summary>
public sealed class TestPki : IDisposable
{
    public const string RobotName = "alex.epp.com";

    public TestPki()
    {
        Root = Directory.CreateTempSubdirectory("alex-client-").FullName;
        Ca = CertificateAuthority.Create(Path.Combine(Root, "ca"), "Alex Test CA", KeySpec.EcdsaP256, 30, null, force: false);
        Ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = RobotName, DnsNames = [RobotName], IpAddresses = [IPAddress.Loopback] }, RobotKey, RobotCertificate, null, false);
        Laptop = Client("laptop.epp.com", Ca);
        Laptop2 = Client("laptop-2", Ca);
        Watcher = Client("ta-laptop", Ca);
        Unlisted = Client("laptop-3", Ca);
        var other = CertificateAuthority.Create(Path.Combine(Root, "other-ca"), "Someone Else's CA", KeySpec.EcdsaP256, 30, null, force: false);
        Stranger = Client("laptop.epp.com", other, "stranger");
        OtherCaPath = other.CertificatePath;
    }

    public string Root { get; }

    public CertificateAuthority Ca { get; }

    public string CaPath => Ca.CertificatePath;

    public string OtherCaPath { get; }

    public string RobotKey => Path.Combine(Root, "ca", "alex.key");

    public string RobotCertificate => Path.Combine(Root, "ca", "alex.crt");

    /// <summary>Directories in the course layout.</summary>
    public string Laptop { get; }

    public string Laptop2 { get; }

    public string Watcher { get; }

    public string Unlisted { get; }

    public string Stranger { get; }

    public static IReadOnlyList<string> AllowEntries => ["laptop.epp.com=drive", "laptop-2=drive", "ta-laptop=watch"];

    public AlexClientOptions Options(string laptopDir, int port, AlexProtocol protocol = AlexProtocol.Auto, string? serverName = RobotName) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ServerName = serverName,
        Credentials = AlexCredentials.FromPkiDirectory(laptopDir),
        Protocol = protocol,
        ConnectTimeout = TimeSpan.FromSeconds(8),
        ReplyTimeout = TimeSpan.FromSeconds(8),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Client(string name, CertificateAuthority ca, string? dirName = null)
    {
        var dir = Path.Combine(Root, dirName ?? name);
        Directory.CreateDirectory(dir);
        ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = name }, Path.Combine(dir, AlexCredentials.KeyFileName), Path.Combine(dir, AlexCredentials.CertificateFileName), null, false);
        File.Copy(ca.CertificatePath, Path.Combine(dir, AlexCredentials.CaFileName));
        return dir;
    }
}
