namespace Alex.Pki;

/// <summary>One team's folder after `alex pki issue --batch`.</summary>
public sealed record TeamFolder(TeamCredentials Team, string Folder, IssuedCertificate Robot, IssuedCertificate Laptop);

/// <summary>
/// A class at once: each team's robot and laptop credentials in its own folder (OUT/TEAM/alex.*,
/// laptop.*, signing.pem, crl.pem, README.txt), all issued in one ledger transaction.
/// </summary>
public static class ClassBatch
{
    public const string ReadmeFileName = "README.txt";

    public static IReadOnlyList<TeamFolder> Issue(CertificateAuthority ca, IReadOnlyList<TeamCredentials> teams, string outDir, bool force)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(teams);
        var orders = new List<IssueOrder>();
        foreach (var team in teams)
        {
            var folder = Path.Combine(outDir, team.Team);
            orders.Add(new IssueOrder(
                new IssueRequest { Role = CertificateRole.Server, Name = team.RobotName, IpAddresses = team.RobotAddresses, Team = team.Team },
                Path.Combine(folder, "alex.key"),
                Path.Combine(folder, "alex.crt")));
            orders.Add(new IssueOrder(
                new IssueRequest { Role = CertificateRole.Client, Name = team.LaptopName, Team = team.Team },
                Path.Combine(folder, "laptop.key"),
                Path.Combine(folder, "laptop.crt")));
        }

        var issued = ca.IssueAll(orders, force);
        var caPem = PkiFile.ReadAll(ca.CertificatePath, "CA certificate");
        var crlPem = PkiFile.ReadAll(ca.CrlPath, "CRL");
        var result = new List<TeamFolder>();
        for (var i = 0; i < teams.Count; i++)
        {
            var folder = Path.Combine(outDir, teams[i].Team);
            PkiFile.WriteAtomic(Path.Combine(folder, CertificateAuthority.CertificateFileName), caPem, secret: false, overwrite: true);
            PkiFile.WriteAtomic(Path.Combine(folder, CertificateAuthority.CrlFileName), crlPem, secret: false, overwrite: true);
            PkiFile.WriteAtomic(Path.Combine(folder, ReadmeFileName), ClassRoster.Readme(teams[i]), secret: false, overwrite: true);
            result.Add(new TeamFolder(teams[i], folder, issued[2 * i], issued[(2 * i) + 1]));
        }

        return result;
    }
}
