using System.Diagnostics;

namespace Alex.Pki.Tests;

/// <summary>Runs the real `openssl` CLI (3.0) to prove that what we write interoperates.</summary>
public static class OpenSsl
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    public static Result Run(string workingDirectory, params string[] args) => RunWithInput(workingDirectory, null, args);

    public static Result RunWithInput(string workingDirectory, string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start openssl");
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill();
            throw new TimeoutException($"openssl {string.Join(' ', args)} did not finish in 30 s");
        }

        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Fails the test with openssl's output when it did not succeed.</summary>
    public static Result Ok(string workingDirectory, params string[] args)
    {
        var result = Run(workingDirectory, args);
        Assert.True(result.ExitCode == 0, $"openssl {string.Join(' ', args)} exited {result.ExitCode}: {result.All}");
        return result;
    }

    /// <summary>
    /// Makes certificates the way the course does (PROTOCOL.md §5): RSA keys, a self-signed CA and device
    /// certificates signed with `openssl x509 -req`, X.509 v1 with no extensions, CN only.
    /// Writes signing.key/signing.pem and, per device, NAME.key/NAME.crt into <paramref name="dir"/>.
    /// </summary>
    public static void MakeCourseCa(string dir, int bits = 2048)
    {
        // An empty config section keeps `req -x509` from adding its default v3 extensions: a v1 CA.
        File.WriteAllText(Path.Combine(dir, "v1.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n");
        Ok(dir, "genrsa", "-out", "signing.key", bits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Ok(dir, "req", "-config", "v1.cnf", "-x509", "-new", "-key", "signing.key", "-out", "signing.pem", "-days", "1024", "-subj", "/CN=EPP Course CA");
    }

    public static void MakeCourseDevice(string dir, string stem, string commonName, int bits = 2048)
    {
        Ok(dir, "genrsa", "-out", stem + ".key", bits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Ok(dir, "req", "-config", "v1.cnf", "-new", "-key", stem + ".key", "-out", stem + ".csr", "-subj", "/CN=" + commonName);
        Ok(dir, "x509", "-req", "-in", stem + ".csr", "-CA", "signing.pem", "-CAkey", "signing.key", "-CAcreateserial", "-out", stem + ".crt", "-days", "500");
    }
}
