// The 100-byte packet the course firmware and Pi exchange: docs/course-protocol.md §1.
//
// | offset | size | field                                                         |
// |--------|------|---------------------------------------------------------------|
// | 0      | 1    | packet type: COMMAND 0, RESPONSE 1, ERROR 2, MESSAGE 3, HELLO 4 |
// | 1      | 1    | command (COMMAND) or response code (RESPONSE / ERROR)         |
// | 2      | 2    | padding (senders write zeros, receivers ignore)               |
// | 4      | 32   | data: MESSAGE text, NUL-padded, no terminator at 32 chars     |
// | 36     | 64   | params: 16 x uint32 little-endian (param i at 36 + 4i)        |
using System.Buffers.Binary;
using System.Text;

namespace Alex.Protocol.Serial;

/// <summary>Packet types (docs/course-protocol.md §1, offset 0).</summary>
public enum PacketType : byte
{
    Command = 0,
    Response = 1,
    Error = 2,
    Message = 3,
    Hello = 4,
}

/// <summary>Command codes of COMMAND packets. Students add codes from 7 up.</summary>
public enum CommandCode : byte
{
    Forward = 0,
    Reverse = 1,
    TurnLeft = 2,
    TurnRight = 3,
    Stop = 4,
    GetStats = 5,
    ClearStats = 6,
}

/// <summary>Response codes of RESPONSE and ERROR packets. Students add 6 and up.</summary>
public enum ResponseCode : byte
{
    Ok = 0,
    Status = 1,
    BadPacket = 2,
    BadChecksum = 3,
    BadCommand = 4,
    BadResponse = 5,
}

/// <summary>
/// One serial packet. Immutable; equality compares every field (so round-trip tests are exact).
/// </summary>
public sealed class SerialPacket : IEquatable<SerialPacket>
{
    public const int Size = 100;
    public const int TypeOffset = 0;
    public const int CodeOffset = 1;
    public const int DataOffset = 4;
    public const int DataLength = 32;
    public const int ParamsOffset = 36;
    public const int ParamCount = 16;

    // Packets are immutable, so the bare ones (no data, no params: OK, STOP, GET_STATS...) are shared instances, made once,
    // whether built or read: every command and its reply on the serial path would otherwise allocate one each (bench
    // `roundtrip`). Index: type * 8 + code, for the course's types and codes 0-7.
    private static readonly SerialPacket?[] s_bare = new SerialPacket?[5 * 8];

    private readonly byte[] _data;
    private readonly uint[] _params;

    public SerialPacket(PacketType type, byte code, ReadOnlySpan<byte> data, ReadOnlySpan<uint> parameters)
    {
        if (data.Length > DataLength)
        {
            throw new ArgumentException($"data is at most {DataLength} bytes", nameof(data));
        }

        if (parameters.Length > ParamCount)
        {
            throw new ArgumentException($"at most {ParamCount} params", nameof(parameters));
        }

        Type = type;
        Code = code;
        _data = new byte[DataLength];
        data.CopyTo(_data);
        _params = new uint[ParamCount];
        parameters.CopyTo(_params);
    }

    public PacketType Type { get; }

    /// <summary>The command (COMMAND packets) or response code (RESPONSE / ERROR packets).</summary>
    public byte Code { get; }

    /// <summary>The 32 data bytes, NUL-padded.</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>The 16 parameters.</summary>
    public ReadOnlySpan<uint> Params => _params;

    public CommandCode Command => (CommandCode)Code;

    public ResponseCode Response => (ResponseCode)Code;

    /// <summary>The data as text: up to the first NUL, all 32 bytes when there is none (docs/course-protocol.md §1).</summary>
    public string Text
    {
        get
        {
            var n = Array.IndexOf(_data, (byte)0);
            return Encoding.Latin1.GetString(_data, 0, n < 0 ? DataLength : n);
        }
    }

    public bool IsStatus => Type == PacketType.Response && Code == (byte)ResponseCode.Status;

    public bool IsOk => Type == PacketType.Response && Code == (byte)ResponseCode.Ok;

    public StatusCounters Status => StatusCounters.FromParams(_params);

    public static SerialPacket ForCommand(CommandCode command, uint param0 = 0, uint param1 = 0) => ForRawCommand((byte)command, param0, param1);

    public static SerialPacket ForRawCommand(byte command, uint param0 = 0, uint param1 = 0) =>
        param0 == 0 && param1 == 0 && Bare(PacketType.Command, command) is { } bare
            ? bare
            : new(PacketType.Command, command, default, [param0, param1]);

    public static SerialPacket Hello() => Bare(PacketType.Hello, 0)!;

    /// <summary>RESPONSE OK (the same immutable instance every time).</summary>
    public static SerialPacket Ok() => Bare(PacketType.Response, (byte)ResponseCode.Ok)!;

    public static SerialPacket Error(ResponseCode code) => Bare(PacketType.Error, (byte)code) ?? new(PacketType.Error, (byte)code, default, default);

    public static SerialPacket StatusReply(in StatusCounters status)
    {
        Span<uint> p = stackalloc uint[StatusCounters.Count];
        status.CopyTo(p);
        return new(PacketType.Response, (byte)ResponseCode.Status, default, p);
    }

    /// <summary>A MESSAGE packet; text longer than 32 bytes (Latin-1) is cut, as the firmware's strncpy does.</summary>
    public static SerialPacket Message(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.Latin1.GetBytes(text);
        return new(PacketType.Message, 0, bytes.AsSpan(0, Math.Min(bytes.Length, DataLength)), default);
    }

    // The shared bare packet of this type and code; null outside the table (unknown types, codes from 8).
    private static SerialPacket? Bare(PacketType type, byte code)
    {
        if ((byte)type >= 5 || code >= 8)
        {
            return null;
        }

        ref var slot = ref s_bare[((int)type * 8) + code];
        if (slot is null)
        {
            Interlocked.CompareExchange(ref slot, new SerialPacket(type, code, default, default), null);
        }

        return slot;
    }

    /// <summary>Writes the 100 bytes; padding is zero.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(destination));
        }

        destination[TypeOffset] = (byte)Type;
        destination[CodeOffset] = Code;
        destination[2] = 0;
        destination[3] = 0;
        _data.CopyTo(destination[DataOffset..]);
        for (var i = 0; i < ParamCount; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination.Slice(ParamsOffset + (4 * i), 4), _params[i]);
        }
    }

    /// <summary>Reads a packet from 100 bytes; the padding is ignored.</summary>
    public static SerialPacket Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ArgumentException($"need {Size} bytes", nameof(source));
        }

        var type = source[TypeOffset];
        var code = source[CodeOffset];
        if (source[DataOffset..Size].IndexOfAnyExcept((byte)0) < 0 && Bare((PacketType)type, code) is { } bare)
        {
            return bare;
        }

        Span<uint> p = stackalloc uint[ParamCount];
        for (var i = 0; i < ParamCount; i++)
        {
            p[i] = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(ParamsOffset + (4 * i), 4));
        }

        return new SerialPacket((PacketType)type, code, source.Slice(DataOffset, DataLength), p);
    }

    public bool Equals(SerialPacket? other) =>
        other is not null && Type == other.Type && Code == other.Code &&
        _data.AsSpan().SequenceEqual(other._data) && _params.AsSpan().SequenceEqual(other._params);

    public override bool Equals(object? obj) => Equals(obj as SerialPacket);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Type);
        h.Add(Code);
        h.AddBytes(_data);
        foreach (var p in _params)
        {
            h.Add(p);
        }

        return h.ToHashCode();
    }

    public override string ToString() => Type switch
    {
        PacketType.Command => Enum.IsDefined((CommandCode)Code) ? $"COMMAND {(CommandCode)Code} {_params[0]} {_params[1]}" : $"COMMAND #{Code} {_params[0]} {_params[1]}",
        PacketType.Response when IsStatus => $"RESPONSE STATUS [{string.Join(",", _params[..StatusCounters.Count])}]",
        PacketType.Response or PacketType.Error => $"{Type.ToString().ToUpperInvariant()} {(Enum.IsDefined((ResponseCode)Code) ? ((ResponseCode)Code).ToString() : "#" + Code)}",
        PacketType.Message => $"MESSAGE \"{Text}\"",
        PacketType.Hello => "HELLO",
        _ => $"PACKET type={(byte)Type} code={Code}",
    };
}
