namespace Alex.Pki;

/// <summary>
/// A PKI file or request that cannot be used, with a one-line message that names the file and says
/// what is wrong, and an optional hint that says what to do next. Callers show the message as is.
/// </summary>
public sealed class PkiException : Exception
{
    public PkiException(string message, string? hint = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Hint = hint;
    }

    public PkiException()
    {
    }

    public PkiException(string message)
        : base(message)
    {
    }

    public PkiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>What the user can do about it, or null.</summary>
    public string? Hint { get; }
}
