using System.Net;

namespace Alex.Pki;

/// <summary>One team of a class: its folder name, its robot's name and addresses, its laptop's name.</summary>
public sealed record TeamCredentials(string Team, string RobotName, string LaptopName, IReadOnlyList<IPAddress> RobotAddresses);

/// <summary>
/// A class list for `alex pki issue --batch FILE`, parsed with no I/O. One team a line, comma-separated:
/// <code>
/// team,robot,laptop,ip          (a header line starting with "team" is skipped, as are blank and # lines)
/// team7,,,192.168.1.57          robot alex-team7, laptop team7-laptop, the robot also at 192.168.1.57
/// team8,alex8.epp.com,Team 8 Laptop
/// </code>
/// Only the team is required: the robot is then alex-TEAM and the laptop TEAM-laptop, so every robot
/// and laptop of the class has its own name (a robot's allow-list names its own team's laptop, and a
/// laptop checks it reached its own team's robot). Several addresses go in one field separated by spaces.
/// </summary>
public static class ClassRoster
{
    public const int MaxTeams = 500;

    public static IReadOnlyList<TeamCredentials> Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        var teams = new List<TeamCredentials>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            var where = $"{path} line {i + 1}";
            if (line.Length == 0 || line.StartsWith('#') || (teams.Count == 0 && seen.Count == 0 && line.StartsWith("team,", StringComparison.OrdinalIgnoreCase)) || string.Equals(line, "team", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var fields = line.Split(',').Select(f => f.Trim()).ToArray();
            if (fields.Length > 4)
            {
                throw new PkiException($"{where}: {fields.Length} fields; a line is team,robot,laptop,ip", hint: "e.g. team7,alex7.epp.com,team7-laptop,192.168.1.57 (only the team is required)");
            }

            var team = fields[0];
            if (team.Length is 0 or > 32 || !team.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || team.StartsWith('-'))
            {
                throw new PkiException($"{where}: the team '{team}' must be 1 to 32 letters, digits, '-' or '_' (it names the team's folder)");
            }

            if (!seen.Add(team))
            {
                throw new PkiException($"{where}: the team '{team}' is listed twice");
            }

            var robot = fields.Length > 1 && fields[1].Length > 0 ? fields[1] : $"alex-{team.ToLowerInvariant()}";
            var laptop = fields.Length > 2 && fields[2].Length > 0 ? fields[2] : $"{team.ToLowerInvariant()}-laptop";
            var addresses = new List<IPAddress>();
            foreach (var word in fields.Length > 3 ? fields[3].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
            {
                if (!IPAddress.TryParse(word, out var ip))
                {
                    throw new PkiException($"{where}: '{word}' is not an IP address");
                }

                addresses.Add(ip);
            }

            foreach (var name in new[] { robot, laptop })
            {
                try
                {
                    CertificateAuthority.CheckName(name);
                }
                catch (PkiException e)
                {
                    throw new PkiException($"{where}: {e.Message}", e.Hint, e);
                }

                if (!names.Add(name))
                {
                    throw new PkiException($"{where}: the name '{name}' is used twice in the class; each robot and laptop needs its own");
                }
            }

            teams.Add(new TeamCredentials(team, robot, laptop, addresses));
            if (teams.Count > MaxTeams)
            {
                throw new PkiException($"{path}: more than {MaxTeams} teams");
            }
        }

        if (teams.Count == 0)
        {
            throw new PkiException($"{path}: no teams in it", hint: "one team a line: team,robot,laptop,ip (only the team is required)");
        }

        return teams;
    }

    /// <summary>The README put in each team's folder: what goes where, and the commands to run (with <paramref name="fleet"/>: the robot's fleet identity too).</summary>
    public static string Readme(TeamCredentials team, bool fleet = false)
    {
        ArgumentNullException.ThrowIfNull(team);
        var host = team.RobotAddresses.Count > 0 ? team.RobotAddresses[0].ToString() : team.RobotName;
        var laptop = team.LaptopName.Contains(' ', StringComparison.Ordinal) ? $"\"{team.LaptopName}\"" : team.LaptopName;
        var robotFiles = fleet ? "alex.key, alex.crt, alex-fleet.key, alex-fleet.crt, signing.pem, crl.pem" : "alex.key, alex.crt, signing.pem, crl.pem";
        var serve = fleet
            ? $"alex serve --pki FOLDER --allow {laptop}=drive --serial /dev/ttyUSB0 --fleet mqtts://BROKER:8883"
            : $"alex serve --cert alex.crt --key alex.key --ca signing.pem --crl crl.pem --allow {laptop}=drive --serial /dev/ttyUSB0";
        var fleetLine = fleet
            ? $"\n  on the class's fleet broker: '{team.RobotName}' (alex-fleet.crt), publishing its status, obeying the instructor's STOP\n  (FOLDER holds these files; BROKER is the broker the teaching team runs, docs/fleet.md)"
            : string.Empty;
        var keys = fleet ? "alex.key, alex-fleet.key and laptop.key are" : "alex.key and laptop.key are";
        return $"""
            Credentials for team {team.Team}, from the class CA.

            On the robot (the Raspberry Pi), copy: {robotFiles}
              robot name: {team.RobotName}{(team.RobotAddresses.Count > 0 ? $" (also {string.Join(", ", team.RobotAddresses)})" : string.Empty)}
              {serve}{fleetLine}

            On the team's laptop, copy: laptop.key, laptop.crt, signing.pem
              laptop name: {team.LaptopName} (the name the robot's --allow lets in)
              alex drive {host} --pki FOLDER{(team.RobotAddresses.Count > 0 ? string.Empty : "   (FOLDER holds these three files)")}

            {keys} private keys: copy each only to its own machine, keep them owner-only
            (chmod 600), never send them by mail or chat. Each new crl.pem from the CA goes to the robot.

            """;
    }
}
