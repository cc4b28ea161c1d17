using System.Net;
using Alex.Protocol.Discovery;

namespace Alex.Protocol.Tests.Discovery;

/// <summary>The responder's decisions (RFC 6762 §5.4, §6, §6.7, §7.1, §10.1) and the browse state that reads them back.</summary>
public sealed class MdnsResponderTests
{
    private static readonly MdnsQuerySource Multicast = new(5353, OnLink: true);
    private static readonly IPAddress[] Addresses = DnsMessageTests.Addresses;
    private readonly MdnsResponder _responder = new(DnsMessageTests.Advert);

    private static DnsMessage Ask(params DnsQuestion[] questions) => DnsMessage.Query(questions);

    [Fact]
    public void Answer_SrvQuestion_SrvWithTheAddressesAdditional()
    {
        var reply = _responder.Answer(Ask(new DnsQuestion(DnsMessageTests.Advert.InstanceName, DnsType.Srv)), Multicast, Addresses)!;
        Assert.Equal([DnsType.Srv], reply.Message.Answers.Select(a => a.Type));
        Assert.Equal([DnsType.A], reply.Message.Additionals.Select(a => a.Type));
        Assert.False(reply.Unicast);
    }

    [Fact]
    public void Answer_InstanceNameInAnotherCase_Answered()
    {
        var shouted = RobotAdvert.ServiceName.Prepend("ALEX.EPP.COM");
        Assert.NotNull(_responder.Answer(Ask(new DnsQuestion(shouted, DnsType.Any)), Multicast, Addresses));
    }

    [Fact]
    public void Answer_HostAddressQuestion_TheInterfacesAddresses()
    {
        var reply = _responder.Answer(Ask(new DnsQuestion(DnsName.Parse("pi.local"), DnsType.A)), Multicast, [IPAddress.Parse("192.168.7.2"), IPAddress.Parse("10.1.1.1")])!;
        Assert.Equal(["192.168.7.2", "10.1.1.1"], reply.Message.Answers.Select(a => ((DnsAddressData)a.Data).Address.ToString()));
    }

    [Fact]
    public void Answer_ServiceEnumeration_PointsAtOurType()
    {
        var reply = _responder.Answer(Ask(new DnsQuestion(RobotAdvert.ServiceEnumerationName, DnsType.Ptr)), Multicast, Addresses)!;
        Assert.Equal(new DnsPointerData(RobotAdvert.ServiceName), Assert.Single(reply.Message.Answers).Data);
    }

    [Theory]
    [InlineData("_http._tcp.local", DnsType.Ptr)]
    [InlineData("other._alexlink._tcp.local", DnsType.Srv)]
    [InlineData("pi.local", DnsType.Aaaa)]
    [InlineData("laptop.local", DnsType.A)]
    public void Answer_NotOurs_Nothing(string name, DnsType type) =>
        Assert.Null(_responder.Answer(Ask(new DnsQuestion(DnsName.Parse(name), type)), Multicast, Addresses));

    [Fact]
    public void Answer_ResponseOrNonStandardOrOffLink_Nothing()
    {
        var question = RobotBrowse.BrowseQuestion(false);
        Assert.Null(_responder.Answer(new DnsMessage(0, DnsWire.FlagResponse, [question], [], [], []), Multicast, Addresses));
        Assert.Null(_responder.Answer(new DnsMessage(0, 0x2800, [question], [], [], []), Multicast, Addresses)); // opcode 5 (update)
        Assert.Null(_responder.Answer(new DnsMessage(0, 0x0003, [question], [], [], []), Multicast, Addresses)); // rcode 3
        Assert.Null(_responder.Answer(Ask(question), new MdnsQuerySource(5353, OnLink: false), Addresses));
    }

    [Fact]
    public void Answer_LegacyUnicast_IdAndQuestionEchoedTtlsCappedNoCacheFlush()
    {
        var query = new DnsMessage(0xBEEF, 0, [RobotBrowse.BrowseQuestion(false)], [], [], []);
        var reply = _responder.Answer(query, new MdnsQuerySource(40000, OnLink: true), Addresses)!;
        Assert.True(reply.Unicast);
        Assert.Equal(0xBEEF, reply.Message.Id);
        Assert.Equal(query.Questions, reply.Message.Questions);
        Assert.All(reply.Message.Answers.Concat(reply.Message.Additionals), r =>
        {
            Assert.True(r.Ttl <= MdnsResponder.LegacyUnicastTtl);
            Assert.False(r.CacheFlush);
        });
    }

    [Fact]
    public void Answer_QuBitOnEveryQuestion_Unicast_ElseMulticast()
    {
        Assert.True(_responder.Answer(Ask(RobotBrowse.BrowseQuestion(true)), Multicast, Addresses)!.Unicast);
        var mixed = Ask(RobotBrowse.BrowseQuestion(true), new DnsQuestion(DnsName.Parse("pi.local"), DnsType.A));
        Assert.False(_responder.Answer(mixed, Multicast, Addresses)!.Unicast);
    }

    [Fact]
    public void Answer_KnownAnswerWithHalfTheTtl_Suppressed_WithLessRepeated()
    {
        var ptr = DnsMessageTests.Advert.Records(Addresses)[1];
        var knowsIt = new DnsMessage(0, 0, [RobotBrowse.BrowseQuestion(false)], [ptr with { Ttl = RobotAdvert.OtherTtl / 2 }], [], []);
        Assert.Null(_responder.Answer(knowsIt, Multicast, Addresses));
        var almostExpired = knowsIt with { Answers = [ptr with { Ttl = (RobotAdvert.OtherTtl / 2) - 1 }] };
        Assert.NotNull(_responder.Answer(almostExpired, Multicast, Addresses));
    }

    [Fact]
    public void Goodbye_EveryRecordTtlZero_BrowseForgetsTheRobot()
    {
        var browse = new RobotBrowse();
        var t = DateTimeOffset.UnixEpoch;
        Assert.True(browse.Apply(_responder.Announcement(Addresses), t));
        var robot = Assert.Single(browse.Robots(t));
        Assert.Equal(("alex.epp.com", "pi.local", 5000, "alex.epp.com", "AA", "BB", "1"), (robot.Instance, robot.HostName, robot.Port, robot.CertificateName, robot.Fingerprint, robot.CaFingerprint, robot.Version));
        Assert.Equal(Addresses, robot.Addresses);

        var goodbye = _responder.Goodbye(Addresses);
        Assert.All(goodbye.Answers, r => Assert.Equal(0u, r.Ttl));
        Assert.True(browse.Apply(goodbye, t.AddSeconds(1)));
        Assert.Empty(browse.Robots(t.AddSeconds(1)));
    }

    [Fact]
    public void Browse_RecordsExpireAfterTheirTtl()
    {
        var browse = new RobotBrowse();
        var t = DateTimeOffset.UnixEpoch;
        browse.Apply(_responder.Announcement(Addresses), t);
        Assert.Single(browse.Robots(t.AddSeconds(RobotAdvert.HostTtl - 1)));
        Assert.Empty(browse.Robots(t.AddSeconds(RobotAdvert.HostTtl))); // the SRV is gone
    }

    [Fact]
    public void Browse_CacheFlushReplacesAnOlderAddress()
    {
        var browse = new RobotBrowse();
        var t = DateTimeOffset.UnixEpoch;
        browse.Apply(_responder.Announcement([IPAddress.Parse("10.0.0.2")]), t);
        browse.Apply(_responder.Announcement([IPAddress.Parse("10.0.0.3")]), t.AddSeconds(5));
        Assert.Equal([IPAddress.Parse("10.0.0.3")], Assert.Single(browse.Robots(t.AddSeconds(5))).Addresses);
    }

    [Fact]
    public void Browse_TxtWithControlCharacters_ValueLeftOut()
    {
        var evil = DnsMessageTests.Advert with { Fingerprint = "AA\u001b[2J" };
        var browse = new RobotBrowse();
        browse.Apply(new MdnsResponder(evil).Announcement(Addresses), DateTimeOffset.UnixEpoch);
        Assert.Null(Assert.Single(browse.Robots(DateTimeOffset.UnixEpoch)).Fingerprint);
    }

    [Fact]
    public void Browse_Flood_KeepsAtMostMaxRecords()
    {
        var browse = new RobotBrowse();
        for (var i = 0; i < 3000; i++)
        {
            var advert = DnsMessageTests.Advert with { CertificateName = $"robot-{i}" };
            browse.Apply(new MdnsResponder(advert).Announcement(Addresses), DateTimeOffset.UnixEpoch);
        }

        Assert.True(browse.Robots(DateTimeOffset.UnixEpoch).Count < RobotBrowse.MaxRecords);
    }

    [Fact]
    public void Resolve_InstanceNameOrHostLocal_AddressesAndAnnouncedPort()
    {
        var browse = new RobotBrowse();
        var t = DateTimeOffset.UnixEpoch;
        Assert.Null(browse.Resolve("alex.epp.com", t));
        browse.Apply(new MdnsResponder(DnsMessageTests.Advert with { Port = 5001 }).Announcement(Addresses), t);
        var found = browse.Resolve("alex.epp.com", t)!.Value;
        Assert.Equal(Addresses, found.Addresses);
        Assert.Equal(5001, found.Port);
        Assert.Equal(5001, browse.Resolve("PI.local", t)!.Value.Port);
        Assert.Null(browse.Resolve("other.epp.com", t));
    }

    [Theory]
    [InlineData("pi.local", true)]
    [InlineData("alex.epp.com", false)]
    [InlineData("local", false)]
    [InlineData("a.b.local.", true)]
    public void IsLocalHostName(string name, bool local) => Assert.Equal(local, RobotBrowse.IsLocalHostName(name));

    [Fact]
    public void Advert_NameTooLongForALabel_Problem()
    {
        Assert.Null(DnsMessageTests.Advert.Problem());
        Assert.Contains("does not fit", (DnsMessageTests.Advert with { CertificateName = new string('a', 64) }).Problem(), StringComparison.Ordinal);
        Assert.NotNull((DnsMessageTests.Advert with { HostLabel = "a.b" }).Problem());
    }
}
