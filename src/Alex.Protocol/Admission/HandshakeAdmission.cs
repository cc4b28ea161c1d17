// Who may start a TLS handshake (docs/security.md "Admission"), after OpenSSH's MaxStartups and PerSourceMaxStartups
// (sshd_config(5)). Connections still in their handshake are unauthenticated: whoever holds those slots decides who
// else gets in, so:
// - per source (an IPv4 address, an IPv6 /64) at most PerSource at once: one address flooding or holding slots
//   (slowloris) fills only its own share, and the laptop's address still finds room;
// - over all sources, "start:rate:full": below Start everyone is admitted; from Start on a new connection is refused
//   with probability Rate % rising linearly to 100 % at Full, so many sources at once cannot hold every slot either.
// Pure: the caller draws the random number (0-99) and passes it in; not thread-safe (the accept loop holds a lock).
using System.Net;
using System.Net.Sockets;

namespace Alex.Protocol.Admission;

/// <summary>Limits on connections in their handshake.</summary>
/// <param name="Start">From this many on, random early refusal begins.</param>
/// <param name="RatePercent">Refusal probability at Start, rising linearly to 100 % at Full.</param>
/// <param name="Full">Never more than this many at once.</param>
/// <param name="PerSource">Never more than this many at once from one source.</param>
public readonly record struct StartupLimits(int Start, int RatePercent, int Full, int PerSource)
{
    /// <summary>Defaults for a server allowing <paramref name="full"/> handshakes at once: early drop from half, 30 % rate, 8 per source.</summary>
    public static StartupLimits For(int full, int perSource = 8) =>
        new(Math.Max(1, full / 2), 30, full, Math.Min(perSource, full));
}

/// <summary>The outcome for one new connection.</summary>
public enum AdmissionVerdict
{
    Admitted,

    /// <summary>This source already holds its share of handshakes.</summary>
    SourceFull,

    /// <summary>Every handshake slot is taken.</summary>
    Full,

    /// <summary>Refused at random, past Start.</summary>
    EarlyDrop,
}

/// <summary>Counts connections in their handshake, per source and in all, and admits or refuses new ones.</summary>
public sealed class HandshakeAdmission
{
    private readonly StartupLimits _limits;
    private readonly Dictionary<string, int> _bySource = new(StringComparer.Ordinal);

    public HandshakeAdmission(StartupLimits limits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.Full, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.PerSource, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.Start, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limits.RatePercent, 100);
        _limits = limits;
    }

    /// <summary>Connections in their handshake now.</summary>
    public int InHandshake { get; private set; }

    /// <summary>Admits (and counts) a new connection from <paramref name="source"/>, or says why not. <paramref name="draw"/>: uniform 0-99.</summary>
    public AdmissionVerdict TryAdmit(string source, int draw)
    {
        ArgumentNullException.ThrowIfNull(source);
        _bySource.TryGetValue(source, out var mine);
        if (mine >= _limits.PerSource)
        {
            return AdmissionVerdict.SourceFull;
        }

        if (InHandshake >= _limits.Full)
        {
            return AdmissionVerdict.Full;
        }

        if (InHandshake >= _limits.Start && draw < DropPercent(InHandshake))
        {
            return AdmissionVerdict.EarlyDrop;
        }

        _bySource[source] = mine + 1;
        InHandshake++;
        return AdmissionVerdict.Admitted;
    }

    /// <summary>An admitted connection from <paramref name="source"/> finished its handshake (either way).</summary>
    public void Finished(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!_bySource.TryGetValue(source, out var mine))
        {
            return;
        }

        if (mine <= 1)
        {
            _bySource.Remove(source);
        }
        else
        {
            _bySource[source] = mine - 1;
        }

        InHandshake--;
    }

    /// <summary>The percent chance of refusing a new connection with <paramref name="inHandshake"/> already in (sshd's formula).</summary>
    public int DropPercent(int inHandshake)
    {
        if (inHandshake < _limits.Start)
        {
            return 0;
        }

        if (inHandshake >= _limits.Full || _limits.Full <= _limits.Start)
        {
            return 100;
        }

        return _limits.RatePercent + ((100 - _limits.RatePercent) * (inHandshake - _limits.Start) / (_limits.Full - _limits.Start));
    }

    /// <summary>
    /// The source a connection counts against: the IPv4 address, or the /64 of an IPv6 address (one host's share; a
    /// single IPv6 host usually owns a whole /64). Null (unknown) counts as one source.
    /// </summary>
    public static string SourceOf(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
