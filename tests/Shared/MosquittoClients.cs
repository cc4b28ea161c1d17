using System.Diagnostics;

namespace Alex.Tests.Shared;

/// <summary>
/// Mosquitto's own clients (`mosquitto_pub`, `mosquitto_sub`, Debian's mosquitto-clients) with our certificates:
/// an MQTT client that is not ours, so the broker's TLS and ACL are shown to hold against any client.
/// </summary>
public sealed class MosquittoClients(string caFile, int port, string host = "localhost")
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;

        public IReadOnlyList<string> Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Publishes one message at QoS 1 (the broker has handled it when this returns), optionally retained.</summary>
    public Result Publish(string? cert, string? key, string topic, string message, bool retain = false)
    {
        var args = new List<string> { "-t", topic, "-m", message, "-q", "1" };
        if (retain)
        {
            args.Add("-r");
        }

        return Run("mosquitto_pub", cert, key, args);
    }

    /// <summary>
    /// Subscribes and prints "TOPIC PAYLOAD" lines until <paramref name="count"/> messages came or
    /// <paramref name="waitSeconds"/> passed (exit 27: timed out). Retained messages arrive at once on subscribing.
    /// </summary>
    public Result Subscribe(string cert, string key, string topic, int count, int waitSeconds) =>
        Run("mosquitto_sub", cert, key, ["-t", topic, "-v", "-C", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", waitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Starts a subscriber that stays connected (for a Last Will), output and errors redirected.</summary>
    public Process StartSubscriber(string cert, string key, string topic, IEnumerable<string> extra)
    {
        var start = Start("mosquitto_sub", cert, key, ["-t", topic, "-v", .. extra]);
        return Process.Start(start) ?? throw new InvalidOperationException("cannot start mosquitto_sub");
    }

    private Result Run(string program, string? cert, string? key, IEnumerable<string> args)
    {
        using var process = Process.Start(Start(program, cert, key, args)) ?? throw new InvalidOperationException($"cannot start {program}");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException($"{program} did not finish in 60 s");
        }

        return new Result(process.ExitCode, output.Result, error.Result);
    }

    private ProcessStartInfo Start(string program, string? cert, string? key, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { "-h", host, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cafile", caFile, "-V", "mqttv5" })
        {
            start.ArgumentList.Add(a);
        }

        if (cert is not null && key is not null)
        {
            start.ArgumentList.Add("--cert");
            start.ArgumentList.Add(cert);
            start.ArgumentList.Add("--key");
            start.ArgumentList.Add(key);
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }
}
