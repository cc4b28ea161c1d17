using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Alex.Client;
using Alex.Client.Discovery;
using Alex.Pki;
using Alex.Protocol.Discovery;

namespace Alex.Cli;

/// <summary>`alex discover`: the robots announced on the LAN (mDNS/DNS-SD). Parses and renders; the work is Alex.Client.Discovery.</summary>
internal static class DiscoverCommand
{
    public const double DefaultSeconds = 3;

    public static Command Create()
    {
        var cmd = new Command(
            "discover",
            "List the robots announced on the local network (mDNS/DNS-SD): name, address, port, fingerprint, CA.\n\n" +
            "Examples:\n" +
            "  alex discover\n" +
            "  alex discover --pki pki --json\n" +
            "  alex discover --watch --timeout 600\n\n" +
            "Announcements are not authenticated: anyone on the LAN can announce anything. Connect by the name shown\n" +
            "(alex send NAME ...): the TLS handshake then checks that the robot's certificate is from your CA and carries\n" +
            "that name.");
        var pki = new Option<string?>("--pki") { Description = $"Folder with your CA certificate ({AlexCredentials.CaFileName}), to say which robots claim your CA (default: ./{CredentialSource.DefaultPkiDirectory} when it exists)" };
        var ca = new Option<string?>("--ca") { Description = "Your CA certificate (instead of --pki)" };
        var json = new Option<bool>("--json") { Description = "Print JSON (with --watch: one object per line)" };
        var watch = new Option<bool>("--watch") { Description = "Print each robot as it appears (+) and goes (-) until --timeout or Ctrl+C" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to listen", DefaultValueFactory = _ => DefaultSeconds };
        foreach (var o in new Option[] { pki, ca, json, watch, timeout })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var seconds = pr.GetValue(timeout);
            if (seconds is <= 0 or > 86400 || double.IsNaN(seconds))
            {
                throw new CliException($"--timeout {seconds}: give seconds between 0 and 86400");
            }

            var ourCa = OurCaFingerprint(pr.GetValue(pki), pr.GetValue(ca));
            var asJson = pr.GetValue(json);
            var watching = pr.GetValue(watch);
            RobotDiscovery discovery;
            try
            {
                discovery = RobotDiscovery.Open();
            }
            catch (SocketException e)
            {
                throw new CliException($"cannot use mDNS here: {e.Message}", "give the robot's address instead (alex send ADDRESS ...)", AlexCommandLine.ExitFailed);
            }

            using (discovery)
            {
                Action<RobotSighting>? seen = watching
                    ? s => Console.Out.WriteLine(asJson ? Json([s.Robot], ourCa, s.Gone ? "gone" : "seen").TrimEnd() : (s.Gone ? "- " : "+ ") + Line(s.Robot, ourCa))
                    : null;
                var robots = await discovery.BrowseAsync(TimeSpan.FromSeconds(seconds), seen, ct).ConfigureAwait(false);
                if (watching)
                {
                    return AlexCommandLine.ExitOk;
                }

                if (asJson)
                {
                    Console.Out.WriteLine(Json(robots, ourCa, null));
                }
                else if (robots.Count > 0)
                {
                    Console.Out.Write(Table(robots, ourCa));
                }

                if (robots.Count == 0 && !discovery.HasInterface)
                {
                    throw new CliException(
                        $"no robot answered within {seconds:0.#} s: this machine has no network interface up with an IPv4 address that takes multicast",
                        "join the robot's network (Wi-Fi or cable), then try again",
                        AlexCommandLine.ExitFailed);
                }

                if (robots.Count == 0)
                {
                    throw new CliException(
                        $"no robot answered within {seconds:0.#} s{(discovery.Refused > 0 ? $" ({discovery.Refused} packets that were not DNS refused)" : "")}",
                        "is `alex serve` running on this network, without --no-announce? (UDP port 5353 must not be blocked)",
                        AlexCommandLine.ExitFailed);
                }
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    /// <summary>"ours", "other" or "unchecked" (no CA given, or no fingerprint announced): a claim; the handshake checks it.</summary>
    internal static string CaClaim(DiscoveredRobot robot, string? ourCa) =>
        ourCa is null || robot.CaFingerprint is null ? "unchecked"
        : string.Equals(robot.CaFingerprint, ourCa, StringComparison.OrdinalIgnoreCase) ? "ours" : "other";

    private static string? OurCaFingerprint(string? pki, string? ca)
    {
        var path = ca ?? (pki is not null ? Path.Combine(pki, AlexCredentials.CaFileName) : Path.Combine(CredentialSource.DefaultPkiDirectory, AlexCredentials.CaFileName));
        if (ca is null && pki is null && !File.Exists(path))
        {
            return null;
        }

        try
        {
            using var certificate = CertificateFile.Load(path);
            return CertificateFacts.Fingerprint(certificate.RawDataMemory.Span);
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint ?? "give your CA certificate with --ca signing.pem or --pki DIR");
        }
    }

    private static string Line(DiscoveredRobot r, string? ourCa) =>
        $"{r.Instance}  {Address(r)}:{r.Port}  ca={CaClaim(r, ourCa)}  fp={r.Fingerprint ?? "-"}";

    private static string Address(DiscoveredRobot r) => r.Addresses.Count > 0 ? string.Join(',', r.Addresses) : r.HostName;

    private static string Table(IReadOnlyList<DiscoveredRobot> robots, string? ourCa)
    {
        var rows = robots.Select(r => new[] { r.Instance, Address(r), r.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), CaClaim(r, ourCa), r.Fingerprint ?? "-" }).ToList();
        rows.Insert(0, ["NAME", "ADDRESS", "PORT", "CA", "FINGERPRINT (SHA-256)"]);
        var widths = Enumerable.Range(0, 4).Select(i => rows.Max(row => row[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("  ", row.Take(4).Select((cell, i) => cell.PadRight(widths[i]))) + "  " + row[4]);
        }

        text.AppendLine();
        text.AppendLine(ourCa is null
            ? "CA: unchecked (no --pki or --ca given). "
            : "CA: what each robot claims (ours = your CA's fingerprint). ");
        text.AppendLine($"Announcements are not authenticated: connect by NAME (e.g. alex send {robots[0].Instance} ...) and the TLS");
        text.AppendLine("handshake checks that the certificate is from your CA and carries that name.");
        return text.ToString();
    }

    private static string Json(IReadOnlyList<DiscoveredRobot> robots, string? ourCa, string? @event)
    {
        var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = @event is null }))
        {
            if (@event is null)
            {
                j.WriteStartArray();
            }

            foreach (var r in robots)
            {
                j.WriteStartObject();
                if (@event is not null)
                {
                    j.WriteString("event", @event);
                }

                j.WriteString("name", r.Instance);
                j.WriteString("host", r.HostName);
                j.WriteStartArray("addresses");
                foreach (var a in r.Addresses)
                {
                    j.WriteStringValue(a.ToString());
                }

                j.WriteEndArray();
                j.WriteNumber("port", r.Port);
                WriteOrNull(j, "certificateName", r.CertificateName);
                WriteOrNull(j, "fingerprint", r.Fingerprint);
                WriteOrNull(j, "caFingerprint", r.CaFingerprint);
                j.WriteString("ca", CaClaim(r, ourCa));
                WriteOrNull(j, "version", r.Version);
                j.WriteEndObject();
            }

            if (@event is null)
            {
                j.WriteEndArray();
            }
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
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
}
