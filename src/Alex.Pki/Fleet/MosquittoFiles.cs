using System.Globalization;
using System.Text;

namespace Alex.Pki.Fleet;

/// <summary>Where the broker's files are and how it listens.</summary>
/// <param name="RunAs">Mosquitto's <c>user</c>: whom it becomes when started as root (null: its default, "mosquitto").</param>
public sealed record MosquittoListener(string Bind, int Port, string CaFile, string CertFile, string KeyFile, string CrlFile, string AclFile, string? RunAs = null);

/// <summary>
/// Mosquitto 2.0's configuration and ACL file as text (mosquitto.conf(5)), from our decisions: no I/O.
/// </summary>
public static class MosquittoFiles
{
    /// <summary>The standard port of MQTT over TLS (IANA "secure-mqtt").</summary>
    public const int DefaultPort = 8883;

    /// <summary>
    /// One TLS listener that requires a client certificate from our CA, checks the CA's CRL, and names each
    /// client by its certificate's CN (<c>use_identity_as_username</c>), which the ACL then grants rights to.
    /// Nothing listens without TLS, and a client without a certificate is refused in the handshake.
    /// </summary>
    public static string Conf(MosquittoListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var b = new StringBuilder();
        b.AppendLine("# AlexLink fleet broker (docs/fleet.md), written by `alex pki fleet-broker`.");
        b.AppendLine("# Mutual TLS only: a client needs a certificate from our CA (clientAuth), not revoked by crl.pem;");
        b.AppendLine("# its CN is its user name, and acl decides what that name may publish and read.");
        if (listener.RunAs is { } user)
        {
            // Started as root, Mosquitto becomes this user before it reads the files below: it must be able to read broker.key.
            b.AppendLine(CultureInfo.InvariantCulture, $"user {user}");
        }

        b.AppendLine("per_listener_settings false");
        b.AppendLine("allow_anonymous false");
        b.AppendLine(CultureInfo.InvariantCulture, $"acl_file {listener.AclFile}");
        b.AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"listener {listener.Port} {listener.Bind}");
        b.AppendLine("protocol mqtt");
        b.AppendLine(CultureInfo.InvariantCulture, $"cafile {listener.CaFile}");
        b.AppendLine(CultureInfo.InvariantCulture, $"certfile {listener.CertFile}");
        b.AppendLine(CultureInfo.InvariantCulture, $"keyfile {listener.KeyFile}");
        b.AppendLine(CultureInfo.InvariantCulture, $"crlfile {listener.CrlFile}");
        b.AppendLine("tls_version tlsv1.2");
        b.AppendLine("require_certificate true");
        b.AppendLine("use_identity_as_username true");
        return b.ToString();
    }

    /// <summary>
    /// The ACL: <c>pattern</c> lines apply to every authenticated user (the watchers' read-only view),
    /// <c>user</c> blocks give each robot and instructor its own rights. Mosquitto denies whatever is not granted.
    /// </summary>
    public static string Acl(FleetAccessPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var b = new StringBuilder();
        b.AppendLine("# AlexLink fleet ACL (docs/fleet.md), written by `alex pki fleet-broker` from the CA's ledger.");
        b.AppendLine("# User names are certificate CNs. Everyone with a certificate from the CA may read the robots' status.");
        foreach (var filter in plan.WatcherRead)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"pattern read {filter}");
        }

        foreach (var grant in plan.Grants)
        {
            b.AppendLine();
            b.AppendLine(CultureInfo.InvariantCulture, $"# {(grant.Role == FleetRole.Robot ? "robot" : "instructor")}");
            b.AppendLine(CultureInfo.InvariantCulture, $"user {grant.Name}");
            foreach (var filter in grant.Write)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"topic write {filter}");
            }

            foreach (var filter in grant.Read)
            {
                b.AppendLine(CultureInfo.InvariantCulture, $"topic read {filter}");
            }
        }

        return b.ToString();
    }
}
