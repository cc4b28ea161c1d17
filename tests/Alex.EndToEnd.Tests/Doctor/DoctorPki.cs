using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Pki.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Alex.EndToEnd.Tests.Doctor;

/// <summary>
/// A CA minted per run and machine directories laid out as the course does (laptop.crt/.key or
/// alex.crt/.key beside signing.pem and crl.pem), each of which a test may then break in one way.
/// </summary>
public sealed class DoctorPki : IDisposable
{
    public const string RobotName = "alex.epp.com";

    private int _next;

    public DoctorPki()
    {
        Root = Directory.CreateTempSubdirectory("alex-doctor-").FullName;
        CaDir = Path.Combine(Root, "ca");
        Ca = CertificateAuthority.Create(CaDir, "Doctor Test CA", KeySpec.EcdsaP256, 365, null, force: false);
        OtherCaDir = Path.Combine(Root, "other-ca");
        CertificateAuthority.Create(OtherCaDir, "Someone Else's CA", KeySpec.EcdsaP256, 365, null, force: false);

        // The same name as ours but a new key: what `alex pki init --force` leaves behind.
        SameNameCaDir = Path.Combine(Root, "same-name-ca");
        CertificateAuthority.Create(SameNameCaDir, "Doctor Test CA", KeySpec.EcdsaP256, 365, null, force: false);
    }

    public string Root { get; }

    public string CaDir { get; }

    public string OtherCaDir { get; }

    public string SameNameCaDir { get; }

    public CertificateAuthority Ca { get; }

    /// <summary>
    /// A fresh directory with signing.pem, crl.pem and this machine's certificate and key, issued by
    /// our CA at <paramref name="issuedAt"/> (default now) for <paramref name="days"/> days.
    /// <paramref name="asRole"/> issues the other kind of certificate under this machine's file names.
    /// </summary>
    public string Machine(DeviceRole role, DateTimeOffset? issuedAt = null, int days = 365, CertificateRole? asRole = null, string? name = null)
    {
        var dir = Path.Combine(Root, $"m{Interlocked.Increment(ref _next)}");
        Directory.CreateDirectory(dir);
        var set = CertificateSet.InDirectory(dir, role);
        var certRole = asRole ?? (role == DeviceRole.Laptop ? CertificateRole.Client : CertificateRole.Server);
        var ca = issuedAt is { } t ? CertificateAuthority.Open(CaDir, timeProvider: new FakeTimeProvider(t)) : Ca;
        var request = new IssueRequest
        {
            Role = certRole,
            Name = name ?? (certRole == CertificateRole.Server ? RobotName : "laptop"),
            IpAddresses = certRole == CertificateRole.Server ? [IPAddress.Loopback] : [],
            Days = days,
        };
        ca.Issue(request, set.KeyPath, set.CertificatePath, null, force: true);
        File.Copy(Ca.CertificatePath, set.CaPath, overwrite: true);
        File.Copy(Ca.CrlPath, set.CrlPath!, overwrite: true);
        return dir;
    }

    /// <summary>Revokes the certificate in <paramref name="dir"/> and copies the new crl.pem there.</summary>
    public void Revoke(string dir, DeviceRole role)
    {
        var set = CertificateSet.InDirectory(dir, role);
        Ca.Revoke(CertificateAuthority.SerialOf(set.CertificatePath), X509RevocationReason.KeyCompromise);
        File.Copy(Ca.CrlPath, set.CrlPath!, overwrite: true);
    }

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
}
