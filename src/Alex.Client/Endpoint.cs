using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Alex.Client;

/// <summary>"HOST[:PORT]" as people type it: alex.local, alex.local:5001, 127.0.0.1:5000, [::1]:5000, ::1.</summary>
public readonly record struct HostPort(string Host, int Port)
{
    public static bool TryParse(string text, int defaultPort, [NotNullWhen(true)] out HostPort? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        error = null;
        var t = (text ?? "").Trim();
        if (t.Length == 0)
        {
            error = "no host given";
            return false;
        }

        string host;
        string? port = null;
        if (t.StartsWith('['))
        {
            var close = t.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{t}': missing ']' after the IPv6 address";
                return false;
            }

            host = t[1..close];
            var rest = t[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    error = $"'{t}': expected ':PORT' after ']'";
                    return false;
                }

                port = rest[1..];
            }
        }
        else if (t.Count(c => c == ':') > 1)
        {
            host = t; // a bare IPv6 address: no port
        }
        else
        {
            var colon = t.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? t : t[..colon];
            port = colon < 0 ? null : t[(colon + 1)..];
        }

        if (host.Length == 0 || (Uri.CheckHostName(host) == UriHostNameType.Unknown && !IPAddress.TryParse(host, out _)))
        {
            error = $"'{host}' is not a host name or address";
            return false;
        }

        var number = defaultPort;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            error = $"'{port}' is not a port number (1-65535)";
            return false;
        }

        result = new HostPort(host, number);
        return true;
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
