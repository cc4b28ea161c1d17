using System.CommandLine;
using System.Globalization;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Cli;

/// <summary>
/// `alex map`: watches the robot's lidar and odometry for a while, builds the map on this machine (docs/mapping.md),
/// and saves it as PNG, or as PGM with the YAML that ROS's map_server reads.
/// </summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "map",
            "Build a map of the room from the robot's lidar and save it.\n\n" +
            "Examples:\n" +
            "  alex map 127.0.0.1:5000 --pki pki -o map.png        a picture: black walls, white free, grey unknown\n" +
            "  alex map alex.local -o room.pgm --seconds 30         room.pgm + room.yaml for ROS map_server (drive meanwhile)\n\n" +
            "The map is built here from the lidar's revolutions and the wheel odometry, with scan matching; drive the robot " +
            "(alex drive, alex web) while it listens to map more of the room. The server must run a lidar (alex serve " +
            "--lidar PATH, or --simulate). Exit codes: 0 saved, 1 no scan came or the connection failed, 2 bad usage.");
        var target = ConnectionOptions.HostArgument();
        var output = new Option<string>("--output", "-o") { Description = "where to save: NAME.png, or NAME.pgm (+ NAME.yaml beside it)", Required = true };
        var seconds = new Option<double>("--seconds") { Description = "how long to listen after the first revolution", DefaultValueFactory = _ => 3 };
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        cmd.Options.Add(output);
        cmd.Options.Add(seconds);
        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var path = pr.GetValue(output)!;
            var extension = Path.GetExtension(path).ToLowerInvariant();
            if (extension is not (".png" or ".pgm"))
            {
                throw new CliException($"-o {path}: the map is saved as .png or .pgm", "e.g. -o map.png, or -o map.pgm for ROS map_server");
            }

            var listen = pr.GetValue(seconds);
            if (!double.IsFinite(listen) || listen is < 0 or > 3600)
            {
                throw new CliException($"--seconds {listen.ToString(CultureInfo.InvariantCulture)}: not 0 to 3600", "e.g. --seconds 10");
            }

            var endpoint = ConnectionOptions.ParseHost(pr.GetValue(target)!);
            var timeout = connection.TimeoutValue(pr);
            using var credentials = connection.LoadCredentials(pr);
            var options = connection.ClientOptions(pr, endpoint, credentials);
            var mapper = await ListenAsync(options, timeout, TimeSpan.FromSeconds(listen), ct).ConfigureAwait(false);
            var image = MapImage.From(mapper.Map)!;
            var full = Path.GetFullPath(path);
            if (extension == ".png")
            {
                await File.WriteAllBytesAsync(full, image.ToPng(), ct).ConfigureAwait(false);
                Console.Out.WriteLine($"saved {path}: {image.Width} × {image.Height} cells of {mapper.Settings.CellCm} cm from {mapper.Scans} revolutions");
            }
            else
            {
                var yaml = Path.ChangeExtension(full, ".yaml");
                await File.WriteAllBytesAsync(full, image.ToPgm(), ct).ConfigureAwait(false);
                await File.WriteAllTextAsync(yaml, image.ToMapServerYaml(Path.GetFileName(full)), ct).ConfigureAwait(false);
                Console.Out.WriteLine($"saved {path} and {Path.ChangeExtension(path, ".yaml")}: {image.Width} × {image.Height} cells of {mapper.Settings.CellCm} cm from {mapper.Scans} revolutions");
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    // Collects revolutions with the odometry of the newest status before each, until `listen` after the first has passed
    // and the map holds something (the first revolution only sets where odometry starts).
    private static async Task<Mapper> ListenAsync(AlexClientOptions options, TimeSpan timeout, TimeSpan listen, CancellationToken ct)
    {
        var client = await ConnectionOptions.ConnectAlexLink1Async(options, "no lidar", "map with a server started with alex serve", ct).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            var mapper = new Mapper();
            var odometry = new DeadReckoning();
            try
            {
                var subscribed = await client.SubscribeAsync(AlexLinkTopics.Lidar | AlexLinkTopics.Status, TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
                if (!subscribed.Acknowledged)
                {
                    throw new CliException($"{client.Endpoint} refused the lidar subscription: {subscribed.Text}", "update alex on the robot", AlexCommandLine.ExitFailed);
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(timeout);
                var assembler = new AlexLinkScanAssembler();
                long? firstAt = null;
                try
                {
                    await foreach (var message in client.Telemetry.ReadAllAsync(wait.Token).ConfigureAwait(false))
                    {
                        if (message is AlexLinkStatus status)
                        {
                            odometry.Update(status.Counters);
                        }
                        else if (message is AlexLinkScan scan && assembler.Offer(scan) is { } revolution)
                        {
                            firstAt ??= revolution.CompletedUnixMs;
                            var pose = odometry.Current;
                            mapper.Add(new MapPose(pose.X, pose.Y, pose.HeadingDeg * Math.PI / 180), MapScan.FromPoints(revolution.Points));
                            if (mapper.Scans == 1)
                            {
                                wait.CancelAfter(timeout + listen); // a scan came: listen, then save
                            }

                            if (mapper.Map.Scans > 0 && revolution.CompletedUnixMs - firstAt >= listen.TotalMilliseconds)
                            {
                                return mapper;
                            }
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

            if (mapper.Map.Scans > 0)
            {
                return mapper;
            }

            throw new CliException(
                mapper.Scans == 0 ? $"no lidar scan from {client.Endpoint} within {timeout.TotalSeconds:0.#} s: nothing to map" : $"the lidar of {client.Endpoint} sees nothing to map",
                "is the server started with --lidar PATH (or --simulate), and is the lidar connected? its log says",
                AlexCommandLine.ExitFailed);
        }
    }
}
