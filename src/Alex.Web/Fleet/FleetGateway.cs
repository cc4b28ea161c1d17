using Alex.Fleet;
using Alex.Web.Page;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Alex.Web.Fleet;

/// <summary>A running fleet page: its URL (with the token) and how to stop it.</summary>
public sealed class RunningFleetGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningFleetGateway(WebApplication app, FleetHub hub, Uri url)
    {
        _app = app;
        Hub = hub;
        Url = url;
    }

    /// <summary>The URL to open: the gateway's address with the per-run token.</summary>
    public Uri Url { get; }

    /// <summary>Completes when the gateway stops.</summary>
    public Task Completion => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app);

    internal FleetHub Hub { get; }

    public async ValueTask DisposeAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(bound.Token).ConfigureAwait(false);
        await Hub.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// `alex fleet BROKER --web`: the instructor's view of the fleet as a page (docs/fleet.md "The fleet page"), served like the
/// robot's page (the same guard: Host, per-run token, Origin; loopback unless exposed over HTTPS). The gateway renders what
/// <see cref="FleetWatch"/> holds and relays the page's STOPs to it; the states and the rules are Alex.Protocol's and Alex.Pki's.
/// </summary>
public static class FleetGateway
{
    /// <summary>
    /// Serves the fleet page for <paramref name="watch"/> (connected by the caller, who keeps owning it); returns once it listens.
    /// Throws <see cref="WebGatewayListenException"/> when it cannot listen.
    /// </summary>
    public static async Task<RunningFleetGateway> StartAsync(WebGatewayOptions options, FleetWatch watch, FleetPageFacts facts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentNullException.ThrowIfNull(facts);
        var (app, address, token) = WebGateway.NewApp(options, builder => WebGateway.ConfigureKestrel(builder, options));
        var hub = new FleetHub(watch, facts, options.Version, options.Time, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("alex.web"));
        WebGateway.ServePages(app, hub.RunPageAsync, PageAssets.TryGetFleet);

        var url = await WebGateway.ListenAsync(options, app, address, token, hub.DisposeAsync, cancellationToken).ConfigureAwait(false);
        return new RunningFleetGateway(app, hub, url);
    }
}
