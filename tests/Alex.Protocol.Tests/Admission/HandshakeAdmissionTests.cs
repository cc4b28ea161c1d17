using System.Net;
using Alex.Protocol.Admission;

namespace Alex.Protocol.Tests.Admission;

/// <summary>MaxStartups-style admission as a pure decision: per source, in all, and random early drop with the draw given.</summary>
public sealed class HandshakeAdmissionTests
{
    private const string Attacker = "127.0.0.2";
    private const string Laptop = "127.0.0.1";

    [Fact]
    public void TryAdmit_OneSourceHoldingItsShare_OtherSourceStillAdmitted()
    {
        var admission = new HandshakeAdmission(new StartupLimits(Start: 16, RatePercent: 30, Full: 32, PerSource: 8));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit(Attacker, draw: 0));
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(AdmissionVerdict.SourceFull, admission.TryAdmit(Attacker, draw: 0));
        }

        Assert.Equal(8, admission.InHandshake);
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit(Laptop, draw: 0));
    }

    [Fact]
    public void Finished_FreesTheSourcesSlot()
    {
        var admission = new HandshakeAdmission(new StartupLimits(4, 30, 4, 1));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit(Attacker, 0));
        Assert.Equal(AdmissionVerdict.SourceFull, admission.TryAdmit(Attacker, 0));
        admission.Finished(Attacker);
        Assert.Equal(0, admission.InHandshake);
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit(Attacker, 0));
    }

    [Fact]
    public void TryAdmit_PastStart_RefusesWhenTheDrawIsBelowTheRisingRate()
    {
        var admission = new HandshakeAdmission(new StartupLimits(Start: 2, RatePercent: 30, Full: 6, PerSource: 6));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("a", draw: 0));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("b", draw: 0));
        // 2 in: 30 %. A draw of 29 is refused, 30 admitted.
        Assert.Equal(30, admission.DropPercent(2));
        Assert.Equal(AdmissionVerdict.EarlyDrop, admission.TryAdmit("c", draw: 29));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("c", draw: 30));
        // sshd's line from 30 % at start to 100 % at full.
        Assert.Equal(47, admission.DropPercent(3));
        Assert.Equal(65, admission.DropPercent(4));
        Assert.Equal(82, admission.DropPercent(5));
        Assert.Equal(100, admission.DropPercent(6));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("d", draw: 99));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("e", draw: 99));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("f", draw: 99));
        Assert.Equal(AdmissionVerdict.Full, admission.TryAdmit("g", draw: 99));
    }

    [Fact]
    public void TryAdmit_BelowStart_NeverRandom()
    {
        var admission = new HandshakeAdmission(new StartupLimits(Start: 3, RatePercent: 100, Full: 3, PerSource: 3));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("a", draw: 0));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("a", draw: 0));
        Assert.Equal(AdmissionVerdict.Admitted, admission.TryAdmit("a", draw: 0));
        Assert.Equal(AdmissionVerdict.SourceFull, admission.TryAdmit("a", draw: 99));
        Assert.Equal(AdmissionVerdict.Full, admission.TryAdmit("b", draw: 99));
    }

    [Theory]
    [InlineData("127.0.0.2", "127.0.0.2")]
    [InlineData("::ffff:10.0.0.7", "10.0.0.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    public void SourceOf_IPv4ByAddress_IPv6ByItsSlash64(string address, string source) =>
        Assert.Equal(source, HandshakeAdmission.SourceOf(IPAddress.Parse(address)));
}
