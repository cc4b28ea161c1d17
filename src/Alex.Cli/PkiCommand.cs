using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Pki.Fleet;
using Spectre.Console;

namespace Alex.Cli;

/// <summary>
/// `alex pki`: become a CA. A thin layer over <see cref="CertificateAuthority"/>,
/// <see cref="TrustPolicy"/> and friends in Alex.Pki: parse, call, render.
/// </summary>
internal static class PkiCommand
{
    private const string PassphraseEnv = "ALEX_PKI_PASSPHRASE";
    private const string CaPassphraseEnv = "ALEX_PKI_CA_PASSPHRASE";

    public static Command Create()
    {
        if (Console.IsOutputRedirected)
        {
            // Piped output is read by scripts and tests: do not wrap tables at 80 columns.
            AnsiConsole.Profile.Width = 240;
        }

        var pki = new Command("pki",
            "Become a CA: make, sign, revoke, inspect and check certificates.\n\n" +
            "Examples:\n" +
            "  alex pki init --dir pki --name \"Team 7 CA\"        the CA: pki/signing.key, pki/signing.pem, pki/crl.pem\n" +
            "  alex pki issue server alex.epp.com --ip 192.168.1.50   pki/alex.key + pki/alex.crt for the robot\n" +
            "  alex pki issue client laptop                     pki/laptop.key + pki/laptop.crt for the laptop\n" +
            "  alex pki csr laptop --dir mine                   on the laptop: a key that never leaves it + mine/laptop.csr\n" +
            "  alex pki sign mine/laptop.csr --client           on the CA: mine/laptop.crt\n" +
            "  alex pki revoke laptop --reason keyCompromise    and a new pki/crl.pem\n" +
            "  alex pki issue --batch teams.csv --dir class     a folder per team of a class (team,robot,laptop,ip)\n" +
            "  alex pki list                                    everything the CA issued\n" +
            "  alex pki show pki/laptop.crt                     a readable summary\n" +
            "  alex pki verify pki/laptop.crt                   would the robot accept it? why not?\n" +
            "  alex pki check                                   audit the CA folder: ledger, CRL, file modes\n" +
            "  alex pki fleet-broker --host broker.lab          pki/mosquitto/: a fleet broker's certificate, ACL and mosquitto.conf\n\n" +
            "Files are PEM, as OpenSSL and the course's C programs expect. Keys are ECDSA P-256 unless --rsa is given,\n" +
            "written owner-only (0600), and never overwritten without --force.");
        pki.Subcommands.Add(InitCommand());
        pki.Subcommands.Add(IssueCommand());
        pki.Subcommands.Add(CsrCommand());
        pki.Subcommands.Add(SignCommand());
        pki.Subcommands.Add(RevokeCommand());
        pki.Subcommands.Add(CrlCommand());
        pki.Subcommands.Add(ListCommand());
        pki.Subcommands.Add(ShowCommand());
        pki.Subcommands.Add(VerifyCommand());
        pki.Subcommands.Add(CheckCommand());
        pki.Subcommands.Add(FleetBrokerCommand());
        return pki;
    }

    private static Option<string> DirOption() => new("--dir", "-d")
    {
        Description = "The CA directory (signing.key, signing.pem, crl.pem, issued.json); bare --out names go here too",
        DefaultValueFactory = _ => "pki",
    };

    private static Option<bool> ForceOption() => new("--force") { Description = "Replace existing files (the old key is lost)" };

    private static Option<int?> RsaOption() => new("--rsa") { Description = "Make an RSA key of 2048, 3072 or 4096 bits instead of ECDSA P-256 (for old tools)" };

    private static Option<bool> EncryptOption() => new("--encrypt-key") { Description = $"Encrypt the new private key with a passphrase (PKCS#8, AES-256; from --passphrase-file, ${PassphraseEnv} or a prompt)" };

    private static Option<string?> PassphraseFileOption() => new("--passphrase-file") { Description = $"Read the passphrase of the key being written or checked from this file's first line (or set ${PassphraseEnv})" };

    private static Option<string?> CaPassphraseFileOption() => new("--ca-passphrase-file") { Description = $"Read the CA key's passphrase from this file's first line, when it is encrypted (or set ${CaPassphraseEnv})" };

    private static Command InitCommand()
    {
        var dir = DirOption();
        var name = new Option<string>("--name") { Description = "The CA's name (its CN)", DefaultValueFactory = _ => "AlexLink CA" };
        var rsa = RsaOption();
        var days = new Option<int>("--days") { Description = $"How long the CA is valid; default {CertificateAuthority.DefaultAuthorityDays} (5 years: it outlives every device certificate it signs)", DefaultValueFactory = _ => CertificateAuthority.DefaultAuthorityDays };
        var encrypt = EncryptOption();
        var passFile = PassphraseFileOption();
        var force = ForceOption();
        var cmd = new Command("init",
            "Make a CA: signing.key (0600), the self-signed signing.pem, an empty crl.pem and the ledger.\n\n" +
            "Examples:\n" +
            "  alex pki init --dir pki\n" +
            "  alex pki init --dir class --name \"EPP 2026 CA\" --rsa 3072 --encrypt-key")
        {
            dir, name, rsa, days, encrypt, passFile, force,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var directory = pr.GetValue(dir)!;
            var passphrase = pr.GetValue(encrypt) ? NewPassphrase(pr.GetValue(passFile), "CA key") : null;
            var ca = CertificateAuthority.Create(directory, pr.GetValue(name)!, Key(pr.GetValue(rsa)), pr.GetValue(days), passphrase, pr.GetValue(force));
            var facts = CertificateFacts.From(ca.Certificate);
            Say($"[green]made the CA[/] '{Esc(pr.GetValue(name)!)}' ({facts.KeyAlgorithm}), valid until {facts.NotAfter:yyyy-MM-dd}");
            Say($"  {Esc(ca.KeyPath)}  the CA's private key (owner-only{(passphrase is null ? string.Empty : ", encrypted")}): keep it on this machine, back it up");
            Say($"  {Esc(ca.CertificatePath)}  the CA certificate: copy it to the robot and every laptop");
            Say($"  {Esc(ca.CrlPath)}  the revocation list (valid {CertificateAuthority.DefaultCrlDays} days; renew with alex pki crl)");
            Say($"next: alex pki issue server alex.epp.com --dir {Esc(Quote(directory))}   and   alex pki issue client laptop --dir {Esc(Quote(directory))}");
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command IssueCommand()
    {
        var issue = new Command("issue",
            "Make a key and a certificate signed by the CA, for the robot (server) or a laptop (client).\n\n" +
            "Examples:\n" +
            "  alex pki issue server alex.epp.com --ip 192.168.1.50    pki/alex.key, pki/alex.crt\n" +
            "  alex pki issue client laptop                            pki/laptop.key, pki/laptop.crt\n" +
            "  alex pki issue client mallory                           pki/mallory.key, pki/mallory.crt\n" +
            "  alex pki issue --batch teams.csv --dir class            class/teams/TEAM/ for every team of the class\n" +
            "  alex pki issue --batch teams.csv --dir class --fleet    ... and each robot's fleet identity (TEAM/alex-fleet.*)\n" +
            "  alex pki issue client \"Team 7 Laptop\" --out team7        pki/team7.key, pki/team7.crt\n" +
            "  alex pki issue fleet alex.epp.com                       pki/alex-fleet.*: the robot on the fleet broker (docs/fleet.md)\n" +
            "  alex pki issue instructor teacher                       may STOP every robot through the fleet broker\n" +
            "Files are named after NAME's first label in lower case (alex.epp.com gives alex.*), unless --out says otherwise.");
        issue.Subcommands.Add(IssueRoleCommand(CertificateRole.Server));
        issue.Subcommands.Add(IssueRoleCommand(CertificateRole.Client));
        issue.Subcommands.Add(IssueRoleCommand(CertificateRole.Fleet));
        issue.Subcommands.Add(IssueRoleCommand(CertificateRole.Instructor));
        var batch = new Option<string?>("--batch") { Description = "A class list, one team a line: team,robot,laptop,ip (only the team is required); makes OUT/TEAM/ for each team" };
        var dir = DirOption();
        var outDir = new Option<string?>("--out-dir") { Description = "Where the team folders go (default: DIR/teams)" };
        var fleet = new Option<bool>("--fleet") { Description = "With --batch: also each robot's identity on the fleet broker, TEAM/alex-fleet.key and .crt (as alex pki issue fleet ROBOT; docs/fleet.md)" };
        var caPassFile = CaPassphraseFileOption();
        var force = ForceOption();
        issue.Options.Add(batch);
        issue.Options.Add(fleet);
        issue.Options.Add(dir);
        issue.Options.Add(outDir);
        issue.Options.Add(caPassFile);
        issue.Options.Add(force);
        issue.SetAction(int (pr) => Run(() =>
        {
            if (pr.GetValue(batch) is not { } file)
            {
                throw new CliException(pr.GetValue(fleet) ? "--fleet goes with --batch teams.csv (one robot: alex pki issue fleet NAME)" : "say what to issue: server NAME, client NAME, or --batch teams.csv", hint: "alex pki issue --help");
            }

            var withFleet = pr.GetValue(fleet);
            var directory = pr.GetValue(dir)!;
            var ca = OpenCa(directory, pr.GetValue(caPassFile));
            var teams = ClassRoster.Parse(System.Text.Encoding.UTF8.GetString(PkiFile.ReadAll(file, "class list")), file);
            var folders = ClassBatch.Issue(ca, teams, pr.GetValue(outDir) ?? Path.Combine(directory, "teams"), pr.GetValue(force), withFleet);
            foreach (var folder in folders)
            {
                Say($"[green]issued[/] {Esc(folder.Team.Team)}: robot '{Esc(folder.Team.RobotName)}'{(withFleet ? " (and its fleet identity)" : "")}, laptop '{Esc(folder.Team.LaptopName)}' in {Esc(folder.Folder)}");
            }

            Say($"{folders.Count} teams, {(withFleet ? 3 : 2) * folders.Count} certificates; each folder's {ClassBatch.ReadmeFileName} says what goes where");
            if (withFleet)
            {
                Say($"next: alex pki issue instructor NAME --dir {Esc(Quote(directory))}, then alex pki fleet-broker --dir {Esc(Quote(directory))} --host BROKER (docs/fleet.md)");
            }
            return AlexCommandLine.ExitOk;
        }));
        return issue;
    }

    private static Command IssueRoleCommand(CertificateRole role)
    {
        var server = role == CertificateRole.Server;
        var (command, nameHelp, stemHelp, description, examples) = role switch
        {
            CertificateRole.Server => ("server", "The robot's host name (CN and SAN), e.g. alex.epp.com", "alex.epp.com gives alex",
                "A certificate for the robot's TLS server (EKU serverAuth).",
                "  alex pki issue server alex.epp.com --ip 192.168.1.50\n  alex pki issue server alex.local --dns alex --out robot --days 180"),
            CertificateRole.Fleet => ("fleet", "The robot's name, the same as its server certificate's (CN and SAN)", "alex.epp.com gives alex-fleet, beside the server's alex.crt",
                "A robot's identity on the fleet broker (EKU clientAuth): it may publish its status under alexlink/NAME/ and\n" +
                "hear STOPs, nothing else (docs/fleet.md). Kept apart from the server certificate, so the robot's serving key\n" +
                "never acts as a client.",
                "  alex pki issue fleet alex.epp.com                      pki/alex-fleet.key, pki/alex-fleet.crt\n  then: alex serve --pki pki ... --fleet mqtts://broker.lab:8883   (uses pki/alex-fleet.crt and .key)"),
            CertificateRole.Instructor => ("instructor", "The instructor's name (CN and SAN), the broker's user name", "teacher gives teacher",
                "A teacher's identity on the fleet broker (EKU clientAuth): reads every robot's status and may publish\n" +
                "STOP to one robot or all (docs/fleet.md). Run `alex pki fleet-broker` again afterwards: the ACL names it.",
                "  alex pki issue instructor teacher --encrypt-key\n  alex fleet mqtts://broker.lab:8883 --cert teacher.crt --key teacher.key"),
            _ => ("client", "The laptop's name (CN and SAN), the name the robot's allow-list uses", "laptop gives laptop, \"Alex Laptop\" gives alex-laptop",
                "A certificate for a laptop, the TLS client (EKU clientAuth).",
                "  alex pki issue client laptop\n  alex pki issue client \"Alex Laptop\" --out team7-laptop --encrypt-key"),
        };
        var nameArg = new Argument<string>("NAME") { Description = nameHelp };
        var dir = DirOption();
        var dns = new Option<string[]>("--dns") { Description = "Another DNS name for the certificate (repeatable)" };
        var ip = new Option<string[]>("--ip") { Description = "An IP address for the certificate (repeatable), to connect by address" };
        var outOption = new Option<string?>("--out", "-o") { Description = $"File name stem: STEM.key and STEM.crt (default: from NAME, its first label in lower case: {stemHelp})" };
        var days = DaysOption();
        var rsa = RsaOption();
        var encrypt = EncryptOption();
        var passFile = PassphraseFileOption();
        var caPassFile = CaPassphraseFileOption();
        var force = ForceOption();
        var cmd = new Command(command, description + "\n\nExamples:\n" + examples)
        {
            nameArg, dir, dns, ip, outOption, days, rsa, encrypt, passFile, caPassFile, force,
        };
        if (server || role == CertificateRole.Fleet)
        {
            cmd.Options.Remove(encrypt);
            cmd.Options.Remove(passFile);
        }

        cmd.SetAction(int (pr) => Run(() =>
        {
            var directory = pr.GetValue(dir)!;
            var ca = OpenCa(directory, pr.GetValue(caPassFile));
            var stem = Stem(directory, pr.GetValue(outOption) ?? FileStem.ForName(pr.GetValue(nameArg)!) + (role == CertificateRole.Fleet ? "-fleet" : ""));
            var request = new IssueRequest
            {
                Role = role,
                Name = pr.GetValue(nameArg)!,
                DnsNames = pr.GetValue(dns) ?? [],
                IpAddresses = ParseIps(pr.GetValue(ip)),
                Days = pr.GetValue(days),
                Key = Key(pr.GetValue(rsa)),
            };
            var passphrase = cmd.Options.Contains(encrypt) && pr.GetValue(encrypt) ? NewPassphrase(pr.GetValue(passFile), "new key") : null;
            var issued = ca.Issue(request, stem + ".key", stem + ".crt", passphrase, pr.GetValue(force));
            ReportIssued(issued);
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Option<int> DaysOption() => new("--days")
    {
        Description = $"Validity in days; default {CertificateAuthority.DefaultDeviceDays}: a semester plus resits, and a lost laptop's key dies by itself within the year",
        DefaultValueFactory = _ => CertificateAuthority.DefaultDeviceDays,
    };

    private static Command CsrCommand()
    {
        var nameArg = new Argument<string>("NAME") { Description = "The name to ask for (CN and SAN)" };
        var dir = DirOption();
        dir.Description = "Where to write the key and the CSR (bare --out names go here)";
        var outOption = new Option<string?>("--out", "-o") { Description = "File name stem: STEM.key and STEM.csr (default: NAME's first label in lower case, e.g. laptop, or alex for alex.epp.com)" };
        var serverFlag = new Option<bool>("--server") { Description = "The request is for the robot (only changes the sign command printed)" };
        var dns = new Option<string[]>("--dns") { Description = "Another DNS name to ask for (repeatable)" };
        var ip = new Option<string[]>("--ip") { Description = "An IP address to ask for (repeatable)" };
        var rsa = RsaOption();
        var encrypt = EncryptOption();
        var passFile = PassphraseFileOption();
        var force = ForceOption();
        var cmd = new Command("csr",
            "Make a key and a certificate signing request on this machine, so the key never leaves it; the CA signs the .csr.\n\n" +
            "Examples:\n" +
            "  alex pki csr laptop                              pki/laptop.key + pki/laptop.csr; send laptop.csr to the CA\n" +
            "  alex pki csr alex.epp.com --server --ip 192.168.1.50 --dir robot   robot/alex.key + robot/alex.csr\n" +
            "then on the CA: alex pki sign pki/laptop.csr --client (where the .csr is there), and copy laptop.crt and signing.pem back")
        {
            nameArg, dir, outOption, serverFlag, dns, ip, rsa, encrypt, passFile, force,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var directory = pr.GetValue(dir)!;
            var stem = Stem(directory, pr.GetValue(outOption) ?? FileStem.ForName(pr.GetValue(nameArg)!));
            var passphrase = pr.GetValue(encrypt) ? NewPassphrase(pr.GetValue(passFile), "new key") : null;
            CertificateSigningRequest.Create(pr.GetValue(nameArg)!, pr.GetValue(dns) ?? [], ParseIps(pr.GetValue(ip)), Key(pr.GetValue(rsa)), stem + ".key", stem + ".csr", passphrase, pr.GetValue(force));
            Say($"[green]made[/] {Esc(stem)}.key (owner-only, stays here) and {Esc(stem)}.csr");
            Say($"next: send {Esc(stem)}.csr to the CA, who runs: alex pki sign {Esc(Quote(stem + ".csr"))} --{(pr.GetValue(serverFlag) ? "server" : "client")}");
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command SignCommand()
    {
        var csrArg = new Argument<string>("CSR") { Description = "The certificate signing request file (PEM or DER), ours or openssl req's" };
        var dir = DirOption();
        var client = new Option<bool>("--client") { Description = "Sign it as a laptop certificate (clientAuth)" };
        var server = new Option<bool>("--server") { Description = "Sign it as a robot certificate (serverAuth)" };
        var outOption = new Option<string?>("--out", "-o") { Description = "Where to write the certificate (default: the CSR's name with .crt)" };
        var days = DaysOption();
        var caPassFile = CaPassphraseFileOption();
        var force = ForceOption();
        var cmd = new Command("sign",
            "Sign a certificate signing request after checking its signature. Refuses a request that asks to be a CA.\n\n" +
            "Examples:\n" +
            "  alex pki sign laptop.csr --client                laptop.crt next to laptop.csr\n" +
            "  alex pki sign alex.csr --server --out pki/alex.crt")
        {
            csrArg, dir, client, server, outOption, days, caPassFile, force,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            if (pr.GetValue(client) == pr.GetValue(server))
            {
                throw new CliException("say what the certificate is for: --client (a laptop) or --server (the robot)", hint: "alex pki sign laptop.csr --client");
            }

            var csr = pr.GetValue(csrArg)!;
            var role = pr.GetValue(server) ? CertificateRole.Server : CertificateRole.Client;
            var output = pr.GetValue(outOption) ?? Path.ChangeExtension(csr, ".crt");
            var ca = OpenCa(pr.GetValue(dir)!, pr.GetValue(caPassFile));
            var issued = ca.SignRequest(csr, role, pr.GetValue(days), output, pr.GetValue(force));
            ReportIssued(issued);
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command RevokeCommand()
    {
        var what = new Argument<string?>("CERT|SERIAL|NAME") { Description = "A certificate file, a serial number (hex, as alex pki list shows), or a name the CA issued", Arity = ArgumentArity.ZeroOrOne };
        var team = new Option<string?>("--team") { Description = "Revoke every certificate of this team (from alex pki issue --batch), with one new CRL" };
        var dir = DirOption();
        var reason = new Option<string>("--reason") { Description = "unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn", DefaultValueFactory = _ => "unspecified" };
        var crlDays = new Option<int>("--crl-days") { Description = $"How long the new CRL is valid (default {CertificateAuthority.DefaultCrlDays})", DefaultValueFactory = _ => CertificateAuthority.DefaultCrlDays };
        var caPassFile = CaPassphraseFileOption();
        var cmd = new Command("revoke",
            "Revoke a certificate and write a new crl.pem signed by the CA. A running robot server re-reads the CRL by itself.\n\n" +
            "Examples:\n" +
            "  alex pki revoke pki/laptop.crt --reason keyCompromise\n" +
            "  alex pki revoke 4F3A9C...                          by serial (see alex pki list)\n" +
            "  alex pki revoke \"Team 3 Laptop\" --reason affiliationChanged\n" +
            "  alex pki revoke --team team3 --dir class           the team's robot and laptop\n" +
            "then copy pki/crl.pem to the robot")
        {
            what, team, dir, reason, crlDays, caPassFile,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var directory = pr.GetValue(dir)!;
            var ca = OpenCa(directory, pr.GetValue(caPassFile));
            var target = pr.GetValue(what);
            var reasonValue = ParseReason(pr.GetValue(reason)!);
            if (pr.GetValue(team) is { } teamName)
            {
                if (target is not null)
                {
                    throw new CliException("give either a certificate or --team, not both", hint: $"alex pki revoke --team {teamName}");
                }

                var serials = ca.Issued().Where(e => string.Equals(e.Team, teamName, StringComparison.OrdinalIgnoreCase) && !e.IsRevoked).Select(e => e.Serial).ToList();
                if (serials.Count == 0)
                {
                    throw new CliException($"no certificate of team '{teamName}' is left to revoke", hint: $"see the teams with: alex pki list --dir {Quote(directory)}");
                }

                foreach (var revokedEntry in ca.RevokeAll(serials, reasonValue, pr.GetValue(crlDays)))
                {
                    Say($"[green]revoked[/] '{Esc(revokedEntry.Name)}' ({revokedEntry.Role.ToString().ToLowerInvariant()}, serial {revokedEntry.Serial})");
                }

                Say($"wrote {Esc(ca.CrlPath)}: copy it to the robots (alex serve re-reads it when it changes)");
                return AlexCommandLine.ExitOk;
            }

            if (target is null)
            {
                throw new CliException("say what to revoke: a certificate file, a serial, a name, or --team TEAM", hint: "see alex pki list");
            }

            LedgerEntry entry;
            if (File.Exists(target))
            {
                using var certificate = CertificateFile.Load(target);
                entry = ca.RevokeAll([certificate.SerialNumber], reasonValue, pr.GetValue(crlDays), [(target, certificate)])[0];
            }
            else
            {
                entry = ca.Revoke(ResolveSerial(ca, target), reasonValue, pr.GetValue(crlDays));
            }

            Say($"[green]revoked[/] '{Esc(entry.Name)}' ({entry.Role.ToString().ToLowerInvariant()}, serial {entry.Serial}) on {entry.RevokedAt:yyyy-MM-dd HH:mm} UTC");
            Say($"wrote {Esc(ca.CrlPath)}: copy it to the robot (alex serve re-reads it when it changes)");
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command CrlCommand()
    {
        var dir = DirOption();
        var days = new Option<int>("--days") { Description = $"How long the CRL is valid (default {CertificateAuthority.DefaultCrlDays}); a robot refuses everyone once its CRL is stale", DefaultValueFactory = _ => CertificateAuthority.DefaultCrlDays };
        var caPassFile = CaPassphraseFileOption();
        var rebuild = new Option<bool>("--rebuild-from-crl") { Description = $"Recovery when {CertificateLedger.FileName} is lost or damaged: rebuild it from crl.pem and the certificates in the CA folder (the old file is kept beside)" };
        var cmd = new Command("crl",
            "Write a fresh crl.pem before the old one goes stale: every revocation the ledger or the current crl.pem knows, and a higher number.\n" +
            "Refuses when the ledger is missing or damaged (a CRL without it would forget revocations).\n\n" +
            "Examples:\n" +
            "  alex pki crl\n" +
            "  alex pki crl --dir class --days 30\n" +
            "  alex pki crl --rebuild-from-crl                  after issued.json was lost")
        {
            dir, days, caPassFile, rebuild,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var ca = OpenCa(pr.GetValue(dir)!, pr.GetValue(caPassFile));
            if (pr.GetValue(rebuild))
            {
                var result = ca.RebuildLedger(pr.GetValue(days));
                Say($"[green]rebuilt[/] {Esc(Path.Combine(ca.Directory, CertificateLedger.FileName))}: {result.CertificatesFound} certificates found in {Esc(ca.Directory)}, {result.Crl.Revoked.Count} revoked" +
                    (result.OldLedgerKeptAs is { } kept ? $" (the old one is kept as {Esc(kept)})" : string.Empty));
                Say($"[green]wrote[/] {Esc(ca.CrlPath)}: CRL number {result.Crl.CrlNumber}, {result.Crl.Revoked.Count} revoked, next update {result.Crl.NextUpdate:yyyy-MM-dd}");
                Say($"certificates issued into other folders are not in it: check with alex pki check --dir {Esc(ca.Directory)}, record and revoke one with alex pki revoke FILE --dir {Esc(ca.Directory)}");
                return AlexCommandLine.ExitOk;
            }

            var crl = ca.WriteCrl(pr.GetValue(days));
            Say($"[green]wrote[/] {Esc(ca.CrlPath)}: CRL number {crl.CrlNumber}, {crl.Revoked.Count} revoked, next update {crl.NextUpdate:yyyy-MM-dd}");
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command ListCommand()
    {
        var dir = DirOption();
        var team = new Option<string?>("--team") { Description = "Only this team's certificates (from alex pki issue --batch)" };
        var cmd = new Command("list",
            "Show every certificate the CA issued: name, role, team, serial, expiry, revoked or not.\n\n" +
            "Examples:\n" +
            "  alex pki list\n" +
            "  alex pki list --dir class --team team7")
        {
            dir, team,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var ca = CertificateAuthority.Open(pr.GetValue(dir)!);
            var now = DateTimeOffset.UtcNow;
            var table = new Table().Border(TableBorder.Simple);
            table.AddColumns("name", "role", "team", "serial", "expires", "status", "file");
            var wanted = pr.GetValue(team);
            var entries = ca.Issued().Where(e => wanted is null || string.Equals(e.Team, wanted, StringComparison.OrdinalIgnoreCase)).ToList();
            if (wanted is not null && entries.Count == 0)
            {
                throw new CliException($"no certificates of team '{wanted}' in {ca.Directory}", hint: $"see every team with: alex pki list --dir {Quote(ca.Directory)}");
            }

            foreach (var entry in entries)
            {
                var status = entry.IsRevoked
                    ? $"[red]revoked {entry.RevokedAt:yyyy-MM-dd}[/] ({TrustPolicyReason(entry.RevocationReason)})"
                    : entry.NotAfter < now ? "[red]expired[/]"
                    : entry.NotAfter - now < TimeSpan.FromDays(30) ? $"[yellow]expires in {(int)(entry.NotAfter - now).TotalDays} days[/]"
                    : "[green]valid[/]";
                table.AddRow(Esc(entry.Name), entry.Role.ToString().ToLowerInvariant(), Esc(entry.Team ?? string.Empty), entry.Serial, entry.NotAfter.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), status, Esc(entry.File ?? string.Empty));
            }

            AnsiConsole.Write(table);
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command ShowCommand()
    {
        var file = new Argument<string>("FILE") { Description = "A certificate, CSR, CRL or key file (PEM or DER)" };
        var cmd = new Command("show",
            "A readable summary of a certificate, CSR, CRL or key: subject, issuer, names, usages, validity, fingerprint.\n\n" +
            "Examples:\n" +
            "  alex pki show pki/alex.crt\n" +
            "  alex pki show pki/crl.pem\n" +
            "  alex pki show laptop.csr")
        {
            file,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var path = pr.GetValue(file)!;
            var summaries = PkiDescriber.Describe(path, DateTimeOffset.UtcNow);
            foreach (var summary in summaries)
            {
                Say($"[bold]{Esc(path)}[/]: {Esc(summary.Kind)}");
                var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
                foreach (var (field, value) in summary.Fields)
                {
                    grid.AddRow(new Text(field), new Text(value));
                }

                AnsiConsole.Write(grid);
            }

            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static Command VerifyCommand()
    {
        var file = new Argument<string>("FILE") { Description = "The certificate (or CRL) to check" };
        var dir = DirOption();
        dir.Description = "The CA directory: signing.pem and crl.pem (when present) are used";
        var caFile = new Option<string?>("--ca") { Description = "Check against this CA certificate file instead of DIR/signing.pem" };
        var crlFile = new Option<string?>("--crl") { Description = "Check against this CRL instead of DIR/crl.pem" };
        var client = new Option<bool>("--client") { Description = "Check it as a laptop (client) certificate" };
        var server = new Option<bool>("--server") { Description = "Check it as a robot (server) certificate" };
        var name = new Option<string?>("--name") { Description = "The host name a client would connect to (servers)" };
        var allow = new Option<string[]>("--allow") { Description = "Allow-list entries NAME[=drive|watch|admin] to check a client against (default: any name)" };
        var legacy = new Option<bool>("--legacy") { Description = "Accept course-style certificates (X.509 v1, no extended key usage, RSA-1024)" };
        var key = new Option<string?>("--key") { Description = "Also check that this private key belongs to the certificate" };
        var passFile = PassphraseFileOption();
        var cmd = new Command("verify",
            "Check a certificate as the robot or the laptop would: chain to the CA, validity, CRL, usage, key strength, name.\n" +
            "Prints one line per problem; exit 0 when accepted, 1 when not.\n\n" +
            "Examples:\n" +
            "  alex pki verify pki/laptop.crt\n" +
            "  alex pki verify pki/alex.crt --name alex.epp.com --key pki/alex.key\n" +
            "  alex pki verify course/laptop.crt --ca course/signing.pem --legacy --allow \"Alex Laptop\"")
        {
            file, dir, caFile, crlFile, client, server, name, allow, legacy, key, passFile,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var path = pr.GetValue(file)!;
            var directory = pr.GetValue(dir)!;
            var caPath = pr.GetValue(caFile) ?? Path.Combine(directory, CertificateAuthority.CertificateFileName);
            var crlPath = pr.GetValue(crlFile) ?? (pr.GetValue(caFile) is null && File.Exists(Path.Combine(directory, CertificateAuthority.CrlFileName)) ? Path.Combine(directory, CertificateAuthority.CrlFileName) : null);
            var blocks = PemFile.Read(path, "certificate");
            if (blocks[0].Label == "X509 CRL")
            {
                return VerifyCrl(path, caPath);
            }

            var chain = CertificateFile.LoadAll(path);
            var leaf = chain[0];
            var allowEntries = pr.GetValue(allow) ?? [];
            var policy = new TrustPolicy(CertificateFile.LoadAll(caPath), new TrustPolicyOptions
            {
                AllowList = allowEntries.Length > 0 ? AllowList.Parse(allowEntries) : AllowList.Any,
                Crl = crlPath is null ? null : CrlSource.FromFile(crlPath),
                Legacy = pr.GetValue(legacy),
            });
            var facts = CertificateFacts.From(leaf);
            var kind = pr.GetValue(server) ? PeerKind.Server
                : pr.GetValue(client) ? PeerKind.Client
                : facts.IntendedPeer;
            var decision = policy.Evaluate(leaf, chain, kind, pr.GetValue(name));
            var problems = decision.Problems.Select(p => p.Message).ToList();
            if (pr.GetValue(key) is { } keyPath)
            {
                var passphrase = PrivateKeyFile.IsEncrypted(keyPath) ? ExistingPassphrase(pr.GetValue(passFile), "--passphrase-file", PassphraseEnv, keyPath) : null;
                using var privateKey = PrivateKeyFile.Load(keyPath, passphrase);
                if (!PrivateKeyFile.Matches(leaf, privateKey))
                {
                    problems.Add($"{keyPath}: this key does not belong to {path}");
                }
                else if (PkiFile.IsReadableByOthers(keyPath))
                {
                    problems.Add($"{keyPath}: the private key is readable by others (run: chmod 600 {keyPath})");
                }
            }

            var kindText = kind == PeerKind.Server ? "server" : "client";
            if (problems.Count == 0)
            {
                Say($"[green]OK[/] {Esc(path)}: {Esc(decision.Reason)}" + (crlPath is null ? " (no CRL checked)" : string.Empty));
                foreach (var note in decision.Notes)
                {
                    Say($"[yellow]note[/] {Esc(note)}");
                }

                return AlexCommandLine.ExitOk;
            }

            foreach (var problem in problems)
            {
                Console.Error.WriteLine($"alex: {path} ({kindText}): {problem}");
            }

            return AlexCommandLine.ExitFailed;
        }));
        return cmd;
    }

    private static Command CheckCommand()
    {
        var dir = DirOption();
        var cmd = new Command("check",
            "Audit a CA folder: every certificate it signed there is in the ledger, crl.pem is signed by it, fresh and lists\n" +
            "exactly the ledger's revocations, keys are owner-only and nothing is writable by others. Exit 0 when all is well, 1 if not.\n\n" +
            "Examples:\n" +
            "  alex pki check\n" +
            "  alex pki check --dir class")
        {
            dir,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var ca = CertificateAuthority.Open(pr.GetValue(dir)!);
            var findings = CaFolder.Audit(ca);
            foreach (var finding in findings)
            {
                switch (finding.Level)
                {
                    case Alex.Pki.Diagnostics.FindingLevel.Ok:
                        Say($"[green]ok[/]      {Esc(finding.Message)}");
                        break;
                    case Alex.Pki.Diagnostics.FindingLevel.Warning:
                        Say($"[yellow]warning[/] {Esc(finding.Message)}" + (finding.Fix is { } wf ? $"\n        fix: {Esc(wf)}" : string.Empty));
                        break;
                    default:
                        Console.Error.WriteLine($"alex: {finding.Message}" + (finding.Fix is { } pf ? $"\nfix: {pf}" : string.Empty));
                        break;
                }
            }

            return Alex.Pki.Diagnostics.Finding.ExitCode(findings) == 0 ? AlexCommandLine.ExitOk : AlexCommandLine.ExitFailed;
        }));
        return cmd;
    }

    private static Command FleetBrokerCommand()
    {
        var dir = DirOption();
        var host = new Option<string>("--host") { Description = "The broker's host name, the name robots connect to (its certificate's CN and SAN)", Required = true };
        var ip = new Option<string[]>("--ip") { Description = "An IP address for the broker's certificate (repeatable), to connect by address" };
        var bind = new Option<string>("--bind") { Description = "The address Mosquitto listens on", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "The TLS port", DefaultValueFactory = _ => MosquittoFiles.DefaultPort };
        var outOption = new Option<string?>("--out", "-o") { Description = "Where the broker's files go (default: DIR/mosquitto)" };
        var days = DaysOption();
        var user = new Option<string?>("--user") { Description = "Whom Mosquitto becomes when started as root (default: mosquitto, which must be able to read broker.key)" };
        var renew = new Option<bool>("--renew") { Description = "Issue a new broker certificate even when a valid one from this CA is there" };
        var caPassFile = CaPassphraseFileOption();
        var cmd = new Command("fleet-broker",
            "Write what Mosquitto needs to be the fleet broker (docs/fleet.md): broker.crt and broker.key (owner-only),\n" +
            "ca.pem, crl.pem, acl (each robot publishes only under alexlink/ITS-NAME/, instructors may STOP, everyone\n" +
            "else with a certificate from the CA reads status only) and mosquitto.conf (mutual TLS, CRL, CN as user name).\n" +
            "Run it again after issuing or revoking: the ACL and the CRL follow the ledger; the broker certificate is kept.\n\n" +
            "Examples:\n" +
            "  alex pki fleet-broker --host broker.lab --ip 192.168.1.10\n" +
            "  mosquitto -c pki/mosquitto/mosquitto.conf\n" +
            "  alex pki fleet-broker --host localhost --bind 127.0.0.1 --port 18883 --out lab-broker")
        {
            dir, host, ip, bind, port, outOption, days, user, renew, caPassFile,
        };
        cmd.SetAction(int (pr) => Run(() =>
        {
            var directory = pr.GetValue(dir)!;
            var ca = OpenCa(directory, pr.GetValue(caPassFile));
            var request = new FleetBrokerRequest
            {
                Host = pr.GetValue(host)!,
                IpAddresses = ParseIps(pr.GetValue(ip)),
                Bind = pr.GetValue(bind)!,
                Port = pr.GetValue(port),
                Days = pr.GetValue(days),
                RenewCertificate = pr.GetValue(renew),
                RunAs = pr.GetValue(user),
            };
            var files = FleetBroker.Write(ca, pr.GetValue(outOption) ?? Path.Combine(directory, "mosquitto"), request);
            Say($"[green]wrote[/] the fleet broker's files in {Esc(files.Directory)}{(files.CertificateIssued ? $" (a new certificate for '{Esc(request.Host)}')" : " (kept its certificate)")}");
            var robots = files.Plan.Grants.Count(g => g.Role == FleetRole.Robot);
            var instructors = files.Plan.Grants.Count(g => g.Role == FleetRole.Instructor);
            Say($"  acl: {robots} robot{(robots == 1 ? "" : "s")}, {instructors} instructor{(instructors == 1 ? "" : "s")}; every other certificate from the CA may read status only");
            foreach (var problem in files.Plan.Problems)
            {
                Say($"  [yellow]warning[/] {Esc(problem)}");
            }

            if (instructors == 0)
            {
                Say($"  [yellow]warning[/] no instructor yet: nobody can STOP the fleet; alex pki issue instructor NAME --dir {Esc(Quote(directory))}, then run this again");
            }

            Say($"next: mosquitto -c {Esc(Quote(files.ConfPath))}   (broker.key must be readable by the user mosquitto runs as{(request.RunAs is { } u ? $": {Esc(u)}" : ", mosquitto unless --user")})");
            return AlexCommandLine.ExitOk;
        }));
        return cmd;
    }

    private static int VerifyCrl(string path, string caPath)
    {
        var crl = CertificateRevocationList.Load(path);
        if (TrustPolicy.CheckCrl(crl, CertificateFile.LoadAll(caPath), TimeProvider.System.GetUtcNow()) is not { } problem)
        {
            Say($"[green]OK[/] {Esc(path)}: CRL number {crl.CrlNumber}, {crl.Revoked.Count} revoked, next update {crl.NextUpdate:yyyy-MM-dd}");
            return AlexCommandLine.ExitOk;
        }

        Console.Error.WriteLine($"alex: {path} {problem.Message}");
        if (problem.Failure == TrustFailure.CrlStale)
        {
            Console.Error.WriteLine("hint: a robot refuses everyone with a stale CRL: run alex pki crl on the CA and copy crl.pem to the robot");
        }

        return AlexCommandLine.ExitFailed;
    }

    private static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (PkiException e)
        {
            throw new CliException(e.Message, e.Hint);
        }
    }

    private static CertificateAuthority OpenCa(string dir, string? caPassphraseFile) =>
        CertificateAuthority.Open(dir, () => ExistingPassphrase(caPassphraseFile, "--ca-passphrase-file", CaPassphraseEnv, Path.Combine(dir, CertificateAuthority.KeyFileName)));

    private static KeySpec Key(int? rsaBits) => rsaBits is { } bits ? KeySpec.Rsa(bits) : KeySpec.EcdsaP256;

    /// <summary>A bare name goes in the CA directory; anything with a directory part is used as given.</summary>
    private static string Stem(string dir, string stem)
    {
        if (stem.EndsWith(".key", StringComparison.Ordinal) || stem.EndsWith(".crt", StringComparison.Ordinal) || stem.EndsWith(".csr", StringComparison.Ordinal))
        {
            stem = stem[..^4];
        }

        return stem.Contains('/', StringComparison.Ordinal) || Path.IsPathRooted(stem) ? stem : Path.Combine(dir, stem);
    }

    private static List<IPAddress> ParseIps(string[]? values)
    {
        var result = new List<IPAddress>();
        foreach (var value in values ?? [])
        {
            if (!IPAddress.TryParse(value, out var ip))
            {
                throw new CliException($"--ip {value}: not an IP address", hint: "e.g. --ip 192.168.1.50");
            }

            result.Add(ip);
        }

        return result;
    }

    private static X509RevocationReason ParseReason(string text)
    {
        var wanted = text.Replace("-", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
        foreach (var reason in Enum.GetValues<X509RevocationReason>())
        {
            if (string.Equals(reason.ToString(), wanted, StringComparison.OrdinalIgnoreCase) && reason is not X509RevocationReason.RemoveFromCrl)
            {
                return reason;
            }
        }

        throw new CliException($"--reason {text}: not a revocation reason", hint: "use keyCompromise, superseded, affiliationChanged, cessationOfOperation, certificateHold, privilegeWithdrawn or unspecified");
    }

    private static string ResolveSerial(CertificateAuthority ca, string what)
    {
        var issued = ca.Issued();
        var byName = issued.Where(e => string.Equals(e.Name, what, StringComparison.OrdinalIgnoreCase) && e.Role != CertificateRole.Authority && !e.IsRevoked).ToList();
        if (byName.Count == 1)
        {
            return byName[0].Serial;
        }

        if (byName.Count > 1)
        {
            throw new CliException($"'{what}' names {byName.Count} certificates ({string.Join(", ", byName.Select(e => e.Serial))})", hint: "revoke one by its serial or file");
        }

        var hex = what.Replace(":", string.Empty, StringComparison.Ordinal);
        if (hex.Length > 0 && hex.All(Uri.IsHexDigit))
        {
            return hex;
        }

        throw new CliException($"'{what}' is not a certificate file, a serial, or a name this CA issued", hint: "see alex pki list");
    }

    private static string TrustPolicyReason(X509RevocationReason? reason) =>
        reason is { } r ? char.ToLowerInvariant(r.ToString()[0]) + r.ToString()[1..] : "unspecified";

    /// <summary>A passphrase for a new key: from a file, the environment, or asked twice on a terminal.</summary>
    private static string NewPassphrase(string? file, string what)
    {
        var given = FromFileOrEnv(file, PassphraseEnv);
        if (given is not null)
        {
            return given;
        }

        if (Console.IsInputRedirected)
        {
            throw new CliException($"--encrypt-key needs a passphrase for the {what}", hint: $"give --passphrase-file FILE or set {PassphraseEnv}");
        }

        var first = AnsiConsole.Prompt(new TextPrompt<string>($"passphrase for the {Esc(what)}:").Secret());
        var second = AnsiConsole.Prompt(new TextPrompt<string>("again:").Secret());
        if (first != second)
        {
            throw new CliException("the two passphrases differ; nothing was written");
        }

        if (first.Length < 8)
        {
            throw new CliException("the passphrase is shorter than 8 characters; nothing was written");
        }

        return first;
    }

    /// <summary>The passphrase of an existing encrypted key: from a file, the environment, or asked once on a terminal.</summary>
    private static string ExistingPassphrase(string? file, string option, string envVar, string keyPath)
    {
        var given = FromFileOrEnv(file, envVar);
        if (given is not null)
        {
            return given;
        }

        if (Console.IsInputRedirected)
        {
            throw new CliException($"{keyPath}: the private key is encrypted and no passphrase was given", hint: $"give {option} FILE (its first line) or set {envVar}");
        }

        return AnsiConsole.Prompt(new TextPrompt<string>($"passphrase for {Esc(keyPath)}:").Secret());
    }

    private static string? FromFileOrEnv(string? file, string envVar)
    {
        if (file is not null)
        {
            var bytes = PkiFile.ReadAll(file, "passphrase");
            var text = System.Text.Encoding.UTF8.GetString(bytes);
            var line = text.Split('\n')[0].TrimEnd('\r');
            if (line.Length == 0)
            {
                throw new CliException($"{file}: the passphrase file's first line is empty");
            }

            return line;
        }

        var env = Environment.GetEnvironmentVariable(envVar);
        return string.IsNullOrEmpty(env) ? null : env;
    }

    private static void ReportIssued(IssuedCertificate issued)
    {
        var facts = CertificateFacts.From(issued.Certificate);
        var names = facts.DnsNames.Select(d => $"DNS:{d}").Concat(facts.IpAddresses.Select(i => $"IP:{i}"));
        Say($"[green]issued[/] {issued.Entry.Role.ToString().ToLowerInvariant()} certificate '{Esc(issued.Entry.Name)}' ({Esc(string.Join(", ", names))}), serial {facts.SerialHex}, valid until {facts.NotAfter:yyyy-MM-dd}");
        if (issued.KeyPath is not null)
        {
            Say($"  {Esc(issued.KeyPath)}  private key (owner-only)");
        }

        Say($"  {Esc(issued.CertificatePath)}  certificate");
        foreach (var note in issued.Notes)
        {
            Say($"[yellow]note[/] {Esc(note)}");
        }
    }

    /// <summary>Colour on a terminal; plain, unwrapped lines when piped (scripts and tests read them).</summary>
    private static void Say(string markup)
    {
        if (Console.IsOutputRedirected)
        {
            Console.WriteLine(Markup.Remove(markup));
        }
        else
        {
            AnsiConsole.MarkupLine(markup);
        }
    }

    private static string Esc(string text) => Markup.Escape(text);

    /// <summary>A path or name as a shell word, so a printed command works as printed.</summary>
    private static string Quote(string text) => text.Any(c => c is ' ' or '"' or '\'' or '$' or '`' or '\\' or '(' or ')' or '&' or ';' or '|' or '<' or '>' or '*' or '?') ? "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : text;
}
