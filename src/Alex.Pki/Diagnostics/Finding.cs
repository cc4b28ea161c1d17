// What `alex doctor` reports: one line per check, each problem with the fix in one
// line. The checks live in the libraries (certificates here, network in Alex.Client, serial in
// Alex.Robot); the CLI only renders them.
namespace Alex.Pki.Diagnostics;

/// <summary>How a check came out.</summary>
public enum FindingLevel
{
    /// <summary>Checked and fine.</summary>
    Ok,

    /// <summary>Works now, but worth fixing (expires soon, a course-style certificate).</summary>
    Warning,

    /// <summary>Would make a connection fail, or is a security hole (a key others can read).</summary>
    Problem,
}

/// <summary>One check's result: what was checked (<see cref="Subject"/>, e.g. a file name), what was found, and the fix.</summary>
public sealed record Finding(string Subject, FindingLevel Level, string Message, string? Fix = null)
{
    public static Finding Ok(string subject, string message) => new(subject, FindingLevel.Ok, message);

    public static Finding Warning(string subject, string message, string? fix = null) => new(subject, FindingLevel.Warning, message, fix);

    public static Finding Problem(string subject, string message, string? fix) => new(subject, FindingLevel.Problem, message, fix);

    /// <summary>Exit code of a whole check-up: 1 when any problem was found, else 0 (warnings alone are fine).</summary>
    public static int ExitCode(IEnumerable<Finding> findings) => findings.Any(f => f.Level == FindingLevel.Problem) ? 1 : 0;
}
