using Alex.Pki.Fleet;

namespace Alex.Pki.Tests.Fleet;

public sealed class FleetAccessTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    private static LedgerEntry Entry(string name, CertificateRole role, bool revoked = false, int daysLeft = 100, string fingerprint = "00") => new()
    {
        Serial = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)),
        Name = name,
        Role = role,
        Subject = "CN=" + name,
        NotBefore = Now.AddDays(-1),
        NotAfter = Now.AddDays(daysLeft),
        Sha256Fingerprint = fingerprint,
        RevokedAt = revoked ? Now.AddHours(-1) : null,
    };

    [Fact]
    public void Decide_RobotsWriteOnlyUnderTheirOwnName_InstructorsStop_WatchersRead()
    {
        var plan = FleetAccess.Decide(
            [Entry("alex1", CertificateRole.Fleet), Entry("alex1", CertificateRole.Server), Entry("teacher", CertificateRole.Instructor), Entry("laptop", CertificateRole.Client), Entry("CA", CertificateRole.Authority)],
            Now);

        Assert.Empty(plan.Problems);
        Assert.Equal(["alexlink/+/status"], plan.WatcherRead);
        var robot = Assert.Single(plan.Grants, g => g.Role == FleetRole.Robot);
        Assert.Equal("alex1", robot.Name);
        Assert.Equal(["alexlink/alex1/#"], robot.Write);
        Assert.Equal(["alexlink/fleet/stop", "alexlink/alex1/stop"], robot.Read);
        var instructor = Assert.Single(plan.Grants, g => g.Role == FleetRole.Instructor);
        Assert.Equal("teacher", instructor.Name);
        Assert.Equal(["alexlink/fleet/stop", "alexlink/+/stop"], instructor.Write);
        Assert.DoesNotContain(plan.Grants, g => g.Name is "laptop" or "CA");
    }

    [Fact]
    public void Decide_RevokedOrExpired_NoRights()
    {
        var plan = FleetAccess.Decide([Entry("gone", CertificateRole.Fleet, revoked: true), Entry("old", CertificateRole.Instructor, daysLeft: -1)], Now);
        Assert.Empty(plan.Grants);
        Assert.Empty(plan.Problems);
    }

    [Fact]
    public void Decide_ANameTwoRolesClaim_LeftOutWithAProblem()
    {
        // A laptop certificate named like the instructor would otherwise get the instructor's rights: the broker knows only the CN.
        var plan = FleetAccess.Decide([Entry("teacher", CertificateRole.Instructor), Entry("Teacher", CertificateRole.Client), Entry("alex1", CertificateRole.Fleet)], Now);
        Assert.Equal("alex1", Assert.Single(plan.Grants).Name);
        Assert.Contains("held by certificates of several roles", Assert.Single(plan.Problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a+b")]
    [InlineData("a#")]
    [InlineData("fleet")]
    public void Decide_ANameThatCannotBeATopicLevel_LeftOutWithAProblem(string name)
    {
        var plan = FleetAccess.Decide([Entry(name, CertificateRole.Fleet)], Now);
        Assert.Empty(plan.Grants);
        Assert.Contains(name, Assert.Single(plan.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Acl_RendersPatternAndUserBlocks()
    {
        var acl = MosquittoFiles.Acl(FleetAccess.Decide([Entry("Alex Robot", CertificateRole.Fleet)], Now));
        Assert.Contains("pattern read alexlink/+/status\n", acl, StringComparison.Ordinal);
        Assert.Contains("user Alex Robot\ntopic write alexlink/Alex Robot/#\n", acl, StringComparison.Ordinal);
    }

    [Fact]
    public void StopRight_LiveInstructor_Allowed_Checked()
    {
        var right = FleetAccess.StopRight([Entry("teacher", CertificateRole.Instructor, fingerprint: "AB12"), Entry("laptop", CertificateRole.Client, fingerprint: "CD34")], "teacher", "ab12", Now);
        Assert.Equal(new FleetStopRight(true, true, "'teacher' is an instructor: may STOP one robot or all"), right);
    }

    [Theory]
    [InlineData(CertificateRole.Client, false, 100, "'laptop' is a client certificate: on the fleet broker it may look, not STOP")]
    [InlineData(CertificateRole.Fleet, false, 100, "'laptop' is a fleet certificate")]
    [InlineData(CertificateRole.Instructor, true, 100, "is revoked")]
    [InlineData(CertificateRole.Instructor, false, -1, "expired")]
    public void StopRight_NotALiveInstructor_RefusedWithTheReason(CertificateRole role, bool revoked, int daysLeft, string why)
    {
        var right = FleetAccess.StopRight([Entry("laptop", role, revoked, daysLeft, fingerprint: "CD34")], "laptop", "CD34", Now);
        Assert.False(right.Allowed);
        Assert.True(right.Checked);
        Assert.Contains(why, right.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void StopRight_InstructorNameAlsoHeldByALaptop_RefusedAsTheAclLeavesItOut()
    {
        var right = FleetAccess.StopRight([Entry("teacher", CertificateRole.Instructor, fingerprint: "AB12"), Entry("Teacher", CertificateRole.Client, fingerprint: "CD34")], "teacher", "AB12", Now);
        Assert.False(right.Allowed);
        Assert.Contains("held by certificates of several roles", right.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void StopRight_NoLedgerOrNotInIt_AllowedUnchecked_TheBrokerDecides()
    {
        Assert.Equal(new FleetStopRight(true, false, "'teacher': no CA ledger here to check its role; the broker decides"), FleetAccess.StopRight(null, "teacher", "AB12", Now));
        var stranger = FleetAccess.StopRight([Entry("teacher", CertificateRole.Instructor, fingerprint: "AB12")], "someone", "EF56", Now);
        Assert.True(stranger.Allowed);
        Assert.False(stranger.Checked);
        Assert.Contains("not in this CA's ledger", stranger.Why, StringComparison.Ordinal);
    }
}
