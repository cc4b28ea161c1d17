using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Pki.Tests;

/// <summary>Revocation never goes backwards: not with the ledger lost, damaged or rolled back, not with two runs at once.</summary>
public sealed class RevocationDurabilityTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly AlexCli _cli;

    public RevocationDurabilityTests()
    {
        _cli = new AlexCli(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    private string Ledger => _dir["pki/issued.json"];

    private CertificateRevocationList Crl => CertificateRevocationList.Load(_dir["pki/crl.pem"]);

    [Fact]
    public void Crl_LedgerMissing_RefusedAndTheCrlKeepsItsRevocation()
    {
        _cli.Ok("pki", "init", "--dir", "pki");
        _cli.Ok("pki", "issue", "client", "laptop");
        _cli.Ok("pki", "revoke", "laptop");
        var before = File.ReadAllBytes(_dir["pki/crl.pem"]);
        File.Delete(Ledger);

        var crl = _cli.Refused("pki", "crl");
        Assert.Contains("ledger is missing", crl.Error, StringComparison.Ordinal);
        Assert.Contains("alex pki crl --rebuild-from-crl --dir pki", crl.Error, StringComparison.Ordinal);
        _cli.Refused("pki", "revoke", "laptop");
        Assert.Equal(before, File.ReadAllBytes(_dir["pki/crl.pem"]));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{\"version\":1,\"lastCrlNumber\":3,\"certificates\":[{\"serial\":\"zz\",\"name\":\"x\",\"role\":\"Client\",\"subject\":\"CN=x\",\"notBefore\":\"2026-01-01T00:00:00Z\",\"notAfter\":\"2027-01-01T00:00:00Z\",\"sha256Fingerprint\":\"00\"}]}")]
    public void Issue_LedgerDamaged_RefusedAndNoCredentialLeftBehind(string damage)
    {
        _cli.Ok("pki", "init", "--dir", "pki");
        File.WriteAllText(Ledger, damage);

        var issue = _cli.Refused("pki", "issue", "client", "mallory");
        Assert.Contains("issued.json", issue.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir["pki/mallory.key"]));
        Assert.False(File.Exists(_dir["pki/mallory.crt"]));
        _cli.Refused("pki", "crl");
    }

    [Fact]
    public void RebuildFromCrl_LedgerLost_RevocationsAndNumberKept_OpenSslAgrees()
    {
        _cli.Ok("pki", "init", "--dir", "pki");
        _cli.Ok("pki", "issue", "client", "laptop");
        _cli.Ok("pki", "issue", "client", "mallory");
        _cli.Ok("pki", "revoke", "mallory", "--reason", "keyCompromise");
        var number = Crl.CrlNumber!.Value;
        File.WriteAllText(Ledger, "{ damaged");

        var rebuilt = _cli.Ok("pki", "crl", "--rebuild-from-crl");
        Assert.Contains("2 certificates found", rebuilt.Output, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_dir["pki"], "issued.json.damaged-*"));
        Assert.True(Crl.CrlNumber > number);
        Assert.Single(Crl.Revoked);
        Assert.Contains("error 23", OpenSsl.Run(_dir["pki"], "verify", "-CAfile", "signing.pem", "-crl_check", "-CRLfile", "crl.pem", "mallory.crt").All, StringComparison.Ordinal);

        // The rebuilt ledger works as before: names resolve, the next revocation adds to the list.
        _cli.Ok("pki", "revoke", "laptop");
        Assert.Equal(2, Crl.Revoked.Count);
        _cli.Ok("pki", "check");
    }

    [Fact]
    public void WriteCrl_LedgerRestoredFromAnOldBackup_RevocationCarriedAndNumberAbove()
    {
        var ca = CertificateAuthority.Create(_dir["ca"], "CA", KeySpec.EcdsaP256, 100, null, force: false);
        var old = File.ReadAllBytes(Path.Combine(ca.Directory, CertificateLedger.FileName));
        var laptop = ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, _dir["laptop.key"], _dir["laptop.crt"], null, force: false);
        ca.Revoke(laptop.Certificate.SerialNumber, X509RevocationReason.KeyCompromise);
        ca.WriteCrl();
        var published = CertificateRevocationList.Load(ca.CrlPath).CrlNumber!.Value;
        File.WriteAllBytes(Path.Combine(ca.Directory, CertificateLedger.FileName), old);

        var crl = ca.WriteCrl();
        Assert.True(crl.CrlNumber > published);
        Assert.Equal(X509RevocationReason.KeyCompromise, crl.Find(laptop.Certificate.SerialNumber)!.Reason);
        Assert.Contains(ca.Issued(), e => e.IsRevoked && CertificateRevocationList.NormalizeSerial(e.Serial) == CertificateRevocationList.NormalizeSerial(laptop.Certificate.SerialNumber));
        Assert.True(ca.WriteCrl().CrlNumber > crl.CrlNumber);
    }

    [Fact]
    public void NextCrl_PublishedAheadOfLedger_NumberAboveBothAndUnion()
    {
        var date = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var ledger = new LedgerDocument
        {
            LastCrlNumber = 4,
            Certificates = [Entry("0A", revoked: date), Entry("0B", revoked: null)],
        };
        var contents = NextCrl.Decide(ledger, new BigInteger(9), [new RevokedCertificate("0B", date, X509RevocationReason.Superseded), new RevokedCertificate("C", date, null)]);
        Assert.Equal(10, contents.Number);
        Assert.Equal(["A", "B", "C"], contents.Revoked.Select(r => r.SerialHex).Order());
        Assert.Equal(["B", "C"], contents.Carried.Select(r => r.SerialHex).Order());

        var recorded = NextCrl.Record(ledger, contents);
        Assert.Equal(10, recorded.LastCrlNumber);
        Assert.Equal(3, recorded.Certificates.Count(c => c.IsRevoked));
        Assert.Contains(recorded.Certificates, c => c.Name == CertificateLedger.UnknownName && c.Serial == "C");
    }

    [Fact]
    public async Task Issue_ManyAtOnceFromSeparateRuns_NoneLost()
    {
        var ca = CertificateAuthority.Create(_dir["ca"], "CA", KeySpec.EcdsaP256, 100, null, force: false);
        var tasks = Enumerable.Range(0, 6).Select(t => Task.Run(() =>
        {
            var own = CertificateAuthority.Open(ca.Directory);
            for (var i = 0; i < 4; i++)
            {
                own.Issue(new IssueRequest { Role = CertificateRole.Client, Name = $"d{t}-{i}" }, _dir[$"d{t}-{i}.key"], _dir[$"d{t}-{i}.crt"], null, force: false);
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(1 + 24, CertificateAuthority.Open(ca.Directory).Issued().Count);
    }

    [Fact]
    public void Issue_CertificateWriteFails_LedgerAndKeyRolledBack()
    {
        var ca = CertificateAuthority.Create(_dir["ca"], "CA", KeySpec.EcdsaP256, 100, null, force: false);
        Directory.CreateDirectory(_dir["x.crt"]); // a directory where the certificate should go
        Assert.Throws<PkiException>(() => ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "x" }, _dir["x.key"], _dir["x.crt"], null, force: true));
        Assert.False(File.Exists(_dir["x.key"]));
        Assert.Single(ca.Issued());
    }

    [Fact]
    public void Init_UnderUmask000_CaDirectoryOwnerOnly()
    {
        _cli.AlexWithUmask("000", "pki", "init", "--dir", "class/pki");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, TempDir.ModeOf(_dir["class/pki"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, TempDir.ModeOf(_dir["class"]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDir.ModeOf(_dir["class/pki/signing.key"]));
        Assert.Equal((UnixFileMode)0b110_100_100, TempDir.ModeOf(_dir["class/pki/crl.pem"]));
    }

    [Fact]
    public void Check_FindsUnrecordedCertificateLostRevocationAndOpenKey()
    {
        _cli.Ok("pki", "init", "--dir", "pki");
        Assert.Contains("ok", _cli.Ok("pki", "check").Output, StringComparison.Ordinal);
        var old = File.ReadAllBytes(Ledger);
        _cli.Ok("pki", "issue", "client", "laptop");
        _cli.Ok("pki", "revoke", "laptop");
        _cli.Ok("pki", "issue", "client", "mallory");
        File.WriteAllBytes(Ledger, old);
        File.SetUnixFileMode(_dir["pki/mallory.key"], (UnixFileMode)0b110_100_100);

        var check = _cli.Alex("pki", "check");
        Assert.Equal(1, check.ExitCode);
        Assert.Contains("pki/mallory.crt (serial", check.Error, StringComparison.Ordinal);
        Assert.Contains("is not in the ledger", check.Error, StringComparison.Ordinal);
        Assert.Contains("the ledger lacks 1 revocation(s)", check.Error, StringComparison.Ordinal);
        Assert.Contains("fix: chmod 600 pki/mallory.key", check.Error, StringComparison.Ordinal);

        // Each printed fix works as printed.
        var fixes = check.Error.Split('\n').Where(l => l.StartsWith("fix: ", StringComparison.Ordinal) && l.Contains("alex pki ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, fixes.Count);
        foreach (var fix in fixes)
        {
            _cli.Ok(Words(fix[(fix.IndexOf("alex pki ", StringComparison.Ordinal) + "alex ".Length)..]));
        }

        File.SetUnixFileMode(_dir["pki/mallory.key"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _cli.Ok("pki", "check");
        Assert.Equal(2, Crl.Revoked.Count);
    }

    /// <summary>
    /// Any sequence of issue, revoke, crl, rebuild and damage to the ledger (lost, garbage, cut short,
    /// an old copy put back) never lowers the published CRL's number and never drops a revocation.
    /// </summary>
    [FsCheck.Xunit.Property(MaxTest = 12, EndSize = 14)]
    public Property AnySequence_CrlNumberNeverFallsAndNoRevocationDropped(byte[] steps)
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 10, 1, 8, 0, 0, TimeSpan.Zero));
        var ca = CertificateAuthority.Create(dir["ca"], "CA", KeySpec.EcdsaP256, 3650, null, force: false, time);
        var ledgerPath = Path.Combine(ca.Directory, CertificateLedger.FileName);
        var backups = new List<byte[]> { File.ReadAllBytes(ledgerPath) };
        var serials = new List<string>();
        var revoked = new HashSet<string>();
        var lastNumber = CertificateRevocationList.Load(ca.CrlPath).CrlNumber!.Value;
        var ok = true;
        var log = new List<string>();
        foreach (var step in steps.Take(14))
        {
            time.Advance(TimeSpan.FromMinutes(7));
            var action = step % 8;
            try
            {
                switch (action)
                {
                    case 0 or 1:
                        var name = $"d{serials.Count}";
                        serials.Add(ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = name }, dir[name + ".key"], dir[name + ".crt"], null, force: true).Certificate.SerialNumber);
                        break;
                    case 2 or 3 when serials.Count > 0:
                        var serial = serials[step / 8 % serials.Count];
                        ca.Revoke(serial, X509RevocationReason.KeyCompromise);
                        revoked.Add(CertificateRevocationList.NormalizeSerial(serial));
                        break;
                    case 4:
                        ca.WriteCrl();
                        break;
                    case 5:
                        ca.RebuildLedger();
                        break;
                    case 6 when File.Exists(ledgerPath):
                        backups.Add(File.ReadAllBytes(ledgerPath));
                        break;
                    default:
                        Damage(ledgerPath, step / 8 % 4, backups);
                        break;
                }

                log.Add($"{action}");
            }
            catch (PkiException e)
            {
                log.Add($"{action}: {e.Message}");
            }

            var crl = CertificateRevocationList.Load(ca.CrlPath);
            var number = crl.CrlNumber!.Value;
            ok &= number >= lastNumber && crl.IsSignedBy(ca.Certificate) && revoked.All(s => crl.Find(s) is not null);
            lastNumber = number;
        }

        return ok.Label(string.Join(" | ", log));
    }

    private static void Damage(string ledgerPath, int how, List<byte[]> backups)
    {
        switch (how)
        {
            case 0:
                File.Delete(ledgerPath);
                break;
            case 1:
                File.WriteAllText(ledgerPath, "{\"version\": 1, \"certificates\": [");
                break;
            case 2:
                File.WriteAllBytes(ledgerPath, File.Exists(ledgerPath) ? File.ReadAllBytes(ledgerPath)[..(int)Math.Max(0, new FileInfo(ledgerPath).Length - 20)] : []);
                break;
            default:
                File.WriteAllBytes(ledgerPath, backups[0]);
                break;
        }
    }

    private static LedgerEntry Entry(string serial, DateTimeOffset? revoked) => new()
    {
        Serial = serial,
        Name = serial,
        Role = CertificateRole.Client,
        Subject = "CN=" + serial,
        NotBefore = DateTimeOffset.UnixEpoch,
        NotAfter = DateTimeOffset.UnixEpoch,
        Sha256Fingerprint = "00",
        RevokedAt = revoked,
        RevocationReason = revoked is null ? null : X509RevocationReason.KeyCompromise,
    };

    /// <summary>Splits a printed command into words, honouring single and double quotes.</summary>
    internal static string[] Words(string command)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        char? quote = null;
        var inWord = false;
        foreach (var c in command)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (c == ' ')
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return [.. words];
    }
}
