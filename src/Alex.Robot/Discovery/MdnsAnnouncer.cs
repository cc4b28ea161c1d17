// `alex serve`'s own mDNS responder (RFC 6762; the records: docs/protocol.md §8). One UDP socket on port 5353, in
// the group 224.0.0.251 on each LAN interface it serves: one read → decide → write loop, the decisions being
// MdnsResponder's. It announces twice, a second apart (RFC 6762 §8.3), at start and on each interface that comes up
// later (the list is read every 2 s; MdnsLinkChanges decides); on stop, and for an interface gone, it says goodbye (TTL 0,
// §10.1). IPv4 only: the robot server listens on IPv4 by default, and an IPv6 link-local address is no use to a
// client without its scope. Where the Pi's Avahi announces the robot instead, `alex serve install` turns this off
// (docs/service.md "Finding the robot").
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Alex.Protocol.Discovery;

namespace Alex.Robot.Discovery;

/// <summary>The machine's LAN interfaces, as they are now.</summary>
public static class LanLinks
{
    /// <summary>
    /// The interfaces to announce on for a server listening on <paramref name="listen"/>: every up, multicast-capable,
    /// non-loopback interface with an IPv4 address for 0.0.0.0; only the one holding the address otherwise (with just that
    /// address); none for a loopback or IPv6 address.
    /// </summary>
    public static IReadOnlyList<MdnsLink> ForAnnouncing(IPAddress listen)
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
    /// <summary>How often the interfaces are listed again to follow a network that comes, goes or changes address.</summary>
    public static readonly TimeSpan LinkCheckInterval = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private readonly MdnsResponder _responder;
    private readonly Func<IReadOnlyList<MdnsLink>> _findLinks;
    private readonly TimeProvider _time;
    private readonly Action<string> _warn;
    private readonly Action<string> _say;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Task _following;
    private IReadOnlyList<MdnsLink> _links;
    private int _disposed;

    private MdnsAnnouncer(
        Socket socket, MdnsResponder responder, IReadOnlyList<MdnsLink> links, Func<IReadOnlyList<MdnsLink>> findLinks, TimeProvider time, Action<string> warn, Action<string> say)
    {
        _socket = socket;
        _responder = responder;
        _links = links;
        _findLinks = findLinks;
        _time = time;
        _warn = warn;
        _say = say;
        _loop = RunAsync(_stop.Token);
        _following = FollowLinksAsync(_stop.Token);
    }

    /// <summary>The links announced on now.</summary>
    public IReadOnlyList<MdnsLink> Links => Volatile.Read(ref _links);

    /// <summary>
    /// Joins the group on the links <paramref name="findLinks"/> lists (none is fine: they are listed again every
    /// <see cref="LinkCheckInterval"/>, and each that comes is joined and announced, <paramref name="say"/> told) and
    /// starts answering. A socket that cannot be had (port 5353 held by a program that does not share it) is a
    /// <see cref="SocketException"/>; the caller says so and serves without announcing.
    /// </summary>
    public static MdnsAnnouncer Start(RobotAdvert advert, Func<IReadOnlyList<MdnsLink>> findLinks, TimeProvider time, Action<string> warn, Action<string> say)
    {
        ArgumentNullException.ThrowIfNull(advert);
        ArgumentNullException.ThrowIfNull(findLinks);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var links = new List<MdnsLink>();
        try
        {
            // Shared with any other responder on this machine (Avahi shares it too): each gets every datagram.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, DnsWire.MdnsPort));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
            links.AddRange(findLinks().Where(link => Join(socket, link, warn)));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new MdnsAnnouncer(socket, new MdnsResponder(advert), links, findLinks, time, warn, say);
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
        await _following.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var link in Links)
        {
            await SendAsync(link, _responder.Goodbye(link.AddressList), null).ConfigureAwait(false);
        }

        _socket.Dispose();
        _sending.Dispose();
        _stop.Dispose();
    }

    private static bool Join(Socket socket, MdnsLink link, Action<string> warn)
    {
        try
        {
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(DnsWire.MdnsGroupV4, link.Index));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true; // joined before, under an older address of the same interface
        }
        catch (SocketException e)
        {
            warn($"mDNS: cannot join the group on {link.Name}: {e.Message}");
            return false;
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        var again = AnnounceAsync(Links, cancellationToken);
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
            catch (SocketException e) when (e.SocketErrorCode is not (SocketError.OperationAborted or SocketError.Shutdown))
            {
                continue; // an oversized datagram (refused whole), or an ICMP error from an earlier reply: the next one still counts
            }

            var link = Links.FirstOrDefault(l => l.Index == received.PacketInformation.Interface);
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

    /// <summary>Lists the links every <see cref="LinkCheckInterval"/>: goodbye on those gone or changed, join and announce those come.</summary>
    private async Task FollowLinksAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(LinkCheckInterval, _time);
        var announcing = new List<Task>();
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            IReadOnlyList<MdnsLink> now;
            try
            {
                now = _findLinks();
            }
            catch (NetworkInformationException e)
            {
                _warn($"mDNS: cannot list the network interfaces: {e.Message}");
                continue;
            }

            var changes = MdnsLinkChanges.Between(Links, now);
            if (changes.None)
            {
                continue;
            }

            foreach (var gone in changes.Gone)
            {
                await SendAsync(gone, _responder.Goodbye(gone.AddressList), null, quiet: true).ConfigureAwait(false);
                _say($"mDNS: no longer announced on {gone.Name} {string.Join(' ', gone.AddressList)}");
            }

            var came = changes.Came.Where(link => Join(_socket, link, _warn)).ToArray();
            Volatile.Write(ref _links, [.. Links.Where(l => !changes.Gone.Contains(l)), .. came]);
            foreach (var link in came)
            {
                _say($"mDNS: announced on {link.Name} {string.Join(' ', link.AddressList)}");
            }

            announcing.RemoveAll(t => t.IsCompleted);
            announcing.Add(AnnounceAsync(came, cancellationToken));
        }

        await Task.WhenAll(announcing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Announces on <paramref name="links"/> twice, a second apart (RFC 6762 §8.3).</summary>
    private async Task AnnounceAsync(IReadOnlyList<MdnsLink> links, CancellationToken cancellationToken)
    {
        for (var round = 0; round < 2 && links.Count > 0; round++)
        {
            if (round > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
            }

            foreach (var link in links.Where(l => Links.Contains(l)))
            {
                await SendAsync(link, _responder.Announcement(link.AddressList), null).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Multicast out of <paramref name="link"/> (null <paramref name="to"/>), or unicast to the querier. A failure is
    /// warned of, unless <paramref name="quiet"/> (a goodbye on an interface that may have gone with its link).
    /// </summary>
    private async Task SendAsync(MdnsLink link, DnsMessage message, IPEndPoint? to, bool quiet = false)
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
        catch (SocketException e) when (!quiet)
        {
            _warn($"mDNS: cannot send on {link.Name}: {e.Message}");
        }
        catch (SocketException)
        {
        }
        finally
        {
            _sending.Release();
        }
    }
}
