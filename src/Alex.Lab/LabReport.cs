using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Alex.Lab.Tests")]

namespace Alex.Lab;

/// <summary>
/// What every `alex lab` computation returns besides its numbers: numbered steps a student can follow
/// line by line, and notes (for example where the lecture slipped). The CLI renders these; `--json` emits the
/// whole result record, numbers included.
/// </summary>
public interface ILabReport
{
    string Title { get; }

    IReadOnlyList<LabStep> Steps { get; }

    IReadOnlyList<string> Notes { get; }
}

/// <summary>One numbered step: a heading, the formulas or facts under it, and optionally a table.</summary>
public sealed record LabStep(string Title, IReadOnlyList<string> Lines, LabTable? Table = null)
{
    public LabStep(string title, params string[] lines)
        : this(title, (IReadOnlyList<string>)lines)
    {
    }
}

/// <summary>A small table (the substitution table, a certificate chain) kept as text cells.</summary>
public sealed record LabTable(IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>
/// Bad input from the student (a composite "prime", a letter in a number). The message is one line that
/// says what is wrong; the hint says what to try instead.
/// </summary>
public sealed class LabInputException : Exception
{
    public LabInputException(string message, string? hint)
        : base(message)
    {
        Hint = hint;
    }

    public LabInputException()
    {
    }

    public LabInputException(string message)
        : base(message)
    {
    }

    public LabInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Hint { get; }
}
