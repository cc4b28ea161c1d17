using System.Net;

namespace Alex.Pki.Fleet;

/// <summary>What `alex pki fleet-broker` is asked for.</summary>
public sealed record FleetBrokerRequest
{
    /// <summary>The broker's host name: its certificate's CN and first SAN, the name robots connect to.</summary>
    public required string Host { get; init; }

    public IReadOnlyList<IPAddress> IpAddresses { get; init; } = [];

    /// <summary>The address the listener binds (mosquitto's <c>listener PORT ADDRESS</c>).</summary>
    public string Bind { get; init; } = "0.0.0.0";

    public int Port { get; init; } = MosquittoFiles.DefaultPort;

    public int Days { get; init; } = CertificateAuthority.DefaultDeviceDays;

    /// <summary>Whom Mosquitto runs as when started as root (its <c>user</c> option); null: its default, "mosquitto".</summary>
    public string? RunAs { get; init; }

    /// <summary>Issue a new broker certificate even when one from this CA is already there.</summary>
    public bool RenewCertificate { get; init; }
}

/// <summary>What was written, and the names the ACL left out.</summary>
public sealed record FleetBrokerFiles(string Directory, string ConfPath, string AclPath, bool CertificateIssued, FleetAccessPlan Plan);

/// <summary>
/// Writes what Mosquitto needs from our CA into one folder: broker.crt and broker.key (owner-only), ca.pem,
/// crl.pem, acl and mosquitto.conf (docs/fleet.md). Run again after issuing or revoking: the ACL and the
/// CRL are rewritten from the ledger, the broker's certificate is kept unless it is not this CA's or renewal is asked.
/// </summary>
public static class FleetBroker
{
    public const string ConfFileName = "mosquitto.conf";
    public const string AclFileName = "acl";
    public const string CaFileName = "ca.pem";
    public const string CertificateFileName = "broker.crt";
    public const string KeyFileName = "broker.key";

    public static FleetBrokerFiles Write(CertificateAuthority ca, string outDir, FleetBrokerRequest request, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Port is < 1 or > 65535)
        {
            throw new PkiException($"--port {request.Port} is not a TCP port (1 to 65535)");
        }

        if (!IPAddress.TryParse(request.Bind, out _))
        {
            throw new PkiException($"--bind '{request.Bind}' is not an IP address", hint: "give the address to listen on, e.g. 0.0.0.0 (all) or 192.168.1.10");
        }

        if (request.RunAs is { } user && (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
        {
            throw new PkiException($"--user '{user}' is not a user name");
        }

        var time = timeProvider ?? TimeProvider.System;
        var dir = Path.GetFullPath(outDir);
        PkiFile.CreateDirectory(dir);
        var certPath = Path.Combine(dir, CertificateFileName);
        var keyPath = Path.Combine(dir, KeyFileName);
        var issue = request.RenewCertificate || !HasCertificateFrom(ca, certPath, keyPath, request.Host, time.GetUtcNow());
        if (issue)
        {
            ca.Issue(
                new IssueRequest { Role = CertificateRole.Server, Name = request.Host, IpAddresses = request.IpAddresses, Days = request.Days },
                keyPath,
                certPath,
                keyPassphrase: null,
                force: true);
        }

        var plan = FleetAccess.Decide(ca.Issued(), time.GetUtcNow());
        var caPath = Path.Combine(dir, CaFileName);
        var crlPath = Path.Combine(dir, CertificateAuthority.CrlFileName);
        var aclPath = Path.Combine(dir, AclFileName);
        var confPath = Path.Combine(dir, ConfFileName);
        PkiFile.WriteAtomic(caPath, PkiFile.ReadAll(ca.CertificatePath, "CA certificate"), secret: false, overwrite: true);
        PkiFile.WriteAtomic(crlPath, PkiFile.ReadAll(ca.CrlPath, "CRL"), secret: false, overwrite: true);
        PkiFile.WriteAtomic(aclPath, MosquittoFiles.Acl(plan), secret: false, overwrite: true);
        var listener = new MosquittoListener(request.Bind, request.Port, caPath, certPath, keyPath, crlPath, aclPath, request.RunAs);
        PkiFile.WriteAtomic(confPath, MosquittoFiles.Conf(listener), secret: false, overwrite: true);
        return new FleetBrokerFiles(dir, confPath, aclPath, issue, plan);
    }

    private static bool HasCertificateFrom(CertificateAuthority ca, string certPath, string keyPath, string host, DateTimeOffset now)
    {
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            return false;
        }

        try
        {
            using var certificate = CertificateFile.Load(certPath);
            var facts = CertificateFacts.From(certificate);
            return CertificateSignature.IsSignedBy(certificate, ca.Certificate)
                && ServingCertificate.Check(certificate, certPath, now) is null
                && facts.PeerNames.Contains(host, StringComparer.OrdinalIgnoreCase);
        }
        catch (PkiException)
        {
            return false;
        }
    }
}
