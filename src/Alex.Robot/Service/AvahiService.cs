// The robot announced on the local network by DNS-SD (RFC 6763) through the Pi's own mDNS responder, Avahi
// (running on Raspberry Pi OS by default): a static service file in /etc/avahi/services, which avahi-daemon
// picks up when it appears (avahi.service(5)). Type _alexlink._tcp; TXT: the robot's certificate name, its
// SHA-256 fingerprint and the CA's, so a laptop can tell before connecting which robot is which and whether
// it claims our CA (the TLS handshake then proves it). Pure: text only; ServiceInstaller writes it.
using System.Globalization;
using System.Security;

namespace Alex.Robot.Service;

/// <summary>What the robot announces: its name, port and fingerprints.</summary>
public sealed record Announcement(string CertificateName, int Port, string Fingerprint, string CaFingerprint)
{
    /// <summary>The DNS-SD service type (RFC 6763 §7).</summary>
    public const string ServiceType = "_alexlink._tcp";

    /// <summary>The TXT record's key=value strings (RFC 6763 §6), each well under the 255-byte limit.</summary>
    public IReadOnlyList<string> Txt => ["v=1", "name=" + CertificateName, "fp=" + Fingerprint, "ca=" + CaFingerprint];
}

/// <summary>Renders the Avahi static service file for an <see cref="Announcement"/>.</summary>
public static class AvahiService
{
    /// <summary>Where avahi-daemon looks for static services.</summary>
    public const string Directory = "/etc/avahi/services";

    public const string Path = Directory + "/alexlink.service";

    public static string Render(Announcement announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        var txt = string.Concat(announcement.Txt.Select(t => $"    <txt-record>{SecurityElement.Escape(t)}</txt-record>\n"));
        return $"""
            <?xml version="1.0" standalone='no'?>
            <!DOCTYPE service-group SYSTEM "avahi-service.dtd">
            <!-- Written by `alex serve install` (docs/service.md): the AlexLink robot server on this machine. -->
            <service-group>
              <name replace-wildcards="yes">{SecurityElement.Escape(announcement.CertificateName)} on %h</name>
              <service>
                <type>{Announcement.ServiceType}</type>
                <port>{announcement.Port.ToString(CultureInfo.InvariantCulture)}</port>

            """ + txt + """
              </service>
            </service-group>

            """;
    }
}
