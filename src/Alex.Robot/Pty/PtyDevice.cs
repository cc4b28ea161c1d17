// A simulated device served on a fresh pseudo-terminal until disposed, optionally reachable through a stable
// symlink: what `alex sim --pty` (the Arduino) and `alex sim --lidar-pty` (the RPLidar) share. The subclass
// builds its simulator and pump on the pty; this class runs the pump and takes the pty and the link down.
namespace Alex.Robot.Pty;

/// <summary>A simulated serial device on a pseudo-terminal.</summary>
public abstract class PtyDevice : IAsyncDisposable
{
    private readonly PseudoTerminalStream _pty;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    private protected PtyDevice(PseudoTerminalStream pty, Func<CancellationToken, Task> pump, string? linkPath)
    {
        _pty = pty;
        LinkPath = linkPath;
        _run = Task.Run(() => pump(_stop.Token));
    }

    /// <summary>The pty's device path, e.g. /dev/pts/4.</summary>
    public string DevicePath => _pty.DevicePath;

    /// <summary>The symlink made to <see cref="DevicePath"/>, if one was asked for.</summary>
    public string? LinkPath { get; }

    /// <summary>Completes when serving stops (after dispose, or if the pty fails).</summary>
    public Task Completion => _run;

    /// <summary>
    /// Opens a pty, links <paramref name="linkPath"/> to it if given, and lets <paramref name="build"/> make the device on
    /// it; the pty is closed again if either fails.
    /// </summary>
    /// <exception cref="IOException">The pty cannot be made, or <paramref name="linkPath"/> exists and is not a symlink.</exception>
    private protected static T Open<T>(string? linkPath, Func<PseudoTerminalStream, T> build)
    {
        var pty = PseudoTerminalStream.Open();
        try
        {
            if (linkPath is not null)
            {
                ReplaceSymlink(linkPath, pty.DevicePath);
            }

            return build(pty);
        }
        catch
        {
            pty.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopped as asked
        }
        finally
        {
            await _pty.DisposeAsync().ConfigureAwait(false);
            // Only our own link: another sim may have taken the name meanwhile.
            if (LinkPath is not null && new FileInfo(LinkPath).LinkTarget == DevicePath)
            {
                File.Delete(LinkPath);
            }

            _stop.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private static void ReplaceSymlink(string linkPath, string target)
    {
        var existing = new FileInfo(linkPath);
        if (existing.LinkTarget is not null)
        {
            existing.Delete(); // a stale link from an earlier run
        }
        else if (existing.Exists || Directory.Exists(linkPath))
        {
            throw new IOException($"{linkPath} exists and is not a symlink; refusing to replace it");
        }

        File.CreateSymbolicLink(linkPath, target);
    }
}
