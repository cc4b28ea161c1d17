using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Alex.Fleet;
using Alex.Pki;
using Alex.Pki.Fleet;
using Alex.Protocol.Extensions;
using Alex.Protocol.Fleet;
using Alex.Web;
using Alex.Web.Fleet;
using Spectre.Console;

namespace Alex.Cli;

/// <summary>`alex fleet BROKER`: the instructor's view of every robot on the fleet broker, and STOP (docs/fleet.md). Parses and renders; Alex.Fleet connects.</summary>
internal static class FleetCommand
{
    // Retained statuses have been received when FleetWatch.ConnectAsync returns (MQTTnet hands them to us from a queue of its
    // own): --once prints after a quiet spell, by which they have been read.
    private static readonly TimeSpan SettleQuiet = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SettleMax = TimeSpan.FromSeconds(5);

    /// <summary>Where --web serves by default: beside `alex web`'s 8080, so both pages can run on one laptop.</summary>
    public const int DefaultWebPort = 8081;

    public static Command Create()
    {
        var broker = new Argument<string>("BROKER") { Description = "The fleet broker: mqtts://HOST[:PORT]" };
        var action = new Argument<string[]>("ACTION") { Description = "Nothing: the live view; stop-all: STOP every robot; stop ROBOT: STOP one", Arity = new ArgumentArity(0, 2) };
        var cert = new Option<string>("--cert") { Description = "Your instructor certificate (alex pki issue instructor NAME); a watcher's certificate can only look", Required = true };
        var key = new Option<string>("--key") { Description = "Its private key", Required = true };
        var ca = new Option<string>("--ca") { Description = "The CA certificate the broker must chain to (signing.pem; default with --pki: DIR/signing.pem)" };
        var pki = new Option<string>("--pki") { Description = "A folder with signing.pem" };
        var passphraseFile = new Option<string>("--passphrase-file") { Description = $"The key's passphrase, first line of this file, when it is encrypted (or set ${KeyPassphrase.EnvironmentVariable})" };
        var once = new Option<bool>("--once") { Description = "Print the fleet once and exit (also what happens when the output is not a terminal)" };
        var json = new Option<bool>("--json") { Description = "With --once: JSON, one object per robot" };
        var yes = new Option<bool>("--yes", "-y") { Description = "STOP without asking first" };
        var reason = new Option<string>("--reason") { Description = "Why, told to every robot's clients", DefaultValueFactory = _ => "stopped by the instructor" };
        var web = new Option<bool>("--web") { Description = "Serve the view as a web page on this laptop instead of the table: live rows, STOP all (confirmed) and STOP per robot" };
        var listen = new Option<string>("--listen") { Description = $"With --web: where the page is served (default 127.0.0.1:{DefaultWebPort}; port 0 picks a free one)" };
        var expose = new Option<bool>("--expose") { Description = "With --web: allow --listen on an address other than loopback (needs --https-cert and --https-key)" };
        var httpsCert = new Option<string>("--https-cert") { Description = "With --web --expose: the page's HTTPS server certificate (alex pki issue server NAME)" };
        var httpsKey = new Option<string>("--https-key") { Description = "Its private key" };
        var cmd = new Command("fleet",
            "The instructor's view of the class's robots on the fleet broker, and STOP for one or all (docs/fleet.md).\n\n" +
            "Examples:\n" +
            "  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key --pki pki        live table\n" +
            "  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key --pki pki --web  the same as a web page\n" +
            "  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key --pki pki --once --json\n" +
            "  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key --pki pki stop-all\n" +
            "  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key --pki pki stop alex7 --yes\n\n" +
            "--web prints a URL with a secret token for this run (the same guard as alex web's page); open it in a browser\n" +
            "on this laptop. It is part of alex fleet, not alex web: the page is this view of the broker, with this\n" +
            "certificate and its right to STOP (an instructor's, told from the CA's ledger in --pki DIR; a watcher's page\n" +
            "shows STOP disabled and why), while alex web is one robot's page over AlexLink with the laptop's certificate.\n\n" +
            "Exit codes: 0 done, 1 the broker could not be used or refused the STOP, 2 bad usage, 130 interrupted.")
        {
            broker, action, cert, key, ca, pki, passphraseFile, once, json, yes, reason, web, listen, expose, httpsCert, httpsKey,
        };
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            if (!FleetEndpoint.TryParse(pr.GetValue(broker)!, out var endpoint, out var problem))
            {
                throw new CliException(problem, hint: "give the broker as mqtts://HOST:8883");
            }

            var words = pr.GetValue(action) ?? [];
            string? target = null;
            var stop = false;
            switch (words)
            {
                case []:
                    break;
                case ["stop-all"]:
                    stop = true;
                    break;
                case ["stop", var robot]:
                    stop = true;
                    target = robot;
                    if (FleetConnection.RobotNameProblem(robot) is { } bad)
                    {
                        throw new CliException($"the robot name '{robot}' {bad}");
                    }

                    break;
                default:
                    throw new CliException($"'{string.Join(' ', words)}' is not an action", hint: "nothing (the view), stop-all, or stop ROBOT");
            }

            var serveWeb = pr.GetValue(web);
            if (serveWeb && (stop || pr.GetValue(once) || pr.GetValue(json)))
            {
                throw new CliException("--web is the live view as a page: it goes without stop-all, stop ROBOT, --once and --json", hint: "the page has STOP all and STOP per robot itself");
            }

            var webOnly = pr.GetValue(listen) is not null || pr.GetValue(expose) || pr.GetValue(httpsCert) is not null || pr.GetValue(httpsKey) is not null;
            if (!serveWeb && webOnly)
            {
                throw new CliException("--listen, --expose, --https-cert and --https-key go with --web", hint: "add --web to serve the page");
            }

            var webOptions = serveWeb
                ? WebCommand.GatewayOptions(pr.GetValue(listen) ?? $"127.0.0.1:{DefaultWebPort}", pr.GetValue(expose), pr.GetValue(httpsCert), pr.GetValue(httpsKey), KeyPassphrase.FromProcess(pr.GetValue(passphraseFile), null), TeamExtensions.None)
                : null;

            var caPath = pr.GetValue(ca) ?? (pr.GetValue(pki) is { } dir ? Path.Combine(dir, CertificateAuthority.CertificateFileName) : null)
                ?? throw new CliException("say which CA the broker's certificate must chain to", hint: "give --ca signing.pem or --pki DIR");
            FleetIdentity identity;
            try
            {
                var passphrase = KeyPassphrase.FromProcess(pr.GetValue(passphraseFile), null).For(pr.GetValue(key)!);
                identity = FleetIdentity.Load(pr.GetValue(cert)!, pr.GetValue(key)!, caPath, passphrase);
            }
            catch (PkiException e)
            {
                throw new CliException(e.Message, e.Hint);
            }

            using (identity)
            {
                FleetWatch watch;
                try
                {
                    watch = await FleetWatch.ConnectAsync(endpoint!, identity, TimeProvider.System, ct).ConfigureAwait(false);
                }
                catch (FleetException e)
                {
                    throw new CliException(e.Message, "check the address, that Mosquitto runs with alex pki fleet-broker's files, and the certificate (alex pki verify)", AlexCommandLine.ExitFailed);
                }

                await using (watch.ConfigureAwait(false))
                {
                    if (webOptions is not null)
                    {
                        var facts = new FleetPageFacts(endpoint!.ToString(), identity.Name, StopRight(identity, pr.GetValue(pki)));
                        return await WebAsync(webOptions, watch, facts, ct).ConfigureAwait(false);
                    }

                    if (stop)
                    {
                        return await StopAsync(watch, target, pr.GetValue(reason)!, pr.GetValue(yes), ct).ConfigureAwait(false);
                    }

                    var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
                    if (pr.GetValue(once) || !interactive)
                    {
                        await SettleAsync(watch, ct).ConfigureAwait(false);
                        Print(watch.Rows(), pr.GetValue(json));
                        return AlexCommandLine.ExitOk;
                    }

                    await LiveAsync(watch, endpoint!, ct).ConfigureAwait(false);
                    return AlexCommandLine.ExitOk;
                }
            }
        });
        return cmd;
    }

    // Whether this certificate may STOP, by the ACL's rule over the CA's ledger when --pki DIR holds one (FleetAccess.StopRight).
    private static FleetStopRight StopRight(FleetIdentity identity, string? pkiDir)
    {
        IReadOnlyList<LedgerEntry>? ledger = null;
        if (pkiDir is not null && File.Exists(Path.Combine(pkiDir, CertificateLedger.FileName)))
        {
            try
            {
                ledger = CertificateLedger.Read(pkiDir).Certificates;
            }
            catch (PkiException e)
            {
                Console.Error.WriteLine($"alex fleet: warning: {e.Message}; the page cannot tell whether you may STOP, the broker decides");
            }
        }

        return FleetAccess.StopRight(ledger, identity.Name, CertificateFacts.Fingerprint(identity.Certificate.RawData), TimeProvider.System.GetUtcNow());
    }

    private static async Task<int> WebAsync(WebGatewayOptions options, FleetWatch watch, FleetPageFacts facts, CancellationToken ct)
    {
        RunningFleetGateway gateway;
        try
        {
            gateway = await FleetGateway.StartAsync(options, watch, facts, ct).ConfigureAwait(false);
        }
        catch (WebGatewayListenException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        await using (gateway.ConfigureAwait(false))
        {
            Console.Out.WriteLine($"alex fleet: the fleet page for {facts.Broker}, as '{facts.You}' ({(facts.Right.Allowed ? "may STOP" : "watch only")}: {facts.Right.Why})");
            Console.Out.WriteLine();
            Console.Out.WriteLine($"  open  {gateway.Url}");
            Console.Out.WriteLine();
            Console.Out.WriteLine(facts.Right.Allowed
                ? "The URL carries a secret for this run: anyone with it can STOP the class's robots. Ctrl+C stops the gateway."
                : "The URL carries a secret for this run: anyone with it sees the class's robots. Ctrl+C stops the gateway.");
            try
            {
                await gateway.Completion.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: stop the gateway and exit cleanly.
            }
        }

        return AlexCommandLine.ExitOk;
    }

    private static async Task<int> StopAsync(FleetWatch watch, string? robot, string reason, bool yes, CancellationToken ct)
    {
        var what = robot is null ? "every robot on the broker" : $"'{robot}'";
        if (!yes)
        {
            if (Console.IsInputRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            {
                throw new CliException($"STOP {what}: confirm on a terminal, or pass --yes");
            }

            await SettleAsync(watch, ct).ConfigureAwait(false);
            var count = robot is null ? watch.Rows().Count(r => r.State != FleetRowState.Offline) : 1;
            if (!await AnsiConsole.ConfirmAsync($"STOP {Markup.Escape(what)} ({count} online)?", defaultValue: false, ct).ConfigureAwait(false))
            {
                Console.Error.WriteLine("alex fleet: nothing sent");
                return AlexCommandLine.ExitFailed;
            }
        }

        var outcome = await watch.StopAsync(robot, reason, ct).ConfigureAwait(false);
        switch (outcome.Result)
        {
            case FleetStopResult.Refused:
                throw new CliException($"the broker refused the STOP to {what}", "only an instructor certificate may STOP (alex pki issue instructor NAME, then alex pki fleet-broker again)", AlexCommandLine.ExitFailed);
            case FleetStopResult.NotSent:
                throw new CliException(outcome.Problem!, "nothing reached the robots; run the STOP again once the broker is back (alex fleet shows it)", AlexCommandLine.ExitFailed);
        }

        Console.WriteLine($"STOP sent to {what}");
        return AlexCommandLine.ExitOk;
    }

    // Waits until the retained statuses have come: no new one for SettleQuiet, at most SettleMax.
    private static async Task SettleAsync(FleetWatch watch, CancellationToken ct)
    {
        var last = Environment.TickCount64;
        watch.StatusReceived += (_, _) => Interlocked.Exchange(ref last, Environment.TickCount64);
        var started = Environment.TickCount64;
        while (Environment.TickCount64 - Interlocked.Read(ref last) < SettleQuiet.TotalMilliseconds && Environment.TickCount64 - started < SettleMax.TotalMilliseconds)
        {
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    private static async Task LiveAsync(FleetWatch watch, FleetEndpoint endpoint, CancellationToken ct)
    {
        var changed = new SemaphoreSlim(0);
        watch.StatusReceived += (_, _) => changed.Release();
        watch.StateChanged += _ => changed.Release();
        await AnsiConsole.Live(Table(watch.Rows(), endpoint, watch.State)).StartAsync(async live =>
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    // Redrawn on each status and each change of the connection, and every second for "last seen" and silent robots.
                    await changed.WaitAsync(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                live.UpdateTarget(Table(watch.Rows(), endpoint, watch.State));
            }
        }).ConfigureAwait(false);
    }

    private static Table Table(IReadOnlyList<FleetRow> rows, FleetEndpoint endpoint, FleetWatchState state)
    {
        var now = DateTimeOffset.UtcNow;
        var robots = $"{rows.Count} robot{(rows.Count == 1 ? "" : "s")} on {Markup.Escape(endpoint.ToString())}";
        var title = state.Connected
            ? $"{robots} (Ctrl+C leaves; alex fleet ... stop-all stops them)"
            : $"[red]{Markup.Escape(state.Text)}[/] (lost {Ago(now - state.Since)}; {robots} as last heard)";
        var table = new Table().Title(title)
            .AddColumns("robot", "state", "driver", "sessions", "odometry", "last seen", "note");
        foreach (var row in rows)
        {
            var s = row.Status;
            table.AddRow(
                Markup.Escape(row.Robot),
                $"[{Colour(row.State)}]{FleetRowStates.Name(row.State)}[/]",
                Markup.Escape(s.Lease ?? "-"),
                s.Drivers is null ? "-" : $"{s.Drivers}d {s.Watchers}w {s.Admins}a",
                s.Odometry is { } o ? $"{o.ForwardCm} cm fwd, {o.ReverseCm} cm rev" : "-",
                Ago(now - row.LastSeen),
                Markup.Escape(row.Note));
        }

        return table;
    }

    private static void Print(IReadOnlyList<FleetRow> rows, bool json)
    {
        if (json)
        {
            var items = rows.Select(r => new FleetRowJson(r.Robot, FleetRowStates.Name(r.State), r.LastSeen, r.Note, r.Status)).ToList();
            Console.WriteLine(JsonSerializer.Serialize(items, FleetCliJson.Default.ListFleetRowJson));
            return;
        }

        var now = DateTimeOffset.UtcNow;
        Console.WriteLine($"{"ROBOT",-24} {"STATE",-12} {"DRIVER",-16} {"LAST SEEN",-10} NOTE");
        foreach (var row in rows)
        {
            Console.WriteLine($"{row.Robot,-24} {FleetRowStates.Name(row.State),-12} {row.Status.Lease ?? "-",-16} {Ago(now - row.LastSeen),-10} {row.Note}");
        }

        Console.WriteLine($"{rows.Count} robot{(rows.Count == 1 ? "" : "s")}");
    }

    private static string Colour(FleetRowState state) => state switch
    {
        FleetRowState.Offline => "red",
        FleetRowState.Silent => "red",
        FleetRowState.ArduinoDown => "yellow",
        FleetRowState.Expiring => "yellow",
        FleetRowState.Moving => "blue",
        _ => "green",
    };

    private static string Ago(TimeSpan t) => t.TotalSeconds < 1 ? "now" : t.TotalMinutes < 1 ? $"{(int)t.TotalSeconds} s ago" : t.TotalHours < 1 ? $"{(int)t.TotalMinutes} min ago" : $"{(int)t.TotalHours} h ago";
}

/// <summary>One robot in `alex fleet --once --json`.</summary>
internal sealed record FleetRowJson(string Robot, string State, DateTimeOffset LastSeen, string Note, FleetStatus Status);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<FleetRowJson>))]
internal sealed partial class FleetCliJson : JsonSerializerContext;
