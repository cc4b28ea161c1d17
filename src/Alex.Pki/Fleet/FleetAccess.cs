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
/// Whether an identity may STOP robots through the fleet broker, as far as the CA's ledger tells: <see cref="Checked"/>
/// is false when the ledger could not tell (none at hand, or the certificate is not in it), and then the broker decides.
/// </summary>
public sealed record FleetStopRight(bool Allowed, bool Checked, string Why);

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

    /// <summary>
    /// May the certificate <paramref name="sha256Fingerprint"/> (CN <paramref name="name"/>) STOP robots? By the same rule as
    /// the broker's ACL (<see cref="Decide"/>): only a live instructor certificate whose name the ACL grants. A view uses it to
    /// offer STOP or say why not before asking the broker, which stays the judge (its ACL may be older than the ledger).
    /// Without a ledger (<paramref name="ledger"/> null), or for a certificate the ledger does not hold, it cannot tell:
    /// allowed, unchecked, and the broker decides.
    /// </summary>
    public static FleetStopRight StopRight(IReadOnlyList<LedgerEntry>? ledger, string name, string sha256Fingerprint, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(sha256Fingerprint);
        if (ledger is null)
        {
            return new FleetStopRight(true, false, $"'{name}': no CA ledger here to check its role; the broker decides");
        }

        var entry = ledger.FirstOrDefault(e => string.Equals(e.Sha256Fingerprint, sha256Fingerprint, StringComparison.OrdinalIgnoreCase));
        if (entry is null)
        {
            return new FleetStopRight(true, false, $"'{name}' is not in this CA's ledger; the broker decides");
        }

        if (entry.Role != CertificateRole.Instructor)
        {
            var role = entry.Role.ToString().ToLowerInvariant();
            return new FleetStopRight(false, true, $"'{name}' is a {role} certificate: on the fleet broker it may look, not STOP (STOP needs alex pki issue instructor NAME)");
        }

        if (entry.IsRevoked)
        {
            return new FleetStopRight(false, true, $"'{name}': this instructor certificate is revoked");
        }

        if (now > entry.NotAfter)
        {
            return new FleetStopRight(false, true, $"'{name}': this instructor certificate expired {entry.NotAfter:yyyy-MM-dd}");
        }

        var plan = Decide(ledger, now);
        if (!plan.Grants.Any(g => g.Role == FleetRole.Instructor && string.Equals(g.Name, entry.Name, StringComparison.OrdinalIgnoreCase)))
        {
            var problem = plan.Problems.FirstOrDefault(p => p.StartsWith($"'{entry.Name}'", StringComparison.OrdinalIgnoreCase));
            return new FleetStopRight(false, true, problem ?? $"'{name}' has no instructor grant in the broker's ACL");
        }

        return new FleetStopRight(true, true, $"'{name}' is an instructor: may STOP one robot or all");
    }
}
