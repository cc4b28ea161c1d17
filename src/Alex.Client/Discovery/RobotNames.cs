// HOST as every connecting command takes it: an address, a DNS name, a robot's DNS-SD instance name (its
// certificate's name, e.g. alex.epp.com) or a HOST.local, the last two found by mDNS (docs/install.md "Finding
// the robot"). Only where to connect comes from here: the name the TLS handshake checks is still the one typed
// (or --name), never something a LAN announcement said (docs/security.md "Discovery").
using System.Net;
using System.Net.Sockets;
using Alex.Protocol.Discovery;

namespace Alex.Client.Discovery;

public static class RobotNames
{
    /// <summary>How long mDNS is asked before a name counts as not found.</summary>
    public static readonly TimeSpan MdnsWait = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The addresses to connect to, and the port: <paramref name="port"/>, except that a robot announced on another port
    /// is reached on that one when <paramref name="port"/> is the default. Names not in DNS, and every NAME.local, are
    /// asked by mDNS. Not found: <see cref="AlexConnectException"/> (Unreachable) saying so.
    /// </summary>
    public static async Task<(IPAddress[] Addresses, int Port)> ResolveAsync(string host, int port, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (IPAddress.TryParse(host, out var literal))
        {
            return ([literal], port);
        }

        var local = RobotBrowse.IsLocalHostName(host);
        if (!local && await SystemAsync(host, cancellationToken).ConfigureAwait(false) is { } addresses)
        {
            return (addresses, port);
        }

        try
        {
            using var discovery = RobotDiscovery.Open(time);
            if (await discovery.ResolveAsync(host, MdnsWait, cancellationToken).ConfigureAwait(false) is { } found)
            {
                return ([.. found.Addresses], port == AlexClientOptions.DefaultPort && found.Port is { } announced ? announced : port);
            }
        }
        catch (SocketException)
        {
            // No multicast here: only the system's resolver is left.
        }

        if (local && await SystemAsync(host, cancellationToken).ConfigureAwait(false) is { } viaSystem)
        {
            return (viaSystem, port);
        }

        throw new AlexConnectException(
            ConnectFailure.Unreachable,
            $"cannot reach {host}:{port}: no such host (not in DNS, and no robot or host of that name answered by mDNS on the local network)",
            "run `alex discover` to list the robots this laptop can see, or give the robot's address");
    }

    private static async Task<IPAddress[]?> SystemAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            return addresses.Length > 0 ? addresses : null;
        }
        catch (SocketException)
        {
            return null; // not found, or no resolver reachable: mDNS, or the not-found error, comes next
        }
    }
}
