using System.CommandLine;
using System.Diagnostics;
using System.Net;
using Alex.Cli.Demo;
using Alex.Cli.Drive;
using Alex.Client;
using Alex.Web;

namespace Alex.Cli;

/// <summary>
/// `alex demo`: a throwaway CA, the simulated Alex, the robot server on
/// loopback and the drive console, in one command and with no files beforehand; everything it started
/// is taken down on exit, Ctrl-C or error.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var script = new Option<string?>("--script")
        {
            Description = $"Drive these commands instead of opening the console, e.g. \"{DriveScript.DefaultScript}\" (';' between commands)",
        };
        var web = new Option<bool>("--web") { Description = "Also serve the web page (alex web) for the same robot; prints its URL. Off a terminal and without --script it serves until Ctrl-C" };
        var cmd = new Command(
            "demo",
            "Try everything on this machine: a simulated Alex, its server and the drive console, nothing to set up.\n\n" +
            "Examples:\n" +
            "  alex demo                                   drive a simulated Alex from this terminal\n" +
            $"  alex demo --script \"{DriveScript.DefaultScript}\"   a scripted drive; prints each result and the final odometry\n" +
            "  alex demo --web                             the console and the web page, side by side\n\n" +
            "Everything on one machine, nothing to set up: makes a throwaway CA and certificates in a temp " +
            "folder, starts the simulated Alex (the course firmware's behaviour) on a pseudo-terminal that the " +
            "server opens as a serial port, exactly as it would a real Arduino, starts the robot server on 127.0.0.1 with mutual TLS, and opens " +
            "the drive console (see `alex drive --help` for the keys). When input or output is not a terminal " +
            "and no --script is given, it drives a short default script instead of waiting for keys. " +
            "Everything it started is removed when it ends.");
        cmd.Options.Add(script);
        cmd.Options.Add(web);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var commands = pr.GetValue(script) is { } text ? DriveScript.Parse(text) : null;
            using var signals = TerminationSignals.Watch(ct);
            return await RunAsync(commands, pr.GetValue(web), Console.In, Console.Out, signals.Token).ConfigureAwait(false);
        });
        return cmd;
    }

    private static async Task<int> RunAsync(IReadOnlyList<Protocol.DriveCommand>? commands, bool web, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var interactive = commands is null && DriveConsole.CanRunInteractive;
        var servePage = web && commands is null && !interactive;
        var defaulted = commands is null && !interactive && !web;
        if (defaulted)
        {
            commands = DriveScript.Parse(DriveScript.DefaultScript);
        }

        var sinceStart = Stopwatch.StartNew();
        using var self = Process.GetCurrentProcess();
        var processAge = DateTime.Now - self.StartTime;
        void Say(string line)
        {
            try
            {
                output.WriteLine($"demo: {line}");
            }
            catch (IOException)
            {
                // The terminal was closed under us (SIGHUP): keep cleaning up without it.
            }
        }

        var rig = await DemoRig.StartAsync(time, Say, cancellationToken).ConfigureAwait(false);
        try
        {
            var page = web ? await StartWebAsync(rig, cancellationToken).ConfigureAwait(false) : null;
            if (page is not null)
            {
                Say($"web page (the gateway drives as \"{DemoRig.WebClientName}\"; one driver at a time): {page}");
                output.WriteLine();
                output.WriteLine($"  open  {page}");
                output.WriteLine();
            }

            if (servePage)
            {
                Say("serving the web page until Ctrl-C");
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C is how this mode ends.
                }

                return AlexCommandLine.ExitOk;
            }

            return await DriveAsync(rig, commands, defaulted, page, input, output, time, Say, () => (processAge + sinceStart.Elapsed).TotalSeconds, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Say("interrupted: stopping the server and the simulated Alex");
            return AlexCommandLine.ExitInterrupted;
        }
        finally
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            Say($"removed {rig.Directory}");
        }
    }

    /// <summary>The web gateway for the demo's robot, with its own client certificate; stopped before the server.</summary>
    private static async Task<Uri> StartWebAsync(DemoRig rig, CancellationToken cancellationToken)
    {
        var credentials = rig.LoadWebCredentials();
        RunningWebGateway gateway;
        try
        {
            gateway = await WebGateway.StartAsync(
                new WebGatewayOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Version = AlexCommandLine.Version },
                rig.ClientOptions(credentials),
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            credentials.Dispose();
            throw;
        }

        rig.StopFirst(async () =>
        {
            await gateway.DisposeAsync().ConfigureAwait(false);
            credentials.Dispose();
        });
        return gateway.Url;
    }

    private static async Task<int> DriveAsync(DemoRig rig, IReadOnlyList<Protocol.DriveCommand>? commands, bool defaulted, Uri? page, TextReader input, TextWriter output, TimeProvider time, Action<string> say, Func<double> seconds, CancellationToken cancellationToken)
    {
        using var credentials = rig.LoadCredentials();
        var options = rig.ClientOptions(credentials);
        if (commands is null)
        {
            say($"ready {seconds():0.0} s after start; opening the drive console (q quits)");
            return await DriveConsoleCommand.RunAsync(options, forceLine: false, input, output, cancellationToken, page is null ? null : $"web page: {page}").ConfigureAwait(false);
        }

        if (defaulted)
        {
            say($"not a terminal and no --script: driving \"{DriveScript.DefaultScript}\"");
        }

        AlexLinkClient client;
        try
        {
            client = await AlexLinkClient.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (AlexConnectException e)
        {
            throw new CliException($"the demo's own server refused the demo's client: {e.Message}", e.Hint, AlexCommandLine.ExitFailed);
        }

        await using (client.ConfigureAwait(false))
        {
            say($"connected as {client.Welcome?.ClientName} ({DriveSessionInfo.Describe(client.TlsVersion)}, {client.CipherSuite}) {seconds():0.0} s after start");
            var code = await DriveScript.RunAsync(client, commands, output, time, cancellationToken).ConfigureAwait(false);
            say($"done {seconds():0.0} s after start");
            return code;
        }
    }
}
