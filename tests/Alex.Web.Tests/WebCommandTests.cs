using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Alex.Web.Tests;

/// <summary>The real `alex web` executable on a real Kestrel socket: the printed URL, and the refusals.</summary>
[Collection("browser and child processes")]
public sealed partial class WebCommandTests : IClassFixture<RobotRig>
{
    private readonly RobotRig _rig;

    public WebCommandTests(RobotRig rig) => _rig = rig;

    [Fact]
    public async Task AlexWeb_PrintsATokenUrl_AndTheRealServerRefusesNoToken_ForeignOrigin_AndRebindingHost()
    {
        var url = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var web = _rig.StartAlex(
            line =>
            {
                if (OpenLine().Match(line) is { Success: true } m)
                {
                    url.TrySetResult(new Uri(m.Groups[1].Value));
                }
            },
            "web", "--robot", $"127.0.0.1:{_rig.Port}", "--name", RobotRig.ServerName, "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0");
        try
        {
            var exited = web.WaitForExitAsync();
            var first = await Task.WhenAny(url.Task, exited).Within(TimeSpan.FromSeconds(30), "alex web to print its URL");
            Assert.True(first == url.Task, $"alex web exited:\n{_rig.ServerOutput}");
            var page = await url.Task;
            Assert.Equal("127.0.0.1", page.Host);
            Assert.Matches("^\\?token=[A-Za-z0-9_-]{43}$", page.Query);
            var origin = page.GetLeftPart(UriPartial.Authority);

            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });

            // The printed URL: a cookie and a redirect to the clean URL; with the cookie, the page.
            using var first303 = await http.GetAsync(page).Within();
            Assert.Equal(HttpStatusCode.SeeOther, first303.StatusCode);
            var cookie = Assert.Single(first303.Headers.GetValues("Set-Cookie")).Split(';')[0];
            using var withCookie = new HttpRequestMessage(HttpMethod.Get, origin + "/");
            withCookie.Headers.Add("Cookie", cookie);
            using var ok = await http.SendAsync(withCookie).Within();
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

            // No token.
            using var noToken = await http.GetAsync(origin + "/").Within();
            Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);

            // DNS rebinding: the right token, but the browser asked for another name.
            using var rebinding = new HttpRequestMessage(HttpMethod.Get, page);
            rebinding.Headers.Host = $"evil.example:{page.Port}";
            using var refusedHost = await http.SendAsync(rebinding).Within();
            Assert.Equal(HttpStatusCode.MisdirectedRequest, refusedHost.StatusCode);

            // The WebSocket from another site's page: refused; from the gateway's own page: hello.
            var wsUri = new Uri($"ws://{page.Authority}/ws");
            using (var foreign = new ClientWebSocket())
            {
                foreign.Options.SetRequestHeader("Origin", "http://evil.example");
                foreign.Options.SetRequestHeader("Cookie", cookie);
                foreign.Options.CollectHttpResponseDetails = true;
                await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(wsUri, CancellationToken.None).Within());
                Assert.Equal(HttpStatusCode.Forbidden, foreign.HttpStatusCode);
            }

            using var own = new ClientWebSocket();
            own.Options.SetRequestHeader("Origin", origin);
            own.Options.SetRequestHeader("Cookie", cookie);
            await own.ConnectAsync(wsUri, CancellationToken.None).Within();
            var hello = await GatewayGuardTests.ReceiveAsync(own).Within();
            Assert.Equal("hello", hello.GetProperty("type").GetString());
            await own.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).Within();
        }
        finally
        {
            if (!web.HasExited)
            {
                web.Kill(entireProcessTree: true);
                await web.WaitForExitAsync().Within();
            }
        }
    }

    [Theory]
    [InlineData("--listen", "192.168.1.20:8443", "--expose")]
    [InlineData("--listen", "0.0.0.0:8080", "one address")]
    [InlineData("--listen", "nonsense", "ADDRESS:PORT")]
    [InlineData("--https-cert", "web.crt", "go together")]
    public async Task AlexWeb_UnsafeOrBadListen_IsUsageErrorTwo(string flag, string value, string mentions)
    {
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", _rig.LaptopDir, flag, value);
        Assert.Equal(2, code);
        Assert.Contains(mentions, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexWeb_MissingCertificates_SaysWhichFile()
    {
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", Path.Combine(_rig.Dir, "nowhere"));
        Assert.Equal(2, code);
        Assert.Contains("nowhere", output, StringComparison.Ordinal);
        Assert.Contains("hint:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexWeb_ClientCertificateAsHttpsCert_OneLineUsageErrorTwo()
    {
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0",
            "--https-cert", Path.Combine(_rig.LaptopDir, "laptop.crt"), "--https-key", Path.Combine(_rig.LaptopDir, "laptop.key"));
        Assert.Equal(2, code);
        Assert.StartsWith("alex: CN=laptop: not a server certificate", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexWeb_EncryptedHttpsKeyWithPassphraseFile_ServesHttps()
    {
        var (cert, key, passphraseFile) = EncryptedHttpsKey("right", "correct horse battery");
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var web = _rig.StartAlex(
            line =>
            {
                if (line.TrimStart().StartsWith("open ", StringComparison.Ordinal))
                {
                    url.TrySetResult(line.Trim()["open ".Length..].Trim());
                }
            },
            "web", "--robot", $"127.0.0.1:{_rig.Port}", "--name", RobotRig.ServerName, "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0",
            "--https-cert", cert, "--https-key", key, "--passphrase-file", passphraseFile);
        try
        {
            var exited = web.WaitForExitAsync();
            var first = await Task.WhenAny(url.Task, exited).Within(TimeSpan.FromSeconds(60), "alex web to print its URL");
            Assert.True(first == url.Task, $"alex web exited:\n{_rig.ServerOutput}");
            Assert.StartsWith("https://127.0.0.1:", await url.Task, StringComparison.Ordinal);
        }
        finally
        {
            if (!web.HasExited)
            {
                web.Kill(entireProcessTree: true);
                await web.WaitForExitAsync().Within();
            }
        }
    }

    [Fact]
    public async Task AlexWeb_EncryptedHttpsKeyWrongPassphrase_OneLineUsageErrorTwoWithHint()
    {
        var (cert, key, _) = EncryptedHttpsKey("wrong", "correct horse battery");
        var wrong = Path.Combine(_rig.Dir, "wrong-passphrase.txt");
        File.WriteAllText(wrong, "not the passphrase\n");
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", _rig.LaptopDir, "--listen", "127.0.0.1:0",
            "--https-cert", cert, "--https-key", key, "--passphrase-file", wrong);
        Assert.Equal(2, code);
        var lines = output.Trim().Split('\n');
        Assert.Equal($"alex: {key}: wrong passphrase (cannot decrypt the private key)", lines[0].TrimEnd('\r'));
        Assert.StartsWith("hint: ", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
    }

    /// <summary>A loopback server certificate whose key is encrypted with <paramref name="passphrase"/>, and a file holding it.</summary>
    private (string Certificate, string Key, string PassphraseFile) EncryptedHttpsKey(string stem, string passphrase)
    {
        var ca = Alex.Pki.CertificateAuthority.Open(Path.Combine(_rig.Dir, "pki"));
        var dir = Path.Combine(_rig.Dir, "https-" + stem);
        Directory.CreateDirectory(dir);
        var (key, cert) = (Path.Combine(dir, "web.key"), Path.Combine(dir, "web.crt"));
        ca.Issue(new Alex.Pki.IssueRequest { Role = Alex.Pki.CertificateRole.Server, Name = "web-" + stem, IpAddresses = [IPAddress.Loopback] }, key, cert, passphrase, force: false);
        var file = Path.Combine(dir, "passphrase.txt");
        File.WriteAllText(file, passphrase + "\n");
        return (cert, key, file);
    }

    [Fact]
    public async Task AlexWeb_ListenAddressNotOnThisHost_OneLineUsageErrorTwo()
    {
        var pki = Path.Combine(_rig.Dir, "pki");
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", _rig.LaptopDir, "--listen", "192.0.2.1:8443", "--expose",
            "--https-cert", Path.Combine(pki, "alex.crt"), "--https-key", Path.Combine(pki, "alex.key"));
        Assert.Equal(2, code);
        Assert.StartsWith("alex: cannot listen on 192.0.2.1:8443: that address is not one of this machine's", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlexWeb_BusyPort_OneLineUsageErrorTwo_AsServe()
    {
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var (code, output) = await RunToEndAsync("web", "--robot", "127.0.0.1:1", "--pki", _rig.LaptopDir, "--listen", $"127.0.0.1:{port}");
        Assert.Equal(2, code);
        Assert.Equal($"alex: cannot listen on 127.0.0.1:{port}: the port is in use", output.Split('\n')[0].TrimEnd('\r'));
        Assert.Equal(2, output.Trim().Split('\n').Length); // the error and its hint, nothing else
    }

    private async Task<(int Code, string Output)> RunToEndAsync(params string[] args)
    {
        var output = new StringBuilder();
        using var p = _rig.StartAlex(line =>
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }, args);
        await p.WaitForExitAsync().Within(TimeSpan.FromSeconds(30), "alex " + string.Join(' ', args));
        p.WaitForExit(); // drain the redirected output
        lock (output)
        {
            return (p.ExitCode, output.ToString());
        }
    }

    [GeneratedRegex(@"open\s+(http://\S+)")]
    private static partial Regex OpenLine();
}
