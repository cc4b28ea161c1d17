using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Alex.Pki;
using Alex.Robot.Server;
using Alex.Tests.Shared;

namespace Alex.Robot.Tests.Server;

/// <summary>Two TLS records written while a batch is held leave in one socket write; otherwise every write passes through.</summary>
public sealed class RecordBatchingStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("alex-batch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task HeldBatch_TwoRecordsInOneSocketWrite_ClientReadsTwoMessages()
    {
        var ca = CertificateAuthority.Create(Path.Combine(_dir, "ca"), "Batch CA", KeySpec.EcdsaP256, 30, null, force: false);
        ca.Issue(new IssueRequest { Role = CertificateRole.Server, Name = "alex.epp.com" }, Path.Combine(_dir, "alex.key"), Path.Combine(_dir, "alex.crt"), null, force: false);
        using var certificate = PrivateKeyFile.LoadCertificateWithKey(Path.Combine(_dir, "alex.crt"), Path.Combine(_dir, "alex.key"));

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port).Within();
        using var socket = await listener.AcceptSocketAsync().Within();
        var writes = new List<byte[]>();
        var wire = new RecordBatchingStream(new RecordingStream(new NetworkStream(socket, ownsSocket: false), writes));
        await using var server = new SslStream(wire);
        await using var laptop = new SslStream(client.GetStream());
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca.Certificate);
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }),
            laptop.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "alex.epp.com", CertificateChainPolicy = policy })).Within();
        var buffer = new byte[16];
        // Anything TLS still owes after the handshake (session tickets) goes out with this first message.
        await server.WriteAsync(new byte[] { 7 }).Within();
        Assert.Equal(1, await laptop.ReadAsync(buffer).AsTask().Within());
        writes.Clear();

        wire.Hold();
        await server.WriteAsync(new byte[] { 0, 0 }).Within();
        await server.WriteAsync(new byte[] { 1, 2, 3 }).Within();
        Assert.Empty(writes);
        await wire.ReleaseAsync(CancellationToken.None).Within();

        var write = Assert.Single(writes);
        Assert.Equal(2, CountRecords(write));
        // Two records (the course client's SSL_read returns one at a time; SslStream may return both at once).
        await laptop.ReadExactlyAsync(buffer.AsMemory(0, 5)).AsTask().Within();
        Assert.Equal(new byte[] { 0, 0, 1, 2, 3 }, buffer[..5]);

        // Not held: each record goes at once.
        await server.WriteAsync(new byte[] { 9 }).Within();
        Assert.Equal(2, writes.Count);
        Assert.Equal(1, await laptop.ReadAsync(buffer).AsTask().Within());
    }

    // TLS record headers (RFC 8446 §5.1): type, version (2 bytes), length (2 bytes).
    private static int CountRecords(byte[] bytes)
    {
        var count = 0;
        for (var at = 0; at < bytes.Length; at += 5 + ((bytes[at + 3] << 8) | bytes[at + 4]))
        {
            count++;
        }

        return count;
    }

    private sealed class RecordingStream(Stream inner, List<byte[]> writes) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            writes.Add(buffer.ToArray());
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            writes.Add(buffer.ToArray());
            return inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
