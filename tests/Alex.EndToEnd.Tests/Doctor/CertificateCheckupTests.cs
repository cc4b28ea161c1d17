using System.Runtime.Versioning;
using Alex.Pki;
using Alex.Pki.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Alex.EndToEnd.Tests.Doctor;

/// <summary>A certificate set broken in each of the ways issue 5 lists → the right finding and exit code.</summary>
public sealed class CertificateCheckupTests : IClassFixture<DoctorPki>
{
    private readonly DoctorPki _pki;

    public CertificateCheckupTests(DoctorPki pki)
    {
        _pki = pki;
    }

    private static IReadOnlyList<Finding> Check(string dir, DeviceRole role, TimeProvider? time = null, string? host = null) =>
        CertificateCheckup.Check(CertificateSet.InDirectory(dir, role), new CertificateCheckupOptions { Time = time ?? TimeProvider.System, HostName = host });

    private static Finding Single(IReadOnlyList<Finding> findings, FindingLevel level, string contains)
    {
        var matches = findings.Where(f => f.Level == level && f.Message.Contains(contains, StringComparison.Ordinal)).ToList();
        Assert.True(matches.Count == 1, $"expected one {level} containing '{contains}', got:\n{string.Join("\n", findings.Select(f => $"{f.Level} {f.Message}"))}");
        return matches[0];
    }

    private static void AllOk(IReadOnlyList<Finding> findings) =>
        Assert.True(findings.All(f => f.Level == FindingLevel.Ok), string.Join("\n", findings.Select(f => $"{f.Level} {f.Message}")));

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Check_RobotKeyRsa1024_ProblemBecauseOpenSslRefusesIt()
    {
        // What the course's openssl commands could make: a server certificate from our CA on an RSA-1024 key.
        var dir = _pki.Machine(DeviceRole.Robot);
        var set = CertificateSet.InDirectory(dir, DeviceRole.Robot);
        File.WriteAllText(Path.Combine(dir, "ext.cnf"), $"extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\nsubjectAltName=DNS:{DoctorPki.RobotName},IP:127.0.0.1\n");
        OpenSsl(dir, "genrsa", "-out", set.KeyPath, "1024");
        OpenSsl(dir, "req", "-new", "-key", set.KeyPath, "-subj", $"/CN={DoctorPki.RobotName}", "-out", "weak.csr");
        OpenSsl(dir, "x509", "-req", "-in", "weak.csr", "-CA", Path.Combine(_pki.CaDir, "signing.pem"), "-CAkey", Path.Combine(_pki.CaDir, "signing.key"),
            "-set_serial", "4242", "-days", "30", "-extfile", "ext.cnf", "-out", set.CertificatePath);
        File.SetUnixFileMode(set.KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var findings = Check(dir, DeviceRole.Robot, host: DoctorPki.RobotName);

        var weak = Single(findings, FindingLevel.Problem, "1024-bit RSA");
        Assert.Contains("OpenSSL", weak.Message, StringComparison.Ordinal);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Theory]
    [InlineData(DeviceRole.Laptop)]
    [InlineData(DeviceRole.Robot)]
    public void Check_GoodSet_AllOkExitZero(DeviceRole role)
    {
        var findings = Check(_pki.Machine(role), role, host: role == DeviceRole.Robot ? DoctorPki.RobotName : null);
        AllOk(findings);
        Assert.Equal(0, Finding.ExitCode(findings));
        Assert.Contains(findings, f => f.Message.Contains("belongs to", StringComparison.Ordinal) && f.Message.Contains("owner-only (0600)", StringComparison.Ordinal));
    }

    [Fact]
    public void Check_Expired_ProblemWithDateAndClock()
    {
        var dir = _pki.Machine(DeviceRole.Laptop, issuedAt: DateTimeOffset.UtcNow.AddDays(-30), days: 1);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "laptop.crt expired on");
        Assert.Contains("this machine's clock is", f.Message, StringComparison.Ordinal);
        Assert.Contains("alex pki issue client laptop --force (on the CA machine, then copy laptop.crt and laptop.key to", f.Fix, StringComparison.Ordinal);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Fact]
    public void Check_NotYetValid_SaysClockAndStart()
    {
        var start = DateTimeOffset.UtcNow.AddDays(2);
        var dir = _pki.Machine(DeviceRole.Laptop, issuedAt: start);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "laptop.crt is not valid yet");
        Assert.Contains($"the certificate starts at {CertificateCheckup.When(start - CertificateAuthority.Backdate)}", f.Message, StringComparison.Ordinal);
        Assert.Contains("this machine's clock is", f.Message, StringComparison.Ordinal);
        Assert.Contains("timedatectl", f.Fix, StringComparison.Ordinal);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Fact]
    public void Check_PiClockInThePast_CaAndCertificateNotValidYet()
    {
        // A Pi without its clock battery and without network boots at its last saved time.
        var dir = _pki.Machine(DeviceRole.Robot);
        var piClock = new FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var findings = Check(dir, DeviceRole.Robot, piClock);
        var f = Single(findings, FindingLevel.Problem, "alex.crt is not valid yet");
        Assert.Contains("this machine's clock is 2020-01-01 00:00 UTC", f.Message, StringComparison.Ordinal);
        Single(findings, FindingLevel.Problem, "the CA certificate signing.pem is not valid yet");
    }

    [Fact]
    public void Check_ExpiringSoon_WarningExitZero()
    {
        var findings = Check(_pki.Machine(DeviceRole.Laptop, days: 10), DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Warning, "laptop.crt expires in");
        Assert.NotNull(f.Fix);
        Assert.DoesNotContain(findings, x => x.Level == FindingLevel.Problem);
        Assert.Equal(0, Finding.ExitCode(findings));
    }

    [Fact]
    public void Check_KeyOfAnotherCertificate_KeyMismatch()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        var other = _pki.Machine(DeviceRole.Laptop);
        File.Copy(Path.Combine(other, "laptop.key"), Path.Combine(dir, "laptop.key"), overwrite: true);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "laptop.key does not belong to laptop.crt");
        Assert.Contains("made together with laptop.crt", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Check_KeyReadableByOthers_ChmodFix()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        var key = Path.Combine(dir, "laptop.key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "is readable by every user on this machine (mode 0644)");
        Assert.Equal($"chmod 600 {key}", f.Fix);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Check_KeyReadableByGroup_ChmodFix()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        var key = Path.Combine(dir, "alex.key");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var f = Single(Check(dir, DeviceRole.Robot), FindingLevel.Problem, "is readable by its group (mode 0640)");
        Assert.Equal($"chmod 600 {key}", f.Fix);
    }

    [Fact]
    public void Check_ServerCertificateOnLaptop_WrongUsage()
    {
        var dir = _pki.Machine(DeviceRole.Laptop, asRole: CertificateRole.Server);
        var f = Single(Check(dir, DeviceRole.Laptop), FindingLevel.Problem, "laptop.crt is a server certificate (extended key usage serverAuth) used as a client certificate");
        Assert.Contains("alex pki issue client", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ClientCertificateOnRobot_WrongUsage()
    {
        var dir = _pki.Machine(DeviceRole.Robot, asRole: CertificateRole.Client);
        var f = Single(Check(dir, DeviceRole.Robot), FindingLevel.Problem, "alex.crt is a client certificate (extended key usage clientAuth) used as a server certificate");
        Assert.Contains("alex pki issue server", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SigningPemOfAnotherCa_CaMismatch()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        File.Copy(Path.Combine(_pki.OtherCaDir, "signing.pem"), Path.Combine(dir, "signing.pem"), overwrite: true);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "laptop.crt was not signed by the signing.pem beside it: it was issued by 'CN=Doctor Test CA', signing.pem is 'CN=Someone Else's CA'");
        Assert.Contains("same CA", f.Fix, StringComparison.Ordinal);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Fact]
    public void Check_SigningPemOfCaMadeAgainWithSameName_SignatureMismatch()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        File.Copy(Path.Combine(_pki.SameNameCaDir, "signing.pem"), Path.Combine(dir, "signing.pem"), overwrite: true);
        Single(Check(dir, DeviceRole.Robot), FindingLevel.Problem, "the signature does not verify with its key");
    }

    [Fact]
    public void Check_Revoked_ProblemWithSerialAndReason()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        _pki.Revoke(dir, DeviceRole.Laptop);
        var findings = Check(dir, DeviceRole.Laptop);
        var f = Single(findings, FindingLevel.Problem, "was revoked on");
        Assert.Contains("reason keyCompromise", f.Message, StringComparison.Ordinal);
        Assert.Contains("alex pki issue client", f.Fix, StringComparison.Ordinal);
        Assert.Equal(1, Finding.ExitCode(findings));
    }

    [Fact]
    public void Check_StaleCrlOnRobot_Problem()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        var past = CertificateAuthority.Open(_pki.CaDir, timeProvider: new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-10)));
        past.WriteCrl(days: 2);
        File.Copy(_pki.Ca.CrlPath, Path.Combine(dir, "crl.pem"), overwrite: true);
        _pki.Ca.WriteCrl(); // leave a fresh one in the CA for the other tests
        var f = Single(Check(dir, DeviceRole.Robot), FindingLevel.Problem, "crl.pem is stale");
        Assert.Contains("refuses every laptop", f.Message, StringComparison.Ordinal);
        Assert.Contains("alex pki crl", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CrlOfAnotherCa_Problem()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        File.Copy(Path.Combine(_pki.OtherCaDir, "crl.pem"), Path.Combine(dir, "crl.pem"), overwrite: true);
        var crl = CertificateRevocationList.Load(Path.Combine(dir, "crl.pem"));
        var serverSays = TrustPolicy.CheckCrl(crl, [CertificateFile.Load(Path.Combine(dir, "signing.pem"))], DateTimeOffset.UtcNow)!;
        Single(Check(dir, DeviceRole.Robot), FindingLevel.Problem, $"crl.pem {serverSays.Message}; the server would refuse every laptop");
    }

    [Fact]
    public void Check_CrlNotValidYet_SaysWhatTheServerSays()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        var future = CertificateAuthority.Open(_pki.CaDir, timeProvider: new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(2)));
        future.WriteCrl();
        File.Copy(_pki.Ca.CrlPath, Path.Combine(dir, "crl.pem"), overwrite: true);
        _pki.Ca.WriteCrl(); // leave a fresh one in the CA for the other tests
        var crl = CertificateRevocationList.Load(Path.Combine(dir, "crl.pem"));
        var now = DateTimeOffset.UtcNow;
        var serverSays = TrustPolicy.CheckCrl(crl, [CertificateFile.Load(Path.Combine(dir, "signing.pem"))], now)!;
        Assert.Equal(TrustFailure.CrlNotYetValid, serverSays.Failure);

        var f = Single(Check(dir, DeviceRole.Robot, new FakeTimeProvider(now)), FindingLevel.Problem, $"crl.pem {serverSays.Message}; this machine's clock is");
        Assert.Contains("timedatectl", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_RobotNameNotTheHost_NameMismatch()
    {
        var dir = _pki.Machine(DeviceRole.Robot);
        var findings = Check(dir, DeviceRole.Robot, host: "192.168.1.50");
        var f = Single(findings, FindingLevel.Problem, "alex.crt is for 'alex.epp.com', '127.0.0.1', not '192.168.1.50'");
        Assert.Contains("--name alex.epp.com", f.Fix, StringComparison.Ordinal);
        Assert.Contains("--ip 192.168.1.50", f.Fix, StringComparison.Ordinal);
        Single(Check(dir, DeviceRole.Robot, host: "127.0.0.1"), FindingLevel.Ok, "carries the name '127.0.0.1'");
    }

    [Fact]
    public void Check_MissingFiles_OneProblemEach()
    {
        var dir = Path.Combine(_pki.Root, "empty");
        Directory.CreateDirectory(dir);
        var findings = Check(dir, DeviceRole.Laptop);
        Single(findings, FindingLevel.Problem, "signing.pem: no such file");
        Single(findings, FindingLevel.Problem, "laptop.crt: no such file");
        Single(findings, FindingLevel.Problem, "laptop.key: no such file");
    }

    [Fact]
    public void Check_KeyInPlaceOfCertificate_SaysSo()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        File.Copy(Path.Combine(dir, "laptop.key"), Path.Combine(dir, "laptop.crt"), overwrite: true);
        var f = Single(Check(dir, DeviceRole.Laptop), FindingLevel.Problem, "contains no certificate");
        Assert.Contains("this is a key", f.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CourseStyleV1CertificateFromOpenSsl_WarningLegacy()
    {
        // The course makes device certificates with `openssl x509 -req` and no extensions: X.509 v1.
        var dir = _pki.Machine(DeviceRole.Laptop);
        File.WriteAllText(Path.Combine(dir, "v1.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n");
        OpenSsl(dir, "genrsa", "-out", "laptop.key", "2048");
        OpenSsl(dir, "req", "-config", "v1.cnf", "-new", "-key", "laptop.key", "-out", "laptop.csr", "-subj", "/CN=laptop");
        OpenSsl(dir, "x509", "-req", "-in", "laptop.csr", "-CA", "signing.pem", "-CAkey", Path.Combine(_pki.CaDir, "signing.key"), "-CAcreateserial", "-out", "laptop.crt", "-days", "30");

        var findings = Check(dir, DeviceRole.Laptop);
        Single(findings, FindingLevel.Warning, "laptop.crt has no extended key usage (an X.509 v1 course-style certificate): our server accepts it only with alex serve --legacy-certs");
        Single(findings, FindingLevel.Ok, "laptop.crt was signed by signing.pem");
        Assert.Equal(0, Finding.ExitCode(findings));
    }

    private static void OpenSsl(string dir, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(start)!;
        var error = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "openssl timed out");
        Assert.True(p.ExitCode == 0, error.Result);
    }

    [Fact]
    public void RolesIn_CaDirectoryWithBoth_FindsBoth()
    {
        var dir = _pki.Machine(DeviceRole.Laptop);
        var robot = _pki.Machine(DeviceRole.Robot);
        File.Copy(Path.Combine(robot, "alex.crt"), Path.Combine(dir, "alex.crt"));
        Assert.Equal([DeviceRole.Laptop, DeviceRole.Robot], CertificateSet.RolesIn(dir));
    }
}
