using Alex.Pki.Fuzz;

namespace Alex.Pki.Tests;

/// <summary>
/// Any file given to `alex pki` gets one line and exit 2: keys of algorithms we do not sign (Ed25519,
/// Ed448, DSA), truncated requests, devices that never end, directories, huge files. The same readers
/// the fuzz harness (fuzz/) drives run here over the inputs that crashed them before.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly AlexCli _cli;

    public HostileInputTests()
    {
        _cli = new AlexCli(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Requests .NET cannot check: each used to end in an unhandled NotSupportedException (exit 134).</summary>
    private void MakeOddRequests()
    {
        OpenSsl.Ok(_dir.Path, "genpkey", "-algorithm", "ed25519", "-out", "ed.key");
        OpenSsl.Ok(_dir.Path, "req", "-new", "-key", "ed.key", "-subj", "/CN=ed", "-out", "ed.csr");
        OpenSsl.Ok(_dir.Path, "genpkey", "-algorithm", "ed448", "-out", "ed448.key");
        OpenSsl.Ok(_dir.Path, "req", "-new", "-key", "ed448.key", "-subj", "/CN=ed448", "-out", "ed448.csr");
        OpenSsl.Ok(_dir.Path, "req", "-in", "ed.csr", "-outform", "DER", "-out", "ed.der");
    }

    [Fact]
    public void Readers_OddAlgorithmsAndCuts_OnlyPkiException()
    {
        MakeOddRequests();
        foreach (var file in new[] { "ed.key", "ed.csr", "ed448.key", "ed448.csr", "ed.der" })
        {
            var bytes = File.ReadAllBytes(_dir[file]);
            for (var length = 0; length <= bytes.Length; length += Math.Max(1, bytes.Length / 40))
            {
                PkiReaders.ReadAll(bytes[..length]);
            }

            PkiReaders.ReadAll(bytes);
        }

        var e = Assert.Throws<PkiException>(() => CertificateSigningRequest.Load(_dir["ed.csr"]));
        Assert.Contains("not supported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Readers_CrashSeedsInTheRepository_OnlyPkiException()
    {
        var seeds = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../fuzz/crashes"));
        foreach (var file in Directory.Exists(seeds) ? Directory.GetFiles(seeds) : [])
        {
            PkiReaders.ReadAll(File.ReadAllBytes(file));
        }
    }

    [Fact]
    public void ReadAll_EndlessDevice_RefusedAsTooLarge()
    {
        foreach (var device in new[] { "/dev/zero", "/dev/urandom" })
        {
            var e = Assert.Throws<PkiException>(() => PkiFile.ReadAll(device, "certificate"));
            Assert.Contains("too large", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void EverySubcommand_HostileFiles_OneLineExitTwo()
    {
        MakeOddRequests();
        _cli.Ok("pki", "init", "--dir", "pki");
        _cli.Ok("pki", "issue", "client", "laptop");
        Directory.CreateDirectory(_dir["adir"]);
        using (var huge = File.Create(_dir["huge.pem"]))
        {
            huge.SetLength(PkiFile.MaxFileBytes + 1);
        }

        _cli.Refused("pki", "show", "ed.csr");
        _cli.Refused("pki", "sign", "ed.csr", "--client");
        _cli.Refused("pki", "sign", "ed448.csr", "--server");
        _cli.Refused("pki", "show", "ed.der");
        foreach (var file in new[] { "/dev/zero", "/dev/urandom", "adir", "huge.pem" })
        {
            _cli.Refused("pki", "show", file);
            _cli.Refused("pki", "sign", file, "--client");
            _cli.Refused("pki", "verify", file);
            _cli.Refused("pki", "verify", "pki/laptop.crt", "--key", file);
            _cli.Refused("pki", "verify", "pki/laptop.crt", "--ca", file);
            _cli.Refused("pki", "revoke", file);
        }

        _cli.Refused("pki", "issue", "client", "x", "--encrypt-key", "--passphrase-file", "/dev/zero");
        _cli.Refused("pki", "list", "--dir", "adir");
        Assert.False(File.Exists(_dir["pki/x.key"]));
    }
}
