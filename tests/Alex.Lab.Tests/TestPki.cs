using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Lab.Tests;

/// <summary>A CA, a server (alex) and a client (laptop) certificate, minted per run with CertificateRequest.</summary>
public sealed class TestPki : IDisposable
{
    private TestPki(X509Certificate2 ca, X509Certificate2 server, X509Certificate2 client)
    {
        Ca = ca;
        Server = server;
        Client = client;
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    public static TestPki CreateEcdsa(string caName = "CN=Test Alex CA") =>
        Create(() => ECDsa.Create(ECCurve.NamedCurves.nistP256), caName);

    /// <summary>RSA keys; 2048 bits for TLS (OpenSSL's security level 2 refuses less), 1024 is enough for signature checks.</summary>
    public static TestPki CreateRsa(string caName = "CN=Test Alex CA", int keySize = 2048) =>
        Create(() => RSA.Create(keySize), caName);

    public static X509Certificate2 SelfSigned(AsymmetricAlgorithm key, string name)
    {
        var request = key is RSA rsa
            ? new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(name, (ECDsa)key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static TestPki Create(Func<AsymmetricAlgorithm> newKey, string caName)
    {
        using var caKey = newKey();
        var ca = SelfSigned(caKey, caName);
        var server = Issue(ca, newKey(), "CN=alex.test", serverAuth: true);
        var client = Issue(ca, newKey(), "CN=laptop.test", serverAuth: false);
        return new TestPki(ca, server, client);
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, AsymmetricAlgorithm key, string name, bool serverAuth)
    {
        using (key)
        {
            var request = key is RSA rsa
                ? new CertificateRequest(name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                : new CertificateRequest(name, (ECDsa)key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (serverAuth)
            {
                var names = new SubjectAlternativeNameBuilder();
                names.AddDnsName("alex.test");
                names.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(names.Build());
            }

            var serial = new byte[12];
            RandomNumberGenerator.Fill(serial);
            serial[0] &= 0x7f;
            using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(10), serial);
            return key is RSA r ? issued.CopyWithPrivateKey(r) : issued.CopyWithPrivateKey((ECDsa)key);
        }
    }

    /// <summary>Writes the course's file names (laptop.crt, laptop.key, signing.pem) to a fresh directory, keys 0600.</summary>
    public string WriteCourseFiles()
    {
        var dir = Directory.CreateTempSubdirectory("alex-lab-").FullName;
        File.WriteAllText(Path.Combine(dir, "signing.pem"), Ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "laptop.crt"), Client.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "alex.crt"), Server.ExportCertificatePem());
        var keyPath = Path.Combine(dir, "laptop.key");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(keyPath, options))
        using (var writer = new StreamWriter(stream))
        {
            var key = (AsymmetricAlgorithm?)Client.GetECDsaPrivateKey() ?? Client.GetRSAPrivateKey()!;
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }

        return dir;
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
    }
}
