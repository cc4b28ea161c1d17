using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Microsoft.Extensions.Time.Testing;

namespace Alex.EndToEnd.Tests.Server;

/// <summary>
/// A CA and certificates minted for one test class (no key files in git): the robot (alex.epp.com),
/// a driver (laptop), a watcher (tutor), a stranger, a certificate from another CA, an expired one,
/// a server certificate used as a client (wrong EKU) and a course-style X.509 v1 certificate.
/// </summary>
public sealed class TestPki : IDisposable
{
    public const string ServerName = "alex.epp.com";

    public TestPki()
    {
        Dir = Directory.CreateTempSubdirectory("alex-e2e-").FullName;
        Ca = CertificateAuthority.Create(Dir, "AlexLink Test CA", KeySpec.EcdsaP256, 30, null, force: false);
        Ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = ServerName, IpAddresses = [IPAddress.Loopback] }, Path("alex.key"), Path("alex.crt"), null, force: false);
        foreach (var name in new[] { "laptop", "tutor", "stranger" })
        {
            Client(name);
        }

        Ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "rogue-server" }, Path("wrong-eku.key"), Path("wrong-eku.crt"), null, force: false);

        // Expired: issued by the same CA with a clock 30 days back, valid for one day.
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-30));
        var pastCa = CertificateAuthority.Open(Dir, timeProvider: past);
        pastCa.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "old-laptop", Days = 1 }, Path("expired.key"), Path("expired.crt"), null, force: false);

        // Another CA entirely, with a client certificate that has a name on our list.
        var otherDir = System.IO.Path.Combine(Dir, "other");
        var other = CertificateAuthority.Create(otherDir, "Someone Else's CA", KeySpec.EcdsaP256, 30, null, force: false);
        other.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, Path("other-ca.key"), Path("other-ca.crt"), null, force: false);

        // The course's way: openssl x509 -req with no extensions is an X.509 v1 certificate, CN only.
        File.WriteAllText(Path("v1.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n");
        OpenSsl("genrsa", "-out", "course.key", "2048");
        OpenSsl("req", "-config", "v1.cnf", "-new", "-key", "course.key", "-out", "course.csr", "-subj", "/CN=course-laptop");
        OpenSsl("x509", "-req", "-in", "course.csr", "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", "course.crt", "-days", "30");
    }

    public string Dir { get; }

    public CertificateAuthority Ca { get; }

    public string CaPath => Ca.CertificatePath;

    public string Path(string file) => System.IO.Path.Combine(Dir, file);

    /// <summary>Issues a client certificate NAME.crt / NAME.key (idempotent per name).</summary>
    public void Client(string name)
    {
        if (!File.Exists(Path(name + ".crt")))
        {
            Ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = name }, Path(name + ".key"), Path(name + ".crt"), null, force: false);
        }
    }

    /// <summary>A certificate with its key, as a client presents it.</summary>
    public X509Certificate2 Load(string stem) => PrivateKeyFile.LoadCertificateWithKey(Path(stem + ".crt"), Path(stem + ".key"));

    public X509Certificate2 LoadCa() => CertificateFile.Load(CaPath);

    /// <summary>Revokes NAME.crt and rewrites crl.pem (the server watches it).</summary>
    public void Revoke(string stem) => Ca.Revoke(CertificateAuthority.SerialOf(Path(stem + ".crt")), X509RevocationReason.KeyCompromise);

    public void OpenSsl(params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            p.Kill();
            throw new TimeoutException("openssl " + string.Join(' ', args));
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', args)}: {output.Result}{error.Result}");
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
