using System.CommandLine;
using System.Net;
using Alex.Client;
using Alex.Pki;
using Alex.Protocol.Extensions;
using Alex.Web;
using Microsoft.Extensions.Logging;

namespace Alex.Cli;

/// <summary>`alex web`: the web gateway. Parsing and errors here; the work is Alex.Web.</summary>
internal static class WebCommand
{
    public const int DefaultListenPort = 8080;

    public static Command Create()
    {
        var cmd = new Command(
            "web",
            "Serve a web page on this laptop to drive and watch Alex (the gateway holds the laptop's certificate).\n\n" +
            "Examples:\n" +
            "  alex web --robot alex.local:5000 --pki pki\n" +
            "  alex web --robot 192.168.1.42 --name alex.epp.com --cert laptop.crt --key laptop.key --ca signing.pem\n" +
            "  alex web --robot 127.0.0.1:5001 --pki pki --listen 127.0.0.1:9000\n" +
            "  alex web --robot alex.local --pki pki --listen 192.168.1.20:8443 --expose --https-cert web.crt --https-key web.key\n" +
            "  alex web --robot alex.local --pki pki --extensions alex-extensions.json   the team's commands on the page, with their keys\n\n" +
            "It prints a URL with a secret token for this run; open it in a browser on this laptop. Requests without the\n" +
            "token, from another web site (Origin) or for another host name (DNS rebinding) are refused. Closing the page\n" +
            "lets go of the robot: its server's dead-man stops it.");

        var robot = new Option<string>("--robot") { Description = $"The robot server, HOST[:PORT] (port {AlexClientOptions.DefaultPort} when not given)", Required = true };
        var listen = new Option<string>("--listen") { Description = $"Where the page is served (default 127.0.0.1:{DefaultListenPort}; port 0 picks a free one)" };
        var expose = new Option<bool>("--expose") { Description = "Allow --listen on an address other than loopback (needs --https-cert and --https-key)" };
        var httpsCert = new Option<string>("--https-cert") { Description = "Server certificate for HTTPS (`alex pki issue server NAME`), needed with --expose" };
        var httpsKey = new Option<string>("--https-key") { Description = "Its private key (may be encrypted: --passphrase-file opens it)" };
        var extensions = ExtensionsOption.Create();
        cmd.Options.Add(robot);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        foreach (var o in new Option[] { listen, expose, httpsCert, httpsKey, extensions })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(robot)!, "--robot");
            _ = connection.TimeoutValue(pr);
            var declared = ExtensionsOption.Load(pr.GetValue(extensions));
            var source = connection.Source(pr);
            var options = GatewayOptions(pr.GetValue(listen), pr.GetValue(expose), pr.GetValue(httpsCert), pr.GetValue(httpsKey), source.Passphrase, declared);
            using var credentials = ConnectionOptions.Load(source);
            var client = connection.ClientOptions(pr, endpoint, credentials);
            return await RunAsync(options, client, ct).ConfigureAwait(false);
        });
        return cmd;
    }

    private static async Task<int> RunAsync(WebGatewayOptions options, AlexClientOptions client, CancellationToken ct)
    {
        RunningWebGateway gateway;
        try
        {
            gateway = await WebGateway.StartAsync(options, client, ct).ConfigureAwait(false);
        }
        catch (WebGatewayListenException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        await using (gateway.ConfigureAwait(false))
        {
            Console.Out.WriteLine($"alex web: the page for robot {new HostPort(client.Host, client.Port)}");
            Console.Out.WriteLine();
            Console.Out.WriteLine($"  open  {gateway.Url}");
            Console.Out.WriteLine();
            Console.Out.WriteLine("The URL carries a secret for this run: anyone with it can drive Alex. Ctrl+C stops the gateway.");
            try
            {
                await gateway.Completion.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: stop the gateway (which lets go of the robot) and exit cleanly.
            }
        }

        return AlexCommandLine.ExitOk;
    }

    /// <summary>The gateway's options; an encrypted --https-key is opened with <paramref name="passphrase"/>, as the laptop's key is.</summary>
    internal static WebGatewayOptions GatewayOptions(string? listen, bool expose, string? httpsCert, string? httpsKey, KeyPassphrase passphrase, TeamExtensions extensions)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, DefaultListenPort);
        if (listen is not null)
        {
            var text = listen.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + listen["localhost".Length..] : listen;
            if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0 && !text.EndsWith(":0", StringComparison.Ordinal))
            {
                throw new CliException($"--listen {listen}: not ADDRESS:PORT", hint: "e.g. --listen 127.0.0.1:8080 (an IP address, so the Host header can be checked)");
            }

            endpoint = parsed;
        }

        if ((httpsCert is null) != (httpsKey is null))
        {
            throw new CliException("--https-cert and --https-key go together", hint: "issue a server certificate with `alex pki issue` and give both files");
        }

        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        if (httpsCert is not null)
        {
            try
            {
                certificate = passphrase.LoadCertificateWithKey(httpsCert, httpsKey!);
            }
            catch (PkiException e)
            {
                throw new CliException(e.Message, e.Hint ?? $"--https-key must be the key of --https-cert; an encrypted one opens with --passphrase-file FILE or ${KeyPassphrase.EnvironmentVariable}");
            }
        }

        var options = new WebGatewayOptions
        {
            Listen = endpoint,
            Expose = expose,
            HttpsCertificate = certificate,
            Version = AlexCommandLine.Version,
            Extensions = extensions,

            // What the gateway does, one line each on stderr (commands, the robot link, pages leaving);
            // ASP.NET Core's own chatter only when something is wrong.
            Logging = logging => logging
                .AddFilter("alex.web", LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning)

                // A gateway that cannot start says so in one line (WebGatewayListenException), not with the host's stack trace.
                .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None)
                .AddSimpleConsole(c =>
                {
                    c.SingleLine = true;
                    c.TimestampFormat = "HH:mm:ss ";
                })
                .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace),
        };
        if (WebGateway.Validate(options) is { } problem)
        {
            throw new CliException(problem, hint: "the page is safest on 127.0.0.1 (the default); open it on this laptop");
        }

        if (WebGateway.ValidateHttpsCertificate(certificate) is { } notServer)
        {
            certificate?.Dispose();
            throw new CliException(notServer, hint: "issue one for this laptop's address with `alex pki issue server NAME --ip ADDRESS` and give it with --https-cert and --https-key");
        }

        return options;
    }
}
