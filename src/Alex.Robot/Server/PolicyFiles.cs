// Where the server's trust policy comes from, and its live reload: the CA file, the
// CRL file and the allow-list (from --allow arguments and/or an allow file). When the CRL or the
// allow file changes on disk (FileSystemWatcher), or on SIGHUP (the caller's PosixSignalRegistration
// calls Reload), a new TrustPolicy is built and every connected client is checked again.
//
// Allow file: one entry per line, NAME, NAME=drive, NAME=watch or NAME=admin; blank lines and lines starting
// with '#' are ignored. A damaged allow file on reload fails closed: the new list admits nobody and
// every connected client is disconnected, as a forged or stale CRL does (Alex.Pki CrlSource).
using Alex.Pki;

namespace Alex.Robot.Server;

/// <summary>The files and flags the trust policy is built from.</summary>
public sealed record PolicySources(
    string CaPath,
    string? CrlPath,
    IReadOnlyList<string> AllowEntries,
    string? AllowFilePath,
    bool AllowAny,
    bool Legacy);

/// <summary>Builds the trust policy from its files and rebuilds it when they change.</summary>
public sealed class PolicyFiles : IDisposable
{
    private readonly PolicySources _sources;
    private readonly TimeProvider _time;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Lock _gate = new();
    private ITimer? _debounce;
    private Action<TrustPolicy, string>? _changed;

    public PolicyFiles(PolicySources sources, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = sources;
        _time = time;
    }

    /// <summary>Builds the policy now; a bad file throws PkiException naming it (the server refuses to start).</summary>
    public TrustPolicy Load()
    {
        var allow = LoadAllowList(strict: true);
        if (_sources.CrlPath is { } crl && !File.Exists(crl))
        {
            throw new PkiException($"{crl}: no such CRL file", hint: "make one with `alex pki crl`, or leave out --crl");
        }

        var policy = Build(allow);
        if (_sources.CrlPath is not null && policy.Options.Crl!.Current() is { Failure: not null } state)
        {
            throw new PkiException(state.Problem ?? $"{_sources.CrlPath}: the CRL cannot be used");
        }

        if (policy.Options.Crl?.MemoryProblem is { } memory)
        {
            throw new PkiException(memory, hint: "the server keeps the highest CRL number beside the CRL: make that directory writable by the server's user");
        }

        return policy;
    }

    /// <summary>Starts watching the CRL and allow file; <paramref name="changed"/> gets each rebuilt policy.</summary>
    public void Watch(Action<TrustPolicy, string> changed)
    {
        _changed = changed;
        foreach (var path in new[] { _sources.CrlPath, _sources.AllowFilePath })
        {
            if (path is null)
            {
                continue;
            }

            var full = Path.GetFullPath(path);
            var watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
            };
            watcher.Changed += (_, e) => Schedule($"{e.Name} changed");
            watcher.Created += (_, e) => Schedule($"{e.Name} created");
            watcher.Deleted += (_, e) => Schedule($"{e.Name} deleted");
            watcher.Renamed += (_, e) => Schedule($"{e.Name} replaced");
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    /// <summary>Rebuilds the policy now (SIGHUP, or a file changed) and hands it to the watcher.</summary>
    public void Reload(string why)
    {
        var policy = Build(LoadAllowList(strict: false));
        policy.Options.Crl?.Reload();
        _changed?.Invoke(policy, why);
    }

    public void Dispose()
    {
        foreach (var w in _watchers)
        {
            w.Dispose();
        }

        lock (_gate)
        {
            _debounce?.Dispose();
        }
    }

    // An editor or `alex pki revoke` writes a file in several steps: wait until it has been quiet briefly.
    private void Schedule(string why)
    {
        lock (_gate)
        {
            _debounce?.Dispose();
            _debounce = _time.CreateTimer(_ => Reload(why), null, TimeSpan.FromMilliseconds(150), Timeout.InfiniteTimeSpan);
        }
    }

    // The highest CRL number is kept beside the CRL (crl.pem.highest), so an older CRL is refused after a restart too.
    private TrustPolicy Build(AllowList allow) =>
        TrustPolicy.FromFiles(_sources.CaPath, _sources.CrlPath, allow, _sources.Legacy, _time, _sources.CrlPath is { } crl ? CrlSource.MemoryPathFor(crl) : null);

    private AllowList LoadAllowList(bool strict)
    {
        if (_sources.AllowAny)
        {
            return AllowList.Any;
        }

        var entries = new List<string>(_sources.AllowEntries);
        if (_sources.AllowFilePath is { } file)
        {
            try
            {
                entries.AddRange(ReadAllowFile(file));
            }
            catch (Exception e) when (!strict && e is PkiException or IOException or UnauthorizedAccessException)
            {
                // Fail closed: an allow file that cannot be read admits nobody until it is fixed.
                return AllowList.None;
            }
        }

        try
        {
            return AllowList.Parse(entries);
        }
        catch (PkiException) when (!strict)
        {
            return AllowList.None;
        }
    }

    private static IEnumerable<string> ReadAllowFile(string path)
    {
        var text = System.Text.Encoding.UTF8.GetString(PkiFile.ReadAll(path, "allow-list"));
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                yield return line;
            }
        }
    }
}
