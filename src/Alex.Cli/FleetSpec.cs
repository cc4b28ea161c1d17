using Alex.Fleet;
using Alex.Pki;
using Alex.Protocol.Fleet;
using Alex.Robot.Server;

namespace Alex.Cli;

/// <summary>`alex serve --fleet`: where the broker is and which certificate the robot shows it (docs/fleet.md).</summary>
internal sealed record FleetSpec(FleetEndpoint Endpoint, string CertificatePath, string KeyPath)
{
    /// <summary>The fleet options parsed and checked; null when --fleet is not given. Bad usage is a <see cref="CliException"/>.</summary>
    public static FleetSpec? Resolve(string? url, string? cert, string? key, string? pkiDir)
    {
        if (url is null)
        {
            if (cert is not null || key is not null)
            {
                throw new CliException("--fleet-cert and --fleet-key need --fleet", hint: "add --fleet mqtts://BROKER:8883");
            }

            return null;
        }

        if (!FleetEndpoint.TryParse(url, out var endpoint, out var problem))
        {
            throw new CliException($"--fleet {problem}", hint: "give the broker as mqtts://HOST:8883 (docs/fleet.md)");
        }

        cert ??= pkiDir is null ? null : Path.Combine(pkiDir, "alex-fleet.crt");
        key ??= pkiDir is null ? null : Path.Combine(pkiDir, "alex-fleet.key");
        if (cert is null || key is null)
        {
            throw new CliException("--fleet needs the robot's fleet certificate: --fleet-cert FILE --fleet-key FILE (or --pki DIR with alex-fleet.crt)", hint: "make one with: alex pki issue fleet ROBOT-NAME");
        }

        foreach (var (path, what) in new[] { (cert, "fleet certificate"), (key, "fleet key") })
        {
            if (!File.Exists(path))
            {
                throw new CliException($"{path}: no such {what} file", hint: "make one with: alex pki issue fleet ROBOT-NAME");
            }
        }

        return new FleetSpec(endpoint!, cert, key);
    }

    /// <summary>The certificate, its key and the CA the broker must chain to; a bad file is a <see cref="CliException"/>.</summary>
    public FleetIdentity LoadIdentity(string caPath)
    {
        FleetIdentity identity;
        try
        {
            identity = FleetIdentity.Load(CertificatePath, KeyPath, caPath);
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }

        if (FleetConnection.RobotNameProblem(identity.Name) is { } problem)
        {
            identity.Dispose();
            throw new CliException($"{CertificatePath}: the name '{identity.Name}' {problem}", hint: "issue the fleet certificate under the robot's name: alex pki issue fleet ROBOT-NAME");
        }

        return identity;
    }

    /// <summary>Starts publishing the host's state; the broker's STOP goes to the hub like any STOP.</summary>
    public static FleetPublisher Start(FleetSpec spec, FleetIdentity identity, RobotHost host, TimeProvider time)
    {
        var publisher = FleetPublisher.Start(
            spec.Endpoint,
            identity,
            () =>
            {
                var (counters, at) = host.Hub.LastCounters;
                return FleetStatus.From(host.Server.Status(), counters, at, time.GetUtcNow());
            },
            (who, why) => host.Hub.FleetStopAsync(who, why),
            time,
            line => Console.Error.WriteLine("alex serve: " + line));
        Console.Error.WriteLine($"alex serve: publishing status to the fleet broker {spec.Endpoint} as '{identity.Name}' (alexlink/{identity.Name}/status)");
        return publisher;
    }
}
