namespace Alex.Pki;

/// <summary>Why the trust policy refused a peer certificate.</summary>
public enum TrustFailure
{
    /// <summary>The peer sent no certificate.</summary>
    NoCertificate,

    /// <summary>The certificate cannot be read (damaged extension, unknown critical extension).</summary>
    InvalidCertificate,

    /// <summary>It does not chain to the CA we trust (another CA, or a bad signature).</summary>
    UnknownCa,

    /// <summary>A certificate in the chain that signs others is not a CA, or the peer presented the CA itself.</summary>
    NotCa,

    Expired,

    NotYetValid,

    Revoked,

    /// <summary>Wrong or missing (extended) key usage for the role: a server certificate used as a client, a CA as a device.</summary>
    WrongUsage,

    /// <summary>RSA below 2048 bits (1024 allowed only in legacy mode), or an EC key below 256 bits.</summary>
    WeakKey,

    /// <summary>Signed with MD5 or SHA-1.</summary>
    WeakSignature,

    /// <summary>The subject has no CN or more than one CN (and no SAN to decide).</summary>
    AmbiguousName,

    /// <summary>The client's name is not on the allow-list.</summary>
    NameNotAllowed,

    /// <summary>The server's certificate does not carry the name we connected to.</summary>
    NameMismatch,

    /// <summary>A CRL is configured but its file is missing.</summary>
    CrlMissing,

    /// <summary>The CRL is past its nextUpdate.</summary>
    CrlStale,

    /// <summary>The CRL is damaged or not signed by the CA.</summary>
    CrlInvalid,

    /// <summary>The CRL's thisUpdate is still to come (usually this machine's clock is wrong).</summary>
    CrlNotYetValid,
}

/// <summary>One thing wrong with a peer certificate, as a one-line message for people.</summary>
public sealed record TrustProblem(TrustFailure Failure, string Message);

/// <summary>
/// The trust policy's verdict on a peer: accepted (with the matched name and role) or refused with the
/// first <see cref="Failure"/> and a one-line <see cref="Reason"/>; <see cref="Problems"/> lists every
/// problem found, for `alex pki verify` and `alex doctor`.
/// </summary>
public sealed class TrustDecision
{
    internal TrustDecision(IReadOnlyList<TrustProblem> problems, string reason, string? peerName, PeerRole? role, string? subject, string? fingerprint, DateTimeOffset? notAfter, IReadOnlyList<string> notes)
    {
        Problems = problems;
        Reason = reason;
        PeerName = peerName;
        Role = role;
        Subject = subject;
        Sha256Fingerprint = fingerprint;
        NotAfter = notAfter;
        Notes = notes;
    }

    public bool Accepted => Problems.Count == 0;

    /// <summary>The first (most fundamental) problem, or null when accepted.</summary>
    public TrustFailure? Failure => Problems.Count == 0 ? null : Problems[0].Failure;

    /// <summary>One line for a log or an error message.</summary>
    public string Reason { get; }

    public IReadOnlyList<TrustProblem> Problems { get; }

    /// <summary>Warnings that did not refuse the peer (legacy certificate, expiring soon).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The name the peer matched (allow-list entry or expected server name).</summary>
    public string? PeerName { get; }

    /// <summary>The role from the allow-list entry (clients only).</summary>
    public PeerRole? Role { get; }

    public string? Subject { get; }

    /// <summary>SHA-256 of the peer's certificate, openssl format (AB:CD:...).</summary>
    public string? Sha256Fingerprint { get; }

    public DateTimeOffset? NotAfter { get; }

    public override string ToString() => Reason;
}
