using System.CommandLine;
using System.Text;
using System.Text.Json;
using Alex.Client;
using Alex.Protocol;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Cli;

/// <summary>
/// `alex send`: commands for Alex from a script. Connects with the client library,
/// sends each command, waits for its reply, prints one line per command (or JSON), and exits 0 only
/// when every command was acknowledged.
/// </summary>
internal static class SendCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "send",
            "Send commands to Alex from a script and print each reply.\n\n" +
            "Examples:\n" +
            "  alex send 127.0.0.1:5000 f 50 75                     forward 50 cm at 75 % (credentials from ./pki)\n" +
            "  alex send alex.local --pki pki f 50 75 \\; l 90 60 \\; g   two moves, each to its end, then the odometry\n" +
            "  alex send 127.0.0.1 --pki pki --name alex.epp.com g --json\n" +
            "  alex send pi.local:5001 --cert laptop.crt --key laptop.key --ca signing.pem --classic s\n" +
            "  alex send alex.local --pki pki --extensions alex-extensions.json colour --json   a team's declared command\n" +
            "  alex send pi.local:5001 --pki pki --classic --extensions alex-extensions.json colour   the same to a course server, by its letter\n\n" +
            "Commands: f/b DIST SPEED (forward/back, cm and %), l/r ANGLE SPEED (turns, degrees), s (stop), g (stats), " +
            "c (clear stats); separate several with ';' (quote it from the shell). The server stops Alex when its driver " +
            "disconnects, so after each move with a distance or angle, send stays connected until Alex has " +
            "stopped (at most 60 s) before the next command; --no-wait sends at once (and the move ends when " +
            "send does). A move of 0 (\"until stopped\") is not waited for: use alex drive for those.\n" +
            "Exit codes: 0 every command acknowledged, 1 a command was refused or the connection failed, 2 bad usage.");
        var target = ConnectionOptions.HostArgument();
        var words = new Argument<string[]>("command") { Description = "CMD [P0 P1] [; CMD ...]", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var extensions = ExtensionsOption.Create();
        var noWait = new Option<bool>("--no-wait") { Description = "do not wait for a move to finish before the next command or before disconnecting (the server then stops Alex)" };
        cmd.Arguments.Add(target);
        cmd.Arguments.Add(words);
        var connection = ConnectionOptions.AddTo(cmd);
        cmd.Options.Add(json);
        cmd.Options.Add(noWait);
        cmd.Options.Add(extensions);

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(target)!);
            var declared = ExtensionsOption.Load(pr.GetValue(extensions));
            var commands = ParseCommands(pr.GetValue(words) ?? [], declared);
            _ = connection.TimeoutValue(pr);
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, endpoint, credentials) with { Extensions = declared };
            return await RunAsync(options, commands, declared, pr.GetValue(json), !pr.GetValue(noWait), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    /// <summary>Splits "f 50 75 ; g" (as separate words or not) into commands; a bad one is a usage error.</summary>
    internal static List<DriveCommand> ParseCommands(IReadOnlyList<string> words) => ParseCommands(words, TeamExtensions.None);

    /// <summary>As <see cref="ParseCommands(IReadOnlyList{string})"/>, with the team's declared commands by name.</summary>
    internal static List<DriveCommand> ParseCommands(IReadOnlyList<string> words, TeamExtensions extensions)
    {
        var text = string.Join(' ', words);
        var commands = new List<DriveCommand>();
        foreach (var part in text.Split(';'))
        {
            var parts = part.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            if (!DriveCommand.TryParse(parts, extensions, out var command, out var error))
            {
                var team = extensions.IsEmpty ? "" : ", " + string.Join(", ", extensions.Commands.Select(c => c.Usage));
                throw new CliException($"'{part.Trim()}': {error}", hint: $"commands: f/b DIST SPEED, l/r ANGLE SPEED, s, g, c{team}; separate several with ';'");
            }

            commands.Add(command.Value);
        }

        if (commands.Count == 0)
        {
            throw new CliException("no command given", hint: "e.g. alex send 127.0.0.1:5000 --pki pki f 50 75");
        }

        return commands;
    }

    private static async Task<int> RunAsync(AlexClientOptions options, List<DriveCommand> commands, TeamExtensions extensions, bool json, bool wait, CancellationToken ct)
    {
        AlexLinkClient client;
        try
        {
            client = await AlexLinkClient.ConnectAsync(options, ct).ConfigureAwait(false);
        }
        catch (AlexConnectException e)
        {
            if (json)
            {
                Console.Out.WriteLine(JsonFailure(options, e));
            }

            throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
        }

        await using (client.ConfigureAwait(false))
        {
            var replies = new List<CommandReply>();
            string? failure = null;
            bool? still = null;
            foreach (var command in commands)
            {
                CommandReply reply;
                try
                {
                    reply = await client.SendAsync(command, ct).ConfigureAwait(false);
                }
                catch (AlexConnectException e)
                {
                    failure = e.Message;
                    break;
                }

                reply = reply with { Request = extensions.Describe(command) };
                replies.Add(reply);
                if (!json)
                {
                    PrintReply(reply, extensions);
                }

                if (!reply.Acknowledged)
                {
                    failure = $"{reply.Request}: {reply.Text}";
                    break;
                }

                // A bounded move runs on after its OK; the next command would cut it short, and
                // disconnecting makes the server's dead-man stop it (docs/security.md, "While connected"). So wait for it.
                if (wait && command.IsMove && command.Param0 != 0 && !extensions.TryGetByCode(command.Command, out _))
                {
                    try
                    {
                        still = await StillWaiter.WaitUntilStillAsync(client, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(60), TimeProvider.System, ct).ConfigureAwait(false);
                    }
                    catch (AlexConnectException e)
                    {
                        failure = e.Message;
                        break;
                    }

                    if (!json)
                    {
                        Console.Out.WriteLine(still.Value ? "Alex has stopped." : "Alex was still moving after 60 s; disconnecting stops it.");
                    }

                    if (!still.Value)
                    {
                        failure = $"{command}: Alex was still moving after 60 s";
                        break;
                    }
                }
            }

            var notSent = commands.Count - replies.Count;
            if (json)
            {
                Console.Out.WriteLine(JsonResult(options, client, replies, extensions, notSent, failure, still));
            }

            if (failure is not null)
            {
                var skipped = notSent > 0 ? $" ({notSent} command{(notSent == 1 ? "" : "s")} not sent)" : "";
                throw new CliException(failure + skipped, HintFor(replies.LastOrDefault()), AlexCommandLine.ExitFailed);
            }

            return AlexCommandLine.ExitOk;
        }
    }

    private static void PrintReply(CommandReply reply, TeamExtensions extensions)
    {
        if (!reply.Acknowledged)
        {
            return; // the one-line error on stderr says it
        }

        Console.Out.WriteLine($"{reply.Request,-12} OK  {reply.RoundTrip.TotalMilliseconds,5:0} ms");
        if (DeclaredReading.From(extensions, reply) is { } reading)
        {
            foreach (var v in reading.Values)
            {
                Console.Out.WriteLine($"  {v.Name,-26} {v.Value,8} {v.Unit}".TrimEnd());
            }

            if (reading.Values.Count == 0)
            {
                Console.Out.WriteLine($"  {reading.Text}");
            }

            if (reading.Swatch is { } swatch)
            {
                Console.Out.WriteLine($"  {"colour",-26} {swatch,8}");
            }
        }

        if (reply.Status is { } s)
        {
            Span<uint> values = stackalloc uint[StatusCounters.Count];
            s.CopyTo(values);
            for (var i = 0; i < StatusCounters.Count; i++)
            {
                Console.Out.WriteLine($"  {StatusCounters.Names[i],-26} {values[i],8}");
            }
        }
    }

    private static string? HintFor(CommandReply? reply) => reply?.Error switch
    {
        Protocol.AlexLink.AlexLinkErrorCode.NotDriver => "wait until the driver releases the lease or disconnects",
        Protocol.AlexLink.AlexLinkErrorCode.Forbidden => "this laptop has the watch role on the server's allow-list: it may only send s",
        Protocol.AlexLink.AlexLinkErrorCode.LimitExceeded => "stay within the server's limits (alex serve --max-speed / --max-distance)",
        Protocol.AlexLink.AlexLinkErrorCode.LinkDown => "the robot's serial port is down: check the USB cable to the Arduino",
        Protocol.AlexLink.AlexLinkErrorCode.Timeout => "the server or the Arduino did not answer: check the server's log",
        Protocol.AlexLink.AlexLinkErrorCode.ArduinoError => "the Arduino rejected the command; check the serial line and the firmware",
        _ => null,
    };

    private static string JsonFailure(AlexClientOptions options, AlexConnectException e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("server", $"{options.Host}:{options.Port}");
            w.WriteBoolean("ok", false);
            w.WriteString("failure", e.Failure.ToString());
            if (e.RefusalCode is { } code)
            {
                w.WriteString("refusal", code.ToString());
            }

            w.WriteString("error", e.Message);
            if (e.Hint is not null)
            {
                w.WriteString("hint", e.Hint);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string JsonResult(AlexClientOptions options, AlexLinkClient client, List<CommandReply> replies, TeamExtensions extensions, int notSent, string? failure, bool? still)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("server", client.Endpoint);
            w.WriteString("serverName", client.ServerTrust.PeerName);
            w.WriteString("protocol", client.Protocol == AlexProtocol.Classic ? "classic" : "alexlink/1");
            w.WriteString("tls", client.TlsVersion.ToString());
            w.WriteString("cipher", client.CipherSuite.ToString());
            if (client.Welcome is { } welcome)
            {
                w.WriteString("clientName", welcome.ClientName);
                w.WriteString("role", welcome.Role.ToString().ToLowerInvariant());
            }

            w.WriteBoolean("ok", failure is null);
            if (failure is not null)
            {
                w.WriteString("error", failure);
            }

            w.WriteStartArray("results");
            foreach (var r in replies)
            {
                w.WriteStartObject();
                w.WriteString("command", r.Request);
                w.WriteBoolean("ok", r.Acknowledged);
                w.WriteNumber("ms", Math.Round(r.RoundTrip.TotalMilliseconds, 2));
                if (!r.Acknowledged)
                {
                    w.WriteString("error", r.Error?.ToString());
                    w.WriteNumber("detail", r.Detail);
                    w.WriteString("text", r.Text);
                }

                if (DeclaredReading.From(extensions, r) is { } reading)
                {
                    if (reading.Values.Count > 0)
                    {
                        w.WriteStartObject("values");
                        foreach (var v in reading.Values)
                        {
                            w.WriteNumber(v.Name, v.Value);
                        }

                        w.WriteEndObject();
                    }
                    else
                    {
                        w.WriteString("text", reading.Text);
                    }

                    if (reading.Swatch is { } swatch)
                    {
                        w.WriteString("swatch", swatch);
                    }
                }

                if (r.Status is { } s)
                {
                    w.WriteStartObject("status");
                    var values = s.ToArray();
                    string[] keys = ["leftForwardTicks", "rightForwardTicks", "leftReverseTicks", "rightReverseTicks", "leftForwardTurnTicks", "rightForwardTurnTicks", "leftReverseTurnTicks", "rightReverseTurnTicks", "forwardDistanceCm", "reverseDistanceCm"];
                    for (var i = 0; i < keys.Length; i++)
                    {
                        w.WriteNumber(keys[i], values[i]);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("notSent", notSent);
            if (still is not null)
            {
                w.WriteBoolean("stopped", still.Value);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
