// `alex serve --record DIR`: the server's own recordings (docs/recording.md "On the robot"). Each run is a series of
// files named by when the run began, run-20261202T061500Z-001.mcap, -002.mcap after each MaxFileBytes; before a file
// is begun, the oldest run-*.mcap in the folder are deleted so that at most Keep remain with it: a robot that records
// every day never fills its SD card.
using System.Globalization;

namespace Alex.Client.Recording;

public static class RecordingFolder
{
    public const string Prefix = "run-";
    public const string Extension = ".mcap";

    /// <summary>Creates the folder (owner-only) if needed and begins the run's first file.</summary>
    public static RecordingFile Start(string dir, long? maxFileBytes, int keep, TimeProvider time, Action<string>? warn = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var stem = Prefix + time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var n = 0;
        string Next()
        {
            string path;
            do
            {
                n++;
                path = Path.Combine(dir, $"{stem}-{n:000}{Extension}");
            }
            while (File.Exists(path));

            foreach (var old in ToDelete(Directory.EnumerateFiles(dir).Select(Path.GetFileName).OfType<string>(), keep - 1))
            {
                try
                {
                    File.Delete(Path.Combine(dir, old));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    warn?.Invoke($"cannot delete the old recording {old}: {e.Message}");
                }
            }

            return path;
        }

        return RecordingFile.Start(Next, time, new RecordingFileOptions { MaxFileBytes = maxFileBytes }, warn: warn);
    }

    /// <summary>Which recordings go so that <paramref name="keep"/> remain: the oldest by name (names start with the UTC time).</summary>
    public static IReadOnlyList<string> ToDelete(IEnumerable<string> names, int keep)
    {
        var runs = names.Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(Extension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        return runs.Count <= keep ? [] : runs[..(runs.Count - Math.Max(keep, 0))];
    }
}
