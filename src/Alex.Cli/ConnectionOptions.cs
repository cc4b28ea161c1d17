using System.CommandLine;
using Alex.Client;
using Alex.Pki;
using Spectre.Console;

namespace Alex.Cli;

/// <summary>
/// The options every command that connects to a robot takes (`drive`, `send`, `web`, `doctor`,
/// `lab handshake`): the same names, help text, defaults and errors everywhere. The work is
/// Alex.Client's (<see cref="CredentialSource"/>, <see cref="AlexClientOptions"/>); this only parses.
/// Errors: bad options exit 2; a connection that fails is the command's job and exits 1.
/// </summary>
internal sealed class ConnectionOptions
{
    public const double DefaultTimeoutSeconds = 10;

    private ConnectionOptions(bool protocol)
    {
        HasProtocol = protocol;
    }

    public Option<string?> Pki { get; } = new("--pki") { Description = $"Folder with the course's file names: {AlexCredentials.CertificateFileName}, {AlexCredentials.KeyFileName}, {AlexCredentials.CaFileName} (default: ./{CredentialSource.DefaultPkiDirectory})" };

    public Option<string?> Cert { get; } = new("--cert") { Description = "This laptop's certificate, PEM (instead of --pki; with --key and --ca)" };

    public Option<string?> Key { get; } = new("--key") { Description = "Its private key, PEM (may be encrypted)" };

    public Option<string?> Ca { get; } = new("--ca") { Description = "The CA certificate the robot's certificate must chain to (signing.pem); nothing else is trusted" };

    public Option<string?> PassphraseFile { get; } = new("--passphrase-file") { Description = $"An encrypted key's passphrase: this file's first line (else ${KeyPassphrase.EnvironmentVariable}, else asked on a terminal)" };

    public Option<string?> Name { get; } = new("--name") { Description = "The name the robot's certificate must carry, when it is not the host you connect to (e.g. alex.epp.com)" };

    public Option<bool> Classic { get; } = new("--classic") { Description = "Speak the course's classic protocol, as its C client does (no ALPN, no SNI)" };

    public Option<bool> Legacy { get; } = new("--legacy") { Description = "Accept a course-style v1 robot certificate (no key usage, RSA 1024): weaker" };

    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for the connection and for each reply", DefaultValueFactory = _ => DefaultTimeoutSeconds };

    /// <summary>True when --classic and --legacy are offered.</summary>
    public bool HasProtocol { get; }

    /// <summary>The robot server as a positional argument: HOST[:PORT].</summary>
    public static Argument<string> HostArgument() =>
        new("HOST[:PORT]") { Description = $"The robot server (port {AlexClientOptions.DefaultPort} when not given; [::1]:PORT for IPv6)" };

    /// <summary>Adds the options to <paramref name="command"/>; <paramref name="protocol"/> adds --classic and --legacy.</summary>
    public static ConnectionOptions AddTo(Command command, bool protocol = true)
    {
        ArgumentNullException.ThrowIfNull(command);
        var options = new ConnectionOptions(protocol);
        foreach (var o in options.All())
        {
            command.Options.Add(o);
        }

        return options;
    }

    /// <summary>"host", "host:port", "[v6]" or "[v6]:port"; a usage error otherwise.</summary>
    public static HostPort ParseHost(string text, string? option = null)
    {
        if (!HostPort.TryParse(text, AlexClientOptions.DefaultPort, out var endpoint, out var error))
        {
            throw new CliException(option is null ? error : $"{option} {text}: {error}", hint: "write HOST or HOST:PORT, e.g. 127.0.0.1:5000, alex.local or [::1]:5000");
        }

        return endpoint.Value;
    }

    /// <summary>Which files, and where an encrypted key's passphrase comes from.</summary>
    public CredentialSource Source(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return new CredentialSource
        {
            PkiDirectory = parse.GetValue(Pki),
            CertificatePath = parse.GetValue(Cert),
            KeyPath = parse.GetValue(Key),
            CaPath = parse.GetValue(Ca),
            Passphrase = KeyPassphrase.FromProcess(parse.GetValue(PassphraseFile), Console.IsInputRedirected ? null : AskPassphrase),
        };
    }

    /// <summary>Loads the laptop's credentials; a one-line usage error (exit 2) when they cannot be.</summary>
    public AlexCredentials LoadCredentials(ParseResult parse) => Load(Source(parse));

    /// <summary>Loads <paramref name="source"/>; a one-line usage error (exit 2) when it cannot be.</summary>
    public static AlexCredentials Load(CredentialSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            return source.Load();
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint ?? "make the laptop's files with `alex pki issue client laptop`");
        }
    }

    /// <summary>--timeout as a span; a usage error outside (0, 3600] seconds.</summary>
    public TimeSpan TimeoutValue(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var seconds = parse.GetValue(Timeout);
        if (seconds is <= 0 or > 3600 || double.IsNaN(seconds))
        {
            throw new CliException($"--timeout {seconds}: give seconds between 0 and 3600");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Everything the client library needs to reach <paramref name="endpoint"/>.</summary>
    public AlexClientOptions ClientOptions(ParseResult parse, HostPort endpoint, AlexCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var timeout = TimeoutValue(parse);
        return new AlexClientOptions
        {
            Host = endpoint.Host,
            Port = endpoint.Port,
            ServerName = parse.GetValue(Name),
            Credentials = credentials,
            Protocol = HasProtocol && parse.GetValue(Classic) ? AlexProtocol.Classic : AlexProtocol.Auto,
            AcceptLegacyCertificates = HasProtocol && parse.GetValue(Legacy),
            ConnectTimeout = timeout,
            ReplyTimeout = timeout,
        };
    }

    private static string? AskPassphrase(string keyPath) =>
        AnsiConsole.Prompt(new TextPrompt<string>($"passphrase for {Markup.Escape(keyPath)}:").Secret());

    private IEnumerable<Option> All()
    {
        yield return Pki;
        yield return Cert;
        yield return Key;
        yield return Ca;
        yield return PassphraseFile;
        yield return Name;
        if (HasProtocol)
        {
            yield return Classic;
            yield return Legacy;
        }

        yield return Timeout;
    }

    /// <summary>
    /// Connects for a command that needs AlexLink/1 (the lidar, telemetry): a failure to connect, or a server speaking the
    /// classic protocol (which has no <paramref name="lacks"/>), is a one-line error, exit 1.
    /// </summary>
    public static async Task<AlexLinkClient> ConnectAlexLink1Async(AlexClientOptions options, string lacks, string hint, CancellationToken ct)
    {
        AlexLinkClient client;
        try
        {
            client = await AlexLinkClient.ConnectAsync(options, ct).ConfigureAwait(false);
        }
        catch (AlexConnectException e)
        {
            throw new CliException(e.Message, e.Hint, AlexCommandLine.ExitFailed);
        }

        if (client.Protocol == AlexProtocol.AlexLink1)
        {
            return client;
        }

        await client.DisposeAsync().ConfigureAwait(false);
        throw new CliException($"{client.Endpoint} speaks the classic protocol, which has {lacks}", hint, AlexCommandLine.ExitFailed);
    }
}
