using Alex.Pki.Fleet;

namespace Alex.Pki;

/// <summary>One team's folder after `alex pki issue --batch`; <see cref="Fleet"/> is its robot's fleet identity when asked for.</summary>
public sealed record TeamFolder(TeamCredentials Team, string Folder, IssuedCertificate Robot, IssuedCertificate Laptop, IssuedCertificate? Fleet);

/// <summary>
/// A class at once: each team's robot and laptop credentials in its own folder (OUT/TEAM/alex.*,
/// laptop.*, signing.pem, crl.pem, README.txt), and with <c>fleet</c> the robot's identity on the fleet
/// broker (alex-fleet.*, docs/fleet.md), all issued in one ledger transaction.
/// </summary>
public static class ClassBatch
{
    public const string ReadmeFileName = "README.txt";

    /// <summary>The fleet identity's file stem in a team folder: what `alex serve --pki FOLDER --fleet` reads.</summary>
    public const string FleetStem = "alex-fleet";

    public static IReadOnlyList<TeamFolder> Issue(CertificateAuthority ca, IReadOnlyList<TeamCredentials> teams, string outDir, bool force, bool fleet = false)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(teams);
        if (fleet && FleetNameProblem(teams) is { } problem)
        {
            throw new PkiException(problem, hint: "give that team's robot another name in the class list");
        }

        var perTeam = fleet ? 3 : 2;
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
            if (fleet)
            {
                // The same name as the robot's server certificate: the broker's user name is the robot's name (docs/fleet.md "Identities").
                orders.Add(new IssueOrder(
                    new IssueRequest { Role = CertificateRole.Fleet, Name = team.RobotName, Team = team.Team },
                    Path.Combine(folder, FleetStem + ".key"),
                    Path.Combine(folder, FleetStem + ".crt")));
            }
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
            PkiFile.WriteAtomic(Path.Combine(folder, ReadmeFileName), ClassRoster.Readme(teams[i], fleet), secret: false, overwrite: true);
            result.Add(new TeamFolder(teams[i], folder, issued[perTeam * i], issued[(perTeam * i) + 1], fleet ? issued[(perTeam * i) + 2] : null));
        }

        return result;
    }

    /// <summary>Null when every team's robot name can be its level on the fleet broker, else the first that cannot, in one line.</summary>
    public static string? FleetNameProblem(IReadOnlyList<TeamCredentials> teams)
    {
        ArgumentNullException.ThrowIfNull(teams);
        foreach (var team in teams)
        {
            if (FleetTopics.TopicLevelProblem(team.RobotName) is { } bad)
            {
                return $"team {team.Team}: the robot name '{team.RobotName}' {bad}, so it cannot have a fleet identity";
            }
        }

        return null;
    }
}
