namespace Alex.Client;

/// <summary>Why a connection could not be made or was ended, as a kind a program can test.</summary>
public enum ConnectFailure
{
    /// <summary>No TCP connection: nothing listening, wrong address, unreachable network.</summary>
    Unreachable,

    /// <summary>The connect, handshake or Welcome took too long.</summary>
    Timeout,

    /// <summary>We refused the server's certificate (not from our CA, wrong name, expired, ...).</summary>
    ServerNotTrusted,

    /// <summary>The server refused our certificate (a TLS alert, or EOF right after a TLS 1.3 handshake).</summary>
    ClientCertificateRejected,

    /// <summary>The AlexLink/1 server said no in words (a Refusal frame).</summary>
    Refused,

    /// <summary>The TLS handshake failed for another reason (versions, ciphers, not TLS at all).</summary>
    TlsFailed,

    /// <summary>The server does not speak what we asked for (ALPN), or broke the protocol.</summary>
    ProtocolMismatch,

    /// <summary>An established connection ended.</summary>
    ConnectionLost,
}

/// <summary>A connection failure with a one-line message for people and a hint saying what to do.</summary>
public sealed class AlexConnectException : Exception
{
    public AlexConnectException(ConnectFailure failure, string message, string? hint = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
        Hint = hint;
    }

    public AlexConnectException()
    {
    }

    public AlexConnectException(string message)
        : base(message)
    {
    }

    public AlexConnectException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ConnectFailure Failure { get; } = ConnectFailure.TlsFailed;

    public string? Hint { get; }

    /// <summary>The refusal code when <see cref="Failure"/> is Refused.</summary>
    public Protocol.AlexLink.AlexLinkRefusalCode? RefusalCode { get; init; }

    /// <summary>True when trying again later can help (not for a refusal or a trust problem).</summary>
    public bool IsTransient => Failure is ConnectFailure.Unreachable or ConnectFailure.Timeout or ConnectFailure.ConnectionLost ||
        RefusalCode is Protocol.AlexLink.AlexLinkRefusalCode.Busy or Protocol.AlexLink.AlexLinkRefusalCode.ShuttingDown;
}
