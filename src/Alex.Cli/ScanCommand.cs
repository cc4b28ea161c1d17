using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Alex.Client;
using Alex.Protocol.AlexLink;

namespace Alex.Cli;

/// <summary>
/// `alex scan`: one revolution of the robot's lidar over the secure link, drawn, or as JSON or CSV.
/// Subscribes to the Lidar topic (docs/protocol.md §4 "Scan") and prints the first whole revolution.
/// </summary>
internal static class ScanCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "scan",
            "Print one revolution of the robot's lidar.\n\n" +
            "Examples:\n" +
            "  alex scan 127.0.0.1:5000 --pki pki            a picture of what the lidar sees (braille on a terminal)\n" +
            "  alex scan alex.local --csv > scan.csv          angle_deg,distance_mm per point\n" +
            "  alex scan alex.local --json                    one JSON object\n\n" +
            "The server must run a lidar (alex serve --lidar /dev/ttyUSB0, or --simulate). Angles are degrees " +
            "clockwise from straight ahead; distance 0 means no return. Exit codes: 0 a revolution printed, 1 none came " +
            "or the connection failed, 2 bad usage.");
        var target = ConnectionOptions.HostArgument();
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var csv = new Option<bool>("--csv") { Description = "print angle_deg,distance_mm lines" };
        var range = new Option<double>("--range") { Description = "metres around the robot the picture shows", DefaultValueFactory = _ => 3 };
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        cmd.Options.Add(json);
        cmd.Options.Add(csv);
        cmd.Options.Add(range);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            if (pr.GetValue(json) && pr.GetValue(csv))
            {
                throw new CliException("--json and --csv are exclusive", "choose one output format");
            }

            var metres = pr.GetValue(range);
            if (!double.IsFinite(metres) || metres is <= 0 or > 100)
            {
                throw new CliException($"--range {metres.ToString(CultureInfo.InvariantCulture)}: not a distance in metres", "e.g. --range 3");
            }

            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(target)!);
            var timeout = connection.TimeoutValue(pr);
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, endpoint, credentials);
            var revolution = await ReceiveAsync(options, timeout, ct).ConfigureAwait(false);
            var output = pr.GetValue(json) ? Json(revolution) : pr.GetValue(csv) ? Csv(revolution) : Picture(revolution, metres * 1000, !Console.IsOutputRedirected);
            Console.Out.Write(output);
            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    private static async Task<ScanRevolution> ReceiveAsync(AlexClientOptions options, TimeSpan timeout, CancellationToken ct)
    {
        var client = await ConnectionOptions.ConnectAlexLink1Async(options, "no lidar", "scan a server started with alex serve", ct).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            try
            {
                var subscribed = await client.SubscribeAsync(AlexLinkTopics.Lidar, TimeSpan.Zero, ct).ConfigureAwait(false);
                if (!subscribed.Acknowledged)
                {
                    throw new CliException($"{client.Endpoint} refused the lidar subscription: {subscribed.Text}", "update alex on the robot", AlexCommandLine.ExitFailed);
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(timeout);
                var assembler = new AlexLinkScanAssembler();
                try
                {
                    await foreach (var message in client.Telemetry.ReadAllAsync(wait.Token).ConfigureAwait(false))
                    {
                        if (message is AlexLinkScan scan && assembler.Offer(scan) is { } revolution)
                        {
                            return revolution;
                        }
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // the wait ran out: said below
                }
            }
            catch (AlexConnectException e)
            {
                throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
            }

            throw new CliException(
                $"no lidar revolution from {client.Endpoint} within {timeout.TotalSeconds:0.#} s",
                "is the server started with --lidar PATH (or --simulate), and is the lidar connected? its log says",
                AlexCommandLine.ExitFailed);
        }
    }

    internal static string Csv(ScanRevolution revolution)
    {
        var text = new StringBuilder("angle_deg,distance_mm\n");
        foreach (var p in revolution.Points)
        {
            text.Append(CultureInfo.InvariantCulture, $"{p.AngleDegrees:0.00},{p.DistanceMm}\n");
        }

        return text.ToString();
    }

    internal static string Json(ScanRevolution revolution)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("sequence", revolution.Sequence);
            json.WriteString("completed", DateTimeOffset.FromUnixTimeMilliseconds(revolution.CompletedUnixMs).ToString("O", CultureInfo.InvariantCulture));
            json.WriteNumber("points", revolution.Points.Count);
            json.WriteStartArray("scan");
            foreach (var p in revolution.Points)
            {
                json.WriteStartObject();
                json.WriteNumber("angle_deg", Math.Round(p.AngleDegrees, 2));
                json.WriteNumber("distance_mm", p.DistanceMm);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    internal static string Picture(ScanRevolution revolution, double rangeMm, bool braille)
    {
        var measured = revolution.Measured.ToList();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"revolution #{revolution.Sequence}: {revolution.Points.Count} points, {measured.Count} with a return");
        if (measured.Count > 0)
        {
            var nearest = measured.MinBy(p => p.DistanceMm);
            text.Append(CultureInfo.InvariantCulture, $"; nearest {nearest.DistanceMm / 1000.0:0.00} m at {nearest.AngleDegrees:0}°");
        }

        text.Append(CultureInfo.InvariantCulture, $" (±{rangeMm / 1000:0.#} m, ahead is up)\n");
        foreach (var line in LidarPicture.Render(revolution.Points, 40, 20, rangeMm, braille))
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }
}
