using Microsoft.AspNetCore.Http;

namespace Alex.Web.Security;

/// <summary>
/// Where the gateway really listens, known only after Kestrel bound the port (port 0 in tests).
/// Until then every request is refused. The expected Host is exactly the printed authority.
/// </summary>
internal sealed class GatewayAddress
{
    private volatile Uri? _baseUri;

    public bool IsBound => _baseUri is not null;

    public bool IsHttps => _baseUri?.Scheme == Uri.UriSchemeHttps;

    /// <summary>scheme://host:port without a trailing slash, as browsers send it in Origin.</summary>
    public string Origin => _baseUri is { } u ? u.GetLeftPart(UriPartial.Authority) : string.Empty;

    public Uri BaseUri => _baseUri ?? throw new InvalidOperationException("the gateway is not listening yet");

    /// <summary>
    /// Cookies are shared by every port of a host, so the name carries the port: two gateways on one
    /// laptop do not overwrite each other's token. Over HTTPS the __Host- prefix also pins it to this
    /// exact host, Secure and Path=/ (RFC 6265bis §4.1.3.2).
    /// </summary>
    public string CookieName => IsHttps ? $"__Host-alex-web-{BaseUri.Port}" : $"alex-web-{BaseUri.Port}";

    public void Bind(Uri baseUri)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        _baseUri = new Uri(baseUri.GetLeftPart(UriPartial.Authority) + "/");
    }

    public bool IsExpectedHost(HostString host)
    {
        if (_baseUri is not { } u || !host.HasValue)
        {
            return false;
        }

        var port = host.Port ?? (u.Scheme == Uri.UriSchemeHttps ? 443 : 80);
        var name = host.Host.Trim('[', ']');
        var expected = u.Host.Trim('[', ']');
        return port == u.Port && string.Equals(name, expected, StringComparison.OrdinalIgnoreCase);
    }
}
