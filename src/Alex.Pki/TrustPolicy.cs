using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>Options of the trust policy.</summary>
public sealed record TrustPolicyOptions
{
    /// <summary>Who may connect as a client; the default admits nobody.</summary>
    public AllowList AllowList { get; init; } = AllowList.None;

    /// <summary>The CRL to check (fail closed when missing, stale or forged); null: no revocation checking.</summary>
    public CrlSource? Crl { get; init; }

    /// <summary>
    /// Accept the course's own certificates (docs/course-protocol.md §5): X.509 v1 with no extended key usage, and
    /// RSA keys of 1024 bits. Off by default: such certificates say nothing about what they are for.
    /// </summary>
    public bool Legacy { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>A certificate expiring sooner than this gets a note (not a refusal).</summary>
    public TimeSpan ExpiryWarning { get; init; } = TimeSpan.FromDays(14);
}

/// <summary>
/// Decides whether a TLS peer is who it claims and may do what it asks, without sockets: the chain must
/// end at one of the given CA certificates (custom root trust, never the OS store), every certificate
/// must be in its validity period, the leaf must not be revoked by the CA's CRL, must be meant for its
/// role (EKU clientAuth / serverAuth), use a strong key and signature, carry exactly one name source,
/// and that name must be on the allow-list (clients) or be the host we asked for (servers).
/// The TLS code calls <see cref="EvaluateClient"/> / <see cref="EvaluateServer"/> from its certificate
/// validation callback and returns <see cref="TrustDecision.Accepted"/>.
/// </summary>
public sealed class TrustPolicy
{
    private readonly X509Certificate2Collection _authorities;

    public TrustPolicy(X509Certificate2Collection authorities, TrustPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(authorities);
        if (authorities.Count == 0)
        {
            throw new PkiException("the trust policy needs at least one CA certificate");
        }

        foreach (var ca in authorities)
        {
            var facts = CertificateFacts.From(ca);
            if (facts.IsCertificateAuthority == false || (facts.KeyUsage is { } ku && !ku.HasFlag(X509KeyUsageFlags.KeyCertSign)))
            {
                throw new PkiException(
                    $"'{ca.Subject}' is not a CA certificate (basicConstraints CA:FALSE or no keyCertSign)",
                    hint: "give the CA's certificate (signing.pem), not a device certificate");
            }
        }

        _authorities = authorities;
        Options = options ?? new TrustPolicyOptions();
    }

    public TrustPolicy(X509Certificate2 authority, TrustPolicyOptions? options = null)
        : this(new X509Certificate2Collection(authority), options)
    {
    }

    public TrustPolicyOptions Options { get; }

    public X509Certificate2Collection Authorities => _authorities;

    /// <summary>
    /// A policy from files: the CA certificate(s) and, optionally, the CRL (re-read when it changes). With
    /// <paramref name="crlMemoryPath"/>, the highest CRL number the CA signed is kept there and an older CRL is refused.
    /// </summary>
    public static TrustPolicy FromFiles(string caPath, string? crlPath, AllowList allowList, bool legacy = false, TimeProvider? timeProvider = null, string? crlMemoryPath = null)
    {
        var authorities = CertificateFile.LoadAll(caPath);
        return new(authorities, new TrustPolicyOptions
        {
            AllowList = allowList,
            Crl = crlPath is null ? null : crlMemoryPath is null ? CrlSource.FromFile(crlPath) : CrlSource.FromFile(crlPath, crlMemoryPath, authorities),
            Legacy = legacy,
            TimeProvider = timeProvider ?? TimeProvider.System,
        });
    }

    /// <summary>Checks a client's certificate (robot server side): chain, validity, CRL, clientAuth, allow-list.</summary>
    public TrustDecision EvaluateClient(X509Certificate2? leaf, X509Certificate2Collection? presentedChain) =>
        Evaluate(leaf, presentedChain, PeerKind.Client, expectedName: null);

    /// <summary>Checks a server's certificate (laptop side): chain, validity, CRL, serverAuth, and that it names <paramref name="expectedName"/>.</summary>
    public TrustDecision EvaluateServer(X509Certificate2? leaf, X509Certificate2Collection? chain, string expectedName) =>
        Evaluate(leaf, chain, PeerKind.Server, expectedName);

    /// <summary>
    /// The general form: <paramref name="kind"/> says which EKU to require; for clients the allow-list is
    /// applied, for servers <paramref name="expectedName"/> (when not null) must match.
    /// </summary>
    public TrustDecision Evaluate(X509Certificate2? leaf, X509Certificate2Collection? presentedChain, PeerKind kind, string? expectedName)
    {
        var problems = new List<TrustProblem>();
        var notes = new List<string>();
        if (leaf is null)
        {
            return Refuse([new TrustProblem(TrustFailure.NoCertificate, $"the {Describe(kind)} sent no certificate")], notes, null);
        }

        CertificateFacts facts;
        try
        {
            facts = CertificateFacts.From(leaf);
        }
        catch (PkiException e)
        {
            return Refuse([new TrustProblem(TrustFailure.InvalidCertificate, e.Message)], notes, null);
        }

        var who = $"'{Label(facts)}'";
        var now = Options.TimeProvider.GetUtcNow();

        var chainElements = BuildChain(leaf, presentedChain, now, who, problems);
        try
        {
            var chainedToCa = !problems.Any(p => p.Failure is TrustFailure.UnknownCa);
            CheckValidity(who, leaf, chainElements, now, problems, notes);
            if (chainedToCa)
            {
                CheckRevocation(who, leaf, chainElements, now, problems);
            }

            CheckUsage(who, facts, kind, problems, notes);
            CheckStrength(who, leaf, facts, chainElements, problems);
        }
        finally
        {
            // The chain's certificate objects are copies made for this evaluation (one per handshake): free them now.
            foreach (var element in chainElements)
            {
                if (!ReferenceEquals(element, leaf) && (presentedChain is null || !presentedChain.Contains(element)) && !_authorities.Contains(element))
                {
                    element.Dispose();
                }
            }
        }

        string? peerName = null;
        PeerRole? role = null;
        if (facts.CommonNames.Count > 1)
        {
            problems.Add(new TrustProblem(TrustFailure.AmbiguousName, $"{who} has {facts.CommonNames.Count} common names ({string.Join(", ", facts.CommonNames)}); exactly one is required"));
        }
        else if (facts.PeerNames.Count == 0)
        {
            problems.Add(new TrustProblem(TrustFailure.AmbiguousName, $"{who} names no one (no DNS name or IP address in its subjectAltName, no common name)"));
        }
        else if (kind == PeerKind.Client)
        {
            (peerName, role) = MatchClient(who, facts, problems);
        }
        else
        {
            peerName = MatchServer(who, facts, expectedName, problems);
        }

        if (problems.Count > 0)
        {
            return Refuse(problems, notes, facts);
        }

        var roleText = role is { } r ? $" as {r.ToString().ToLowerInvariant()}" : string.Empty;
        var reason = $"accepted {Describe(kind)} '{peerName}'{roleText}, issued by '{leaf.Issuer}', expires {facts.NotAfter:yyyy-MM-dd}";
        return new TrustDecision([], reason, peerName, role, facts.Subject, facts.Sha256Fingerprint, facts.NotAfter, notes);
    }

    private static TrustDecision Refuse(List<TrustProblem> problems, List<string> notes, CertificateFacts? facts) =>
        new(problems, problems[0].Message, null, null, facts?.Subject, facts?.Sha256Fingerprint, facts?.NotAfter, notes);

    private static string Describe(PeerKind kind) => kind == PeerKind.Client ? "client" : "server";

    private static string Label(CertificateFacts facts) =>
        facts.CommonNames.Count == 1 ? facts.CommonNames[0] : facts.Subject.Length > 0 ? facts.Subject : $"serial {facts.SerialHex}";

    private List<X509Certificate2> BuildChain(X509Certificate2 leaf, X509Certificate2Collection? presented, DateTimeOffset now, string who, List<TrustProblem> problems)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_authorities);
        policy.RevocationMode = X509RevocationMode.NoCheck; // The CRL file is checked below (CheckRevocation).
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.VerificationTimeIgnored = false;
        if (presented is not null)
        {
            foreach (var extra in presented)
            {
                if (!extra.RawData.AsSpan().SequenceEqual(leaf.RawData))
                {
                    policy.ExtraStore.Add(extra);
                }
            }
        }

        chain.Build(leaf);
        var elements = chain.ChainElements.Select(e => e.Certificate).ToList();
        var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
        var root = elements.Count > 0 ? elements[^1] : null;
        var endsAtCa = root is not null && _authorities.Any(a => a.RawData.AsSpan().SequenceEqual(root.RawData));

        if (!endsAtCa || (status & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            var ours = string.Join("' or '", _authorities.Select(a => a.Subject));
            problems.Add(new TrustProblem(TrustFailure.UnknownCa, $"{who} was issued by '{leaf.Issuer}', not by the trusted CA '{ours}' (unknown CA)"));
            return elements;
        }

        if ((status & X509ChainStatusFlags.NotSignatureValid) != 0)
        {
            problems.Add(new TrustProblem(TrustFailure.UnknownCa, $"{who}: its signature does not verify with the CA's key (forged, or another CA with the same name)"));
        }

        if (elements.Count == 1)
        {
            problems.Add(new TrustProblem(TrustFailure.NotCa, $"{who} is the CA certificate itself, not a device certificate"));
        }

        if ((status & X509ChainStatusFlags.InvalidBasicConstraints) != 0)
        {
            problems.Add(new TrustProblem(TrustFailure.NotCa, $"{who}: a certificate in its chain that signs others is not a CA (basicConstraints)"));
        }

        if ((status & X509ChainStatusFlags.HasNotSupportedCriticalExtension) != 0)
        {
            problems.Add(new TrustProblem(TrustFailure.InvalidCertificate, $"{who} has a critical extension we do not understand"));
        }

        const X509ChainStatusFlags handled = X509ChainStatusFlags.NoError | X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotSignatureValid
            | X509ChainStatusFlags.InvalidBasicConstraints | X509ChainStatusFlags.HasNotSupportedCriticalExtension
            | X509ChainStatusFlags.RevocationStatusUnknown | X509ChainStatusFlags.OfflineRevocation | X509ChainStatusFlags.NotTimeNested;
        var other = status & ~handled;
        if (other != 0)
        {
            var text = string.Join("; ", chain.ChainStatus.Where(s => (s.Status & other) != 0).Select(s => s.StatusInformation.Trim()).Distinct());
            problems.Add(new TrustProblem(TrustFailure.InvalidCertificate, $"{who}: chain check failed ({other}: {text})"));
        }

        return elements;
    }

    private void CheckValidity(string who, X509Certificate2 leaf, List<X509Certificate2> chain, DateTimeOffset now, List<TrustProblem> problems, List<string> notes)
    {
        var all = chain.Count > 0 ? chain : [leaf];
        foreach (var certificate in all)
        {
            var isLeaf = certificate.RawData.AsSpan().SequenceEqual(leaf.RawData);
            var name = isLeaf ? who : $"the CA '{certificate.Subject}' of {who}";
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (now < notBefore)
            {
                problems.Add(new TrustProblem(TrustFailure.NotYetValid, $"{name} is not valid until {notBefore:yyyy-MM-dd HH:mm} UTC ({Span(notBefore - now)} from now; is this machine's clock right?)"));
            }
            else if (now > notAfter)
            {
                problems.Add(new TrustProblem(TrustFailure.Expired, $"{name} expired on {notAfter:yyyy-MM-dd HH:mm} UTC ({Span(now - notAfter)} ago)"));
            }
            else if (notAfter - now < Options.ExpiryWarning)
            {
                notes.Add($"{name} expires in {Span(notAfter - now)} ({notAfter:yyyy-MM-dd})");
            }
        }
    }

    private void CheckRevocation(string who, X509Certificate2 leaf, List<X509Certificate2> chain, DateTimeOffset now, List<TrustProblem> problems)
    {
        if (Options.Crl is not { } source)
        {
            return;
        }

        var state = source.Current();
        if (state.List is not { } crl)
        {
            problems.Add(new TrustProblem(state.Failure ?? TrustFailure.CrlInvalid, $"cannot check {who} for revocation: {state.Problem}"));
            return;
        }

        var issuer = chain.Count > 1 ? chain[1] : null;
        if (issuer is null)
        {
            problems.Add(new TrustProblem(TrustFailure.CrlInvalid, $"cannot check {who} for revocation: the CRL {source.Description} is not signed by '{leaf.Issuer}' (forged or another CA's)"));
            return;
        }

        if (CheckCrl(crl, [issuer], now) is { } unusable)
        {
            problems.Add(unusable with { Message = $"cannot check {who} for revocation: the CRL {source.Description} {unusable.Message}" });
            return;
        }

        if (crl.Find(leaf.SerialNumber) is { } entry)
        {
            var why = entry.Reason is { } r ? $", reason {ReasonName(r)}" : string.Empty;
            problems.Add(new TrustProblem(TrustFailure.Revoked, $"{who} (serial {CertificateRevocationList.NormalizeSerial(leaf.SerialNumber)}) was revoked on {entry.RevocationDate:yyyy-MM-dd HH:mm} UTC{why}"));
        }
    }

    /// <summary>
    /// Whether <paramref name="crl"/> can be used at <paramref name="now"/>: signed by one of
    /// <paramref name="issuers"/>, already valid, not stale. Null when it can; else why not, worded
    /// to follow "the CRL FILE " (the server, `alex pki verify` and the doctor say the same).
    /// </summary>
    public static TrustProblem? CheckCrl(CertificateRevocationList crl, IEnumerable<X509Certificate2> issuers, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(crl);
        ArgumentNullException.ThrowIfNull(issuers);
        var candidates = issuers.ToList();
        if (!candidates.Any(crl.IsSignedBy))
        {
            return new TrustProblem(TrustFailure.CrlInvalid, $"is not signed by '{candidates.FirstOrDefault()?.Subject}' (forged or another CA's)");
        }

        if (crl.ThisUpdate > now)
        {
            return new TrustProblem(TrustFailure.CrlNotYetValid, $"is not valid until {crl.ThisUpdate:yyyy-MM-dd HH:mm} UTC (is this machine's clock right?)");
        }

        return crl.NextUpdate is { } next && next < now
            ? new TrustProblem(TrustFailure.CrlStale, $"is stale (next update was due {next:yyyy-MM-dd HH:mm} UTC)")
            : null;
    }

    private void CheckUsage(string who, CertificateFacts facts, PeerKind kind, List<TrustProblem> problems, List<string> notes)
    {
        if (facts.IsCertificateAuthority == true)
        {
            problems.Add(new TrustProblem(TrustFailure.WrongUsage, $"{who} is a CA certificate (basicConstraints CA:TRUE), not a {Describe(kind)} certificate"));
        }

        var wanted = kind == PeerKind.Client ? Oids.ClientAuth : Oids.ServerAuth;
        var wantedName = kind == PeerKind.Client ? "clientAuth" : "serverAuth";
        if (facts.ExtendedKeyUsages is { } eku)
        {
            if (!eku.Contains(wanted))
            {
                var has = eku.Count == 0 ? "none" : string.Join(", ", eku.Select(EkuName));
                var hint = kind == PeerKind.Client && eku.Contains(Oids.ServerAuth) ? " (a server certificate used as a client?)"
                    : kind == PeerKind.Server && eku.Contains(Oids.ClientAuth) ? " (a client certificate used as a server?)" : string.Empty;
                problems.Add(new TrustProblem(TrustFailure.WrongUsage, $"{who} is not for {wantedName}: its extended key usage is {has}{hint}"));
            }
        }
        else if (Options.Legacy)
        {
            notes.Add($"{who} has no extended key usage (a course-style certificate), accepted in legacy mode");
        }
        else
        {
            problems.Add(new TrustProblem(TrustFailure.WrongUsage, $"{who} has no extended key usage (an X.509 v{facts.Version} course-style certificate); accepted only in legacy mode"));
        }

        if (facts.KeyUsage is { } ku && (ku & (X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement)) == 0)
        {
            problems.Add(new TrustProblem(TrustFailure.WrongUsage, $"{who} may not be used for TLS: its key usage is {ku}, without digitalSignature"));
        }
    }

    private void CheckStrength(string who, X509Certificate2 leaf, CertificateFacts facts, List<X509Certificate2> chain, List<TrustProblem> problems)
    {
        var all = chain.Count > 0 ? chain : [leaf];
        foreach (var certificate in all)
        {
            var isLeaf = certificate.RawData.AsSpan().SequenceEqual(leaf.RawData);
            var name = isLeaf ? who : $"the CA '{certificate.Subject}' of {who}";
            var (algorithm, bits) = isLeaf ? (facts.KeyAlgorithm, facts.KeyBits) : CertificateFacts.DescribeKey(certificate);
            if (algorithm == "RSA" && bits < 2048)
            {
                if (bits >= 1024 && Options.Legacy)
                {
                    continue;
                }

                var legacy = bits >= 1024 ? "; RSA-1024 course keys are accepted only in legacy mode" : string.Empty;
                problems.Add(new TrustProblem(TrustFailure.WeakKey, $"{name} has a weak {bits}-bit RSA key (2048 or more required{legacy})"));
            }
            else if (algorithm.StartsWith("ECDSA", StringComparison.Ordinal) && bits < 256)
            {
                problems.Add(new TrustProblem(TrustFailure.WeakKey, $"{name} has a weak {bits}-bit EC key (P-256 or stronger required)"));
            }
            else if (algorithm != "RSA" && !algorithm.StartsWith("ECDSA", StringComparison.Ordinal))
            {
                problems.Add(new TrustProblem(TrustFailure.WeakKey, $"{name} has an unsupported key type {algorithm} (RSA or ECDSA required)"));
            }

            // The CA's self-signature is not checked: it is trusted because it is the file we were given.
            var selfSigned = certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData) && !isLeaf;
            var signature = certificate.SignatureAlgorithm.Value ?? string.Empty;
            if (!selfSigned && Oids.IsWeakSignature(signature))
            {
                problems.Add(new TrustProblem(TrustFailure.WeakSignature, $"{name} is signed with {Oids.SignatureName(signature)}, a broken hash (SHA-256 or better required)"));
            }
        }
    }

    private (string? Name, PeerRole? Role) MatchClient(string who, CertificateFacts facts, List<TrustProblem> problems)
    {
        var allow = Options.AllowList;
        if (allow.AllowsAny)
        {
            return (facts.PeerNames[0], PeerRole.Drive);
        }

        if (allow.Match(facts.PeerNames) is { } entry)
        {
            return (entry.Name, entry.Role);
        }

        var names = string.Join("', '", facts.PeerNames);
        var source = facts.HasSubjectAltName ? "subjectAltName DNS" : "common name";
        problems.Add(new TrustProblem(TrustFailure.NameNotAllowed, $"{who}: client name '{names}' ({source}) is not on the allow-list"));
        return (null, null);
    }

    private static string? MatchServer(string who, CertificateFacts facts, string? expectedName, List<TrustProblem> problems)
    {
        if (expectedName is null)
        {
            return facts.PeerNames[0];
        }

        var wanted = expectedName.Trim();
        if (IPAddress.TryParse(wanted, out var ip))
        {
            if (facts.IpAddresses.Any(a => a.Equals(ip)))
            {
                return wanted;
            }
        }

        if (facts.PeerNames.Any(n => string.Equals(n, wanted, StringComparison.OrdinalIgnoreCase)))
        {
            return wanted;
        }

        problems.Add(new TrustProblem(TrustFailure.NameMismatch, $"{who}: the server's certificate is for '{string.Join("', '", facts.PeerNames)}', not '{wanted}'"));
        return null;
    }

    private static string EkuName(string oid) => oid switch
    {
        Oids.ServerAuth => "serverAuth",
        Oids.ClientAuth => "clientAuth",
        _ => oid,
    };

    internal static string ReasonName(X509RevocationReason reason)
    {
        var text = reason.ToString();
        return char.ToLowerInvariant(text[0]) + text[1..];
    }

    internal static string Span(TimeSpan span)
    {
        span = span.Duration();
        return span.TotalDays >= 2 ? $"{(int)span.TotalDays} days"
            : span.TotalHours >= 2 ? $"{(int)span.TotalHours} hours"
            : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes} minutes"
            : $"{Math.Max(1, (int)span.TotalSeconds).ToString(CultureInfo.InvariantCulture)} seconds";
    }
}

/// <summary>Which side of a TLS connection a certificate belongs to.</summary>
public enum PeerKind
{
    Client,
    Server,
}
