namespace Alex.Pki;

/// <summary>What an authenticated peer may do on the robot.</summary>
public enum PeerRole
{
    /// <summary>May take the driver lease and send motion commands (and watch).</summary>
    Drive,

    /// <summary>May watch telemetry and send STOP, never drive.</summary>
    Watch,

    /// <summary>May watch and STOP, and read the server's status and audit log (docs/protocol.md "Admin messages"); never drives.</summary>
    Admin,
}

/// <summary>One allow-list entry: a peer name (SAN DNS name, or CN when there is no SAN) and its role.</summary>
public sealed record AllowEntry(string Name, PeerRole Role);

/// <summary>
/// Who may connect to the robot: entries "NAME", "NAME=drive", "NAME=watch" or "NAME=admin" (default drive),
/// matched exactly but case-insensitively against the peer's names (docs/course-protocol.md §5; names with spaces
/// such as "Alex Laptop" occur). <see cref="Any"/> admits every certificate the CA issued, as drivers.
/// </summary>
public sealed class AllowList
{
    private readonly Dictionary<string, AllowEntry> _entries;

    private AllowList(IEnumerable<AllowEntry> entries, bool allowAny)
    {
        _entries = new Dictionary<string, AllowEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            _entries[entry.Name] = entry;
        }

        AllowsAny = allowAny;
    }

    /// <summary>Admits any peer with a valid certificate from the CA, with the drive role.</summary>
    public static AllowList Any { get; } = new([], allowAny: true);

    /// <summary>Admits nobody (the server refuses to start with it unless told otherwise).</summary>
    public static AllowList None { get; } = new([], allowAny: false);

    public bool AllowsAny { get; }

    public IReadOnlyCollection<AllowEntry> Entries => _entries.Values;

    public static AllowList Of(params AllowEntry[] entries) => new(entries, allowAny: false);

    /// <summary>Parses "NAME[=drive|watch|admin]" entries; throws <see cref="PkiException"/> naming a bad entry.</summary>
    public static AllowList Parse(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var parsed = new List<AllowEntry>();
        foreach (var raw in entries)
        {
            var text = raw.Trim();
            var role = PeerRole.Drive;
            var eq = text.LastIndexOf('=');
            if (eq >= 0)
            {
                var roleText = text[(eq + 1)..].Trim();
                role = roleText.ToUpperInvariant() switch
                {
                    "DRIVE" => PeerRole.Drive,
                    "WATCH" => PeerRole.Watch,
                    "ADMIN" => PeerRole.Admin,
                    _ => throw new PkiException($"allow-list entry '{raw}': role '{roleText}' is not drive, watch or admin", hint: "write NAME, NAME=drive, NAME=watch or NAME=admin"),
                };
                text = text[..eq].Trim();
            }

            if (text.Length == 0)
            {
                throw new PkiException($"allow-list entry '{raw}': the name is empty", hint: "write NAME, NAME=drive, NAME=watch or NAME=admin");
            }

            parsed.Add(new AllowEntry(text, role));
        }

        return new AllowList(parsed, allowAny: false);
    }

    /// <summary>The first of the peer's names that is on the list, or null.</summary>
    public AllowEntry? Match(IEnumerable<string> peerNames)
    {
        ArgumentNullException.ThrowIfNull(peerNames);
        foreach (var name in peerNames)
        {
            if (_entries.TryGetValue(name, out var entry))
            {
                return entry with { Name = name };
            }
        }

        return null;
    }
}
