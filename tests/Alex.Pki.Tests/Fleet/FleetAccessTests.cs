using Alex.Pki.Fleet;

namespace Alex.Pki.Tests.Fleet;

public sealed class FleetAccessTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    private static LedgerEntry Entry(string name, CertificateRole role, bool revoked = false, int daysLeft = 100) => new()
    {
        Serial = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)),
        Name = name,
        Role = role,
        Subject = "CN=" + name,
        NotBefore = Now.AddDays(-1),
        NotAfter = Now.AddDays(daysLeft),
        Sha256Fingerprint = "00",
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
}
