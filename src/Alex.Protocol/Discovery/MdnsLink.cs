// The LAN interfaces a robot is announced on, and what to do when they change (Wi-Fi joining after `alex serve`
// started at boot, a new DHCP lease, a cable pulled): pure. The responder's I/O loop lists the interfaces now and
// then and asks MdnsLinkChanges what to leave, join and announce.
using System.Net;

namespace Alex.Protocol.Discovery;

/// <summary>A LAN interface the robot is announced on: its index, name, and IPv4 addresses with their prefix lengths.</summary>
public sealed record MdnsLink(int Index, string Name, IReadOnlyList<(IPAddress Address, int PrefixLength)> Addresses)
{
    public IReadOnlyList<IPAddress> AddressList => [.. Addresses.Select(a => a.Address)];

    /// <summary>True when <paramref name="source"/> is on one of this interface's subnets (RFC 6762 §11).</summary>
    public bool IsOnLink(IPAddress source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var s = source.MapToIPv4().GetAddressBytes();
        foreach (var (address, prefix) in Addresses)
        {
            var a = address.GetAddressBytes();
            var bits = prefix;
            var same = true;
            for (var i = 0; i < 4 && bits > 0 && same; i++, bits -= 8)
            {
                var mask = bits >= 8 ? 0xFF : 0xFF << (8 - bits);
                same = (a[i] & mask) == (s[i] & mask);
            }

            if (same)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Same interface, name and addresses (in any order).</summary>
    public bool SameAs(MdnsLink other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Index == other.Index && Name == other.Name &&
               Addresses.Count == other.Addresses.Count && Addresses.All(a => other.Addresses.Contains(a));
    }
}

/// <summary>
/// Pure: from the links announced on to the links there now. <see cref="Gone"/> get a goodbye for their old addresses
/// and are left; <see cref="Came"/> are joined and announced. A link whose addresses changed is in both.
/// </summary>
public sealed record MdnsLinkChanges(IReadOnlyList<MdnsLink> Gone, IReadOnlyList<MdnsLink> Came)
{
    public bool None => Gone.Count == 0 && Came.Count == 0;

    public static MdnsLinkChanges Between(IReadOnlyList<MdnsLink> announced, IReadOnlyList<MdnsLink> now)
    {
        ArgumentNullException.ThrowIfNull(announced);
        ArgumentNullException.ThrowIfNull(now);
        return new MdnsLinkChanges(
            [.. announced.Where(a => !now.Any(n => n.SameAs(a)))],
            [.. now.Where(n => !announced.Any(a => a.SameAs(n)))]);
    }
}
