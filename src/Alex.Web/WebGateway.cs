using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alex.Client;
using Alex.Protocol.Extensions;
using Alex.Protocol.Mcap;
using Alex.Web.Page;
using Alex.Web.Replay;
using Alex.Web.Robot;
using Alex.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Alex.Web;

/// <summary>How to run the gateway (`alex web`, `alex demo --web`).</summary>
public sealed class WebGatewayOptions
{
    /// <summary>Where the page is served. Loopback unless <see cref="Expose"/> and an HTTPS certificate are given.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 8080);

    /// <summary>Server certificate with its private key (from `alex pki`); required to listen beyond loopback.</summary>
    public X509Certificate2? HttpsCertificate { get; init; }

    /// <summary>The explicit opt-in to listen on a non-loopback address.</summary>
    public bool Expose { get; init; }

    public RobotGeometry Geometry { get; init; } = new();

    /// <summary>The team's declared commands (docs/extensions.md): listed on the page with their keys, their replies shown.</summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The per-run secret; a fresh random one unless a test sets it.</summary>
    public AccessToken? Token { get; init; }

    /// <summary>Shown in the page's footer (the `alex` version).</summary>
    public string Version { get; init; } = WebGateway.Version;

    /// <summary>Where the gateway's own log goes (nothing by default).</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }
}

/// <summary>The gateway could not listen where it was asked to (the port is taken, the address is not this machine's).</summary>
public sealed class WebGatewayListenException : Exception
{
    public WebGatewayListenException()
    {
    }

    public WebGatewayListenException(string message)
        : base(message)
    {
    }

    public WebGatewayListenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private WebGatewayListenException(string message, string hint, Exception innerException)
        : base(message, innerException)
    {
        Hint = hint;
    }

    /// <summary>What to do about it, in one line.</summary>
    public string? Hint { get; }

    internal static WebGatewayListenException From(IPEndPoint listen, Exception e)
    {
        var socket = e;
        while (socket is not null and not System.Net.Sockets.SocketException)
        {
            socket = socket.InnerException;
        }

        return (socket as System.Net.Sockets.SocketException)?.SocketErrorCode switch
        {
            System.Net.Sockets.SocketError.AddressAlreadyInUse => new($"cannot listen on {listen}: the port is in use", "is another `alex web` running? pick another port with --listen 127.0.0.1:PORT (0 = any free port)", e),
            System.Net.Sockets.SocketError.AddressNotAvailable => new($"cannot listen on {listen}: that address is not one of this machine's", "give an address of this laptop (see `ip addr`), or leave --listen out for 127.0.0.1", e),
            System.Net.Sockets.SocketError.AccessDenied => new($"cannot listen on {listen}: permission denied", "ports below 1024 need root: pick a port above 1024", e),
            _ => new($"cannot listen on {listen}: {e.Message.TrimEnd('.')}", "check --listen, --https-cert and --https-key", e),
        };
    }
}

/// <summary>A running gateway: its URL (with the token) and how to stop it.</summary>
public sealed class RunningWebGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IPageHub _hub;

    internal RunningWebGateway(WebApplication app, IPageHub hub, Uri url)
    {
        _app = app;
        _hub = hub;
        Url = url;
    }

    /// <summary>The URL to open: the gateway's address with the per-run token.</summary>
    public Uri Url { get; }

    /// <summary>Completes when the gateway stops.</summary>
    public Task Completion => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app);

    internal IPageHub Hub => _hub;

    public async ValueTask DisposeAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(bound.Token).ConfigureAwait(false);
        await _hub.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// `alex web`: serves the page and its WebSocket from one origin and relays to the robot through
/// Alex.Client, like any other client (docs/protocol.md, "Web gateway"). The browser never talks to the robot and never
/// sees the client key.
/// </summary>
public static class WebGateway
{
    /// <summary>The browser's WebSocket is pinged this often; a page that stops answering is dropped.</summary>
    internal static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(5);

    public static string Version { get; } =
        typeof(WebGateway).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Checks the options; returns a one-line reason when they are unsafe or impossible.</summary>
    public static string? Validate(WebGatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = options.Listen.Address;
        if (IPAddress.IsLoopback(address))
        {
            return null;
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return $"cannot listen on {options.Listen}: give the one address the browser will use (e.g. --listen 192.168.1.20:8443), so requests for any other Host can be refused";
        }

        if (!options.Expose)
        {
            return $"{options.Listen} is not a loopback address: anyone on that network could reach the page; add --expose to mean it";
        }

        if (options.HttpsCertificate is null)
        {
            return $"listening on {options.Listen} needs HTTPS: give --https-cert and --https-key (a server certificate from `alex pki`)";
        }

        if (!options.HttpsCertificate.HasPrivateKey)
        {
            return "the HTTPS certificate has no private key";
        }

        return null;
    }

    /// <summary>
    /// Checks the HTTPS certificate for what a browser (and Kestrel) needs of a web server's: the
    /// serverAuth usage when it lists usages (RFC 5280 §4.2.1.12). A laptop's client certificate is not one.
    /// </summary>
    public static string? ValidateHttpsCertificate(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return null;
        }

        return Alex.Pki.CertificateFacts.From(certificate).AllowsServerAuth
            ? null
            : $"{certificate.Subject}: not a server certificate (its extended key usage has no serverAuth), so browsers and the web server refuse it for HTTPS";
    }

    /// <summary>
    /// Starts the gateway for the robot server that <paramref name="robot"/> describes (AlexLink/1 with
    /// the laptop's certificate); returns once it listens. <see cref="RunningWebGateway.Url"/> is the
    /// URL to open. Used by `alex web` and `alex demo --web`.
    /// </summary>
    public static Task<RunningWebGateway> StartAsync(WebGatewayOptions options, AlexClientOptions robot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(robot);
        ArgumentNullException.ThrowIfNull(options);
        return StartAsync(options, RobotHub.Reach(robot, options.Geometry), cancellationToken);
    }

    /// <summary>Starts the gateway for a robot reached through <paramref name="robot"/>; returns once it listens.</summary>
    internal static Task<RunningWebGateway> StartAsync(WebGatewayOptions options, ReconnectingClient robot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StartAsync(options, log => new RobotHub(robot, options.Geometry, options.Version, options.Extensions, options.Time, log), cancellationToken);
    }

    /// <summary>
    /// Starts the gateway for a recording played back (`alex replay --web`, docs/recording.md "On the web page"): the
    /// same page, read-only, labelled with <paramref name="fileName"/> and the recording's clock; the playback begins
    /// when the first page opens, at <paramref name="speed"/> times the recorded pace. Returns once it listens.
    /// </summary>
    public static Task<RunningWebGateway> StartReplayAsync(WebGatewayOptions options, McapContents recording, string fileName, double speed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(recording);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(speed);
        var timeline = ReplayTimeline.From(recording);
        var info = new ReplayInfo(fileName, timeline.Start, timeline.Duration, speed);
        return StartAsync(options, log => new ReplayHub(timeline, info, options.Version, options.Geometry, options.Time, log), cancellationToken);
    }

    private static async Task<RunningWebGateway> StartAsync(WebGatewayOptions options, Func<ILogger, IPageHub> createHub, CancellationToken cancellationToken)
    {
        var (app, address, token, hub) = Build(options, createHub, builder => ConfigureKestrel(builder, options));
        var url = await ListenAsync(options, app, address, token, hub.DisposeAsync, cancellationToken).ConfigureAwait(false);
        return new RunningWebGateway(app, hub, url);
    }

    /// <summary>
    /// Starts <paramref name="app"/> (built by <see cref="NewApp"/>) where <paramref name="options"/> say and returns the URL to
    /// open, with the token; when it cannot listen, <paramref name="release"/> runs and the app is disposed. Shared by the robot's
    /// page and the fleet page (Fleet/FleetGateway.cs).
    /// </summary>
    internal static async Task<Uri> ListenAsync(WebGatewayOptions options, WebApplication app, GatewayAddress address, AccessToken token, Func<ValueTask> release, CancellationToken cancellationToken)
    {
        if ((Validate(options) ?? ValidateHttpsCertificate(options.HttpsCertificate)) is { } problem)
        {
            await release().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(problem);
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            await release().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw WebGatewayListenException.From(options.Listen, e);
        }

        var bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the gateway did not report its address");
        address.Bind(new Uri(bound));
        return new Uri(address.BaseUri, $"?{GatewayGuard.TokenQueryName}={token.Value}");
    }

    internal static void ConfigureKestrel(WebApplicationBuilder builder, WebGatewayOptions options)
    {
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 16 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Listen(options.Listen, listen =>
            {
                if (options.HttpsCertificate is { } cert)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = cert,
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    });
                }
            });
        });
    }

    /// <summary>
    /// A gateway app before its routes: the logging asked for, the server <paramref name="configure"/> chooses, the
    /// per-run token and the guard (Host, token, Origin, security headers) in front of everything. The address is bound
    /// once the port is known; until then every request is refused.
    /// </summary>
    internal static (WebApplication App, GatewayAddress Address, AccessToken Token) NewApp(WebGatewayOptions options, Action<WebApplicationBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(WebGateway).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        options.Logging?.Invoke(builder.Logging);
        configure(builder);

        var app = builder.Build();
        var token = options.Token ?? AccessToken.Create();
        var address = new GatewayAddress();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = KeepAliveInterval, KeepAliveTimeout = KeepAliveTimeout });
        app.Use(new GatewayGuard(token, address).InvokeAsync);
        return (app, address, token);
    }

    /// <summary>
    /// The app without a server choice: Kestrel for real, TestServer in tests. The address is bound
    /// by the caller once the port is known; until then every request is refused.
    /// </summary>
    internal static (WebApplication App, GatewayAddress Address, AccessToken Token, RobotHub Hub) Build(
        WebGatewayOptions options, ReconnectingClient robot, Action<WebApplicationBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (app, address, token, hub) = Build(options, log => new RobotHub(robot, options.Geometry, options.Version, options.Extensions, options.Time, log), configure);
        return (app, address, token, (RobotHub)hub);
    }

    /// <summary>As above, for pages joined to the hub <paramref name="createHub"/> makes (given the gateway's log): a robot or a replay.</summary>
    internal static (WebApplication App, GatewayAddress Address, AccessToken Token, IPageHub Hub) Build(
        WebGatewayOptions options, Func<ILogger, IPageHub> createHub, Action<WebApplicationBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(createHub);
        var (app, address, token) = NewApp(options, configure);
        var hub = createHub(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("alex.web"));
        ServePages(app, hub.RunPageAsync, PageAssets.TryGet);
        return (app, address, token, hub);
    }

    /// <summary>Finds one of a page's files by its path.</summary>
    internal delegate bool AssetLookup(string path, out Asset asset);

    /// <summary>
    /// What a gateway serves (behind NewApp's guard): its pages' WebSocket at /ws, run by <paramref name="runPage"/> until
    /// the page or the gateway goes, and the files <paramref name="assets"/> finds; any other method or path is refused.
    /// </summary>
    internal static void ServePages(WebApplication app, Func<System.Net.WebSockets.WebSocket, CancellationToken, Task> runPage, AssetLookup assets)
    {
        var stopping = app.Lifetime.ApplicationStopping;
        app.Run(async context =>
        {
            var path = context.Request.Path.Value ?? "/";
            if (path == "/ws")
            {
                if (!context.WebSockets.IsWebSocketRequest)
                {
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    return;
                }

                using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
                await runPage(socket, both.Token).ConfigureAwait(false);
                return;
            }

            if (!(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }

            if (assets(path, out var asset))
            {
                await PageAssets.ServeAsync(context, asset).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status404NotFound;
        });
    }
}
