using System.CommandLine;
using System.Diagnostics;
using Alex.Cli.Demo;
using Alex.Cli.Drive;
using Alex.Client;

namespace Alex.Cli;

/// <summary>
/// `alex demo` (issue 5 item 2; DESIGN.md M11): a throwaway CA, the simulated Alex, the robot server on
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
        var web = new Option<bool>("--web") { Description = "Also start the web gateway (`alex web`) and print the page's URL; the page drives until Ctrl-C" };
        var cmd = new Command(
            "demo",
            "Examples:\n" +
            "  alex demo                                   drive a simulated Alex from this terminal\n" +
            $"  alex demo --script \"{DriveScript.DefaultScript}\"   a scripted drive; prints each result and the final odometry\n" +
            "  alex demo --web                             drive it from a browser: prints http://127.0.0.1:PORT/?token=...\n\n" +
            "Everything on one machine, nothing to set up: makes a throwaway CA and certificates in a temp " +
            "folder, starts the simulated Alex (the course firmware's behaviour, reached through the same " +
            "serial code as a real Arduino), starts the robot server on 127.0.0.1 with mutual TLS, and opens " +
            "the drive console (see `alex drive --help` for the keys). When input or output is not a terminal " +
            "and no --script is given, it drives a short default script instead of waiting for keys. " +
            "Everything it started is removed when it ends.");
        cmd.Options.Add(script);
        cmd.Options.Add(web);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var commands = pr.GetValue(script) is { } text ? DriveScript.Parse(text) : null;
            if (pr.GetValue(web))
            {
                return await RunWebAsync(commands, Console.Out, ct).ConfigureAwait(false);
            }

            using var signals = TerminationSignals.Watch(ct);
            return await RunAsync(commands, Console.In, Console.Out, signals.Token).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>
    /// `alex demo --web` (issue 6 item 3): the same rig, plus the web gateway on 127.0.0.1 (any free port)
    /// as the demo's laptop. The page is the console: it runs until Ctrl-C. A --script runs first, so the
    /// page shows its path.
    /// </summary>
    private static async Task<int> RunWebAsync(IReadOnlyList<Protocol.DriveCommand>? commands, TextWriter output, CancellationToken cancellationToken)
    {
        void Say(string line) => output.WriteLine($"demo: {line}");

        await using var rig = await DemoRig.StartAsync(TimeProvider.System, Say, cancellationToken).ConfigureAwait(false);
        using var credentials = rig.LoadCredentials();
        var gatewayOptions = new Web.WebGatewayOptions
        {
            Listen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
            Version = AlexCommandLine.Version,
        };
        var gateway = await Web.WebGateway.StartAsync(gatewayOptions, rig.ClientOptions(credentials), cancellationToken).ConfigureAwait(false);
        await using (gateway.ConfigureAwait(false))
        {
            Say("web page (a secret for this run is in the URL):");
            output.WriteLine();
            output.WriteLine($"  open  {gateway.Url}");
            output.WriteLine();
            if (commands is not null)
            {
                await using var client = await AlexLinkClient.ConnectAsync(rig.ClientOptions(credentials), cancellationToken).ConfigureAwait(false);
                await DriveScript.RunAsync(client, commands, output, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }

            Say("drive Alex from the page; Ctrl-C stops everything and removes the demo's files");
            try
            {
                await gateway.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C: the gateway lets go of the robot, then the rig is taken down.
            }

            Say($"removing {rig.Directory}");
        }

        return AlexCommandLine.ExitOk;
    }

    private static async Task<int> RunAsync(IReadOnlyList<Protocol.DriveCommand>? commands, TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var interactive = commands is null && DriveConsole.CanRunInteractive;
        var defaulted = commands is null && !interactive;
        if (defaulted)
        {
            commands = DriveScript.Parse(DriveScript.DefaultScript);
        }

        var sinceStart = Stopwatch.StartNew();
        using var self = Process.GetCurrentProcess();
        var processAge = DateTime.Now - self.StartTime;
        void Say(string line) => output.WriteLine($"demo: {line}");

        var rig = await DemoRig.StartAsync(time, Say, cancellationToken).ConfigureAwait(false);
        try
        {
            return await DriveAsync(rig, commands, defaulted, input, output, time, Say, () => (processAge + sinceStart.Elapsed).TotalSeconds, cancellationToken).ConfigureAwait(false);
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

    private static async Task<int> DriveAsync(DemoRig rig, IReadOnlyList<Protocol.DriveCommand>? commands, bool defaulted, TextReader input, TextWriter output, TimeProvider time, Action<string> say, Func<double> seconds, CancellationToken cancellationToken)
    {
        using var credentials = rig.LoadCredentials();
        var options = rig.ClientOptions(credentials);
        if (commands is null)
        {
            say($"ready {seconds():0.0} s after start; opening the drive console (q quits)");
            return await DriveConsoleCommand.RunAsync(options, forceLine: false, input, output, cancellationToken).ConfigureAwait(false);
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
