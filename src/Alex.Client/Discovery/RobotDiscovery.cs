// Finding robots on the LAN by mDNS/DNS-SD (RFC 6762, RFC 6763; the records: docs/protocol.md §8). One UDP socket:
// on port 5353 in the group 224.0.0.251 when it can be shared (then announcements and goodbyes are heard too), else
// on a port of its own (one-shot queries, RFC 6762 §5.1: replies come back by unicast). One read → decide → write
// loop: queries go out at 0, 1, 3, 7 ... s (RFC 6762 §5.2) on the interfaces up at that moment (the group joined on
// each new one), each datagram read goes through RobotBrowse.
// What is heard is unauthenticated: a robot's name, address and fingerprints are claims until the TLS handshake
// (docs/security.md "Discovery").
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Alex.Protocol.Discovery;

namespace Alex.Client.Discovery;

/// <summary>A change in the robots seen: one appeared (or changed), or went (goodbye or expiry).</summary>
public sealed record RobotSighting(DiscoveredRobot Robot, bool Gone);

/// <summary>Browses for robots, or resolves one name, over mDNS.</summary>
public sealed class RobotDiscovery : IDisposable
{
    private readonly Socket _socket;
    private readonly HashSet<int> _joined = [];
    private IReadOnlyList<int> _interfaces;
    private readonly TimeProvider _time;
    private readonly RobotBrowse _browse = new();
    private readonly byte[] _buffer = new byte[DnsWire.MaxMessageSize + 1];

    private RobotDiscovery(Socket socket, IReadOnlyList<int> interfaces, TimeProvider time)
    {
        _socket = socket;
        _interfaces = interfaces;
        _time = time;
    }

    /// <summary>True when bound to port 5353 in the group (announcements and goodbyes are heard), false for one-shot queries.</summary>
    public bool HearsMulticast { get; private init; }

    /// <summary>False when no up, multicast-capable interface with an IPv4 address was there at the last query.</summary>
    public bool HasInterface => _interfaces.Count > 0;

    /// <summary>Datagrams that were not DNS messages, refused.</summary>
    public int Refused { get; private set; }

    /// <summary>Opens the socket. A machine with no multicast-capable interface is a <see cref="SocketException"/>.</summary>
    public static RobotDiscovery Open(TimeProvider? time = null)
    {
        var interfaces = MulticastInterfaces();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var shared = true;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Any, DnsWire.MdnsPort));
            }
            catch (SocketException)
            {
                socket.Dispose();
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Any, 0));
                shared = false;
            }

            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RobotDiscovery(socket, interfaces, time ?? TimeProvider.System) { HearsMulticast = shared };
    }

    /// <summary>
    /// Listens for <paramref name="duration"/> and returns the robots seen at the end. <paramref name="seen"/> hears each
    /// robot as it appears, changes or goes (a goodbye), in order.
    /// </summary>
    public async Task<IReadOnlyList<DiscoveredRobot>> BrowseAsync(TimeSpan duration, Action<RobotSighting>? seen, CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, DiscoveredRobot>(StringComparer.OrdinalIgnoreCase);
        void Report()
        {
            var now = _time.GetUtcNow();
            var robots = _browse.Robots(now);
            foreach (var gone in known.Values.Where(k => !robots.Any(r => r.Instance.Equals(k.Instance, StringComparison.OrdinalIgnoreCase))).ToArray())
            {
                known.Remove(gone.Instance);
                seen?.Invoke(new RobotSighting(gone, Gone: true));
            }

            foreach (var robot in robots)
            {
                if (!known.TryGetValue(robot.Instance, out var before) || !Same(before, robot))
                {
                    known[robot.Instance] = robot;
                    seen?.Invoke(new RobotSighting(robot, Gone: false));
                }
            }
        }

        await RunAsync(
            duration,
            first => [RobotBrowse.BrowseQuestion(unicastResponse: first), .. _browse.FollowUps(_time.GetUtcNow())],
            Report,
            () => false,
            cancellationToken).ConfigureAwait(false);
        return _browse.Robots(_time.GetUtcNow());
    }

    /// <summary>Asks for <paramref name="name"/> (an instance name or a HOST.local) for up to <paramref name="limit"/>; null when nobody answered.</summary>
    public async Task<(IReadOnlyList<IPAddress> Addresses, int? Port)?> ResolveAsync(string name, TimeSpan limit, CancellationToken cancellationToken)
    {
        await RunAsync(
            limit,
            _ => [.. RobotBrowse.ResolveQuestions(name), .. _browse.FollowUps(_time.GetUtcNow())],
            () => { },
            () => _browse.Resolve(name, _time.GetUtcNow()) is not null,
            cancellationToken).ConfigureAwait(false);
        return _browse.Resolve(name, _time.GetUtcNow());
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>The loop: send the questions on schedule, read and apply each datagram, until the time is up or <paramref name="done"/>.</summary>
    private async Task RunAsync(TimeSpan duration, Func<bool, IReadOnlyList<DnsQuestion>> questions, Action changed, Func<bool> done, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var nextQuery = TimeSpan.Zero;
        var interval = TimeSpan.FromSeconds(1);
        var first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            var elapsed = _time.GetElapsedTime(start);
            if (elapsed >= duration || done())
            {
                break;
            }

            if (elapsed >= nextQuery)
            {
                FollowInterfaces();
                await SendAsync(DnsMessage.Query([.. questions(first)]), cancellationToken).ConfigureAwait(false);
                first = false;
                nextQuery = elapsed + interval;
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, TimeSpan.FromSeconds(60).Ticks));
                changed(); // expiries
            }

            var wait = TimeSpan.FromTicks(Math.Max(1, Math.Min(nextQuery.Ticks, duration.Ticks) - elapsed.Ticks));
            using var slice = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            slice.CancelAfter(wait);
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(_buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), slice.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.ConnectionReset)
            {
                Refused++;
                continue;
            }

            if (!DnsMessageReader.TryRead(_buffer.AsSpan(0, received.ReceivedBytes), out var message, out _))
            {
                Refused++;
                continue;
            }

            if (_browse.Apply(message, _time.GetUtcNow()))
            {
                changed();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Lists the interfaces again before each query, and joins the group on any new one when bound to 5353: a laptop
    /// that joins the network after the search began (Wi-Fi coming up during a long --watch) still finds its robot.
    /// </summary>
    private void FollowInterfaces()
    {
        _interfaces = MulticastInterfaces();
        if (!HearsMulticast)
        {
            return;
        }

        foreach (var index in _interfaces.Where(i => !_joined.Contains(i)))
        {
            try
            {
                _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(DnsWire.MdnsGroupV4, index));
                _joined.Add(index);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                _joined.Add(index);
            }
            catch (SocketException)
            {
                // Gone again, or not ready: tried again before the next query.
            }
        }
    }

    private async Task SendAsync(DnsMessage query, CancellationToken cancellationToken)
    {
        var bytes = DnsMessageWriter.Write(query);
        var group = new IPEndPoint(DnsWire.MdnsGroupV4, DnsWire.MdnsPort);
        foreach (var index in _interfaces)
        {
            try
            {
                _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.HostToNetworkOrder(index));
                await _socket.SendToAsync(bytes, SocketFlags.None, group, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // An interface that went down: the others still ask.
            }
        }
    }

    private static bool Same(DiscoveredRobot a, DiscoveredRobot b) =>
        a.HostName == b.HostName && a.Port == b.Port && a.Fingerprint == b.Fingerprint && a.CaFingerprint == b.CaFingerprint &&
        a.CertificateName == b.CertificateName && a.Addresses.SequenceEqual(b.Addresses);

    /// <summary>Up, multicast-capable, non-loopback interfaces with an IPv4 address: where the robots may be.</summary>
    private static List<int> MulticastInterfaces()
    {
        var found = new List<int>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback || !nic.SupportsMulticast ||
                nic.OperationalStatus is not (OperationalStatus.Up or OperationalStatus.Unknown))
            {
                continue;
            }

            var properties = nic.GetIPProperties();
            if (properties.UnicastAddresses.Any(u => u.Address.AddressFamily == AddressFamily.InterNetwork))
            {
                found.Add(properties.GetIPv4Properties().Index);
            }
        }

        return found;
    }
}
