using System.CommandLine;
using System.Runtime.InteropServices;
using Alex.Pki;
using Alex.Protocol.Discovery;
using Alex.Robot.Discovery;
using Alex.Robot.Lidar;
using Alex.Robot.Server;

namespace Alex.Cli;

/// <summary>`alex serve`: the robot server over mutual TLS. Parses into ServeOptions and shows errors; the rules and the work are Alex.Robot.Server.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var cmd = new Command(
            "serve",
            "Run the robot server: mutual TLS, allow-list with roles, one driver at a time, dead-man stop.\n\n" +
            "Examples:\n" +
            "  alex serve --pki pki --allow laptop --simulate\n" +
            "  alex serve --pki pki --allow laptop=drive --allow tutor=watch --serial /dev/ttyACM0\n" +
            "  alex serve --pki pki --allow laptop --serial /dev/ttyACM0 --lidar /dev/ttyUSB0      with an RPLidar A1/A2\n" +
            "  alex serve --pki pki --allow laptop --simulate --lidar simulated                   the simulated Alex and lidar, mapping\n" +
            "  alex serve --pki pki --allow laptop --serial /dev/ttyACM0 --lidar /dev/ttyUSB0 --map   the Pi maps for every client\n" +
            "  alex serve --pki pki --allow laptop --serial /dev/ttyACM0 --extensions alex-extensions.json   the team's own commands\n" +
            "  alex serve --cert alex.crt --key alex.key --ca signing.pem --crl crl.pem --allow-file allowed.txt --serial /dev/ttyUSB0 --baud 57600\n" +
            "  alex serve --pki pki --allow laptop --serial /dev/ttyACM0 --fleet mqtts://broker.lab:8883     status to the class's broker\n" +
            "  alex serve --pki pki --allow-any --simulate --listen 127.0.0.1:5001 --lease-ms 1000 --max-speed 60 --max-distance 300 --max-angle 180 --audit audit.jsonl\n\n" +
            "The CRL and the allow file are re-read when they change, and on SIGHUP; a connected client that is\n" +
            "no longer allowed is disconnected (and the robot stopped if it was driving).\n" +
            "With a lidar the server can build the map (--map; on by default with --lidar simulated, off with --no-map):\n" +
            "clients subscribed to the map get its tiles (alex map, alex web), never at the cost of a command or a STOP.");

        var pki = new Option<string>("--pki") { Description = "Directory with alex.crt, alex.key, signing.pem and crl.pem" };
        var cert = new Option<string>("--cert") { Description = "The robot's certificate (alex.crt)" };
        var key = new Option<string>("--key") { Description = "The robot's private key (alex.key); owner-only (chmod 600)" };
        var passphraseFile = new Option<string>("--passphrase-file") { Description = $"The key's passphrase, first line of this file, when the key is encrypted (or set ${Alex.Pki.KeyPassphrase.EnvironmentVariable})" };
        var ca = new Option<string>("--ca") { Description = "The CA certificate clients must chain to (signing.pem)" };
        var crl = new Option<string>("--crl") { Description = "The CA's revocation list (crl.pem); checked for every client, fail closed" };
        var noCrl = new Option<bool>("--no-crl") { Description = "Start without a CRL: no certificate can be revoked (said at start and in the audit log)" };
        var allow = new Option<string[]>("--allow") { Description = "A client name (SAN, or CN when there is none) allowed in, with its role: NAME, NAME=drive, NAME=watch or NAME=admin (status and logs, no driving)", AllowMultipleArgumentsPerToken = false };
        var allowFile = new Option<string>("--allow-file") { Description = "A file of allow-list entries, one per line (NAME[=drive|watch|admin], # comments), re-read when it changes" };
        var allowAny = new Option<bool>("--allow-any") { Description = "Let in any client certificate from the CA, as a driver (no allow-list)" };
        var serial = new Option<string>("--serial") { Description = "The Arduino's serial port, e.g. /dev/ttyACM0 (or a pty from `alex sim --pty`)" };
        var baud = new Option<int>("--baud") { Description = "Serial speed", DefaultValueFactory = _ => Defaults.Baud };
        var simulate = new Option<bool>("--simulate") { Description = "Use the simulated Alex in this process instead of a serial port" };
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on (default 0.0.0.0:5000)" };
        var leaseMs = new Option<int>("--lease-ms") { Description = "Dead-man window: a driver silent this long while the robot may move is stopped", DefaultValueFactory = _ => Defaults.LeaseMs };
        var classicSilenceMs = new Option<int>("--classic-silence-ms") { Description = "A classic (course client) driver silent this long during a move without end (distance 0) is stopped", DefaultValueFactory = _ => Defaults.ClassicSilenceMs };
        var maxSpeed = new Option<int>("--max-speed") { Description = "Highest speed a move may ask for, percent", DefaultValueFactory = _ => Defaults.MaxSpeed };
        var maxDistance = new Option<int?>("--max-distance") { Description = "Longest move in cm (then 'until stopped' moves are refused)" };
        var maxAngle = new Option<int?>("--max-angle") { Description = "Widest turn in degrees (then 'until stopped' moves are refused)" };
        var audit = new Option<string>("--audit") { Description = "Append the audit log (JSON lines) to this file" };
        var legacy = new Option<bool>("--legacy-certs") { Description = "Accept the course's X.509 v1 client certificates (no extensions, RSA 1024)" };
        var handshakeMs = new Option<int>("--handshake-timeout-ms") { Description = "Absolute limit for a client's TLS handshake", DefaultValueFactory = _ => Defaults.HandshakeTimeoutMs };
        var quiet = new Option<bool>("--quiet") { Description = "Do not echo audit records to standard output" };
        var auditMaxSize = new Option<string>("--audit-max-size") { Description = "Rotate the audit file before it grows past this size (bytes, or with K, M, G; 0: never)", DefaultValueFactory = _ => Defaults.AuditMaxSize };
        var auditKeep = new Option<int>("--audit-keep") { Description = "Rotated audit files to keep (FILE.1 newest ... FILE.N)", DefaultValueFactory = _ => Defaults.AuditKeep };
        var lidar = new Option<string>("--lidar") { Description = "An RPLidar's serial port, e.g. /dev/ttyUSB0 (or a pty from `alex sim --lidar-pty`); optional. `--lidar simulated`: the simulated lidar in this process (on the simulated Alex with --simulate)" };
        var lidarBaud = new Option<int>("--lidar-baud") { Description = "The lidar's serial speed: 115200 (A1, A2M8) or 460800 (C1, A2M12)", DefaultValueFactory = _ => LidarLink.DefaultBaud };
        var world = new Option<string>("--world") { Description = "With --lidar simulated: the room it sees (JSON walls and boxes, docs/lidar.md §7); default: the course arena" };
        var noAnnounce = new Option<bool>("--no-announce") { Description = "Do not announce the robot on the LAN by mDNS/DNS-SD (on by default for a LAN listen address; `alex discover` finds it)" };
        var maxSessions = new Option<int>("--max-sessions") { Description = "Clients connected at once; the last few seats are kept for drivers (watchers are refused first)", DefaultValueFactory = _ => Defaults.MaxSessions };
        var fleet = new Option<string>("--fleet") { Description = "Publish this robot's status to the fleet broker, and obey its instructors' STOP: mqtts://HOST[:PORT] (docs/fleet.md)" };
        var fleetCert = new Option<string>("--fleet-cert") { Description = "The robot's fleet certificate (alex pki issue fleet NAME; default with --pki: DIR/alex-fleet.crt)" };
        var fleetKey = new Option<string>("--fleet-key") { Description = "Its private key (default with --pki: DIR/alex-fleet.key)" };
        var record = new Option<string>("--record") { Description = "Record every run to MCAP files in this folder (scans, pose, commands, events; docs/recording.md); never slows the robot: a slow disk loses messages, counted" };
        var recordMaxSize = new Option<string>("--record-max-size") { Description = "Begin the next recording file past this size (bytes, or with K, M, G; 0: one file per run)", DefaultValueFactory = _ => Defaults.RecordMaxSize };
        var recordKeep = new Option<int>("--record-keep") { Description = "Recording files kept in the folder (the oldest are deleted)", DefaultValueFactory = _ => Defaults.RecordKeep };
        var map = new Option<bool>("--map") { Description = "Build the map of the room on the server from the lidar and the odometry, for every client (docs/mapping.md); needs --lidar. On by default with --lidar simulated" };
        var noMap = new Option<bool>("--no-map") { Description = "Do not build the map on the server (laptops may still: alex map builds it locally)" };
        var extensions = new Option<string>("--extensions") { Description = "The team's declaration file (alex-extensions.json, docs/extensions.md): its commands are relayed to the Arduino" };
        foreach (var o in new Option[] { pki, cert, key, passphraseFile, ca, crl, noCrl, allow, allowFile, allowAny, serial, baud, simulate, listen, leaseMs, classicSilenceMs, maxSpeed, maxDistance, maxAngle, audit, legacy, handshakeMs, quiet, auditMaxSize, auditKeep, maxSessions, extensions, noAnnounce, lidar, lidarBaud, world, fleet, fleetCert, fleetKey, record, recordMaxSize, recordKeep, map, noMap })
        {
            cmd.Options.Add(o);
        }

        cmd.Subcommands.Add(ServeInstallCommand.Install());
        cmd.Subcommands.Add(ServeInstallCommand.Uninstall());

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) =>
        {
            var options = new ServeOptions
            {
                PkiDir = pr.GetValue(pki),
                CertificatePath = pr.GetValue(cert),
                KeyPath = pr.GetValue(key),
                PassphraseFile = pr.GetValue(passphraseFile),
                PassphraseFromEnvironment = Environment.GetEnvironmentVariable(Alex.Pki.KeyPassphrase.EnvironmentVariable),
                CaPath = pr.GetValue(ca),
                CrlPath = pr.GetValue(crl),
                NoCrl = pr.GetValue(noCrl),
                Allow = pr.GetValue(allow) ?? [],
                AllowFile = pr.GetValue(allowFile),
                AllowAny = pr.GetValue(allowAny),
                SerialPath = pr.GetValue(serial),
                Baud = pr.GetValue(baud),
                Simulate = pr.GetValue(simulate),
                Listen = pr.GetValue(listen),
                LeaseMs = pr.GetValue(leaseMs),
                ClassicSilenceMs = pr.GetValue(classicSilenceMs),
                MaxSpeed = pr.GetValue(maxSpeed),
                MaxDistance = pr.GetValue(maxDistance),
                MaxAngle = pr.GetValue(maxAngle),
                AuditPath = pr.GetValue(audit),
                Legacy = pr.GetValue(legacy),
                HandshakeTimeoutMs = pr.GetValue(handshakeMs),
                AuditMaxSize = pr.GetValue(auditMaxSize)!,
                AuditKeep = pr.GetValue(auditKeep),
                MaxSessions = pr.GetValue(maxSessions),
                ExtensionsPath = pr.GetValue(extensions),
                RecordDir = pr.GetValue(record),
                RecordMaxSize = pr.GetValue(recordMaxSize)!,
                RecordKeep = pr.GetValue(recordKeep),
            };
            var lidarSpec = LidarOptions.Resolve(pr.GetValue(lidar), pr.GetValue(lidarBaud), pr.GetValue(world));
            options = options with { Map = LidarOptions.ResolveMap(pr.GetValue(map), pr.GetValue(noMap), lidarSpec) };
            var fleetSpec = FleetSpec.Resolve(pr.GetValue(fleet), pr.GetValue(fleetCert), pr.GetValue(fleetKey), options.PkiDir);
            return await RunAsync(options, lidarSpec, fleetSpec, pr.GetValue(quiet), pr.GetValue(noAnnounce), ct).ConfigureAwait(false);
        });
        return cmd;
    }

    private static ServeOptions Defaults { get; } = new();

    private static async Task<int> RunAsync(ServeOptions options, LidarSpec lidarSpec, FleetSpec? fleetSpec, bool quiet, bool noAnnounce, CancellationToken cancellationToken)
    {
        (RobotHostOptions Host, RobotLinkSpec Link) settings;
        try
        {
            settings = options.Resolve();
        }
        catch (ServeOptionsException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        if (settings.Host.Policy.CrlPath is null)
        {
            Console.Error.WriteLine("alex serve: WARNING: --no-crl: no revocation list, so a revoked certificate still gets in");
        }

        var time = TimeProvider.System;
        // The fleet identity is checked before anything starts: a bad file is a refusal to start, like the robot's own.
        using var fleetIdentity = fleetSpec?.LoadIdentity(settings.Host.Policy.CaPath);
        var link = await ArduinoRobotLink.OpenAsync(settings.Link, time, cancellationToken).ConfigureAwait(false);
        await using var linkScope = link.ConfigureAwait(false);
        RobotHost host;
        try
        {
            host = RobotHost.Start(settings.Host, link.Link, time, quiet ? null : Console.Out.WriteLine, warn: w => Console.Error.WriteLine("alex serve: " + w));
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        if (link.Link is ArduinoRobotLink serial)
        {
            // Said once the files are known good (a refusal to start comes first and alone): a missing port, or one another
            // program holds, is said loudly; the server keeps retrying, and clients are told.
            static void Say(bool up, string detail) => Console.Error.WriteLine(up
                ? $"alex serve: the Arduino is connected ({detail})"
                : $"alex serve: WARNING: the Arduino is not connected: {detail}; retrying, clients are told");
            serial.StateChanged += Say;
            if (serial.IsUp)
            {
                Say(true, serial.Detail);
            }
            else if (serial.Problem is { } already)
            {
                Say(false, already);
            }
        }

        // Begun once the server stands, finished after it is gone: the last STOP and "server-stopped" are in it. A folder it
        // cannot write refuses the start, as the audit file does.
        IAsyncDisposable recording;
        try
        {
            recording = StartRecording(options.Recording, host, time) ?? ServerRecording.None;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"--record {options.RecordDir}: {e.Message}", "give a folder alex serve may write (it is created, owner-only)");
        }

        await using var recordingScope = recording.ConfigureAwait(false);
        await using (host.ConfigureAwait(false))
        {
            var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var hup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
            {
                c.Cancel = true;
                host.Reload("SIGHUP");
            });
            // Ctrl+C and `kill` end the server the same way: connections closed, the robot stopped if it may be moving
            // (and that STOP written before the serial port closes), then the audit log's last record.
            void Stop(PosixSignalContext c)
            {
                c.Cancel = true;
                stop.TrySetResult();
            }

            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var cancel = cancellationToken.Register(() => stop.TrySetResult());
            // Stopped before the host: the lidar's STOP and motor off go out while the server still stands.
            var lidarHost = LidarHost.Start(lidarSpec, host.Hub, (link as SimulatedRobot)?.Alex, time, line => Console.Error.WriteLine("alex serve: " + line));
            var mapper = options.Map ? ServerMapper.Start(host.Hub) : null;
            var lidarText = (lidarSpec.Path is { } lidarPath ? $", lidar on {lidarPath}" : lidarSpec.Simulate ? ", simulated lidar" : "") + (mapper is null ? "" : ", mapping");
            Console.Error.WriteLine($"alex serve: listening on {host.LocalEndPoint} ({(settings.Link.Simulate ? "simulated Alex" : settings.Link.SerialPath)}{lidarText}); Ctrl+C stops");
            var announcer = RobotAdverts.ShouldAnnounce(host.LocalEndPoint, noAnnounce) ? Announce(host, settings.Host.Policy.CaPath, time) : null;
            var fleetPublisher = fleetSpec is not null && fleetIdentity is not null ? FleetSpec.Start(fleetSpec, fleetIdentity, host, time) : null;
            try
            {
                await stop.Task.ConfigureAwait(false);
            }
            finally
            {
                if (fleetPublisher is not null)
                {
                    await fleetPublisher.DisposeAsync().ConfigureAwait(false);
                }

                if (announcer is not null)
                {
                    await announcer.DisposeAsync().ConfigureAwait(false);
                }

                if (lidarHost is not null)
                {
                    await lidarHost.DisposeAsync().ConfigureAwait(false);
                }

                if (mapper is not null)
                {
                    await mapper.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        return AlexCommandLine.ExitOk;
    }

    private static ServerRecording? StartRecording(RecordingSpec? spec, RobotHost host, TimeProvider time)
    {
        if (spec is null)
        {
            return null;
        }

        var recording = ServerRecording.Start(spec, host, time, w => Console.Error.WriteLine("alex serve: recording " + w));
        Console.Error.WriteLine($"alex serve: recording to {recording.Path}");
        return recording;
    }

    /// <summary>Starts the mDNS responder (docs/protocol.md §8); a robot that cannot be announced still serves, and says why.</summary>
    private static MdnsAnnouncer? Announce(RobotHost host, string caPath, TimeProvider time)
    {
        static void Warn(string w) => Console.Error.WriteLine("alex serve: " + w);
        using var ca = CertificateFile.Load(caPath);
        var advert = RobotAdverts.From(host.Certificate, ca, host.LocalEndPoint.Port);
        var listen = host.LocalEndPoint.Address;
        if (advert.Problem() is { } problem)
        {
            Warn($"not announced on the LAN: {problem}");
            return null;
        }

        if (System.Net.IPAddress.IsLoopback(listen) || listen.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            Warn($"not announced on the LAN: it listens on {listen}, which no other machine reaches by an announced IPv4 address");
            return null;
        }

        try
        {
            var announcer = MdnsAnnouncer.Start(advert, () => LanLinks.ForAnnouncing(listen), time, Warn, Warn);
            var links = announcer.Links;
            var what = $"as '{advert.CertificateName}' ({RobotAdvert.ServiceType}, {advert.HostLabel}.local)";
            Console.Error.WriteLine(links.Count > 0
                ? $"alex serve: announced {what} on {string.Join(", ", links.Select(l => $"{l.Name} {string.Join(' ', l.AddressList)}"))}; --no-announce turns this off"
                : $"alex serve: to be announced {what} once a network interface with an IPv4 address{(listen.Equals(System.Net.IPAddress.Any) ? "" : " " + listen)} that takes multicast comes up (none is up yet); --no-announce turns this off");
            return announcer;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Warn($"not announced on the LAN: cannot use UDP port 5353 ({e.Message})");
            return null;
        }
    }
}
