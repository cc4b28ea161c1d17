// The certificate half of `alex doctor`: everything about one machine's files that
// would make a connection fail, found before the user connects, each with a one-line fix.
// The course's file names (docs/course-protocol.md §5): the robot has alex.crt, alex.key, signing.pem (and our
// crl.pem); the laptop has laptop.crt, laptop.key, signing.pem.
//
// Checks, in the order a user fixes them: the CA file, the certificate file, the key (permissions,
// belongs to the certificate), validity against this machine's clock (a Pi has no clock battery, so
// "not yet valid" usually means the clock is wrong: we say what the clock reads), usage (a server
// certificate used as a client's and vice versa), signed by the signing.pem beside it, the CRL beside
// it (revoked, stale, forged), the robot's name against the host, and finally whatever else the
// server's own TrustPolicy would refuse (weak keys, weak signatures, ambiguous names).
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki.Diagnostics;

/// <summary>Which machine's files are being checked.</summary>
public enum DeviceRole
{
    /// <summary>The laptop: a client certificate (clientAuth).</summary>
    Laptop,

    /// <summary>The robot's Pi: a server certificate (serverAuth).</summary>
    Robot,
}

/// <summary>The files of one machine: its certificate, its key, the CA it trusts and, optionally, the CRL.</summary>
public sealed record CertificateSet(DeviceRole Role, string CertificatePath, string KeyPath, string CaPath, string? CrlPath)
{
    public const string LaptopCertificate = "laptop.crt";
    public const string LaptopKey = "laptop.key";
    public const string RobotCertificate = "alex.crt";
    public const string RobotKey = "alex.key";

    /// <summary>The course's names in <paramref name="directory"/>: laptop.* or alex.*, signing.pem, crl.pem.</summary>
    public static CertificateSet InDirectory(string directory, DeviceRole role)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var (cert, key) = role == DeviceRole.Laptop ? (LaptopCertificate, LaptopKey) : (RobotCertificate, RobotKey);
        return new CertificateSet(
            role,
            Path.Combine(directory, cert),
            Path.Combine(directory, key),
            Path.Combine(directory, CertificateAuthority.CertificateFileName),
            Path.Combine(directory, CertificateAuthority.CrlFileName));
    }

    /// <summary>Which roles' files are in <paramref name="directory"/> (both in a CA directory made by `alex pki`).</summary>
    public static IReadOnlyList<DeviceRole> RolesIn(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var roles = new List<DeviceRole>();
        if (File.Exists(Path.Combine(directory, LaptopCertificate)) || File.Exists(Path.Combine(directory, LaptopKey)))
        {
            roles.Add(DeviceRole.Laptop);
        }

        if (File.Exists(Path.Combine(directory, RobotCertificate)) || File.Exists(Path.Combine(directory, RobotKey)))
        {
            roles.Add(DeviceRole.Robot);
        }

        return roles;
    }
}

/// <summary>Settings of a certificate check-up.</summary>
public sealed record CertificateCheckupOptions
{
    /// <summary>The host laptops connect to (the robot's certificate must carry it); null: not checked.</summary>
    public string? HostName { get; init; }

    /// <summary>A certificate or CRL ending sooner than this gets a warning.</summary>
    public TimeSpan ExpiringSoon { get; init; } = TimeSpan.FromDays(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>Checks one machine's certificate files; every outcome is a <see cref="Finding"/>, nothing throws for a bad file.</summary>
public static class CertificateCheckup
{
    public static IReadOnlyList<Finding> Check(CertificateSet set, CertificateCheckupOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        options ??= new CertificateCheckupOptions();
        var run = new Run(set, options);
        run.CheckAll();
        return run.Findings;
    }

    /// <summary>"2026-11-27 13:55 UTC".</summary>
    public static string When(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>"3 days", "5 hours", "12 minutes".</summary>
    public static string Span(TimeSpan span) => TrustPolicy.Span(span);

    private sealed class Run(CertificateSet set, CertificateCheckupOptions options)
    {
        private readonly DateTimeOffset _now = options.Time.GetUtcNow();

        public List<Finding> Findings { get; } = [];

        private string CertName => Path.GetFileName(set.CertificatePath);

        private string KeyName => Path.GetFileName(set.KeyPath);

        private string CaName => Path.GetFileName(set.CaPath);

        private string Kind => set.Role == DeviceRole.Laptop ? "client" : "server";

        private string Directory => Path.GetDirectoryName(Path.GetFullPath(set.CertificatePath)) ?? ".";

        /// <summary>Where the CA's key is, if it is in this directory (then fixes can be run here).</summary>
        private string? LocalCaDirectory =>
            File.Exists(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(set.CaPath)) ?? ".", CertificateAuthority.KeyFileName))
                ? Path.GetDirectoryName(set.CaPath) is { Length: > 0 } d ? d : "."
                : null;

        public void CheckAll()
        {
            var ca = LoadCa();
            var certificate = LoadCertificate();
            CheckKey(certificate);
            if (ca is not null)
            {
                CheckValidity(ca, CaName, isCa: true);
            }

            if (certificate is null)
            {
                return;
            }

            var facts = Facts(certificate);
            if (facts is null)
            {
                return;
            }

            CheckValidity(certificate, CertName, isCa: false);
            CheckUsage(facts);
            var signedByCa = ca is not null && CheckIssuer(certificate, ca);
            if (signedByCa)
            {
                CheckRevocation(certificate, ca!);
            }

            CheckName(facts);
            if (ca is not null)
            {
                CheckWhatTheServerWouldRefuse(certificate, ca);
            }
        }

        private X509Certificate2? LoadCa()
        {
            if (!File.Exists(set.CaPath))
            {
                Findings.Add(Finding.Problem(CaName, $"{set.CaPath}: no such file (the CA certificate both machines trust)",
                    $"copy signing.pem from the CA directory (made by `alex pki init`) to {DirectoryOf(set.CaPath)}"));
                return null;
            }

            X509Certificate2 ca;
            try
            {
                ca = CertificateFile.Load(set.CaPath);
            }
            catch (PkiException e)
            {
                Findings.Add(Finding.Problem(CaName, e.Message, e.Hint ?? "copy signing.pem again from the CA directory"));
                return null;
            }

            var facts = Facts(ca, CaName);
            if (facts is null)
            {
                return null;
            }

            if (facts.IsCertificateAuthority != true || (facts.KeyUsage is { } ku && !ku.HasFlag(X509KeyUsageFlags.KeyCertSign)))
            {
                if (facts.Version == 1 && facts.IsSelfIssued)
                {
                    // The course's own CA is an X.509 v1 self-signed certificate (docs/course-protocol.md §5).
                    Findings.Add(Finding.Warning(CaName, $"{CaName} ('{ca.Subject}') is a course-style X.509 v1 CA without extensions", "make a new CA with `alex pki init` when you can; our server accepts course certificates only with `alex serve --legacy-certs`"));
                    return ca;
                }

                Findings.Add(Finding.Problem(CaName, $"{CaName} ('{ca.Subject}') is not a CA certificate (basicConstraints CA:FALSE or no keyCertSign): is it a device certificate?",
                    "signing.pem must be the CA's certificate: copy it from the CA directory"));
                return null;
            }

            Findings.Add(Finding.Ok(CaName, $"CA '{ca.Subject}', {facts.KeyAlgorithm}, until {facts.NotAfter:yyyy-MM-dd}"));
            return ca;
        }

        private X509Certificate2? LoadCertificate()
        {
            if (!File.Exists(set.CertificatePath))
            {
                Findings.Add(Finding.Problem(CertName, $"{set.CertificatePath}: no such file (this {Describe()}'s certificate)", IssueFix(null)));
                return null;
            }

            try
            {
                return CertificateFile.Load(set.CertificatePath);
            }
            catch (PkiException e)
            {
                Findings.Add(Finding.Problem(CertName, e.Message, e.Hint ?? IssueFix(null)));
                return null;
            }
        }

        private CertificateFacts? Facts(X509Certificate2 certificate, string? name = null)
        {
            try
            {
                return CertificateFacts.From(certificate);
            }
            catch (PkiException e)
            {
                Findings.Add(Finding.Problem(name ?? CertName, e.Message, IssueFix(null)));
                return null;
            }
        }

        private void CheckKey(X509Certificate2? certificate)
        {
            if (!File.Exists(set.KeyPath))
            {
                Findings.Add(Finding.Problem(KeyName, $"{set.KeyPath}: no such file (the private key of {CertName})",
                    $"copy {KeyName} from where {CertName} was made (it never leaves that machine in the CSR flow), or issue both again: {IssueCommand(certificate)}"));
                return;
            }

            var mode = OperatingSystem.IsWindows() ? (UnixFileMode?)null : File.GetUnixFileMode(set.KeyPath);
            if (mode is { } m && (m & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                var who = (m & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0 ? "every user on this machine" : "its group";
                Findings.Add(Finding.Problem(KeyName, $"{set.KeyPath} is readable by {who} (mode {Octal(m)}): anyone who copies it can pose as this {Describe()}",
                    $"chmod 600 {Quote(set.KeyPath)}"));
            }

            AsymmetricAlgorithm key;
            try
            {
                if (PrivateKeyFile.IsEncrypted(set.KeyPath))
                {
                    Findings.Add(Finding.Warning(KeyName, $"{KeyName} is encrypted with a passphrase: not checked against {CertName} (the server or client will ask for the passphrase)"));
                    return;
                }

                key = PrivateKeyFile.Load(set.KeyPath);
            }
            catch (PkiException e)
            {
                Findings.Add(Finding.Problem(KeyName, e.Message, e.Hint ?? $"issue the key and certificate again: {IssueCommand(certificate)}"));
                return;
            }

            using (key)
            {
                if (certificate is null)
                {
                    return;
                }

                if (!PrivateKeyFile.Matches(certificate, key))
                {
                    Findings.Add(Finding.Problem(KeyName, $"{KeyName} does not belong to {CertName} (their public keys differ): the TLS handshake would fail",
                        $"use the {KeyName} made together with {CertName}, or issue both again: {IssueCommand(certificate)}"));
                    return;
                }

                var permissions = mode is { } ok && (ok & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) == 0 ? $", owner-only ({Octal(ok)})" : string.Empty;
                Findings.Add(Finding.Ok(KeyName, $"{KeyName} belongs to {CertName}{permissions}"));
            }
        }

        private void CheckValidity(X509Certificate2 certificate, string name, bool isCa)
        {
            var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
            var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            var what = isCa ? $"the CA certificate {name}" : name;
            if (_now < notBefore)
            {
                Findings.Add(Finding.Problem(name,
                    $"{what} is not valid yet: this machine's clock is {When(_now)}, the certificate starts at {When(notBefore)} ({Span(notBefore - _now)} later). A Pi has no clock battery: is the clock wrong?",
                    "set the clock: sudo timedatectl set-ntp true (needs the network), or sudo date -u -s 'YYYY-MM-DD HH:MM' with the real time"));
            }
            else if (_now > notAfter)
            {
                var fix = isCa
                    ? "make a new CA (alex pki init --force) and issue every certificate again; or, if this machine's clock is wrong, set it (sudo timedatectl set-ntp true)"
                    : $"issue a new certificate: {IssueCommand(certificate)} (or, if this machine's clock is wrong, set it: sudo timedatectl set-ntp true)";
                Findings.Add(Finding.Problem(name, $"{what} expired on {When(notAfter)} ({Span(_now - notAfter)} ago; this machine's clock is {When(_now)})", fix));
            }
            else if (notAfter - _now < options.ExpiringSoon)
            {
                var fix = isCa ? "make a new CA before then (alex pki init) and issue every certificate again" : $"issue a new one before then: {IssueCommand(certificate)}";
                Findings.Add(Finding.Warning(name, $"{what} expires in {Span(notAfter - _now)} ({When(notAfter)})", fix));
            }
            else if (!isCa)
            {
                Findings.Add(Finding.Ok(name, $"{name} valid from {notBefore:yyyy-MM-dd} until {notAfter:yyyy-MM-dd} ({Span(notAfter - _now)} left; clock {When(_now)})"));
            }
        }

        private void CheckUsage(CertificateFacts facts)
        {
            var (wanted, wantedName, other, otherName) = set.Role == DeviceRole.Laptop
                ? (Oids.ClientAuth, "clientAuth", Oids.ServerAuth, "server")
                : (Oids.ServerAuth, "serverAuth", Oids.ClientAuth, "client");
            if (facts.IsCertificateAuthority == true)
            {
                Findings.Add(Finding.Problem(CertName, $"{CertName} is a CA certificate ('{facts.Subject}'), not a {Kind} certificate", IssueFix(facts)));
                return;
            }

            if (facts.ExtendedKeyUsages is not { } eku)
            {
                Findings.Add(Finding.Warning(CertName, $"{CertName} has no extended key usage (an X.509 v{facts.Version} course-style certificate): our {(set.Role == DeviceRole.Laptop ? "server accepts it only with alex serve --legacy-certs" : "client accepts it only with --legacy")}", IssueFix(facts)));
                return;
            }

            if (!eku.Contains(wanted))
            {
                var isOther = eku.Contains(other);
                var message = isOther
                    ? $"{CertName} is a {otherName} certificate (extended key usage {(otherName == "server" ? "serverAuth" : "clientAuth")}) used as a {Kind} certificate: the {(set.Role == DeviceRole.Laptop ? "robot" : "laptop")} will refuse it"
                    : $"{CertName} is not for {wantedName} (its extended key usage is {string.Join(", ", eku)})";
                Findings.Add(Finding.Problem(CertName, message, IssueFix(facts)));
                return;
            }

            Findings.Add(Finding.Ok(CertName, $"{CertName} is a {Kind} certificate ({wantedName}) for '{string.Join("', '", facts.PeerNames.Concat(facts.IpAddresses.Select(a => a.ToString())).Distinct(StringComparer.OrdinalIgnoreCase))}'"));
        }

        private bool CheckIssuer(X509Certificate2 certificate, X509Certificate2 ca)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy = Tls.TlsProfiles.CaOnlyPolicy(ca);

            // Dates are judged separately (with the clock in the message); here only "who signed it".
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid | X509VerificationFlags.IgnoreCtlNotTimeValid | X509VerificationFlags.AllowUnknownCertificateAuthority;
            var built = chain.Build(certificate);
            var elements = chain.ChainElements.Select(e => e.Certificate).ToList();
            var status = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            var endsAtCa = elements.Count > 1 && elements[^1].RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span);
            var badSignature = (status & X509ChainStatusFlags.NotSignatureValid) != 0;
            foreach (var element in elements)
            {
                element.Dispose();
            }

            if (built && endsAtCa && !badSignature)
            {
                Findings.Add(Finding.Ok(CertName, $"{CertName} was signed by {CaName} ('{ca.Subject}')"));
                return true;
            }

            var fix = $"the laptop and the robot must use the same CA: copy the {CaName} of the CA that issued {CertName}, or issue {CertName} again from this CA: {IssueCommand(certificate)}";
            var sameName = certificate.IssuerName.RawData.AsSpan().SequenceEqual(ca.SubjectName.RawData);
            var message = sameName
                ? $"{CertName} was not signed by the {CaName} beside it: both name '{ca.Subject}', but the signature does not verify with its key (the CA was made again, e.g. with `alex pki init --force`?)"
                : $"{CertName} was not signed by the {CaName} beside it: it was issued by '{certificate.Issuer}', {CaName} is '{ca.Subject}'";
            Findings.Add(Finding.Problem(CertName, message, fix));
            return false;
        }

        private void CheckRevocation(X509Certificate2 certificate, X509Certificate2 ca)
        {
            var crlName = set.CrlPath is null ? "crl.pem" : Path.GetFileName(set.CrlPath);

            // The robot's server checks every client against the CRL and refuses everyone when it is
            // unusable (fail closed), so a bad CRL there stops all connections; on a laptop it is only
            // informative (the client does not read it).
            var onRobot = set.Role == DeviceRole.Robot;
            if (set.CrlPath is null || !File.Exists(set.CrlPath))
            {
                if (onRobot)
                {
                    Findings.Add(Finding.Warning(crlName, $"no {crlName} beside {CertName}: the server cannot check laptops for revocation", "copy crl.pem from the CA directory (alex pki crl writes a fresh one) and give it to alex serve"));
                }

                return;
            }

            CertificateRevocationList crl;
            try
            {
                crl = CertificateRevocationList.Load(set.CrlPath);
            }
            catch (PkiException e)
            {
                Findings.Add(new Finding(crlName, onRobot ? FindingLevel.Problem : FindingLevel.Warning, e.Message, "write a fresh one on the CA: alex pki crl, then copy crl.pem here"));
                return;
            }

            // Whether the CRL can be used at all is the trust policy's rule, the one the server applies.
            var unusable = TrustPolicy.CheckCrl(crl, [ca], _now);
            var consequence = !onRobot ? string.Empty
                : unusable?.Failure == TrustFailure.CrlStale ? "; the server refuses every laptop until it gets a fresh one"
                : "; the server would refuse every laptop";
            if (unusable is { Failure: TrustFailure.CrlInvalid })
            {
                Findings.Add(new Finding(crlName, onRobot ? FindingLevel.Problem : FindingLevel.Warning,
                    $"{crlName} {unusable.Message}{consequence}",
                    $"copy the crl.pem of the CA in {CaName} (alex pki crl on the CA writes a fresh one)"));
                return;
            }

            if (crl.Find(certificate.SerialNumber) is { } entry)
            {
                var reason = entry.Reason is { } r ? $" (reason {TrustPolicy.ReasonName(r)})" : string.Empty;
                Findings.Add(Finding.Problem(CertName, $"{CertName} (serial {CertificateRevocationList.NormalizeSerial(certificate.SerialNumber)}) was revoked on {When(entry.RevocationDate)}{reason}: the {(onRobot ? "laptops" : "robot")} will refuse it",
                    $"issue a new certificate: {IssueCommand(certificate)}"));
            }
            else
            {
                Findings.Add(Finding.Ok(CertName, $"{CertName} is not revoked ({crlName}, {crl.Revoked.Count} revoked)"));
            }

            if (unusable is { Failure: TrustFailure.CrlNotYetValid })
            {
                Findings.Add(new Finding(crlName, onRobot ? FindingLevel.Problem : FindingLevel.Warning,
                    $"{crlName} {unusable.Message}; this machine's clock is {When(_now)}{consequence}",
                    "set the clock: sudo timedatectl set-ntp true (a Pi has no clock battery)"));
            }
            else if (unusable is { Failure: TrustFailure.CrlStale })
            {
                Findings.Add(new Finding(crlName, onRobot ? FindingLevel.Problem : FindingLevel.Warning,
                    $"{crlName} {unusable.Message}{consequence}",
                    "on the CA: alex pki crl (writes a fresh crl.pem), then copy it to the robot"));
            }
            else if (crl.NextUpdate is { } soon && soon - _now < TimeSpan.FromDays(7))
            {
                Findings.Add(Finding.Warning(crlName, $"{crlName} must be renewed within {Span(soon - _now)} ({When(soon)})", "on the CA: alex pki crl, then copy crl.pem to the robot"));
            }
        }

        private void CheckName(CertificateFacts facts)
        {
            // Only the robot's certificate is matched against a host name: the laptop's name is matched
            // against the server's allow-list, which lives on the robot.
            if (set.Role != DeviceRole.Robot || string.IsNullOrWhiteSpace(options.HostName))
            {
                return;
            }

            var host = options.HostName.Trim();
            var matches = IPAddress.TryParse(host, out var ip)
                ? facts.IpAddresses.Any(a => a.Equals(ip))
                : facts.PeerNames.Any(n => string.Equals(n, host, StringComparison.OrdinalIgnoreCase));
            var names = facts.PeerNames.Concat(facts.IpAddresses.Select(a => a.ToString())).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            if (matches)
            {
                Findings.Add(Finding.Ok(CertName, $"{CertName} carries the name '{host}' laptops connect to"));
                return;
            }

            var first = names.FirstOrDefault() ?? "alex.epp.com";
            var ipOption = ip is not null ? $" --ip {host}" : $" --dns {host}";
            Findings.Add(Finding.Problem(CertName, $"{CertName} is for '{string.Join("', '", names)}', not '{host}': a laptop connecting to {host} will refuse it (name mismatch)",
                $"connect with --name {first}, or issue it again to include '{host}': alex pki issue server {Quote(first)}{ipOption} --force"));
        }

        private void CheckWhatTheServerWouldRefuse(X509Certificate2 certificate, X509Certificate2 ca)
        {
            // Everything else the peer's TrustPolicy refuses; the failures above are already explained.
            TrustPolicy policy;
            try
            {
                policy = new TrustPolicy(ca, new TrustPolicyOptions { AllowList = AllowList.Any, Legacy = true, TimeProvider = options.Time });
            }
            catch (PkiException)
            {
                return; // not a usable CA: reported by LoadCa
            }

            var decision = policy.Evaluate(certificate, null, set.Role == DeviceRole.Laptop ? PeerKind.Client : PeerKind.Server, expectedName: null);
            TrustFailure[] explained =
            [
                TrustFailure.Expired, TrustFailure.NotYetValid, TrustFailure.UnknownCa, TrustFailure.Revoked, TrustFailure.WrongUsage,
                TrustFailure.NameMismatch, TrustFailure.NameNotAllowed, TrustFailure.CrlMissing, TrustFailure.CrlStale, TrustFailure.CrlInvalid, TrustFailure.CrlNotYetValid,
            ];
            foreach (var problem in decision.Problems.Where(p => !explained.Contains(p.Failure)))
            {
                Findings.Add(Finding.Problem(CertName, problem.Message, IssueFix(null)));
            }

            // Legacy mode above lets course keys through (RSA 1024), but this machine's own TLS stack does
            // not: OpenSSL's default security level 2 refuses an RSA key under 2048 bits in every handshake
            // ("ee key too small"), whatever the peer would accept.
            var strictDecision = new TrustPolicy(ca, new TrustPolicyOptions { AllowList = AllowList.Any, TimeProvider = options.Time })
                .Evaluate(certificate, null, set.Role == DeviceRole.Laptop ? PeerKind.Client : PeerKind.Server, expectedName: null);
            foreach (var problem in strictDecision.Problems.Where(p => p.Failure == TrustFailure.WeakKey && !decision.Problems.Any(d => d.Failure == TrustFailure.WeakKey)))
            {
                Findings.Add(Finding.Problem(CertName, $"{problem.Message}: OpenSSL (security level 2) refuses it in every TLS handshake, so the {Describe()} cannot use it", IssueFix(null)));
            }
        }

        private string Describe() => set.Role == DeviceRole.Laptop ? "laptop" : "robot";

        private string IssueFix(CertificateFacts? facts) => $"issue a {Kind} certificate: {IssueCommand(facts is { PeerNames.Count: > 0 } f ? f.PeerNames[0] : null)}";

        /// <summary>The command that issues this certificate again: the same names and addresses, into the same files.</summary>
        private string IssueCommand(X509Certificate2? certificate)
        {
            string? name = null;
            var extra = string.Empty;
            if (certificate is not null)
            {
                try
                {
                    var facts = CertificateFacts.From(certificate);
                    name = facts.PeerNames is { Count: > 0 } names ? names[0] : null;
                    if (set.Role == DeviceRole.Robot)
                    {
                        // A client certificate carries only its name; a server keeps every name and address it had.
                        extra = string.Concat(facts.DnsNames.Where(d => !string.Equals(d, name, StringComparison.OrdinalIgnoreCase)).Select(d => $" --dns {Quote(d)}"))
                            + string.Concat(facts.IpAddresses.Where(a => a.ToString() != name).Select(a => $" --ip {a}"));
                    }
                }
                catch (PkiException)
                {
                    name = null;
                }
            }

            return IssueCommand(name, extra);
        }

        /// <summary>
        /// `alex pki issue` writing into the files being checked (--out when NAME would name them
        /// otherwise, see <see cref="FileStem"/>), so --force replaces this device's own files and nobody else's.
        /// </summary>
        private string IssueCommand(string? name, string extra = "")
        {
            name ??= set.Role == DeviceRole.Laptop ? "laptop" : "alex.epp.com";
            var stem = Path.GetFileNameWithoutExtension(set.CertificatePath);
            var command = $"alex pki issue {Kind} {Quote(name)}{extra}";
            if (LocalCaDirectory is not { } dir)
            {
                var outOption = stem == FileStem.ForName(name) ? string.Empty : $" --out {Quote(stem)}";
                return $"{command}{outOption} --force (on the CA machine, then copy {CertName} and {KeyName} to {Directory})";
            }

            // Into the very files checked: a bare stem lands in the CA folder, a path where it says.
            var certificateFolder = Path.GetDirectoryName(Path.GetFullPath(set.CertificatePath));
            var inCaFolder = string.Equals(certificateFolder, Path.GetFullPath(dir), StringComparison.Ordinal);
            var target = inCaFolder ? stem : Path.Combine(DirectoryOf(set.CertificatePath), stem);
            var option = inCaFolder && stem == FileStem.ForName(name) ? string.Empty : $" --out {Quote(target.Contains('/', StringComparison.Ordinal) ? target : "./" + target)}";
            return $"{command}{option} --force --dir {Quote(dir)}";
        }

        private static string DirectoryOf(string path) => Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";

        private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

        private static string Quote(string text) => text.Contains(' ', StringComparison.Ordinal) ? $"\"{text}\"" : text;
    }
}
