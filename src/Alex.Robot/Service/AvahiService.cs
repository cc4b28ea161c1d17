// The robot announced on the local network by DNS-SD (RFC 6763) through the Pi's own mDNS responder, Avahi
// (running on Raspberry Pi OS by default): a static service file in /etc/avahi/services, which avahi-daemon
// picks up when it appears (avahi.service(5)). The same instance name, type and TXT as `alex serve`'s own
// responder announces (RobotAdvert, docs/protocol.md §8); the SRV target and addresses are Avahi's host name
// and addresses. Pure: text only; ServiceInstaller writes it.
using System.Globalization;
using System.Security;
using Alex.Protocol.Discovery;

namespace Alex.Robot.Service;

/// <summary>Renders the Avahi static service file for a <see cref="RobotAdvert"/>.</summary>
public static class AvahiService
{
    /// <summary>Where avahi-daemon looks for static services.</summary>
    public const string Directory = "/etc/avahi/services";

    public const string Path = Directory + "/alexlink.service";

    public static string Render(RobotAdvert announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        var txt = string.Concat(announcement.Txt.Select(t => $"    <txt-record>{SecurityElement.Escape(t)}</txt-record>\n"));
        return $"""
            <?xml version="1.0" standalone='no'?>
            <!DOCTYPE service-group SYSTEM "avahi-service.dtd">
            <!-- Written by `alex serve install` (docs/service.md): the AlexLink robot server on this machine. -->
            <service-group>
              <name>{SecurityElement.Escape(announcement.CertificateName)}</name>
              <service>
                <type>{RobotAdvert.ServiceType}</type>
                <port>{announcement.Port.ToString(CultureInfo.InvariantCulture)}</port>

            """ + txt + """
              </service>
            </service-group>

            """;
    }
}
