using System.Net;
using Alex.Protocol.Discovery;

namespace Alex.Protocol.Tests.Discovery;

public sealed class MdnsLinkTests
{
    private static readonly MdnsLink Wlan = new(3, "wlan0", [(IPAddress.Parse("192.168.1.20"), 24)]);
    private static readonly MdnsLink Eth = new(2, "eth0", [(IPAddress.Parse("10.0.0.5"), 8), (IPAddress.Parse("172.16.4.1"), 30)]);

    [Fact]
    public void Between_NoneBefore_AllCome()
    {
        var changes = MdnsLinkChanges.Between([], [Wlan, Eth]);
        Assert.Empty(changes.Gone);
        Assert.Equal([Wlan, Eth], changes.Came);
    }

    [Fact]
    public void Between_SameLinksListedAgainInAnotherOrder_NoChange()
    {
        var eth = Eth with { Addresses = [.. Eth.Addresses.Reverse()] };
        Assert.True(MdnsLinkChanges.Between([Eth, Wlan], [Wlan, eth]).None);
    }

    [Fact]
    public void Between_LinkGone_GoodbyeForIt()
    {
        var changes = MdnsLinkChanges.Between([Eth, Wlan], [Eth]);
        Assert.Equal([Wlan], changes.Gone);
        Assert.Empty(changes.Came);
    }

    [Fact]
    public void Between_NewAddressOnTheSameInterface_OldGoesNewComes()
    {
        var renewed = Wlan with { Addresses = [(IPAddress.Parse("192.168.1.77"), 24)] };
        var changes = MdnsLinkChanges.Between([Wlan], [renewed]);
        Assert.Equal([Wlan], changes.Gone);
        Assert.Equal([renewed], changes.Came);
    }

    [Fact]
    public void Between_SameNameOtherIndex_ARecreatedInterfaceIsNew()
    {
        var recreated = Wlan with { Index = 9 };
        var changes = MdnsLinkChanges.Between([Wlan], [recreated]);
        Assert.Equal([Wlan], changes.Gone);
        Assert.Equal([recreated], changes.Came);
    }

    [Theory]
    [InlineData("192.168.1.1", true)]
    [InlineData("192.168.1.255", true)]
    [InlineData("192.168.2.1", false)]
    [InlineData("10.200.3.4", true)]
    [InlineData("172.16.4.2", true)]
    [InlineData("172.16.4.5", false)]
    [InlineData("8.8.8.8", false)]
    public void IsOnLink_BySubnetOfEachAddress(string source, bool onLink)
    {
        Assert.Equal(onLink, Wlan.IsOnLink(IPAddress.Parse(source)) || Eth.IsOnLink(IPAddress.Parse(source)));
    }

    [Fact]
    public void IsOnLink_Ipv4MappedIpv6Source_ComparedAsIpv4()
    {
        Assert.True(Wlan.IsOnLink(IPAddress.Parse("::ffff:192.168.1.9")));
    }
}
