using System.Formats.Asn1;
using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>What to put in a new device certificate.</summary>
public sealed record IssueRequest
{
    public required CertificateRole Role { get; init; }

    /// <summary>The device's name: the CN, and the first subjectAltName entry.</summary>
    public required string Name { get; init; }

    public IReadOnlyList<string> DnsNames { get; init; } = [];

    public IReadOnlyList<IPAddress> IpAddresses { get; init; } = [];

    public int Days { get; init; } = CertificateAuthority.DefaultDeviceDays;

    public KeySpec Key { get; init; } = KeySpec.EcdsaP256;

    /// <summary>The team it is for (recorded in the ledger, for `alex pki list --team` and `revoke --team`), or null.</summary>
    public string? Team { get; init; }
}

/// <summary>One certificate to issue and where its key and certificate go.</summary>
public sealed record IssueOrder(IssueRequest Request, string KeyPath, string CertificatePath, string? KeyPassphrase = null);

/// <summary>What <see cref="CertificateAuthority.RebuildLedger"/> did: certificates found in the folder, the new CRL, where the old ledger was kept.</summary>
public sealed record LedgerRebuild(int CertificatesFound, CertificateRevocationList Crl, string? OldLedgerKeptAs);

/// <summary>A certificate just issued, with where it went and anything the user should know.</summary>
public sealed record IssuedCertificate(X509Certificate2 Certificate, LedgerEntry Entry, string CertificatePath, string? KeyPath, IReadOnlyList<string> Notes);

/// <summary>
/// The CA kept in one directory, with the course's file names:
/// <c>signing.key</c> (the CA's private key, 0600), <c>signing.pem</c> (its self-signed certificate, the
/// file both ends trust), <c>crl.pem</c> (the revocation list) and <c>issued.json</c> (the ledger).
/// Device certificates: ECDSA P-256 unless asked, SHA-256, a random 127-bit serial, backdated a few
/// minutes, CN and SAN = the device name, EKU serverAuth (robots) or clientAuth (every other role), key usage digitalSignature,
/// basicConstraints CA:FALSE, subject and authority key ids.
/// </summary>
public sealed class CertificateAuthority
{
    public const string KeyFileName = "signing.key";
    public const string CertificateFileName = "signing.pem";
    public const string CrlFileName = "crl.pem";

    /// <summary>
    /// Device certificates last a year: a whole semester plus resits with room to spare, yet a lost
    /// laptop's key stops working on its own within the year (and under the 398 days browsers allow).
    /// </summary>
    public const int DefaultDeviceDays = 365;

    /// <summary>The CA lasts five years, so it outlives every device certificate it signs for several cohorts.</summary>
    public const int DefaultAuthorityDays = 1825;

    /// <summary>A CRL is good for 90 days: longer than any break between `revoke`s, short enough to notice a forgotten CA.</summary>
    public const int DefaultCrlDays = 90;

    /// <summary>
    /// Certificates and CRLs start this long before "now": a Raspberry Pi has no clock battery and may
    /// run a few minutes behind the laptop that issued them.
    /// </summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    private readonly Func<string?> _passphrase;
    private readonly TimeProvider _time;
    private AsymmetricAlgorithm? _key;

    private CertificateAuthority(string dir, X509Certificate2 certificate, Func<string?> passphrase, TimeProvider time)
    {
        Directory = dir;
        Certificate = certificate;
        _passphrase = passphrase;
        _time = time;
    }

    public string Directory { get; }

    public X509Certificate2 Certificate { get; }

    public string KeyPath => Path.Combine(Directory, KeyFileName);

    public string CertificatePath => Path.Combine(Directory, CertificateFileName);

    public string CrlPath => Path.Combine(Directory, CrlFileName);

    /// <summary>
    /// Makes a new CA in <paramref name="dir"/>: key, self-signed certificate (CA:TRUE critical, pathlen 0,
    /// keyCertSign + cRLSign, subject key id), an empty CRL and an empty ledger. Refuses to replace an
    /// existing CA unless <paramref name="force"/>.
    /// </summary>
    public static CertificateAuthority Create(string dir, string name, KeySpec keySpec, int days, string? passphrase, bool force, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var time = timeProvider ?? TimeProvider.System;
        CheckName(name);
        CheckDays(days);
        var keyPath = Path.Combine(dir, KeyFileName);
        var certPath = Path.Combine(dir, CertificateFileName);
        if (!force)
        {
            foreach (var path in new[] { keyPath, certPath })
            {
                if (File.Exists(path))
                {
                    throw new PkiException($"{path}: a CA already exists here; not overwriting it", hint: "pass --force to replace it (every certificate it issued stops working)");
                }
            }
        }

        var key = keySpec.Create();
        var now = time.GetUtcNow();
        var subject = Subject(name);
        var request = NewRequest(subject, key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        using var certificate = request.Create(subject, KeySpec.SignerFor(key), now - Backdate, now.AddDays(days), NewSerial());

        PkiFile.CreateDirectory(dir);
        using var caLock = CaLock.Acquire(dir);
        PrivateKeyFile.Save(keyPath, key, passphrase, overwrite: force);
        PkiFile.WriteAtomic(certPath, CertificateFile.ToPem(certificate), secret: false, overwrite: true);

        var ca = new CertificateAuthority(dir, X509CertificateLoader.LoadCertificate(certificate.RawData), () => passphrase, time) { _key = key };
        var entry = EntryFor(certificate, name, CertificateRole.Authority, certPath, team: null);
        ca.Publish(new LedgerDocument { Certificates = [entry] }, DefaultCrlDays);
        return ca;
    }

    /// <summary>
    /// Opens the CA in <paramref name="dir"/>. The private key is read only when something is signed;
    /// <paramref name="passphrase"/> is asked then, and only if the key is encrypted.
    /// </summary>
    public static CertificateAuthority Open(string dir, Func<string?>? passphrase = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var certPath = Path.Combine(dir, CertificateFileName);
        if (!File.Exists(certPath) && !System.IO.Directory.Exists(dir))
        {
            throw new PkiException($"{dir}: no such CA directory", hint: $"make a CA first: alex pki init --dir {dir}");
        }

        if (!File.Exists(certPath))
        {
            throw new PkiException($"{certPath}: no CA certificate here", hint: $"make a CA first: alex pki init --dir {dir}");
        }

        return new CertificateAuthority(dir, CertificateFile.Load(certPath), passphrase ?? (() => null), timeProvider ?? TimeProvider.System);
    }

    /// <summary>True when the CA's key file is passphrase-encrypted.</summary>
    public bool KeyIsEncrypted => File.Exists(KeyPath) && PrivateKeyFile.IsEncrypted(KeyPath);

    /// <summary>
    /// Makes a key and a certificate for a device and writes them to <paramref name="keyPath"/> (0600) and
    /// <paramref name="certificatePath"/>. A transaction under the CA's lock: the ledger records the
    /// certificate before either file exists, and a failure removes what was written and the record.
    /// </summary>
    public IssuedCertificate Issue(IssueRequest request, string keyPath, string certificatePath, string? keyPassphrase, bool force) =>
        IssueAll([new IssueOrder(request, keyPath, certificatePath, keyPassphrase)], force)[0];

    /// <summary>Issues several certificates in one transaction: one ledger write, then the files; all or nothing.</summary>
    public IReadOnlyList<IssuedCertificate> IssueAll(IReadOnlyList<IssueOrder> orders, bool force)
    {
        ArgumentNullException.ThrowIfNull(orders);
        foreach (var order in orders)
        {
            CheckName(order.Request.Name);
            CheckDays(order.Request.Days);
        }

        using var caLock = CaLock.Acquire(Directory);
        var ledger = CertificateLedger.Read(Directory);
        if (!force)
        {
            foreach (var order in orders)
            {
                RefuseExisting(order.KeyPath, "key");
                RefuseExisting(order.CertificatePath, "certificate");
            }
        }

        var signer = SigningKey();
        var made = new List<(IssueOrder Order, AsymmetricAlgorithm Key, IssuedCertificate Issued)>();
        try
        {
            foreach (var order in orders)
            {
                var request = order.Request;
                var key = request.Key.Create();
                var publicKey = NewRequest(Subject(request.Name), key).PublicKey;
                var notes = new List<string>();
                var certificate = SignDevice(signer, publicKey, request.Role, request.Name, request.DnsNames, request.IpAddresses, request.Days, notes);
                var entry = EntryFor(certificate, request.Name, request.Role, order.CertificatePath, request.Team);
                made.Add((order, key, new IssuedCertificate(certificate, entry, order.CertificatePath, order.KeyPath, notes)));
            }

            Commit(ledger, made.Select(m => m.Issued.Entry).ToList(), written =>
            {
                foreach (var (order, key, issued) in made)
                {
                    written.Add(order.KeyPath);
                    PrivateKeyFile.Save(order.KeyPath, key, order.KeyPassphrase, overwrite: force);
                    written.Add(order.CertificatePath);
                    PkiFile.WriteAtomic(order.CertificatePath, CertificateFile.ToPem(issued.Certificate), secret: false, overwrite: force);
                }
            });
            return made.Select(m => m.Issued).ToList();
        }
        finally
        {
            foreach (var m in made)
            {
                m.Key.Dispose();
            }
        }
    }

    /// <summary>
    /// Signs a certificate signing request (PKCS#10) after checking its signature, so the device's
    /// private key never leaves it. A request that asks to be a CA is refused; other requested
    /// extensions are ignored and replaced by ours (the CA decides what a certificate is for).
    /// </summary>
    public IssuedCertificate SignRequest(string csrPath, CertificateRole role, int days, string certificatePath, bool force)
    {
        CheckDays(days);
        var request = CertificateSigningRequest.Load(csrPath);
        var requestedCa = request.CertificateExtensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority)
            || request.CertificateExtensions.OfType<X509KeyUsageExtension>().Any(k => (k.KeyUsages & (X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign)) != 0);
        if (requestedCa)
        {
            throw new PkiException($"{csrPath}: the request asks to be a CA (basicConstraints CA:TRUE or keyCertSign); refusing to sign it", hint: "a device needs a device certificate: make the CSR without CA extensions");
        }

        var names = DistinguishedNames.CommonNames(request.SubjectName);
        if (names.Count != 1)
        {
            throw new PkiException($"{csrPath}: the request's subject has {names.Count} common names; exactly one is required", hint: "make the CSR with -subj \"/CN=NAME\"");
        }

        var name = names[0];
        try
        {
            CheckName(name);
        }
        catch (PkiException e)
        {
            throw new PkiException($"{csrPath}: {e.Message}", e.Hint, e);
        }

        CheckRequestKey(csrPath, request.PublicKey);

        var notes = new List<string>();
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        foreach (var san in request.CertificateExtensions.Where(e => e.Oid?.Value == Oids.SubjectAltName))
        {
            CertificateFacts.ReadSubjectAltName(san.RawData, dns, ips);
        }

        if (role != CertificateRole.Server)
        {
            // A client's names decide what it may do on a robot (the allow-list): it gets its CN and nothing else.
            var dropped = dns.Where(d => !string.Equals(d, name, StringComparison.OrdinalIgnoreCase)).Concat(ips.Select(i => i.ToString())).ToList();
            if (dropped.Count > 0)
            {
                notes.Add($"ignored the extra names the request asked for ({string.Join(", ", dropped)}): a client certificate carries only its CN");
            }

            dns.Clear();
            ips.Clear();
        }

        using var caLock = CaLock.Acquire(Directory);
        var ledger = CertificateLedger.Read(Directory);
        if (!force)
        {
            RefuseExisting(certificatePath, "certificate");
        }

        var certificate = SignDevice(SigningKey(), request.PublicKey, role, name, dns, ips, days, notes);
        var entry = EntryFor(certificate, name, role, certificatePath, team: null);
        Commit(ledger, [entry], written =>
        {
            written.Add(certificatePath);
            PkiFile.WriteAtomic(certificatePath, CertificateFile.ToPem(certificate), secret: false, overwrite: force);
        });
        return new IssuedCertificate(certificate, entry, certificatePath, null, notes);
    }

    /// <summary>Marks a certificate revoked in the ledger and writes a new CRL. Returns the ledger entry.</summary>
    public LedgerEntry Revoke(string serialHex, X509RevocationReason reason, int crlDays = DefaultCrlDays) =>
        RevokeAll([serialHex], reason, crlDays)[0];

    /// <summary>Marks certificates revoked in the ledger and writes one new CRL that lists them all. Returns their ledger entries.</summary>
    /// <remarks>
    /// A certificate file this CA signed but the ledger lacks (issued before a restore, or by a copy of
    /// the CA) can be given in <paramref name="files"/>: it is recorded, then revoked.
    /// </remarks>
    public IReadOnlyList<LedgerEntry> RevokeAll(IReadOnlyList<string> serials, X509RevocationReason reason, int crlDays = DefaultCrlDays, IReadOnlyList<(string Path, X509Certificate2 Certificate)>? files = null)
    {
        ArgumentNullException.ThrowIfNull(serials);
        CheckDays(crlDays);
        var now = _time.GetUtcNow();
        using var caLock = CaLock.Acquire(Directory);
        var ledger = CertificateLedger.Read(Directory);
        SigningKey();
        var certificates = new List<LedgerEntry>(ledger.Certificates);
        foreach (var (path, certificate) in files ?? [])
        {
            var serial = CertificateRevocationList.NormalizeSerial(certificate.SerialNumber);
            if (CertificateSignature.IsSignedBy(certificate, Certificate) && !certificates.Exists(c => CertificateRevocationList.NormalizeSerial(c.Serial) == serial))
            {
                certificates.Add(EntryForFound(path, certificate));
            }
        }

        var result = new List<LedgerEntry>();
        foreach (var serialHex in serials)
        {
            var serial = CertificateRevocationList.NormalizeSerial(serialHex);
            var index = certificates.FindIndex(c => CertificateRevocationList.NormalizeSerial(c.Serial) == serial);
            if (index < 0)
            {
                throw new PkiException($"serial {serial} was not issued by the CA in {Directory}", hint: $"see the serials with: alex pki list --dir {Directory}");
            }

            var found = certificates[index];
            if (found.Role == CertificateRole.Authority)
            {
                throw new PkiException($"serial {serial} is the CA's own certificate; a CA cannot revoke itself", hint: $"to retire the CA, make a new one with alex pki init --force --dir {Directory}");
            }

            if (!found.IsRevoked)
            {
                found = found with { RevokedAt = now, RevocationReason = reason };
                certificates[index] = found;
            }

            result.Add(found);
        }

        Publish(ledger with { Certificates = certificates }, crlDays);
        return result;
    }

    /// <summary>
    /// Writes crl.pem afresh, valid for <paramref name="days"/>: every revocation the ledger or the CRL
    /// now published knows, with a number above both (<see cref="NextCrl"/>).
    /// </summary>
    public CertificateRevocationList WriteCrl(int days = DefaultCrlDays)
    {
        CheckDays(days);
        using var caLock = CaLock.Acquire(Directory);
        var ledger = CertificateLedger.Read(Directory);
        return Publish(ledger, days);
    }

    /// <summary>
    /// Recovery for a missing or damaged ledger: a new one from the CRL now published (its number and
    /// revocations; it must be signed by this CA) and the certificates this CA signed that lie in its
    /// folder, then a new CRL. The old ledger, if any, is kept beside as issued.json.damaged-TIME.
    /// </summary>
    public LedgerRebuild RebuildLedger(int days = DefaultCrlDays)
    {
        CheckDays(days);
        using var caLock = CaLock.Acquire(Directory);
        SigningKey();
        if (!File.Exists(CrlPath))
        {
            throw new PkiException($"{CrlPath}: no CRL to rebuild the ledger from", hint: $"restore {CertificateLedger.FileName} or {CrlFileName} from a backup into {Directory}");
        }

        var published = CertificateRevocationList.Load(CrlPath);
        if (!published.IsSignedBy(Certificate))
        {
            throw new PkiException($"{CrlPath}: not signed by this CA; refusing to rebuild the ledger from it", hint: $"restore {CertificateLedger.FileName} or {CrlFileName} from a backup into {Directory}");
        }

        var certificates = new List<LedgerEntry> { EntryFor(Certificate, DistinguishedNames.CommonNames(Certificate.SubjectName) is { Count: > 0 } cn ? cn[0] : Certificate.Subject, CertificateRole.Authority, CertificatePath, team: null) };
        var found = 0;
        foreach (var (path, certificate) in CaFolder.CertificatesSignedBy(Directory, Certificate))
        {
            using (certificate)
            {
                if (certificates.Any(c => CertificateRevocationList.NormalizeSerial(c.Serial) == CertificateRevocationList.NormalizeSerial(certificate.SerialNumber)))
                {
                    continue;
                }

                var revoked = published.Find(certificate.SerialNumber);
                certificates.Add(EntryForFound(path, certificate) with
                {
                    RevokedAt = revoked?.RevocationDate,
                    RevocationReason = revoked?.Reason,
                });
                found++;
            }
        }

        var ledgerPath = Path.Combine(Directory, CertificateLedger.FileName);
        string? keptAs = null;
        if (File.Exists(ledgerPath))
        {
            keptAs = $"{ledgerPath}.damaged-{_time.GetUtcNow():yyyyMMddTHHmmssZ}";
            File.Move(ledgerPath, keptAs, overwrite: true);
        }

        var rebuilt = new LedgerDocument { LastCrlNumber = (long)BigInteger.Min(published.CrlNumber ?? 0, long.MaxValue - 1), Certificates = certificates };
        var crl = Publish(rebuilt, days);
        return new LedgerRebuild(found, crl, keptAs);
    }

    /// <summary>Finds the serial of a certificate file, for `revoke FILE`.</summary>
    public static string SerialOf(string certificatePath)
    {
        using var certificate = CertificateFile.Load(certificatePath);
        return certificate.SerialNumber;
    }

    /// <summary>The ledger entries (every certificate this CA issued).</summary>
    public IReadOnlyList<LedgerEntry> Issued() => CertificateLedger.Read(Directory).Certificates;

    internal static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new PkiException("the name is empty", hint: "give a name such as alex.epp.com or laptop");
        }

        if (name.Length > 64)
        {
            throw new PkiException($"the name '{name[..20]}...' is {name.Length} characters; at most 64 fit a common name");
        }

        if (name.Any(c => c < 0x20 || c > 0x7E) || name != name.Trim())
        {
            throw new PkiException($"the name '{name}' must be printable ASCII without leading or trailing spaces", hint: "use letters, digits, dots, dashes (spaces are allowed inside)");
        }
    }

    private static void CheckDays(int days)
    {
        if (days is < 1 or > 36500)
        {
            throw new PkiException($"--days {days} is out of range (1 to 36500)");
        }
    }

    private static void RefuseExisting(string path, string what)
    {
        if (File.Exists(path))
        {
            throw new PkiException($"{path}: the {what} file already exists; not overwriting it", hint: "pass --force to replace it, or choose another name with --out");
        }
    }

    private static void CheckRequestKey(string csrPath, PublicKey key)
    {
        using var rsa = key.GetRSAPublicKey();
        if (rsa is not null)
        {
            if (rsa.KeySize < 2048)
            {
                throw new PkiException($"{csrPath}: the request's RSA key has {rsa.KeySize} bits; at least 2048 are required", hint: "make the key with: openssl genrsa 2048 (or use ECDSA P-256)");
            }

            return;
        }

        using var ecdsa = key.GetECDsaPublicKey();
        if (ecdsa is null)
        {
            throw new PkiException($"{csrPath}: the request's key is neither RSA nor ECDSA");
        }

        if (ecdsa.KeySize < 256)
        {
            throw new PkiException($"{csrPath}: the request's EC key has {ecdsa.KeySize} bits; P-256 or stronger is required");
        }
    }

    private static X500DistinguishedName Subject(string name)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(name);
        return builder.Build();
    }

    private static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        ECDsa ecdsa => new CertificateRequest(subject, ecdsa, HashAlgorithmName.SHA256),
        _ => throw new PkiException("unsupported key type"),
    };

    /// <summary>A random positive serial of 16 bytes (RFC 5280 §4.1.2.2: at most 20 octets; CA/B Forum: 64+ random bits).</summary>
    internal static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x40); // positive, and no leading zero byte to trim
        return serial;
    }

    private static string PadHex(string hex) => hex.Length % 2 == 0 ? hex : "0" + hex;

    /// <summary>subjectAltName with dNSName as a raw IA5String, so names like "Alex Laptop" are kept exactly (RFC 5280 §4.2.1.6).</summary>
    internal static X509Extension SubjectAltName(IEnumerable<string> dnsNames, IEnumerable<IPAddress> ips)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var dns in dnsNames)
            {
                writer.WriteCharacterString(UniversalTagNumber.IA5String, dns, new Asn1Tag(TagClass.ContextSpecific, 2));
            }

            foreach (var ip in ips)
            {
                writer.WriteOctetString(ip.GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
            }
        }

        return new X509Extension(Oids.SubjectAltName, writer.Encode(), critical: false);
    }

    private X509Certificate2 SignDevice(AsymmetricAlgorithm signer, PublicKey publicKey, CertificateRole role, string name, IEnumerable<string> dnsNames, IEnumerable<IPAddress> ips, int days, List<string> notes)
    {
        var now = _time.GetUtcNow();
        var notBefore = now - Backdate;
        var notAfter = now.AddDays(days);
        var caNotAfter = new DateTimeOffset(Certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter > caNotAfter)
        {
            notAfter = caNotAfter;
            notes.Add($"the certificate ends with the CA on {caNotAfter:yyyy-MM-dd}, sooner than the {days} days asked for");
        }

        var subject = Subject(name);
        var request = new CertificateRequest(subject, publicKey, HashAlgorithmName.SHA256, publicKey.GetRSAPublicKey() is null ? null : RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));

        // RSA keys also get keyEncipherment for TLS 1.2 peers that still use RSA key transport.
        var usage = X509KeyUsageFlags.DigitalSignature;
        if (publicKey.Oid.Value == Oids.RsaEncryption)
        {
            usage |= X509KeyUsageFlags.KeyEncipherment;
        }

        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        var eku = role == CertificateRole.Server ? Oids.ServerAuth : Oids.ClientAuth;
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(eku)], critical: false));

        var allDns = new List<string>();
        var allIps = new List<IPAddress>();
        if (IPAddress.TryParse(name, out var nameIp))
        {
            allIps.Add(nameIp);
        }
        else
        {
            allDns.Add(name);
        }

        foreach (var dns in dnsNames)
        {
            CheckName(dns);
            if (!allDns.Contains(dns, StringComparer.OrdinalIgnoreCase))
            {
                allDns.Add(dns);
            }
        }

        foreach (var ip in ips)
        {
            if (!allIps.Contains(ip))
            {
                allIps.Add(ip);
            }
        }

        request.CertificateExtensions.Add(SubjectAltName(allDns, allIps));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return request.Create(Certificate.SubjectName, KeySpec.SignerFor(signer), notBefore, notAfter, NewSerial());
    }

    /// <summary>
    /// The issuing transaction: the ledger records <paramref name="entries"/> first, then
    /// <paramref name="writeFiles"/> runs (adding each path before it writes it); if that fails, the
    /// files written are deleted and the ledger is put back, so nothing unrecorded and nothing half-made stays.
    /// </summary>
    private void Commit(LedgerDocument ledger, IReadOnlyList<LedgerEntry> entries, Action<List<string>> writeFiles)
    {
        CertificateLedger.Write(Directory, ledger with { Certificates = [.. ledger.Certificates, .. entries] });
        var written = new List<string>();
        try
        {
            writeFiles(written);
        }
        catch (PkiException)
        {
            foreach (var path in written)
            {
                PkiFile.TryDelete(path);
            }

            CertificateLedger.Write(Directory, ledger);
            throw;
        }
    }

    /// <summary>Signs the CRL that <see cref="NextCrl"/> decides, records it in the ledger, then publishes crl.pem. The caller holds the lock.</summary>
    private CertificateRevocationList Publish(LedgerDocument ledger, int days)
    {
        var key = SigningKey();
        BigInteger publishedNumber = 0;
        IReadOnlyList<RevokedCertificate> publishedRevoked = [];
        if (PublishedCrl() is { } published)
        {
            publishedNumber = published.CrlNumber ?? 0;
            publishedRevoked = published.Revoked;
        }

        var contents = NextCrl.Decide(ledger, publishedNumber, publishedRevoked);
        var now = _time.GetUtcNow();
        var builder = new CertificateRevocationListBuilder();
        foreach (var revoked in contents.Revoked)
        {
            builder.AddEntry(Convert.FromHexString(PadHex(revoked.SerialHex)), revoked.RevocationDate, revoked.Reason);
        }

        using var signer = KeySpec.WithKey(Certificate, key);
        var padding = key is RSA ? RSASignaturePadding.Pkcs1 : null;
        var der = builder.Build(signer, new BigInteger(contents.Number), now.AddDays(days), HashAlgorithmName.SHA256, padding, now - Backdate);

        // The ledger first: if the CRL write fails, the number is still used up and the next CRL is above it.
        CertificateLedger.Write(Directory, NextCrl.Record(ledger, contents));
        PkiFile.WriteAtomic(CrlPath, PemFile.Write("X509 CRL", der), secret: false, overwrite: true);
        return CertificateRevocationList.Parse(der);
    }

    /// <summary>The CRL now in crl.pem, when it is readable and signed by this CA; otherwise null (the ledger alone then decides).</summary>
    private CertificateRevocationList? PublishedCrl()
    {
        if (!File.Exists(CrlPath))
        {
            return null;
        }

        try
        {
            var crl = CertificateRevocationList.Load(CrlPath);
            return crl.IsSignedBy(Certificate) ? crl : null;
        }
        catch (PkiException)
        {
            return null;
        }
    }

    /// <summary>A ledger entry for a certificate found on disk: its first name, and server when it is for serverAuth.</summary>
    private static LedgerEntry EntryForFound(string path, X509Certificate2 certificate)
    {
        var facts = CertificateFacts.From(certificate);
        var role = facts.ExtendedKeyUsages is { } eku && eku.Contains(Oids.ServerAuth) ? CertificateRole.Server : CertificateRole.Client;
        return EntryFor(certificate, facts.PeerNames is { Count: > 0 } names ? names[0] : certificate.Subject, role, path, team: null);
    }

    private static LedgerEntry EntryFor(X509Certificate2 certificate, string name, CertificateRole role, string path, string? team) => new()
    {
        Team = team,
        Serial = certificate.SerialNumber,
        Name = name,
        Role = role,
        Subject = certificate.Subject,
        NotBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
        NotAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
        Sha256Fingerprint = CertificateFacts.Fingerprint(certificate.RawData),
        File = path,
    };

    private AsymmetricAlgorithm SigningKey()
    {
        if (_key is not null)
        {
            return _key;
        }

        var passphrase = PrivateKeyFile.IsEncrypted(KeyPath) ? _passphrase() : null;
        var key = PrivateKeyFile.Load(KeyPath, passphrase);
        if (!PrivateKeyFile.Matches(Certificate, key))
        {
            key.Dispose();
            throw new PkiException($"{KeyPath}: this key does not belong to the CA certificate {CertificatePath}", hint: "restore the matching signing.key, or make a new CA with alex pki init --force");
        }

        _key = key;
        return key;
    }
}
