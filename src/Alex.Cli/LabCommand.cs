using System.CommandLine;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using Alex.Lab;
using Spectre.Console;

namespace Alex.Cli;

/// <summary>
/// `alex lab`: the secure-networking lecture's worked examples as commands. The computing is in
/// Alex.Lab; this file parses options, turns bad input into one-line errors and renders the steps: Spectre
/// tables and rules on a terminal, plain numbered text when redirected, the result record with `--json`.
/// </summary>
internal static class LabCommand
{
    /// <summary>The course's device certificates (docs/course-protocol.md §5), walked up to signing.pem by `chain --pki`.</summary>
    private static readonly string[] CourseLeafFiles = ["laptop.crt", "alex.crt"];

    public static Command Create()
    {
        var lab = new Command(
            "lab",
            "The secure-networking lecture's worked examples, computed step by step (RSA, DH, hashes, certificates, TLS).\n\n" +
            "Examples:\n" +
            "  alex lab subst                  the lecture's substitution cipher (I LOVE TLS → U BGVE PBN)\n" +
            "  alex lab rsa                    RSA with p=3, q=5, e=7, k=20: d=23, 12 → 3 → 12, sign and verify\n" +
            "  alex lab rsa --bits 2048        a real-size key, with the lengths shown\n" +
            "  alex lab factor                 factor 143, 8633 and 175,828,273 and time it\n" +
            "  alex lab dh                     Diffie–Hellman with g=5, p=23, a=6, b=15: shared key 2\n" +
            "  alex lab hash \"I LOVE TLS\"      SHA-256 and the avalanche effect\n" +
            "  alex lab cert pki/laptop.crt --issuer pki/signing.pem\n" +
            "  alex lab handshake 127.0.0.1:5000 --pki pki\n\n" +
            "The secure-networking lecture's worked examples, computed step by step. Give your own numbers to check your work; add --json for machine-readable output.");
        lab.Subcommands.Add(Substitution());
        lab.Subcommands.Add(Rsa());
        lab.Subcommands.Add(Factor());
        lab.Subcommands.Add(DiffieHellmanCommand());
        lab.Subcommands.Add(Hash());
        lab.Subcommands.Add(Certificate());
        lab.Subcommands.Add(Chain());
        lab.Subcommands.Add(Handshake());
        return lab;
    }

    private static Command Substitution()
    {
        var cmd = new Command(
            "subst",
            "The substitution cipher: key phrase, table, encrypt or decrypt.\n\n" +
            "Examples:\n" +
            "  alex lab subst                                   the lecture: key \"THIS IS THE COOLEST COURSE!\", I LOVE TLS → U BGVE PBN\n" +
            "  alex lab subst --decrypt \"U BGVE PBN\"\n" +
            "  alex lab subst --key \"ALEX ROBOT\" --encrypt \"DRIVE FORWARD\"\n\n" +
            "The substitution cipher: key phrase → shortened key (duplicates removed) → table → encrypt or decrypt.");
        var key = new Option<string>("--key") { Description = "key phrase (default: the lecture's \"THIS IS THE COOLEST COURSE!\")", DefaultValueFactory = _ => SubstitutionCipher.LectureKey };
        var encrypt = new Option<string?>("--encrypt") { Description = "plaintext to encrypt (default: \"I LOVE TLS\")" };
        var decrypt = new Option<string?>("--decrypt") { Description = "ciphertext to decrypt" };
        var json = JsonOption();
        cmd.Options.Add(key);
        cmd.Options.Add(encrypt);
        cmd.Options.Add(decrypt);
        cmd.Options.Add(json);
        cmd.SetAction(int (pr) => Guard(() =>
        {
            var toDecrypt = pr.GetValue(decrypt);
            var toEncrypt = pr.GetValue(encrypt);
            if (toDecrypt is not null && toEncrypt is not null)
            {
                throw new LabInputException("give either --encrypt or --decrypt, not both", "alex lab subst --decrypt \"U BGVE PBN\"");
            }

            var result = toDecrypt is not null
                ? SubstitutionCipher.Run(pr.GetValue(key)!, toDecrypt, decrypt: true)
                : SubstitutionCipher.Run(pr.GetValue(key)!, toEncrypt ?? SubstitutionCipher.LectureMessage, decrypt: false);
            return Render(result, pr.GetValue(json));
        }));
        return cmd;
    }

    private static Command Rsa()
    {
        var cmd = new Command(
            "rsa",
            "Textbook RSA as in the lecture: keys, encryption, decryption and signatures, step by step.\n\n" +
            "Examples:\n" +
            "  alex lab rsa                                   the lecture: p=3, q=5, e=7, k=20 → d=23; 12 → 3 → 12; sign 3\n" +
            "  alex lab rsa --p 61 --q 53 --e 17 --message 65\n" +
            "  alex lab rsa --sign 3 --signature 2           check a signature (here the lecture's slip: it fails)\n" +
            "  alex lab rsa --bits 2048                       generate a real-size key and show the lengths\n\n" +
            "Textbook RSA as in the lecture: n = p·q, t(n) = (p−1)(q−1), gcd(e, t) = 1, d·e = 1 + k·t, c = m^e mod n, m = c^d mod n, signature = m^d mod n.");
        var p = new Option<string?>("--p") { Description = "first prime (lecture: 3)" };
        var q = new Option<string?>("--q") { Description = "second prime (lecture: 5)" };
        var e = new Option<string?>("--e") { Description = "public exponent, gcd(e, t) = 1 (lecture: 7)" };
        var k = new Option<string?>("--k") { Description = "the lecture's k in d·e = 1 + k·t (lecture: 20; default: the smallest that works)" };
        var message = new Option<string?>("--message", "-m") { Description = "number to encrypt and decrypt, below n (lecture: 12)" };
        var sign = new Option<string?>("--sign") { Description = "number to sign, below n (lecture: 3)" };
        var signature = new Option<string?>("--signature") { Description = "a signature to verify against --sign instead of the computed one" };
        var bits = new Option<int?>("--bits") { Description = "generate a real key with a modulus of this many bits (e.g. 2048)" };
        var json = JsonOption();
        foreach (var o in new Option[] { p, q, e, k, message, sign, signature, bits, json })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(int (pr) => Guard(() =>
        {
            if (pr.GetValue(bits) is { } size)
            {
                using var rng = RandomNumberGenerator.Create();
                // Progress on stderr (one line, rewritten on a terminal), so stdout stays the result alone.
                var terminal = !Console.IsErrorRedirected;
                var generated = ToyRsa.Generate(size, rng, CancellationToken.None, line => Console.Error.Write(terminal ? $"\r\u001b[K{line}" : line + "\n"));
                if (terminal)
                {
                    Console.Error.Write("\r\u001b[K");
                }

                return Render(generated, pr.GetValue(json));
            }

            var pText = pr.GetValue(p);
            var qText = pr.GetValue(q);
            var eText = pr.GetValue(e);
            var kText = pr.GetValue(k);
            var lecture = pText is null && qText is null && eText is null && kText is null;
            var result = ToyRsa.Run(
                pText is null ? ToyRsa.LectureP : LabMath.ParseWhole(pText, "p"),
                qText is null ? ToyRsa.LectureQ : LabMath.ParseWhole(qText, "q"),
                eText is null ? ToyRsa.LectureE : LabMath.ParseWhole(eText, "e"),
                kText is not null ? LabMath.ParseWhole(kText, "k") : lecture ? ToyRsa.LectureK : null,
                pr.GetValue(message) is { } m ? LabMath.ParseWhole(m, "message") : lecture ? ToyRsa.LectureMessage : null,
                pr.GetValue(sign) is { } s ? LabMath.ParseWhole(s, "sign") : lecture ? ToyRsa.LectureSignedMessage : null,
                pr.GetValue(signature) is { } c ? LabMath.ParseWhole(c, "signature") : null);
            return Render(result, pr.GetValue(json));
        }));
        return cmd;
    }

    private static Command Factor()
    {
        var cmd = new Command(
            "factor",
            "Find p and q from N = p·q, timed, and why 2048-bit N is out of reach.\n\n" +
            "Examples:\n" +
            "  alex lab factor                     the lecture's exercise: 143, 8633, 175,828,273\n" +
            "  alex lab factor 1000000016000000063\n\n" +
            "Find p and q from N = p·q (trial division, then Pollard's rho), timed, and why 2048-bit N is out of reach.");
        var numbers = new Argument<string[]>("N") { Description = "numbers to factor (default: the lecture's 143 8633 175828273)", Arity = ArgumentArity.ZeroOrMore };
        var budget = new Option<double>("--seconds") { Description = "give up on a number after this many seconds", DefaultValueFactory = _ => 30 };
        var json = JsonOption();
        cmd.Arguments.Add(numbers);
        cmd.Options.Add(budget);
        cmd.Options.Add(json);
        cmd.SetAction(int (pr) => Guard(() =>
        {
            var texts = pr.GetValue(numbers) ?? [];
            var ns = texts.Length == 0 ? Factoring.LectureModuli : [.. texts.Select(t => LabMath.ParseWhole(t, "N"))];
            var results = ns.Select(n => Factoring.Factor(n, TimeSpan.FromSeconds(pr.GetValue(budget)), CancellationToken.None)).ToList();
            if (pr.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(results, LabJson.Default.ListFactorResult));
            }
            else
            {
                foreach (var r in results)
                {
                    RenderText(r);
                }

                // The same "why 2048 bits is out of reach" paragraph applies to every N: say it once.
                RenderNote(results[^1].OutOfReach);
            }

            return results.All(r => r.Complete) ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
        }));
        return cmd;
    }

    private static Command DiffieHellmanCommand()
    {
        var cmd = new Command(
            "dh",
            "Diffie–Hellman key exchange with the lecture's numbers, then a real P-256 exchange.\n\n" +
            "Examples:\n" +
            "  alex lab dh                              the lecture: g=5, p=23, a=6, b=15 → A=8, B=19, shared key 2\n" +
            "  alex lab dh --g 2 --p 467 --a 153 --b 197\n\n" +
            "Diffie–Hellman key exchange: A = g^a mod p, B = g^b mod p, S = B^a = A^b mod p; checks p prime and g a primitive root, then a real P-256 exchange for contrast.");
        var g = new Option<string?>("--g") { Description = "base, a primitive root modulo p (lecture: 5)" };
        var p = new Option<string?>("--p") { Description = "prime modulus (lecture: 23)" };
        var a = new Option<string?>("--a") { Description = "Alice's secret (lecture: 6)" };
        var b = new Option<string?>("--b") { Description = "Bob's secret (lecture: 15)" };
        var noReal = new Option<bool>("--no-real") { Description = "skip the real elliptic-curve exchange" };
        var json = JsonOption();
        foreach (var o in new Option[] { g, p, a, b, noReal, json })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(int (pr) => Guard(() =>
        {
            var result = Alex.Lab.DiffieHellman.Run(
                Number(pr.GetValue(g), "g", Alex.Lab.DiffieHellman.LectureG),
                Number(pr.GetValue(p), "p", Alex.Lab.DiffieHellman.LectureP),
                Number(pr.GetValue(a), "a", Alex.Lab.DiffieHellman.LectureA),
                Number(pr.GetValue(b), "b", Alex.Lab.DiffieHellman.LectureB),
                withRealExchange: !pr.GetValue(noReal),
                CancellationToken.None);
            return Render(result, pr.GetValue(json));
        }));
        return cmd;
    }

    private static Command Hash()
    {
        var cmd = new Command(
            "hash",
            "SHA-256 of a text and the avalanche effect.\n\n" +
            "Examples:\n" +
            "  alex lab hash \"I LOVE TLS\"             SHA-256, then flip the last bit (S → R) and count the changed hash bits\n" +
            "  alex lab hash \"I LOVE TLS\" --bit 0\n" +
            "  alex lab hash \"I LOVE TLS\" --vs \"I LOVE TLs\"\n\n" +
            "SHA-256 of a text and the avalanche effect: one flipped input bit changes about half of the 256 output bits.");
        var text = new Argument<string>("TEXT") { Description = "text to hash (UTF-8)", DefaultValueFactory = _ => SubstitutionCipher.LectureMessage };
        var bit = new Option<int?>("--bit") { Description = "which input bit to flip, 0 = top bit of the first byte (default: the last bit)" };
        var vs = new Option<string?>("--vs") { Description = "compare with this text instead of flipping a bit" };
        var json = JsonOption();
        cmd.Arguments.Add(text);
        cmd.Options.Add(bit);
        cmd.Options.Add(vs);
        cmd.Options.Add(json);
        cmd.SetAction(int (pr) => Guard(() => Render(Avalanche.Run(pr.GetValue(text) ?? string.Empty, pr.GetValue(bit), pr.GetValue(vs)), pr.GetValue(json))));
        return cmd;
    }

    private static Command Certificate()
    {
        var cmd = new Command(
            "cert",
            "One real certificate as the lecture's (PUB, h(PUB), c), checked by hand.\n\n" +
            "Examples:\n" +
            "  alex lab cert pki/laptop.crt --issuer pki/signing.pem   the laptop's certificate, checked with the CA's key\n" +
            "  alex lab cert pki/signing.pem                           a self-signed root checks itself\n\n" +
            "One real certificate as the lecture's (PUB, h(PUB), c): what is signed (the TBS bytes), its hash, and the signature checked by hand with the issuer's public key.");
        var file = new Argument<string>("FILE") { Description = "PEM or DER certificate (the first one in the file is shown)" };
        var issuer = new Option<string?>("--issuer") { Description = "the issuer's certificate (e.g. pki/signing.pem); default: the next certificate in FILE" };
        var json = JsonOption();
        cmd.Arguments.Add(file);
        cmd.Options.Add(issuer);
        cmd.Options.Add(json);
        cmd.SetAction(int (pr) => Guard(() =>
        {
            var certificates = CertificateWalk.Load(pr.GetValue(file)!);
            var pool = certificates.Concat(pr.GetValue(issuer) is { } i ? CertificateWalk.Load(i) : []).ToList();
            var result = CertificateWalk.Walk(certificates[0], pool, maxLinks: 1);
            Render(result, pr.GetValue(json));
            return result.AllSignaturesValid ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
        }));
        return cmd;
    }

    private static Command Chain()
    {
        var cmd = new Command(
            "chain",
            "Walk a certificate chain to its root, checking each signature by hand.\n\n" +
            "Examples:\n" +
            "  alex lab chain pki/laptop.crt pki/signing.pem   laptop → CA, each link checked\n" +
            "  alex lab chain --pki pki                        laptop.crt and alex.crt up to signing.pem\n\n" +
            "Walk a certificate chain from the first certificate to a self-signed root, checking each signature by hand with the next certificate's public key.");
        var files = new Argument<string[]>("FILE") { Description = "certificate files; the walk starts at the first certificate of the first file", Arity = ArgumentArity.ZeroOrMore };
        var pki = new Option<string?>("--pki") { Description = "a directory with the course's files (laptop.crt, alex.crt, signing.pem)" };
        var json = JsonOption();
        cmd.Arguments.Add(files);
        cmd.Options.Add(pki);
        cmd.Options.Add(json);
        cmd.SetAction(int (pr) => Guard(() =>
        {
            var paths = (pr.GetValue(files) ?? []).ToList();
            var starts = new List<string>();
            if (pr.GetValue(pki) is { } dir)
            {
                starts.AddRange(CourseLeafFiles.Select(f => Path.Combine(dir, f)).Where(File.Exists));
                paths.AddRange(starts);
                paths.Add(Path.Combine(dir, "signing.pem"));
            }
            else if (paths.Count > 0)
            {
                starts.Add(paths[0]);
            }

            if (starts.Count == 0)
            {
                throw new LabInputException("no certificate to start from", "alex lab chain pki/laptop.crt pki/signing.pem, or alex lab chain --pki pki");
            }

            var pool = paths.Distinct().SelectMany(CertificateWalk.Load).ToList();
            var results = starts.Select(s => CertificateWalk.Walk(CertificateWalk.Load(s)[0], pool)).ToList();
            if (pr.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(results, LabJson.Default.ListCertificateWalkResult));
            }
            else
            {
                results.ForEach(RenderText);
            }

            return results.All(r => r.AllSignaturesValid && r.EndsAtSelfSignedRoot) ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
        }));
        return cmd;
    }

    private static Command Handshake()
    {
        var cmd = new Command(
            "handshake",
            "Connect to `alex serve` and explain the TLS handshake that just happened, step by step.\n\n" +
            "Examples:\n" +
            "  alex lab handshake 127.0.0.1:5000 --pki pki --name alex.epp.com\n" +
            "  alex lab handshake alex.local --cert laptop.crt --key laptop.key --ca signing.pem\n" +
            "  alex lab handshake 127.0.0.1:5000 --pki pki --name alex.epp.com --openssl   also observe the key-exchange group\n\n" +
            "Connect to a running `alex serve` with the laptop's certificate and explain the TLS handshake that just happened (version, cipher suite, key exchange, the server's chain and each check, the client certificate, ALPN) next to the lecture's step list. Trusts only the given CA.");
        var target = ConnectionOptions.HostArgument();
        var alpn = new Option<string>("--alpn") { Description = "application protocol to offer", DefaultValueFactory = _ => HandshakeSettings.AlexLinkProtocol };
        var openssl = new Option<bool>("--openssl") { Description = "also connect with `openssl s_client` to observe the key-exchange group (.NET does not report it)" };
        var json = JsonOption();
        cmd.Arguments.Add(target);
        var connection = ConnectionOptions.AddTo(cmd, protocol: false);
        foreach (var o in new Option[] { alpn, openssl, json })
        {
            cmd.Options.Add(o);
        }

        cmd.SetAction(async (ParseResult pr, CancellationToken ct) => await GuardAsync(async () =>
        {
            var (host, port) = ParseEndpoint(pr.GetValue(target)!);
            var timeout = connection.TimeoutValue(pr);
            var source = connection.Source(pr);
            using var credentials = ConnectionOptions.Load(source);
            var settings = new HandshakeSettings(host, port, pr.GetValue(connection.Name), credentials.Certificate, credentials.Authorities, [pr.GetValue(alpn)!], timeout, TimeSpan.FromMilliseconds(500));
            var result = await HandshakeTrace.RunAsync(settings, TimeProvider.System, ct).ConfigureAwait(false);
            if (pr.GetValue(openssl) && result.Succeeded)
            {
                var (certPath, keyPath, caPath) = source.Resolve();
                var probe = await OpenSslGroupProbe.RunAsync(host, port, pr.GetValue(connection.Name) ?? host, certPath, keyPath, caPath, pr.GetValue(alpn)!, settings.Timeout, ct).ConfigureAwait(false);
                result = HandshakeTrace.WithObservedGroup(result, probe);
            }

            Render(result, pr.GetValue(json));
            return result.Succeeded ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
        }).ConfigureAwait(false));
        return cmd;
    }

    /// <summary>HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address.</summary>
    internal static (string Host, int Port) ParseEndpoint(string text)
    {
        const int DefaultPort = 5000;
        string host = text;
        string? port = null;
        if (text.StartsWith('[') && text.IndexOf(']', StringComparison.Ordinal) is var close and > 0)
        {
            host = text[1..close];
            port = text.Length > close + 2 && text[close + 1] == ':' ? text[(close + 2)..] : null;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            host = text[..text.IndexOf(':', StringComparison.Ordinal)];
            port = text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        }

        if (host.Length == 0)
        {
            throw new LabInputException($"'{text}' has no host", "alex lab handshake 127.0.0.1:5000 --pki pki");
        }

        if (port is null)
        {
            return (host, DefaultPort);
        }

        return int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536
            ? (host, p)
            : throw new LabInputException($"'{port}' in '{text}' is not a port number", "use HOST:PORT with a port from 1 to 65535, for example 127.0.0.1:5000");
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "print the result record as JSON (for tests and scripts)" };

    private static BigInteger Number(string? text, string name, BigInteger lecture) => text is null ? lecture : LabMath.ParseWhole(text, name);

    /// <summary>Bad input from the library becomes the CLI's one-line error with its hint (exit 2).</summary>
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (LabInputException e)
        {
            throw new CliException(e.Message, e.Hint);
        }
    }

    private static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (LabInputException e)
        {
            throw new CliException(e.Message, e.Hint);
        }
    }

    private static int Render<T>(T result, bool json)
        where T : ILabReport
    {
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(result, typeof(T), LabJson.Default));
        }
        else
        {
            RenderText(result);
        }

        return AlexCommandLine.ExitOk;
    }

    private static bool Fancy => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    private static void RenderText(ILabReport report)
    {
        if (Fancy)
        {
            RenderFancy(report);
            return;
        }

        var o = Console.Out;
        o.WriteLine($"== {report.Title} ==");
        var n = 0;
        foreach (var step in report.Steps)
        {
            n++;
            o.WriteLine($"{n}. {step.Title}");
            foreach (var line in step.Lines)
            {
                o.WriteLine($"   {line}");
            }

            if (step.Table is { } table)
            {
                foreach (var line in PlainTable(table))
                {
                    o.WriteLine($"   {line}");
                }
            }
        }

        foreach (var note in report.Notes)
        {
            o.WriteLine($"Note: {note}");
        }

        o.WriteLine();
    }

    private static void RenderFancy(ILabReport report)
    {
        AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(report.Title)}[/]").LeftJustified());
        var n = 0;
        foreach (var step in report.Steps)
        {
            n++;
            AnsiConsole.MarkupLine($"[bold cyan]{n}.[/] [bold]{Markup.Escape(step.Title)}[/]");
            foreach (var line in step.Lines)
            {
                AnsiConsole.MarkupLine($"   {Colour(line)}");
            }

            if (step.Table is { } table)
            {
                var t = new Table().Border(TableBorder.Rounded);
                foreach (var h in table.Headers)
                {
                    t.AddColumn(new TableColumn(Markup.Escape(h)));
                }

                if (table.Headers.All(string.IsNullOrEmpty))
                {
                    t.HideHeaders();
                }

                foreach (var row in table.Rows)
                {
                    t.AddRow([.. row.Select(c => new Markup(Markup.Escape(c)))]);
                }

                AnsiConsole.Write(new Padder(t).PadLeft(3).PadTop(0).PadBottom(0));
            }
        }

        foreach (var note in report.Notes)
        {
            RenderNote(note);
        }

        AnsiConsole.WriteLine();
    }

    private static void RenderNote(string note)
    {
        if (Fancy)
        {
            AnsiConsole.Write(new Panel(new Markup(Markup.Escape(note))).Header("note").BorderColor(Color.Yellow));
        }
        else
        {
            Console.Out.WriteLine($"Note: {note}");
        }
    }

    private static string Colour(string line)
    {
        var escaped = Markup.Escape(line);
        return line.Contains('✗', StringComparison.Ordinal) ? $"[red]{escaped}[/]"
            : line.Contains('✓', StringComparison.Ordinal) ? $"[green]{escaped}[/]"
            : escaped;
    }

    private static IEnumerable<string> PlainTable(LabTable table)
    {
        var rows = new List<IReadOnlyList<string>>();
        if (!table.Headers.All(string.IsNullOrEmpty))
        {
            rows.Add(table.Headers);
        }

        rows.AddRange(table.Rows);
        var columns = rows.Max(r => r.Count);
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => c < r.Count ? r[c].Length : 0)).ToArray();
        foreach (var row in rows)
        {
            yield return string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd();
        }
    }
}
