using System.Text;
using Microsoft.AspNetCore.Http;

namespace Alex.Web.Security;

/// <summary>
/// The gate every request passes before it reaches the page or the WebSocket:
/// <list type="number">
/// <item>Host must be the address the gateway printed: a page on evil.example whose name was
/// re-pointed at 127.0.0.1 (DNS rebinding) sends Host: evil.example and is refused.</item>
/// <item>The per-run token, from the printed URL (query) or from the cookie set on first load.
/// The first load swaps the query token for an HttpOnly SameSite=Strict cookie and redirects to a
/// clean URL, so the token does not stay in the address bar or history.</item>
/// <item>Origin must be this gateway's own origin for the WebSocket and anything that is not GET/HEAD:
/// another site open in the same browser cannot drive the robot through the user's cookie.</item>
/// </list>
/// Every response, refusals included, carries headers that forbid framing, sniffing, referrers and
/// anything not served by the gateway itself (CSP default-src 'self', no inline script).
/// </summary>
internal sealed class GatewayGuard
{
    public const string TokenQueryName = "token";

    /// <summary>Content-Security-Policy: nothing from the internet, no inline script or style, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly AccessToken _token;
    private readonly GatewayAddress _address;

    public GatewayGuard(AccessToken token, GatewayAddress address)
    {
        _token = token;
        _address = address;
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        AddSecurityHeaders(context.Response);
        var verdict = Judge(context.Request, context.WebSockets.IsWebSocketRequest);
        switch (verdict)
        {
            case Verdict.Allow:
                await next(context).ConfigureAwait(false);
                return;
            case Verdict.AllowAndSetCookie:
                // Swap the URL token for a cookie, then show the page at a URL without the token.
                context.Response.Cookies.Append(_address.CookieName, _token.Value, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Secure = _address.IsHttps,
                    Path = "/",
                    IsEssential = true,
                });
                context.Response.StatusCode = StatusCodes.Status303SeeOther;
                context.Response.Headers.Location = context.Request.Path.HasValue ? context.Request.Path.Value : "/";
                return;
            default:
                await RefuseAsync(context.Response, verdict).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The decision alone, so the rules read (and are tested) apart from the plumbing.</summary>
    public Verdict Judge(HttpRequest request, bool isWebSocket)
    {
        if (!_address.IsBound || !_address.IsExpectedHost(request.Host))
        {
            return Verdict.WrongHost;
        }

        var mustCheckOrigin = isWebSocket || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method));
        if (mustCheckOrigin && !string.Equals(request.Headers.Origin.ToString(), _address.Origin, StringComparison.OrdinalIgnoreCase))
        {
            return Verdict.ForeignOrigin;
        }

        var fromQuery = request.Query[TokenQueryName];
        if (fromQuery.Count > 0)
        {
            if (fromQuery.Count != 1 || !_token.Matches(fromQuery[0]))
            {
                return Verdict.NoToken;
            }

            // A browser's first load: trade the token for the cookie. Scripts and the WebSocket keep the query.
            return !isWebSocket && HttpMethods.IsGet(request.Method) ? Verdict.AllowAndSetCookie : Verdict.Allow;
        }

        return _token.Matches(request.Cookies[_address.CookieName]) ? Verdict.Allow : Verdict.NoToken;
    }

    internal static void AddSecurityHeaders(HttpResponse response)
    {
        var h = response.Headers;
        h.ContentSecurityPolicy = ContentSecurityPolicy;
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h["Cross-Origin-Opener-Policy"] = "same-origin";
        h["Cross-Origin-Resource-Policy"] = "same-origin";
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), usb=(), serial=()";
        h.CacheControl = "no-store";
    }

    private static async Task RefuseAsync(HttpResponse response, Verdict verdict)
    {
        var (status, text) = verdict switch
        {
            Verdict.WrongHost => (StatusCodes.Status421MisdirectedRequest,
                "alex web: refused: the Host header is not the address this gateway listens on (DNS rebinding protection). Open the URL that `alex web` printed."),
            Verdict.ForeignOrigin => (StatusCodes.Status403Forbidden,
                "alex web: refused: this request comes from another web site (Origin). Only the gateway's own page may drive Alex."),
            _ => (StatusCodes.Status403Forbidden,
                "alex web: refused: missing or wrong access token. Open the full URL that `alex web` printed; it carries a secret for this run."),
        };
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text + "\n")).ConfigureAwait(false);
    }
}

/// <summary>What <see cref="GatewayGuard"/> decided about one request.</summary>
internal enum Verdict
{
    Allow,
    AllowAndSetCookie,
    WrongHost,
    ForeignOrigin,
    NoToken,
}
