using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Alex.Web.Page;

/// <summary>
/// The page's files, compiled into the assembly (no build step, no CDN, nothing from the internet:
/// `alex` carries its page). An explicit list: only these names are served, nothing from the disk.
/// </summary>
internal static class PageAssets
{
    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    public static IEnumerable<string> Names => Assets.Keys;

    /// <summary>The fleet page's own files (fleet.html, fleet.js, fleet.css): served by the fleet gateway, not the robot's.</summary>
    public const string FleetPrefix = "fleet.";

    /// <summary>The robot's page: index.html at "/", its files, and the shared style and icon.</summary>
    public static bool TryGet(string path, out Asset asset)
    {
        var name = path is "" or "/" ? "index.html" : path.TrimStart('/');
        asset = null!;
        return !name.StartsWith(FleetPrefix, StringComparison.Ordinal) && Assets.TryGetValue(name, out asset!);
    }

    /// <summary>The fleet page (Fleet/FleetGateway.cs): fleet.html at "/", its files, and the shared style and icon.</summary>
    public static bool TryGetFleet(string path, out Asset asset)
    {
        var name = path is "" or "/" ? FleetPrefix + "html" : path.TrimStart('/');
        asset = null!;
        return (name.StartsWith(FleetPrefix, StringComparison.Ordinal) || name is "style.css" or "icon.svg") && Assets.TryGetValue(name, out asset!);
    }

    public static async Task ServeAsync(HttpContext context, Asset asset)
    {
        var response = context.Response;
        response.ContentType = asset.ContentType;
        response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentLength = asset.Content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        const string Prefix = "page/";
        var assembly = typeof(PageAssets).Assembly;
        var map = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[Prefix.Length..];
            var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 8)) + "\"";
            map[name] = new Asset(bytes, ContentTypeOf(name), etag);
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}

/// <summary>One served file.</summary>
internal sealed record Asset(byte[] Content, string ContentType, string ETag);
