using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Alex.Client;
using Alex.Pki;
using Alex.Protocol.AlexLink;

namespace Alex.Cli;

/// <summary>
/// `alex status HOST` and `alex logs HOST`: the robot's health and its audit log over AlexLink/1, for a
/// certificate with the admin role on the robot's allow-list (docs/protocol.md "Admin messages"), so a
/// sick robot can be looked at without a shell on the Pi. Exit codes: 0 done, 1 refused or not reached,
/// 2 bad usage, 130 interrupted (a followed log ends with Ctrl+C).
/// </summary>
internal static class AdminCommands
{
    public static Command Status()
    {
        var cmd = new Command(
            "status",
            "Show the robot server's health: version, uptime, the Arduino link and its error counters, who is connected\n" +
            "with which role, who drives, the CRL and the server certificate's expiry, the audit log's disk space.\n" +
            "Needs a certificate the robot lists as admin (alex serve --allow NAME=admin).\n\n" +
            "Examples:\n" +
            "  alex status alex.local --pki admin\n" +
            "  alex status 192.168.1.42:5000 --pki admin --name alex.epp.com --json");
        var host = new Argument<string>("host") { Description = "HOST[:PORT] of the robot server (port 5000 by default)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        cmd.Arguments.Add(host);
        var connection = AdminConnection.AddTo(cmd);
        cmd.Options.Add(json);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, pr.GetValue(host)!, credentials);
            await using var client = await AdminConnection.ConnectAsync(options, ct).ConfigureAwait(false);
            var reply = await client.GetServerStatusAsync(ct).ConfigureAwait(false);
            if (reply.ServerStatus is not { } status)
            {
                throw Refused(reply);
            }

            Console.Out.Write(pr.GetValue(json) ? ServerStatusView.Json(status, client.Endpoint) + "\n" : ServerStatusView.Text(status, client.Endpoint));
            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    public static Command Logs()
    {
        var cmd = new Command(
            "logs",
            "Show the robot server's audit log (who connected, who was refused and why, commands, dead-man stops),\n" +
            "and with --follow every new record as it is written, until Ctrl+C.\n" +
            "Needs a certificate the robot lists as admin (alex serve --allow NAME=admin).\n\n" +
            "Examples:\n" +
            "  alex logs alex.local --pki admin\n" +
            "  alex logs alex.local --pki admin --follow --lines 0\n" +
            "  alex logs 192.168.1.42 --pki admin --follow --json | jq .event");
        var host = new Argument<string>("host") { Description = "HOST[:PORT] of the robot server (port 5000 by default)" };
        var lines = new Option<int>("--lines", "-n") { Description = $"how many of the last records to show first (0-{AlexLinkFollowAudit.MaxBacklog})", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "keep printing new records until Ctrl+C" };
        var json = new Option<bool>("--json") { Description = "print the records as the server wrote them: one JSON object per line" };
        cmd.Arguments.Add(host);
        var connection = AdminConnection.AddTo(cmd);
        cmd.Options.Add(lines);
        cmd.Options.Add(follow);
        cmd.Options.Add(json);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var backlog = pr.GetValue(lines);
            if (backlog is < 0 or > AlexLinkFollowAudit.MaxBacklog)
            {
                throw new CliException($"--lines {backlog}: give 0 to {AlexLinkFollowAudit.MaxBacklog}");
            }

            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, pr.GetValue(host)!, credentials);
            await using var client = await AdminConnection.ConnectAsync(options, ct).ConfigureAwait(false);
            var keepFollowing = pr.GetValue(follow);
            var reply = await client.FollowAuditAsync((ushort)backlog, keepFollowing, ct).ConfigureAwait(false);
            if (!reply.Acknowledged)
            {
                throw Refused(reply);
            }

            var asJson = pr.GetValue(json);
            while (client.AuditLines.TryRead(out var line))
            {
                Console.Out.WriteLine(asJson ? line.Json : AuditLineView.Text(line.Json));
            }

            if (!keepFollowing)
            {
                return AlexCommandLine.ExitOk;
            }

            Console.Out.Flush();
            await foreach (var line in client.AuditLines.ReadAllAsync(ct).ConfigureAwait(false))
            {
                Console.Out.WriteLine(asJson ? line.Json : AuditLineView.Text(line.Json));
                Console.Out.Flush();
            }

            // The reader ends only when the connection does (Ctrl+C ends the command above, with 130).
            var why = await client.Closed.ConfigureAwait(false);
            throw new CliException(why.Message, why.Hint, AlexCommandLine.ExitFailed);
        });
        return cmd;
    }

    private static CliException Refused(CommandReply reply) => reply.Error == AlexLinkErrorCode.Forbidden
        ? new CliException(reply.Text, "the robot must list this certificate's name as admin: alex serve --allow NAME=admin (or NAME=admin in its allow file)", AlexCommandLine.ExitFailed)
        : new CliException($"{reply.Request}: {reply.Text}", hint: null, AlexCommandLine.ExitFailed);
}

/// <summary>The connection options `alex status` and `alex logs` share.</summary>
internal sealed class AdminConnection
{
    private readonly Option<string?> _pki = new("--pki") { Description = "folder with laptop.crt, laptop.key and signing.pem (the course's names)" };
    private readonly Option<string?> _cert = new("--cert") { Description = "client certificate (PEM)" };
    private readonly Option<string?> _key = new("--key") { Description = "client private key (PEM)" };
    private readonly Option<string?> _ca = new("--ca") { Description = "the CA certificate to trust (PEM); nothing else is trusted" };
    private readonly Option<string?> _name = new("--name") { Description = "the name the robot's certificate must carry (default: HOST), e.g. alex.epp.com" };
    private readonly Option<double> _timeout = new("--timeout") { Description = "seconds to wait for the connection and for each reply", DefaultValueFactory = _ => 10 };

    public static AdminConnection AddTo(Command command)
    {
        var c = new AdminConnection();
        foreach (var o in new Option[] { c._pki, c._cert, c._key, c._ca, c._name, c._timeout })
        {
            command.Options.Add(o);
        }

        return c;
    }

    public AlexCredentials LoadCredentials(ParseResult pr)
    {
        var (pki, cert, key, ca) = (pr.GetValue(_pki), pr.GetValue(_cert), pr.GetValue(_key), pr.GetValue(_ca));
        try
        {
            if (pki is not null && (cert ?? key ?? ca) is null)
            {
                return AlexCredentials.FromPkiDirectory(pki);
            }

            if (pki is null && cert is not null && key is not null && ca is not null)
            {
                return AlexCredentials.FromFiles(cert, key, ca);
            }
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        throw new CliException("give either --pki DIR or all of --cert, --key and --ca", hint: "the admin's certificate, key and the CA, e.g. --pki admin");
    }

    public AlexClientOptions ClientOptions(ParseResult pr, string hostText, AlexCredentials credentials)
    {
        if (!HostPort.TryParse(hostText, AlexClientOptions.DefaultPort, out var endpoint, out var error))
        {
            throw new CliException(error, hint: "write HOST or HOST:PORT, e.g. 127.0.0.1:5000 or alex.local");
        }

        var seconds = pr.GetValue(_timeout);
        if (seconds is <= 0 or > 3600 || double.IsNaN(seconds))
        {
            throw new CliException($"--timeout {seconds}: give seconds between 0 and 3600");
        }

        return new AlexClientOptions
        {
            Host = endpoint.Value.Host,
            Port = endpoint.Value.Port,
            ServerName = pr.GetValue(_name),
            Credentials = credentials,
            Protocol = AlexProtocol.AlexLink1,
            ConnectTimeout = TimeSpan.FromSeconds(seconds),
            ReplyTimeout = TimeSpan.FromSeconds(seconds),
        };
    }

    public static async Task<AlexLinkClient> ConnectAsync(AlexClientOptions options, CancellationToken ct)
    {
        try
        {
            return await AlexLinkClient.ConnectAsync(options, ct).ConfigureAwait(false);
        }
        catch (AlexConnectException e)
        {
            throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
        }
    }
}

/// <summary>Renders a <see cref="AlexLinkServerStatus"/> for people and for scripts.</summary>
internal static class ServerStatusView
{
    public static string Text(AlexLinkServerStatus s, string endpoint)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(s.ServerTimeUnixMs);
        var w = new System.Text.StringBuilder();
        w.Append(CultureInfo.InvariantCulture, $"{s.ServerName} at {endpoint}: alex {s.Version}, up {Span(now - At(s.StartedUnixMs))}\n");
        w.Append(CultureInfo.InvariantCulture, $"Arduino:      {(s.Link == AlexLinkLinkStatus.Up ? "up" : "DOWN")} ({s.LinkDetail}){(s.MayBeMoving ? ", may be moving" : ", stopped")}\n");
        if (s.Counters.Count > 0)
        {
            w.Append("Counters:     ").AppendJoin(", ", s.Counters.Select(c => $"{c.Name} {c.Value}")).Append('\n');
        }

        w.Append("Lease:        ").Append(s.LeaseHolder.Length == 0 ? "free" : $"{s.LeaseHolder} drives, for {Span(now - At(s.LeaseSinceUnixMs))}").Append('\n');
        w.Append(CultureInfo.InvariantCulture, $"Sessions:     {s.SessionCount}{(s.Sessions.Count < s.SessionCount ? $" ({s.Sessions.Count} listed)" : "")}\n");
        foreach (var session in s.Sessions)
        {
            w.Append(CultureInfo.InvariantCulture, $"  {session.Name}  {RoleName(session.Role)}  {(session.Protocol == AlexLinkSessionProtocol.Classic ? "classic" : "alexlink/1")}  from {session.Peer}, for {Span(now - At(session.ConnectedUnixMs))}\n");
        }

        w.Append(CultureInfo.InvariantCulture, $"Certificate:  expires {Date(s.CertificateNotAfterUnixMs)} ({Until(now, s.CertificateNotAfterUnixMs)})\n");
        w.Append("CRL:          ").Append(s.CrlThisUpdateUnixMs == 0
            ? "none (the server checks no revocation list)"
            : $"number {(s.CrlNumber.Length > 0 ? s.CrlNumber : "?")}, issued {Date(s.CrlThisUpdateUnixMs)}" + (s.CrlNextUpdateUnixMs == 0 ? "" : $", next update {Date(s.CrlNextUpdateUnixMs)} ({Until(now, s.CrlNextUpdateUnixMs)})")).Append('\n');
        w.Append("Audit log:    ").Append(s.AuditPath.Length == 0
            ? "none (alex serve --audit FILE keeps one)"
            : $"{s.AuditPath}, {Bytes(s.AuditSizeBytes)}, {Bytes(s.AuditFreeBytes)} free").Append('\n');
        return w.ToString();
    }

    public static string Json(AlexLinkServerStatus s, string endpoint)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var j = new Utf8JsonWriter(buffer))
        {
            j.WriteStartObject();
            j.WriteString("endpoint", endpoint);
            j.WriteString("server", s.ServerName);
            j.WriteString("version", s.Version);
            j.WriteString("time", Iso(s.ServerTimeUnixMs));
            j.WriteString("started", Iso(s.StartedUnixMs));
            j.WriteNumber("uptime_s", (s.ServerTimeUnixMs - s.StartedUnixMs) / 1000);
            j.WriteStartObject("arduino");
            j.WriteBoolean("up", s.Link == AlexLinkLinkStatus.Up);
            j.WriteString("detail", s.LinkDetail);
            j.WriteBoolean("may_be_moving", s.MayBeMoving);
            j.WriteStartObject("counters");
            foreach (var c in s.Counters)
            {
                j.WriteNumber(c.Name, c.Value);
            }

            j.WriteEndObject();
            j.WriteEndObject();
            j.WriteStartObject("lease");
            WriteOrNull(j, "holder", s.LeaseHolder.Length == 0 ? null : s.LeaseHolder);
            WriteOrNull(j, "since", s.LeaseSinceUnixMs == 0 ? null : Iso(s.LeaseSinceUnixMs));
            j.WriteEndObject();
            j.WriteNumber("session_count", s.SessionCount);
            j.WriteStartArray("sessions");
            foreach (var x in s.Sessions)
            {
                j.WriteStartObject();
                j.WriteString("name", x.Name);
                j.WriteString("role", RoleName(x.Role));
                j.WriteString("protocol", x.Protocol == AlexLinkSessionProtocol.Classic ? "classic" : "alexlink/1");
                j.WriteString("peer", x.Peer);
                j.WriteString("since", Iso(x.ConnectedUnixMs));
                j.WriteEndObject();
            }

            j.WriteEndArray();
            j.WriteString("certificate_expires", Iso(s.CertificateNotAfterUnixMs));
            if (s.CrlThisUpdateUnixMs == 0)
            {
                j.WriteNull("crl");
            }
            else
            {
                j.WriteStartObject("crl");
                WriteOrNull(j, "number", s.CrlNumber.Length == 0 ? null : s.CrlNumber);
                j.WriteString("this_update", Iso(s.CrlThisUpdateUnixMs));
                WriteOrNull(j, "next_update", s.CrlNextUpdateUnixMs == 0 ? null : Iso(s.CrlNextUpdateUnixMs));
                j.WriteEndObject();
            }

            if (s.AuditPath.Length == 0)
            {
                j.WriteNull("audit");
            }
            else
            {
                j.WriteStartObject("audit");
                j.WriteString("path", s.AuditPath);
                WriteNumberOrNull(j, "size_bytes", s.AuditSizeBytes);
                WriteNumberOrNull(j, "free_bytes", s.AuditFreeBytes);
                j.WriteEndObject();
            }

            j.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteOrNull(Utf8JsonWriter j, string name, string? value)
    {
        if (value is null)
        {
            j.WriteNull(name);
        }
        else
        {
            j.WriteString(name, value);
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter j, string name, long value)
    {
        if (value < 0)
        {
            j.WriteNull(name);
        }
        else
        {
            j.WriteNumber(name, value);
        }
    }

    public static string RoleName(AlexLinkRole role) => role switch
    {
        AlexLinkRole.Driver => "driver",
        AlexLinkRole.Watcher => "watcher",
        AlexLinkRole.Admin => "admin",
        _ => $"role {(byte)role}",
    };

    private static DateTimeOffset At(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    private static string Iso(long unixMs) => At(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Date(long unixMs) => At(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Until(DateTimeOffset now, long unixMs)
    {
        var left = At(unixMs) - now;
        return left < TimeSpan.Zero ? $"PASSED {Span(-left)} ago" : $"in {Span(left)}";
    }

    private static string Span(TimeSpan t) =>
        t < TimeSpan.Zero ? "0 s"
        : t.TotalSeconds < 90 ? $"{t.TotalSeconds:0} s"
        : t.TotalMinutes < 90 ? $"{t.TotalMinutes:0} min"
        : t.TotalHours < 48 ? $"{t.TotalHours:0.#} h"
        : $"{t.TotalDays:0} days";

    private static string Bytes(long n) =>
        n < 0 ? "unknown size"
        : n < 1024 ? $"{n} B"
        : n < 1 << 20 ? $"{n / 1024.0:0.#} KiB"
        : n < 1 << 30 ? $"{n / (double)(1 << 20):0.#} MiB"
        : $"{n / (double)(1 << 30):0.#} GiB";
}

/// <summary>One audit record as a line for people: time, event, then the fields as key=value.</summary>
internal static class AuditLineView
{
    public static string Text(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var time = root.TryGetProperty("time", out var t) ? t.ToString() : "";
            var ev = root.TryGetProperty("event", out var e) ? e.ToString() : "?";
            var fields = root.EnumerateObject()
                .Where(p => p.Name is not "time" and not "event")
                .Select(p => p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Contains(' ', StringComparison.Ordinal)
                    ? $"{p.Name}=\"{p.Value.GetString()}\""
                    : $"{p.Name}={p.Value}");
            return $"{time} {ev} {string.Join(' ', fields)}".TrimEnd();
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
