// How every connection of ours ends (docs/security.md, "Closing a connection"): close_notify when TLS is
// up (RFC 8446 §6.1), then FIN, then read and discard what the peer already sent until it closes too,
// bounded. Closing a socket with unread bytes in its receive buffer makes the kernel send a reset
// instead of a FIN (RFC 1122 §4.2.2.13); a TLS 1.3 server's session tickets arrive just after the
// handshake, so a client that closes at once resets the connection, and a peer that then writes dies
// of SIGPIPE if it does not ignore it (the course's C server does not).
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Alex.Client;

/// <summary>Ends a connection with close_notify, FIN and a bounded drain: never a reset from a normal exit.</summary>
public static class PoliteClose
{
    /// <summary>How long to wait for the peer to close after our goodbye before closing anyway.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(2);

    /// <summary>The most bytes read and discarded while waiting for the peer to close.</summary>
    public const int MaxDrainBytes = 256 * 1024;

    /// <summary>
    /// Says goodbye on <paramref name="ssl"/> when <paramref name="tlsUp"/>, half-closes
    /// <paramref name="socket"/>, drains it until the peer closes (at most <paramref name="limit"/>),
    /// then disposes both. Never throws for a connection that is already gone.
    /// </summary>
    public static async Task CloseAsync(SslStream? ssl, Socket socket, bool tlsUp, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var bound = new CancellationTokenSource(limit);
        if (ssl is not null && tlsUp)
        {
            await SayGoodbyeAsync(ssl, bound.Token).ConfigureAwait(false);
        }

        HalfClose(socket);
        await DrainAsync(socket, bound.Token).ConfigureAwait(false);
        ssl?.Dispose();
        socket.Dispose();
    }

    /// <summary>close_notify; best effort (the peer may have gone, or the handshake never finished).</summary>
    public static async Task SayGoodbyeAsync(SslStream ssl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ssl);
        try
        {
            await ssl.ShutdownAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or AuthenticationException or NotSupportedException or System.Security.Cryptography.CryptographicException)
        {
            // Nothing to say goodbye to: the connection is gone or TLS never started.
        }
    }

    /// <summary>Sends FIN: we write nothing more, but still read.</summary>
    public static void HalfClose(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected any more.
        }
    }

    /// <summary>Reads and discards until the peer closes, the bound passes, or <see cref="MaxDrainBytes"/> were read.</summary>
    public static async Task DrainAsync(Socket socket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var buffer = new byte[4096];
        var total = 0;
        try
        {
            while (total < MaxDrainBytes)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                total += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The peer did not close in time, or reset: close anyway.
        }
    }
}
