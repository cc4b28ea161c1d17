using Alex.Robot.Lidar;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Cli;

/// <summary>The lidar options shared by `alex serve`, `alex sim` and `alex demo`, parsed into a LidarSpec.</summary>
internal static class LidarOptions
{
    /// <summary>Speeds RPLidars use: A1/A2M8 115200, A3 256000 is not offered by Linux's termios, C1/A2M12 460800.</summary>
    public static readonly int[] Bauds = [115200, 230400, 460800, 921600];

    /// <summary>The --lidar value that asks for the simulated lidar in this process.</summary>
    public const string Simulated = "simulated";

    public static LidarSpec Resolve(string? path, int baud, string? worldPath)
    {
        if (!Bauds.Contains(baud))
        {
            throw new CliException($"--lidar-baud {baud}: not a speed an RPLidar uses", "115200 for an A1 or A2M8, 460800 for a C1 or A2M12");
        }

        if (path is { Length: 0 })
        {
            throw new CliException("--lidar needs a serial port", "e.g. --lidar /dev/ttyUSB0");
        }

        var simulate = path == Simulated;
        if (worldPath is not null && !simulate)
        {
            throw new CliException("--world is for the simulated lidar", $"add --lidar {Simulated}, or leave --world out");
        }

        return new LidarSpec(simulate ? null : path, baud, simulate, worldPath is null ? null : LoadWorld(worldPath));
    }

    /// <summary>
    /// Whether `alex serve` maps: asked with --map (a lidar needed), refused with --no-map, and by default only with the
    /// simulated lidar, where trying things out on a laptop should show the map; on a Pi the mapper's CPU is opted into.
    /// </summary>
    public static bool ResolveMap(bool map, bool noMap, LidarSpec lidar)
    {
        ArgumentNullException.ThrowIfNull(lidar);
        if (map && noMap)
        {
            throw new CliException("--map and --no-map: pick one", "--map builds the map on the server, --no-map leaves it to the laptops (alex map)");
        }

        if (map && !lidar.Any)
        {
            throw new CliException("--map needs a lidar: the map is built from its scans", $"add --lidar /dev/ttyUSB0 (or --lidar {Simulated})");
        }

        return !noMap && (map || lidar.Simulate);
    }

    public static LidarWorld LoadWorld(string path)
    {
        try
        {
            return LidarWorld.Load(path);
        }
        catch (FormatException e)
        {
            throw new CliException($"--world {e.Message}", "a world is { \"walls\": [[x1, y1, x2, y2], ...], \"boxes\": [[x, y, w, h], ...] } in cm (docs/lidar.md §7)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--world {path}: {e.Message}", "give a readable JSON world file", AlexCommandLine.ExitUsage);
        }
    }
}
