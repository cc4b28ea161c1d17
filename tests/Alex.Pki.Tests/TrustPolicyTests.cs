using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Pki.Tests;

public sealed class TrustPolicyTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 9, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly CertificateAuthority _ca;

    public TrustPolicyTests()
    {
        _ca = CertificateAuthority.Create(_dir["ca"], "Team 7 CA", KeySpec.EcdsaP256, 1825, null, force: false, _time);
    }

    public void Dispose() => _dir.Dispose();

    private X509Certificate2 Issue(CertificateRole role, string name, string stem, int days = 365) =>
        _ca.Issue(new IssueRequest { Role = role, Name = name, Days = days }, _dir[stem + ".key"], _dir[stem + ".crt"], null, force: false).Certificate;

    private TrustPolicy Policy(AllowList? allow = null, bool legacy = false, bool crl = true, TimeProvider? clock = null) =>
        new(_ca.Certificate, new TrustPolicyOptions
        {
            AllowList = allow ?? AllowList.Parse(["laptop"]),
            Crl = crl ? CrlSource.FromFile(_ca.CrlPath) : null,
            Legacy = legacy,
            TimeProvider = clock ?? _time,
        });

    [Fact]
    public void EvaluateClient_IssuedClientOnAllowList_AcceptedAsDriver()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop");
        var decision = Policy().EvaluateClient(laptop, null);
        Assert.True(decision.Accepted, decision.Reason);
        Assert.Equal("laptop", decision.PeerName);
        Assert.Equal(PeerRole.Drive, decision.Role);
        Assert.Equal(CertificateFacts.Fingerprint(laptop.RawData), decision.Sha256Fingerprint);
    }

    [Fact]
    public void EvaluateClient_AdminEntry_CarriesAdminRole()
    {
        var laptop = Issue(CertificateRole.Client, "tutor", "tutor-admin");
        var decision = Policy(AllowList.Parse(["tutor = Admin"])).EvaluateClient(laptop, null);
        Assert.True(decision.Accepted, decision.Reason);
        Assert.Equal(PeerRole.Admin, decision.Role);
    }

    [Fact]
    public void AllowListParse_UnknownRole_NamesTheThreeRoles()
    {
        var e = Assert.Throws<PkiException>(() => AllowList.Parse(["tutor=root"]));
        Assert.Equal("allow-list entry 'tutor=root': role 'root' is not drive, watch or admin", e.Message);
    }

    [Fact]
    public void EvaluateClient_WatchEntry_CarriesWatchRole()
    {
        var laptop = Issue(CertificateRole.Client, "Alex Laptop", "laptop");
        var decision = Policy(AllowList.Parse(["ALEX LAPTOP=watch"])).EvaluateClient(laptop, null);
        Assert.True(decision.Accepted, decision.Reason);
        Assert.Equal(PeerRole.Watch, decision.Role);
        Assert.Equal("Alex Laptop", decision.PeerName);
    }

    [Fact]
    public void EvaluateClient_NotOnAllowList_NameNotAllowed()
    {
        var other = Issue(CertificateRole.Client, "team3-laptop", "t3");
        var decision = Policy().EvaluateClient(other, null);
        Assert.Equal(TrustFailure.NameNotAllowed, decision.Failure);
        Assert.Contains("team3-laptop", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateClient_AllowAny_Accepted()
    {
        var other = Issue(CertificateRole.Client, "anyone", "any");
        Assert.True(Policy(AllowList.Any).EvaluateClient(other, null).Accepted);
    }

    [Fact]
    public void EvaluateClient_ServerCertificate_WrongUsage()
    {
        var server = Issue(CertificateRole.Server, "laptop", "srv");
        var decision = Policy().EvaluateClient(server, null);
        Assert.Equal(TrustFailure.WrongUsage, decision.Failure);
        Assert.Contains("serverAuth", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateClient_NoCertificate_Refused()
    {
        Assert.Equal(TrustFailure.NoCertificate, Policy().EvaluateClient(null, null).Failure);
    }

    [Fact]
    public void EvaluateClient_Expired_And_NotYetValid()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop", days: 10);
        _time.Advance(TimeSpan.FromDays(11));
        var policy = Policy(crl: false);
        Assert.Equal(TrustFailure.Expired, policy.EvaluateClient(laptop, null).Failure);

        var piClock = new FakeTimeProvider(new DateTimeOffset(2026, 8, 31, 0, 0, 0, TimeSpan.Zero));
        var early = Policy(crl: false, clock: piClock).EvaluateClient(laptop, null);
        Assert.Equal(TrustFailure.NotYetValid, early.Failure);
        Assert.Contains("clock", early.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateClient_Backdated_AcceptedWhenPiClockIsAFewMinutesBehind()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop");
        var piClock = new FakeTimeProvider(_time.GetUtcNow() - TimeSpan.FromMinutes(3));
        Assert.True(Policy(clock: piClock).EvaluateClient(laptop, null).Accepted);
    }

    [Fact]
    public void EvaluateClient_OtherCa_UnknownCa()
    {
        using var other = new TempDir();
        var otherCa = CertificateAuthority.Create(other["ca"], "Team 7 CA", KeySpec.EcdsaP256, 100, null, false, _time);
        var foreign = otherCa.Issue(new IssueRequest { Role = CertificateRole.Client, Name = "laptop" }, other["l.key"], other["l.crt"], null, false).Certificate;
        var decision = Policy().EvaluateClient(foreign, null);
        Assert.Equal(TrustFailure.UnknownCa, decision.Failure);
    }

    [Fact]
    public void EvaluateClient_Revoked_RefusedAfterCrlChanges()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop");
        var policy = Policy();
        Assert.True(policy.EvaluateClient(laptop, null).Accepted);

        _ca.Revoke(laptop.SerialNumber, X509RevocationReason.KeyCompromise);
        var decision = policy.EvaluateClient(laptop, null);
        Assert.Equal(TrustFailure.Revoked, decision.Failure);
        Assert.Contains("keyCompromise", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateClient_CrlMissingStaleOrForged_FailsClosed()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop");
        var policy = Policy();
        File.Delete(_ca.CrlPath);
        Assert.Equal(TrustFailure.CrlMissing, policy.EvaluateClient(laptop, null).Failure);

        _ca.WriteCrl(days: 1);
        _time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(TrustFailure.CrlStale, policy.EvaluateClient(laptop, null).Failure);

        using var other = new TempDir();
        var forger = CertificateAuthority.Create(other["ca"], "Team 7 CA", KeySpec.EcdsaP256, 100, null, false, _time);
        File.Copy(forger.CrlPath, _ca.CrlPath, overwrite: true);
        Assert.Equal(TrustFailure.CrlInvalid, policy.EvaluateClient(laptop, null).Failure);

        File.WriteAllText(_ca.CrlPath, "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n");
        Assert.Equal(TrustFailure.CrlInvalid, policy.EvaluateClient(laptop, null).Failure);
    }

    [Fact]
    public void EvaluateServer_NameMustMatch()
    {
        var robot = _ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com", IpAddresses = [System.Net.IPAddress.Loopback] }, _dir["alex.key"], _dir["alex.crt"], null, false).Certificate;
        var policy = Policy();
        Assert.True(policy.EvaluateServer(robot, null, "ALEX.epp.com").Accepted);
        Assert.True(policy.EvaluateServer(robot, null, "127.0.0.1").Accepted);
        Assert.Equal(TrustFailure.NameMismatch, policy.EvaluateServer(robot, null, "other.epp.com").Failure);
        Assert.Equal(TrustFailure.WrongUsage, policy.EvaluateClient(robot, null).Failure);
    }

    [Fact]
    public void EvaluateServer_IpOnlyCertificate_MatchesItsAddress()
    {
        var robot = Issue(CertificateRole.Server, "192.168.1.50", "ip");
        var policy = Policy();
        Assert.True(policy.EvaluateServer(robot, null, "192.168.1.50").Accepted, policy.EvaluateServer(robot, null, "192.168.1.50").Reason);
        Assert.Equal(TrustFailure.NameMismatch, policy.EvaluateServer(robot, null, "192.168.1.51").Failure);
    }

    [Fact]
    public void EvaluateClient_CaCertificateItself_Refused()
    {
        var decision = Policy(AllowList.Any).EvaluateClient(_ca.Certificate, null);
        Assert.False(decision.Accepted);
        Assert.Contains(decision.Problems, p => p.Failure is TrustFailure.NotCa or TrustFailure.WrongUsage);
    }

    [Fact]
    public void Constructor_DeviceCertificateAsCa_Throws()
    {
        var laptop = Issue(CertificateRole.Client, "laptop", "laptop");
        var e = Assert.Throws<PkiException>(() => new TrustPolicy(laptop));
        Assert.Contains("not a CA", e.Message, StringComparison.Ordinal);
    }
}
