// Everything `alex demo` starts, and takes down again in reverse order:
//   1. a throwaway CA in a fresh temp dir, the robot's certificate (alex.demo, 127.0.0.1) and the
//      laptop's, with the course's file names (signing.pem, alex.crt/.key, laptop.crt/.key);
//   2. the simulated Alex on a pseudo-terminal (DIR/ttyALEX links to it), opened by the server as a
//      serial port through ArduinoLink (TtyStream) exactly as a real Arduino would be, paced at
//      the course's 9600 baud;
//   3. the robot server on 127.0.0.1, a free port, admitting only "laptop" as a driver, mapping the simulated
//      lidar's room for its clients.
// Disposing stops the server, then the simulator, then deletes the temp dir, each step even if one
// before it failed, so Ctrl-C or an exception leaves nothing behind.
using System.Net;
using Alex.Client;
using Alex.Pki;
using Alex.Protocol.Serial;
using Alex.Robot.Lidar;
using Alex.Robot.Pty;
using Alex.Robot.Serial;
using Alex.Robot.Server;
using Alex.Robot.Simulation;
using Alex.Robot.Simulation.Lidar;

namespace Alex.Cli.Demo;

internal sealed class DemoRig : IAsyncDisposable
{
    public const string ServerName = "alex.demo";
    public const string ClientName = "laptop";

    /// <summary>The web gateway's own client certificate: it competes with the console for the lease like any client.</summary>
    public const string WebClientName = "web";
    public const int Baud = 9600;
    public const string SerialLinkName = "ttyALEX";

    private readonly List<Func<ValueTask>> _undo = [];

    private DemoRig(string directory)
    {
        Directory = directory;
    }

    /// <summary>The temp dir with the CA, the certificates and the audit log.</summary>
    public string Directory { get; }

    public RobotHost Host { get; private set; } = null!;

    public IPEndPoint EndPoint => Host.LocalEndPoint;

    /// <summary>The server's map, pushed to clients subscribed to it (the web page).</summary>
    public ServerMapper Mapper { get; private set; } = null!;

    /// <summary>The symlink to the simulator's pty, inside <see cref="Directory"/>.</summary>
    public string SerialPath { get; private set; } = string.Empty;

    private const string LidarLinkName = "ttyLIDAR";

    /// <summary>Where the simulated Alex is attached, in words (for the banner).</summary>
    public string SerialDescription { get; private set; } = string.Empty;

    /// <summary>Starts everything; on any failure undoes what was started and rethrows.</summary>
    public static async Task<DemoRig> StartAsync(TimeProvider time, Action<string> say, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(say);
        var rig = new DemoRig(System.IO.Directory.CreateTempSubdirectory("alex-demo-").FullName);
        rig._undo.Add(() =>
        {
            DeleteDirectory(rig.Directory);
            return ValueTask.CompletedTask;
        });
        try
        {
            var ca = CertificateAuthority.Create(rig.Directory, "AlexLink demo CA (throwaway)", KeySpec.EcdsaP256, days: 1, passphrase: null, force: false, timeProvider: time);
            ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = ServerName, DnsNames = ["localhost"], IpAddresses = [IPAddress.Loopback], Days = 1 }, rig.File("alex.key"), rig.File("alex.crt"), null, force: false);
            ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = ClientName, Days = 1 }, rig.File(AlexCredentials.KeyFileName), rig.File(AlexCredentials.CertificateFileName), null, force: false);
            ca.Issue(new IssueRequest { Role = CertificateRole.Client, Name = WebClientName, Days = 1 }, rig.File("web.key"), rig.File("web.crt"), null, force: false);
            say($"made a throwaway CA and certificates for {ServerName}, {ClientName} and {WebClientName} in {rig.Directory}");

            var pty = PtySimulator.Start(new SimulatorSettings(), new SerialLinePacing(Baud), rig.File(SerialLinkName), time, log: null);
            rig._undo.Add(pty.DisposeAsync);
            rig.SerialPath = pty.LinkPath!;

            // A pty does not reset like an Uno does when its port opens: no reset delay.
            var arduino = ArduinoLink.ForSerialPort(rig.SerialPath, new ArduinoLinkOptions { BaudRate = Baud, ResetDelay = TimeSpan.Zero }, time);
            var robot = new ArduinoRobotLink(arduino);
            rig._undo.Add(robot.DisposeAsync);
            arduino.Start();
            using (var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ready.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    await arduino.WaitForStateAsync(ArduinoLinkState.Ready, ready.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new CliException($"the simulated Alex on {pty.DevicePath} did not answer within 10 s", hint: "run `alex sim --pty` on its own to see why", exitCode: AlexCommandLine.ExitFailed);
                }
            }

            rig.SerialDescription = $"the simulated Alex on {pty.DevicePath} ({rig.SerialPath}), opened as a serial port at {Baud} baud";
            say($"started {rig.SerialDescription}");

            rig.Host = RobotHost.Start(
                new RobotHostOptions
                {
                    CertificatePath = rig.File("alex.crt"),
                    KeyPath = rig.File("alex.key"),
                    Policy = new PolicySources(ca.CertificatePath, ca.CrlPath, [$"{ClientName}=drive", $"{WebClientName}=drive"], AllowFilePath: null, AllowAny: false, Legacy: false),
                    Listen = new IPEndPoint(IPAddress.Loopback, 0),
                    AuditPath = rig.File("audit.jsonl"),
                    Hub = new HubOptions { ObserverStatusInterval = ServerMapper.StatusInterval },
                },
                robot,
                time);
            rig._undo.Add(rig.Host.DisposeAsync);

            // The server maps the room as the simulated Alex drives (as `alex serve --lidar simulated` does by default).
            rig.Mapper = ServerMapper.Start(rig.Host.Hub);
            rig._undo.Add(rig.Mapper.DisposeAsync);

            // The simulated RPLidar rides on the simulated Alex in the course arena, on its own pseudo-terminal that
            // the server's lidar driver opens as a serial port (as `alex serve --lidar` would a real one).
            var world = LidarWorld.DefaultArena;
            var body = new SimulatedBody(() => pty.Alex.Counters, pty.Alex.Settings, world.Start);
            var lidarPty = LidarPtySimulator.Start(new SimulatedLidar(world, body, new LidarSimSettings(), time), rig.File(LidarLinkName), time, log: null);
            rig._undo.Add(lidarPty.DisposeAsync);
            var lidar = LidarHost.Start(new LidarSpec(lidarPty.LinkPath), rig.Host.Hub, alex: null, time, log: _ => { })!;
            rig._undo.Add(lidar.DisposeAsync);
            say($"robot server listening on {rig.EndPoint} (mutual TLS, allow-list: {ClientName}, {WebClientName})");
            say($"started the simulated lidar (RPLidar A1) on {lidarPty.DevicePath} ({lidarPty.LinkPath}) in the course arena; the server maps it");
            return rig;
        }
        catch
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>How the laptop connects: the demo's client certificate, the demo CA, the server's name.</summary>
    public AlexClientOptions ClientOptions(AlexCredentials credentials) => new()
    {
        Host = EndPoint.Address.ToString(),
        Port = EndPoint.Port,
        ServerName = ServerName,
        Credentials = credentials,
        Protocol = AlexProtocol.AlexLink1,
    };

    public AlexCredentials LoadCredentials() => AlexCredentials.FromPkiDirectory(Directory);

    /// <summary>The web gateway's credentials (web.crt, web.key, the demo CA).</summary>
    public AlexCredentials LoadWebCredentials() => AlexCredentials.FromFiles(File("web.crt"), File("web.key"), File(CertificateAuthority.CertificateFileName));

    /// <summary>Registers something to stop before the server (e.g. the web gateway, a client of it).</summary>
    public void StopFirst(Func<ValueTask> stop) => _undo.Add(stop);

    public string File(string name) => Path.Combine(Directory, name);

    public async ValueTask DisposeAsync()
    {
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            try
            {
                await _undo[i]().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or UnauthorizedAccessException)
            {
                // Keep undoing the rest: one stuck part must not leave the others running.
            }
        }

        _undo.Clear();
    }

    private static void DeleteDirectory(string directory)
    {
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }
}
