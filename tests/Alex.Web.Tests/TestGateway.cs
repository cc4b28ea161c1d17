using Alex.Client;
using Alex.Web;
using Alex.Web.Robot;
using Alex.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;

namespace Alex.Web.Tests;

/// <summary>The real gateway app on an in-process TestServer, as if Kestrel had bound 127.0.0.1:8080.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    public static readonly Uri Base = new("http://127.0.0.1:8080/");
    public const string Origin = "http://127.0.0.1:8080";

    private TestGateway(WebApplication app, TestServer server, AccessToken token, RobotHub hub)
    {
        App = app;
        Server = server;
        Token = token;
        Hub = hub;
    }

    public WebApplication App { get; }

    public TestServer Server { get; }

    public AccessToken Token { get; }

    public RobotHub Hub { get; }

    public string CookieName => "alex-web-8080";

    public static async Task<TestGateway> StartAsync()
    {
        var (app, address, token, hub) = WebGateway.Build(new WebGatewayOptions(), UnreachableRobot.Create(), b => b.WebHost.UseTestServer());
        await app.StartAsync().Within();
        var server = app.GetTestServer();
        server.BaseAddress = Base;
        address.Bind(Base);
        return new TestGateway(app, server, token, hub);
    }

    public HttpClient Client()
    {
        var c = Server.CreateClient();
        c.BaseAddress = Base;
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().Within();
        await Hub.DisposeAsync().AsTask().Within();
        await App.DisposeAsync().AsTask().Within();
    }
}

/// <summary>A robot nobody answers for: the gateway's connect attempts fail as a refused TCP connect would.</summary>
internal static class UnreachableRobot
{
    public static ReconnectingClient Create() => RobotHub.Reach(
        "127.0.0.1:1",
        _ => Task.FromException<AlexLinkClient>(new AlexConnectException(ConnectFailure.Unreachable, "cannot reach 127.0.0.1:1: connection refused (nothing listens on that port)")),
        new RobotGeometry(),
        TimeProvider.System);
}
