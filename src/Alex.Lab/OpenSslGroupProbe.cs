using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Alex.Lab;

/// <summary>What `openssl s_client` saw in its own handshake with the same server.</summary>
public sealed record OpenSslProbeResult(bool Ran, string? Group, string? Protocol, string? CipherSuite, string Detail);

/// <summary>
/// .NET does not report the key-exchange group, OpenSSL's s_client does ("Server Temp Key: X25519, 253 bits",
/// or "Negotiated TLS1.3 group: …" from OpenSSL 3.2). A second handshake with the same credentials and
/// verification switched on (-verify_return_error) turns the inferred group into an observed one — for that
/// second connection, which uses the same library defaults as ours.
/// </summary>
public static partial class OpenSslGroupProbe
{
    public static async Task<OpenSslProbeResult> RunAsync(
        string host, int port, string? serverName, string? certPath, string? keyPath, string caPath, string alpn, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "s_client", "-connect", host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}", "-CAfile", caPath, "-verify_return_error", "-alpn", alpn, "-brief" })
        {
            start.ArgumentList.Add(arg);
        }

        if (serverName is not null)
        {
            start.ArgumentList.Add("-verify_hostname");
            start.ArgumentList.Add(serverName);
        }

        if (certPath is not null && keyPath is not null)
        {
            start.ArgumentList.Add("-cert");
            start.ArgumentList.Add(certPath);
            start.ArgumentList.Add("-key");
            start.ArgumentList.Add(keyPath);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new OpenSslProbeResult(false, null, null, null, "openssl is not installed (or not on PATH)");
        }

        using (process)
        {
            // No input: s_client finishes the handshake, prints its summary, sees end of input and closes.
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            window.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(window.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill();
                return new OpenSslProbeResult(true, null, null, null, $"openssl s_client did not finish within {timeout.TotalSeconds:0} s");
            }

            var text = await stdout.ConfigureAwait(false) + "\n" + await stderr.ConfigureAwait(false);
            return Parse(text);
        }
    }

    public static OpenSslProbeResult Parse(string text)
    {
        var group = GroupPattern().Match(text);
        var protocol = ProtocolPattern().Match(text);
        var suite = SuitePattern().Match(text);
        return group.Success
            ? new OpenSslProbeResult(true, group.Groups["group"].Value.Trim(), protocol.Success ? protocol.Groups[1].Value.Trim() : null, suite.Success ? suite.Groups[1].Value.Trim() : null, group.Value.Trim())
            : new OpenSslProbeResult(true, null, null, null, $"openssl s_client reported no group: {FirstLine(text)}");
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)) ?? "no output";

    [GeneratedRegex(@"(?:Server|Peer) Temp Key:\s*(?<group>[^,\r\n]+)|Negotiated TLS1\.3 group:\s*(?<group>[^\r\n]+)")]
    private static partial Regex GroupPattern();

    [GeneratedRegex(@"Protocol version:\s*([^\r\n]+)")]
    private static partial Regex ProtocolPattern();

    [GeneratedRegex(@"Ciphersuite:\s*([^\r\n]+)")]
    private static partial Regex SuitePattern();
}
