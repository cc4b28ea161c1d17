using System.CommandLine;
using System.Globalization;
using Alex.Client;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Mapping;

namespace Alex.Cli;

/// <summary>
/// `alex map`: saves the server's map (when it maps), else watches the robot's lidar and odometry for a while and
/// builds the map on this machine (docs/mapping.md), as PNG, or as PGM with the YAML that ROS's map_server reads.
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
            "When the server maps (alex serve --map, on by default with --lidar simulated) its map is saved: everything it has " +
            "seen since it started. Otherwise the map is built here from the lidar's revolutions and the wheel odometry, with " +
            "scan matching; drive the robot (alex drive, alex web) while it listens to map more of the room. The server must " +
            "run a lidar (alex serve --lidar PATH). Exit codes: 0 saved, 1 no scan came or the connection failed, 2 bad usage.");
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
            var map = await ListenAsync(options, timeout, TimeSpan.FromSeconds(listen), ct).ConfigureAwait(false);
            var image = MapImage.From(map.Grid)!;
            var full = Path.GetFullPath(path);
            var what = $"{image.Width} × {image.Height} cells of {map.Grid.CellCm} cm {map.Source}";
            if (extension == ".png")
            {
                await File.WriteAllBytesAsync(full, image.ToPng(), ct).ConfigureAwait(false);
                Console.Out.WriteLine($"saved {path}: {what}");
            }
            else
            {
                var yaml = Path.ChangeExtension(full, ".yaml");
                await File.WriteAllBytesAsync(full, image.ToPgm(), ct).ConfigureAwait(false);
                await File.WriteAllTextAsync(yaml, image.ToMapServerYaml(Path.GetFileName(full)), ct).ConfigureAwait(false);
                Console.Out.WriteLine($"saved {path} and {Path.ChangeExtension(path, ".yaml")}: {what}");
            }

            return AlexCommandLine.ExitOk;
        });
        return cmd;
    }

    /// <summary>The map to save and where it came from, in words.</summary>
    private sealed record SavedMap(OccupancyGrid Grid, string Source);

    // Listens to the server's map (when it maps: MapTiles come) and, in case it does not, builds one here from the
    // revolutions with the odometry of the newest status before each; until `listen` after the first revolution or map
    // update has passed and there is a map (the first revolution only sets where odometry starts). The server's map wins:
    // it has seen every revolution since the server started.
    private static async Task<SavedMap> ListenAsync(AlexClientOptions options, TimeSpan timeout, TimeSpan listen, CancellationToken ct)
    {
        var client = await ConnectionOptions.ConnectAlexLink1Async(options, "no lidar", "map with a server started with alex serve", ct).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            var mapper = new Mapper();
            var odometry = new DeadReckoning();
            OccupancyGrid? served = null;
            uint servedSequence = 0;
            SavedMap? Ready() => served is { TileCount: > 0 }
                ? new SavedMap(served, $"from the server's map (update {servedSequence})")
                : mapper.Map.Scans > 0 ? new SavedMap(mapper.Map, $"from {mapper.Scans} revolutions") : null;
            try
            {
                var subscribed = await client.SubscribeAsync(AlexLinkTopics.Lidar | AlexLinkTopics.Status | AlexLinkTopics.Map, TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
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
                        long at;
                        if (message is AlexLinkStatus status)
                        {
                            odometry.Update(status.Counters);
                            continue;
                        }
                        else if (message is AlexLinkMapTiles tiles)
                        {
                            served ??= new OccupancyGrid(tiles.CellMm / 10.0);
                            servedSequence = tiles.Sequence;
                            foreach (var tile in tiles.Tiles)
                            {
                                tile.ApplyTo(served);
                            }

                            at = tiles.AtUnixMs;
                        }
                        else if (message is AlexLinkScan scan && assembler.Offer(scan) is { } revolution)
                        {
                            var pose = odometry.Current;
                            mapper.Add(new MapPose(pose.X, pose.Y, pose.HeadingDeg * Math.PI / 180), MapScan.FromPoints(revolution.Points));
                            at = revolution.CompletedUnixMs;
                        }
                        else
                        {
                            continue;
                        }

                        if (firstAt is null)
                        {
                            firstAt = at;
                            wait.CancelAfter(timeout + listen); // something came: listen, then save
                        }

                        if (at - firstAt >= listen.TotalMilliseconds && Ready() is { } ready)
                        {
                            return ready;
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

            if (Ready() is { } map)
            {
                return map;
            }

            throw new CliException(
                mapper.Scans == 0 && served is null ? $"no lidar scan from {client.Endpoint} within {timeout.TotalSeconds:0.#} s: nothing to map" : $"the lidar of {client.Endpoint} sees nothing to map",
                "is the server started with --lidar PATH (or --simulate), and is the lidar connected? its log says",
                AlexCommandLine.ExitFailed);
        }
    }
}
