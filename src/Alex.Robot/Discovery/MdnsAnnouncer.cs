// `alex serve`'s own mDNS responder (RFC 6762; the records: docs/protocol.md §8). One UDP socket on port 5353, in
// the group 224.0.0.251 on each LAN interface it serves: one read → decide → write loop, the decisions being
// MdnsResponder's. At start it announces twice, a second apart (RFC 6762 §8.3); on stop it says goodbye (TTL 0,
// §10.1). IPv4 only: the robot server listens on IPv4 by default, and an IPv6 link-local address is no use to a
// client without its scope. Where the Pi's Avahi announces the robot instead, `alex serve install` turns this off
// (docs/service.md "Finding the robot").
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Alex.Protocol.Discovery;

namespace Alex.Robot.Discovery;

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

    /// <summary>
    /// The interfaces to announce on for a server listening on <paramref name="listen"/>: every up, multicast-capable,
    /// non-loopback interface with an IPv4 address for 0.0.0.0; only the one holding the address otherwise (with just that
    /// address); none for a loopback or IPv6 address.
    /// </summary>
    public static IReadOnlyList<MdnsLink> For(IPAddress listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        if (IPAddress.IsLoopback(listen) || listen.AddressFamily != AddressFamily.InterNetwork)
        {
            return [];
        }

        var links = new List<MdnsLink>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback || !nic.SupportsMulticast ||
                nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown))
            {
                continue;
            }

            var properties = nic.GetIPProperties();
            var v4 = properties.UnicastAddresses
                .Where(u => u.Address.AddressFamily == AddressFamily.InterNetwork && (listen.Equals(IPAddress.Any) || u.Address.Equals(listen)))
                .Select(u => (u.Address, u.PrefixLength))
                .ToArray();
            if (v4.Length > 0)
            {
                links.Add(new MdnsLink(properties.GetIPv4Properties().Index, nic.Name, v4));
            }
        }

        return links;
    }
}

/// <summary>The responder: started by `alex serve`, disposed (goodbye sent) when it stops.</summary>
public sealed class MdnsAnnouncer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly MdnsResponder _responder;
    private readonly IReadOnlyList<MdnsLink> _links;
    private readonly TimeProvider _time;
    private readonly Action<string> _warn;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _disposed;

    private MdnsAnnouncer(Socket socket, MdnsResponder responder, IReadOnlyList<MdnsLink> links, TimeProvider time, Action<string> warn)
    {
        _socket = socket;
        _responder = responder;
        _links = links;
        _time = time;
        _warn = warn;
        _loop = RunAsync(_stop.Token);
    }

    public IReadOnlyList<MdnsLink> Links => _links;

    /// <summary>
    /// Joins the group on <paramref name="links"/> and starts answering. A socket that cannot be had (port 5353 held by a
    /// program that does not share it) is a <see cref="SocketException"/>; the caller says so and serves without announcing.
    /// </summary>
    public static MdnsAnnouncer Start(RobotAdvert advert, IReadOnlyList<MdnsLink> links, TimeProvider time, Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(advert);
        ArgumentNullException.ThrowIfNull(links);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Shared with any other responder on this machine (Avahi shares it too): each gets every datagram.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, DnsWire.MdnsPort));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
            foreach (var link in links)
            {
                socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(DnsWire.MdnsGroupV4, link.Index));
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new MdnsAnnouncer(socket, new MdnsResponder(advert), links, time, warn);
    }

    /// <summary>Says goodbye on every link, then closes. Once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var link in _links)
        {
            await SendAsync(link, _responder.Goodbye(link.AddressList), null).ConfigureAwait(false);
        }

        _socket.Dispose();
        _sending.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var link in _links)
        {
            await SendAsync(link, _responder.Announcement(link.AddressList), null).ConfigureAwait(false);
        }

        var again = AnnounceAgainAsync(cancellationToken);
        var buffer = new byte[DnsWire.MaxMessageSize + 1];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!cancellationToken.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult received;
            try
            {
                received = await _socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.ConnectionReset)
            {
                continue; // an oversized datagram (refused whole) or an ICMP error from an earlier reply
            }

            var link = _links.FirstOrDefault(l => l.Index == received.PacketInformation.Interface);
            if (link is null || received.RemoteEndPoint is not IPEndPoint from ||
                !DnsMessageReader.TryRead(buffer.AsSpan(0, received.ReceivedBytes), out var query, out _))
            {
                continue; // another interface, or a packet that is not DNS: refused without a word (anyone may send them)
            }

            if (_responder.Answer(query, new MdnsQuerySource(from.Port, link.IsOnLink(from.Address)), link.AddressList) is { } reply)
            {
                await SendAsync(link, reply.Message, reply.Unicast ? from : null).ConfigureAwait(false);
            }
        }

        await again.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task AnnounceAgainAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        foreach (var link in _links)
        {
            await SendAsync(link, _responder.Announcement(link.AddressList), null).ConfigureAwait(false);
        }
    }

    /// <summary>Multicast out of <paramref name="link"/> (null <paramref name="to"/>), or unicast to the querier.</summary>
    private async Task SendAsync(MdnsLink link, DnsMessage message, IPEndPoint? to)
    {
        var bytes = DnsMessageWriter.Write(message);
        await _sending.WaitAsync().ConfigureAwait(false);
        try
        {
            if (to is null)
            {
                _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.HostToNetworkOrder(link.Index));
            }

            await _socket.SendToAsync(bytes, SocketFlags.None, to ?? new IPEndPoint(DnsWire.MdnsGroupV4, DnsWire.MdnsPort)).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            _warn($"mDNS: cannot send on {link.Name}: {e.Message}");
        }
        finally
        {
            _sending.Release();
        }
    }
}
