namespace Alex.Pki.Fleet;

/// <summary>What an identity is on the fleet broker.</summary>
public enum FleetRole
{
    /// <summary>Publishes under its own name only; hears STOPs for the fleet and for itself.</summary>
    Robot,

    /// <summary>Reads everything under alexlink/; may publish the fleet STOP and any robot's STOP.</summary>
    Instructor,
}

/// <summary>One named identity's rights on the broker (MQTT topic filters).</summary>
public sealed record FleetGrant(string Name, FleetRole Role, IReadOnlyList<string> Write, IReadOnlyList<string> Read);

/// <summary>
/// The broker's access rules: the grants per name, what every other certificate from the CA may read
/// (watchers: laptops, the web gateway), and the names left out with the reason.
/// </summary>
public sealed record FleetAccessPlan(IReadOnlyList<FleetGrant> Grants, IReadOnlyList<string> WatcherRead, IReadOnlyList<string> Problems);

/// <summary>
/// Who may do what on the fleet broker, decided from the CA's ledger (docs/fleet.md "Who may do what").
/// The broker authenticates by certificate and takes its CN as the user name; this decides the rights
/// of each name: a robot (role <see cref="CertificateRole.Fleet"/>) publishes only under
/// <c>alexlink/NAME/</c> and reads the STOPs meant for it; an instructor publishes STOPs and reads all;
/// everyone else with a certificate from the CA reads the robots' status and nothing more.
/// Revoked and expired certificates give no rights (the broker's CRL refuses the revoked anyway); a name
/// that two roles claim, or that cannot be a topic level, is left out with a problem rather than guessed at.
/// </summary>
public static class FleetAccess
{
    public static FleetAccessPlan Decide(IEnumerable<LedgerEntry> ledger, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var live = ledger.Where(e => !e.IsRevoked && e.NotBefore <= now + CertificateAuthority.Backdate && now <= e.NotAfter).ToList();

        // Every name a client certificate carries, with the roles claiming it: the broker knows only the name.
        var claims = live
            .Where(e => e.Role is CertificateRole.Fleet or CertificateRole.Instructor or CertificateRole.Client)
            .GroupBy(e => e.Name, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        var grants = new List<FleetGrant>();
        var problems = new List<string>();
        foreach (var claim in claims)
        {
            var roles = claim.Select(e => e.Role).Distinct().Order().ToList();
            var name = claim.First().Name;
            if (roles.Count > 1)
            {
                if (roles.Any(r => r != CertificateRole.Client))
                {
                    problems.Add($"'{name}' is held by certificates of several roles ({string.Join(", ", roles.Select(r => r.ToString().ToLowerInvariant()))}): left out of the ACL; revoke the ones that should not have it");
                }

                continue;
            }

            var role = roles[0];
            if (role == CertificateRole.Client)
            {
                continue;
            }

            if (FleetTopics.TopicLevelProblem(name) is { } bad)
            {
                problems.Add($"'{name}' {bad}: left out of the ACL; issue the {role.ToString().ToLowerInvariant()} certificate under another name");
                continue;
            }

            grants.Add(role == CertificateRole.Fleet
                ? new FleetGrant(name, FleetRole.Robot, [FleetTopics.RobotSubtree(name)], [FleetTopics.FleetStop, FleetTopics.Stop(name)])
                : new FleetGrant(name, FleetRole.Instructor, [FleetTopics.FleetStop, FleetTopics.AnyRobotStop], [FleetTopics.Root + "/#"]));
        }

        return new FleetAccessPlan(grants, [FleetTopics.AllStatus], problems);
    }
}
