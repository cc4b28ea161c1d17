using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Alex.Web.Security;

namespace Alex.Web.Tests;

/// <summary>Issue 6: refuse requests without the token, with a foreign Origin, or with a rebinding Host.</summary>
public sealed class GatewayGuardTests : IAsyncLifetime
{
    private TestGateway _gw = null!;

    public async Task InitializeAsync() => _gw = await TestGateway.StartAsync();

    public async Task DisposeAsync() => await _gw.DisposeAsync();

    private HttpRequestMessage Get(string path, string? host = null, string? cookie = null, string? origin = null)
    {
        var r = new HttpRequestMessage(HttpMethod.Get, path);
        if (host is not null)
        {
            r.Headers.Host = host;
        }

        if (cookie is not null)
        {
            r.Headers.Add("Cookie", $"{_gw.CookieName}={cookie}");
        }

        if (origin is not null)
        {
            r.Headers.Add("Origin", origin);
        }

        return r;
    }

    [Fact]
    public async Task FirstLoad_WithTokenInUrl_SetsHttpOnlyStrictCookie_AndRedirectsToCleanUrl()
    {
        using var client = _gw.Client();
        using var response = await client.SendAsync(Get($"/?token={_gw.Token.Value}")).Within();

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith($"{_gw.CookieName}={_gw.Token.Value};", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Page_WithCookie_IsServed_WithSecurityHeaders()
    {
        using var client = _gw.Client();
        using var response = await client.SendAsync(Get("/", cookie: _gw.Token.Value)).Within();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Contains("<title>Alex</title>", await response.Content.ReadAsStringAsync().Within(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/style.css")]
    [InlineData("/nonexistent")]
    public async Task Request_WithoutToken_IsRefused(string path)
    {
        using var client = _gw.Client();
        using var response = await client.SendAsync(Get(path)).Within();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("access token", await response.Content.ReadAsStringAsync().Within(), StringComparison.Ordinal);
        // Refusals carry the security headers too.
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Request_WithWrongToken_IsRefused_InUrlAndInCookie()
    {
        var wrong = AccessToken.Create().Value;
        using var client = _gw.Client();
        using var byUrl = await client.SendAsync(Get($"/?token={wrong}")).Within();
        using var byCookie = await client.SendAsync(Get("/", cookie: wrong)).Within();
        using var truncated = await client.SendAsync(Get("/", cookie: _gw.Token.Value[..^1])).Within();

        Assert.Equal(HttpStatusCode.Forbidden, byUrl.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byCookie.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, truncated.StatusCode);
        Assert.False(byUrl.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("evil.example:8080")]
    [InlineData("evil.example")]
    [InlineData("127.0.0.1:8081")]
    [InlineData("127.0.0.1.evil.example:8080")]
    [InlineData("localhost:8080")]
    public async Task Request_WithRebindingHost_IsRefused_EvenWithTheToken(string host)
    {
        using var client = _gw.Client();
        using var response = await client.SendAsync(Get($"/?token={_gw.Token.Value}", host: host)).Within();

        Assert.Equal(HttpStatusCode.MisdirectedRequest, response.StatusCode);
        Assert.Contains("Host", await response.Content.ReadAsStringAsync().Within(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Post_FromForeignOrigin_IsRefused_EvenWithTheCookie()
    {
        using var client = _gw.Client();
        var r = Get("/ws", cookie: _gw.Token.Value, origin: "http://evil.example");
        r.Method = HttpMethod.Post;
        using var response = await client.SendAsync(r).Within();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Origin", await response.Content.ReadAsStringAsync().Within(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("http://127.0.0.1:8081")]
    [InlineData("https://127.0.0.1:8080")]
    [InlineData("null")]
    [InlineData(null)]
    public async Task WebSocket_FromForeignOrMissingOrigin_IsRefused(string? origin)
    {
        var ws = _gw.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r =>
        {
            r.Headers.Cookie = $"{_gw.CookieName}={_gw.Token.Value}";
            r.Headers.Host = "127.0.0.1:8080";
            if (origin is not null)
            {
                r.Headers.Origin = origin;
            }
        };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ws.ConnectAsync(new Uri("ws://127.0.0.1:8080/ws"), CancellationToken.None).Within());
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_WithoutToken_IsRefused()
    {
        var ws = _gw.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r =>
        {
            r.Headers.Host = "127.0.0.1:8080";
            r.Headers.Origin = TestGateway.Origin;
        };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ws.ConnectAsync(new Uri("ws://127.0.0.1:8080/ws"), CancellationToken.None).Within());
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_FromOwnPage_IsAccepted_AndSaysHello_ThenReportsTheUnreachableRobot()
    {
        var ws = _gw.Server.CreateWebSocketClient();
        ws.ConfigureRequest = r =>
        {
            r.Headers.Cookie = $"{_gw.CookieName}={_gw.Token.Value}";
            r.Headers.Host = "127.0.0.1:8080";
            r.Headers.Origin = TestGateway.Origin;
        };

        using var socket = await ws.ConnectAsync(new Uri("ws://127.0.0.1:8080/ws"), CancellationToken.None).Within();
        var hello = await ReceiveAsync(socket).Within();
        Assert.Equal("hello", hello.GetProperty("type").GetString());
        Assert.Equal("127.0.0.1:1", hello.GetProperty("robot").GetString());

        // The robot cannot be reached: the page hears "reconnecting" with the reason, and commands fail cleanly.
        JsonElement link;
        do
        {
            link = await ReceiveAsync(socket).Within();
        }
        while (!(link.GetProperty("type").GetString() == "link" && link.GetProperty("state").GetString() == "reconnecting"));
        Assert.Contains("refused", link.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);

        await SendAsync(socket, """{"type":"drive","id":7,"move":"forward","value":50,"speed":75}""");
        JsonElement reply;
        do
        {
            reply = await ReceiveAsync(socket).Within();
        }
        while (reply.GetProperty("type").GetString() != "reply");
        Assert.Equal(7, reply.GetProperty("id").GetInt64());
        Assert.False(reply.GetProperty("ok").GetBoolean());
        Assert.Equal("not connected to the robot", reply.GetProperty("text").GetString());

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).Within();
        await Bounded.Until(() => _gw.Hub.PageCount == 0, what: "the page to leave");
    }

    [Fact]
    public async Task Assets_LoadNothingFromTheInternet_AndHaveNoInlineScript()
    {
        using var client = _gw.Client();
        foreach (var name in Alex.Web.Page.PageAssets.Names)
        {
            using var response = await client.SendAsync(Get("/" + name, cookie: _gw.Token.Value)).Within();
            string text;
            if (name.StartsWith(Alex.Web.Page.PageAssets.FleetPrefix, StringComparison.Ordinal))
            {
                // The fleet page's files are the fleet gateway's (alex fleet --web), not the robot page's.
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Assert.True(Alex.Web.Page.PageAssets.TryGetFleet("/" + name, out var fleetAsset));
                text = Encoding.UTF8.GetString(fleetAsset.Content);
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                text = await response.Content.ReadAsStringAsync().Within();
            }

            // The only URL allowed is the SVG namespace, which is a name, not a fetch.
            var withoutSvgNamespace = text.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal);
            Assert.DoesNotContain("http://", withoutSvgNamespace, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", withoutSvgNamespace, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"innerHTML\s*=|insertAdjacentHTML|document\.write|eval\(", text); // text is data, never markup
        }

        using var index = await client.SendAsync(Get("/", cookie: _gw.Token.Value)).Within();
        var html = await index.Content.ReadAsStringAsync().Within();
        Assert.Matches("<script type=\"module\" src=\"app.js\"></script>", html);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "<script"));
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", html); // no inline event handlers either

        Assert.True(Alex.Web.Page.PageAssets.TryGetFleet("/", out var fleetIndex));
        var fleetHtml = Encoding.UTF8.GetString(fleetIndex.Content);
        Assert.Matches("<script type=\"module\" src=\"fleet.js\"></script>", fleetHtml);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(fleetHtml, "<script"));
        Assert.DoesNotMatch(@"\son[a-z]+\s*=", fleetHtml);
        Assert.False(Alex.Web.Page.PageAssets.TryGetFleet("/app.js", out _), "the fleet gateway serves only the fleet page's files");
    }

    private static async Task SendAsync(WebSocket socket, string json) =>
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None).Within();

    internal static async Task<JsonElement> ReceiveAsync(WebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var n = 0;
        WebSocketReceiveResult r;
        do
        {
            r = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, n, buffer.Length - n), CancellationToken.None);
            n += r.Count;
        }
        while (!r.EndOfMessage);
        using var doc = JsonDocument.Parse(buffer.AsMemory(0, n));
        return doc.RootElement.Clone();
    }
}
