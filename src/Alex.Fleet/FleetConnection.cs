using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Pki.Fleet;
using Alex.Protocol;
using Alex.Protocol.Fleet;
using MQTTnet;
using MQTTnet.Formatter;

namespace Alex.Fleet;

/// <summary>A certificate with its key for the fleet broker, and the name the broker will know it by (its CN).</summary>
public sealed class FleetIdentity : IDisposable
{
    private FleetIdentity(X509Certificate2 certificate, X509Certificate2 authority, string name)
    {
        Certificate = certificate;
        Authority = authority;
        Name = name;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The CA the broker's certificate must chain to (and nothing else).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The certificate's CN: the broker's user name for us, and a robot's topic level.</summary>
    public string Name { get; }

    /// <summary>Loads the certificate, its key and the CA; throws <see cref="PkiException"/> with a hint on anything wrong.</summary>
    public static FleetIdentity Load(string certificatePath, string keyPath, string caPath, string? passphrase = null)
    {
        var certificate = PrivateKeyFile.LoadCertificateWithKey(certificatePath, keyPath, passphrase);
        var authority = CertificateFile.Load(caPath);
        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (string.IsNullOrEmpty(name))
        {
            certificate.Dispose();
            authority.Dispose();
            throw new PkiException($"{certificatePath}: the certificate has no common name; the broker takes it as the user name", hint: "issue it with alex pki issue fleet NAME (or instructor NAME)");
        }

        return new FleetIdentity(certificate, authority, name);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}

/// <summary>
/// The MQTT client settings every fleet client shares: MQTT 5 over TLS 1.2/1.3, our certificate, and trust in our
/// CA alone (MQTTnet's TrustChain: a custom-root chain policy, no OS store, no validation callback), with the broker's
/// name checked against the address we dialled.
/// </summary>
public static class FleetConnection
{
    /// <summary>
    /// How long one MQTT request (CONNECT, SUBSCRIBE, PUBLISH at QoS 1) may wait for the broker's answer. Generous: a
    /// cold process on a loaded Pi or laptop takes seconds for its first TLS handshake.
    /// </summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The bound on connecting and subscribing as a whole.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How robots and the instructor's view retry a lost broker: 1 s doubling to 30 s, jittered, so a broker restart does
    /// not bring a class of robots back in the same second.
    /// </summary>
    public static readonly Backoff Backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    public static MqttClientOptionsBuilder Options(FleetEndpoint endpoint, FleetIdentity identity, string clientId)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(identity);
        return new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId)
            .WithTimeout(RequestTimeout)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithCleanStart()
            .WithTlsOptions(tls => tls
                .UseTls()
                .WithTargetHost(endpoint.Host)
                .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13)
                .WithClientCertificates([identity.Certificate])
                .WithTrustChain([identity.Authority])
                // Our CA publishes its CRL as a file, not at a URL: the broker's certificate is checked against the CA only.
                .WithRevocationMode(X509RevocationMode.NoCheck));
    }

    /// <summary>True for what a connection attempt throws when the broker cannot be reached or will not talk TLS with us.</summary>
    public static bool IsUnreachable(Exception e) =>
        e is MQTTnet.Exceptions.MqttCommunicationException or System.Net.Sockets.SocketException or AuthenticationException or IOException or InvalidOperationException;

    /// <summary>An exception's message (its cause's, when it wraps one) on one line.</summary>
    public static string OneLine(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return (e.InnerException?.Message ?? e.Message).ReplaceLineEndings(" ");
    }

    /// <summary>Disconnects <paramref name="client"/> within a second, whatever state it is in; a failure to do so is ignored.</summary>
    public static async Task DropAsync(IMqttClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), quick.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or MQTTnet.Exceptions.MqttCommunicationException or InvalidOperationException or IOException)
        {
        }
    }

    /// <summary>A client id unique per process, readable in the broker's log: NAME-PID.</summary>
    public static string ClientId(string name) => $"{name}-{Environment.ProcessId}";

    /// <summary>Null when <paramref name="name"/> can be a robot's topic level, else why not.</summary>
    public static string? RobotNameProblem(string name) => FleetTopics.TopicLevelProblem(name);
}
