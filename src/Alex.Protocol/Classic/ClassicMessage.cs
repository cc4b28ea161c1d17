// The course's network messages inside TLS ("classic"): docs/course-protocol.md §4.
// No length prefix: the first byte is the type and the type fixes the length. The course programs
// send exactly one message per TLS record; readers here still split by length, never by record.
// All integers little-endian.
//
// | type | message      | direction    | size | layout                                                  |
// |------|--------------|--------------|------|---------------------------------------------------------|
// | 0    | ack / error  | Pi -> laptop | 2    | 00, response code (OK 0; 2-5 the Arduino's errors)      |
// | 1    | status       | Pi -> laptop | 65   | 01, 16 x uint32 status params (param i at 1 + 4i)        |
// | 2    | message      | Pi -> laptop | 33   | 02, the 32 data bytes of the Arduino's MESSAGE packet    |
// | 3    | command      | laptop -> Pi | 10   | 03, letter as typed (f b l r s g c, any case), int32 p0, int32 p1 |
// | 4-255| team packet  | Pi -> laptop | 65   | the type a team declared (docs/extensions.md), 16 x uint32 params  |
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Classic;

/// <summary>The first byte of every classic message (the course's NET_*_PACKET constants).</summary>
public enum ClassicMessageType : byte
{
    /// <summary>NET_ERROR_PACKET: an ack (code 0) or an error code.</summary>
    Response = 0,

    /// <summary>NET_STATUS_PACKET.</summary>
    Status = 1,

    /// <summary>NET_MESSAGE_PACKET.</summary>
    Message = 2,

    /// <summary>NET_COMMAND_PACKET.</summary>
    Command = 3,
}

/// <summary>One classic message. Subtypes: <see cref="ClassicResponse"/>, <see cref="ClassicStatus"/>,
/// <see cref="ClassicText"/>, <see cref="ClassicCommand"/>.</summary>
public abstract record ClassicMessage
{
    public const int TypeOffset = 0;

    /// <summary>Longest classic message (status), for buffers.</summary>
    public const int MaxSize = ClassicStatus.Size;

    public abstract ClassicMessageType Type { get; }

    /// <summary>Bytes on the wire, type byte included (the subtype's <c>Size</c>).</summary>
    public abstract int ByteCount { get; }

    /// <summary>The length a message of this type byte has, or false for a byte that is no type.</summary>
    public static bool TryGetSize(byte type, out int size)
    {
        size = type switch
        {
            (byte)ClassicMessageType.Response => ClassicResponse.Size,
            (byte)ClassicMessageType.Status => ClassicStatus.Size,
            (byte)ClassicMessageType.Message => ClassicText.Size,
            (byte)ClassicMessageType.Command => ClassicCommand.Size,
            _ => 0,
        };
        return size != 0;
    }

    /// <summary>Writes exactly <see cref="ByteCount"/> bytes; returns that count.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (destination.Length < ByteCount)
        {
            throw new ArgumentException($"need {ByteCount} bytes", nameof(destination));
        }

        var bytes = destination[..ByteCount];
        bytes.Clear();
        bytes[TypeOffset] = (byte)Type;
        WriteBody(bytes);
        return ByteCount;
    }

    /// <summary>The bytes of one message: what goes into one TLS record.</summary>
    public byte[] Encode()
    {
        var bytes = new byte[ByteCount];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>
    /// What the course Pi server forwards to the laptop for a packet from the Arduino (docs/course-protocol.md §4):
    /// RESPONSE OK → ack, RESPONSE STATUS → status, ERROR c → error c, MESSAGE → message;
    /// anything else is not forwarded (false).
    /// </summary>
    public static bool TryFromArduino(SerialPacket packet, [NotNullWhen(true)] out ClassicMessage? message)
    {
        ArgumentNullException.ThrowIfNull(packet);
        message = packet.Type switch
        {
            PacketType.Response when packet.Code == (byte)ResponseCode.Ok => ClassicResponse.Ok,
            PacketType.Response when packet.Code == (byte)ResponseCode.Status => new ClassicStatus(packet.Params),
            PacketType.Error => new ClassicResponse(packet.Code),
            PacketType.Message => new ClassicText(packet.Data),
            _ => null,
        };
        return message is not null;
    }

    /// <summary>
    /// What the server sends a classic client for the reply to a team's declared command (docs/extensions.md): the ack
    /// for "ok" (and for a response with no classic type), the text for "message", the course's status packet for a
    /// STATUS-shaped response, the team's packet type for a response declared with one.
    /// </summary>
    public static ClassicMessage ForDeclaredReply(DeclaredCommand declared, SerialPacket? packet)
    {
        ArgumentNullException.ThrowIfNull(declared);
        if (packet is null)
        {
            return ClassicResponse.Ok;
        }

        return declared.Reply switch
        {
            DeclaredReplyKind.Message => new ClassicText(packet.Data),
            DeclaredReplyKind.Response when declared.Response!.StatusShaped => new ClassicStatus(packet.Params),
            DeclaredReplyKind.Response when declared.Response!.ClassicType is { } type => new ClassicTeamPacket(type, packet.Params),
            _ => ClassicResponse.Ok,
        };
    }

    private protected abstract void WriteBody(Span<byte> message);
}

/// <summary>A packet type a team declared (4–255): 65 bytes, the type then 16 uint32, shaped like the status packet.</summary>
public sealed record ClassicTeamPacket : ClassicMessage
{
    public const int Size = ClassicStatus.Size;
    public const int ParamsOffset = 1;

    private readonly uint[] _params = new uint[SerialPacket.ParamCount];

    public ClassicTeamPacket(byte type, ReadOnlySpan<uint> parameters)
    {
        if (type <= (byte)ClassicMessageType.Command)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "the course's types are 0-3");
        }

        if (parameters.Length > SerialPacket.ParamCount)
        {
            throw new ArgumentException($"at most {SerialPacket.ParamCount} params", nameof(parameters));
        }

        TypeByte = type;
        parameters.CopyTo(_params);
    }

    public byte TypeByte { get; }

    public override ClassicMessageType Type => (ClassicMessageType)TypeByte;

    public override int ByteCount => Size;

    public ReadOnlySpan<uint> Params => _params;

    private protected override void WriteBody(Span<byte> message)
    {
        for (var i = 0; i < SerialPacket.ParamCount; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(message.Slice(ParamsOffset + (4 * i), 4), _params[i]);
        }
    }

    public bool Equals(ClassicTeamPacket? other) => other is not null && TypeByte == other.TypeByte && _params.AsSpan().SequenceEqual(other._params);

    public override int GetHashCode() => HashCode.Combine(TypeByte, _params[0], _params[1], _params[2]);

    public override string ToString() => $"team packet {TypeByte} [{string.Join(",", _params)}]";

    internal static ClassicTeamPacket Read(ReadOnlySpan<byte> m)
    {
        Span<uint> values = stackalloc uint[SerialPacket.ParamCount];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt32LittleEndian(m.Slice(ParamsOffset + (4 * i), 4));
        }

        return new ClassicTeamPacket(m[TypeOffset], values);
    }
}

/// <summary>Ack (code 0, "OK") or an error code: 2 bytes, <c>00 code</c>.</summary>
public sealed record ClassicResponse(byte Code) : ClassicMessage
{
    public const int Size = 2;
    public const int CodeOffset = 1;

    public static ClassicResponse Ok { get; } = new((byte)ResponseCode.Ok);

    public override ClassicMessageType Type => ClassicMessageType.Response;

    public override int ByteCount => Size;

    public bool IsOk => Code == (byte)ResponseCode.Ok;

    public ResponseCode Response => (ResponseCode)Code;

    internal static ClassicResponse Read(ReadOnlySpan<byte> m) => m[CodeOffset] == 0 ? Ok : new(m[CodeOffset]);

    private protected override void WriteBody(Span<byte> message) => message[CodeOffset] = Code;

    public override string ToString() => IsOk ? "OK" : Enum.IsDefined(Response) ? $"error {Response}" : $"error #{Code}";
}

/// <summary>All 16 params of the Arduino's STATUS packet: 65 bytes, <c>01</c> then 16 uint32.</summary>
public sealed record ClassicStatus : ClassicMessage
{
    public const int Size = 1 + (4 * ParamCount);
    public const int ParamsOffset = 1;
    public const int ParamCount = SerialPacket.ParamCount;

    private readonly uint[] _params = new uint[ParamCount];

    public ClassicStatus(ReadOnlySpan<uint> parameters)
    {
        if (parameters.Length > ParamCount)
        {
            throw new ArgumentException($"at most {ParamCount} params", nameof(parameters));
        }

        parameters.CopyTo(_params);
    }

    public ClassicStatus(in StatusCounters counters)
    {
        counters.CopyTo(_params);
    }

    public override ClassicMessageType Type => ClassicMessageType.Status;

    public override int ByteCount => Size;

    public ReadOnlySpan<uint> Params => _params;

    /// <summary>The ten odometry counters (params 0-9).</summary>
    public StatusCounters Counters => StatusCounters.FromParams(_params);

    internal static ClassicStatus Read(ReadOnlySpan<byte> m)
    {
        Span<uint> p = stackalloc uint[ParamCount];
        for (var i = 0; i < ParamCount; i++)
        {
            p[i] = BinaryPrimitives.ReadUInt32LittleEndian(m.Slice(ParamsOffset + (4 * i), 4));
        }

        return new ClassicStatus(p);
    }

    private protected override void WriteBody(Span<byte> message)
    {
        for (var i = 0; i < ParamCount; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(message.Slice(ParamsOffset + (4 * i), 4), _params[i]);
        }
    }

    public bool Equals(ClassicStatus? other) => other is not null && _params.AsSpan().SequenceEqual(other._params);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var p in _params)
        {
            h.Add(p);
        }

        return h.ToHashCode();
    }

    public override string ToString() => $"status [{string.Join(",", _params[..StatusCounters.Count])}]";
}

/// <summary>A text message from the Arduino: 33 bytes, <c>02</c> then the 32 data bytes.</summary>
public sealed record ClassicText : ClassicMessage
{
    public const int Size = 1 + DataLength;
    public const int DataOffset = 1;
    public const int DataLength = SerialPacket.DataLength;

    private readonly byte[] _data = new byte[DataLength];

    public ClassicText(ReadOnlySpan<byte> data)
    {
        if (data.Length > DataLength)
        {
            throw new ArgumentException($"at most {DataLength} bytes", nameof(data));
        }

        data.CopyTo(_data);
    }

    /// <summary>Text cut to 32 bytes of Latin-1, as the firmware's strncpy does.</summary>
    public ClassicText(string text)
        : this(Encoding.Latin1.GetBytes(text ?? throw new ArgumentNullException(nameof(text))).AsSpan(0, Math.Min(text.Length, DataLength)))
    {
    }

    public override ClassicMessageType Type => ClassicMessageType.Message;

    public override int ByteCount => Size;

    public ReadOnlySpan<byte> Data => _data;

    /// <summary>Up to the first NUL, all 32 bytes when there is none (docs/course-protocol.md §1).</summary>
    public string Text
    {
        get
        {
            var n = Array.IndexOf(_data, (byte)0);
            return Encoding.Latin1.GetString(_data, 0, n < 0 ? DataLength : n);
        }
    }

    internal static ClassicText Read(ReadOnlySpan<byte> m) => new(m.Slice(DataOffset, DataLength));

    private protected override void WriteBody(Span<byte> message) => _data.CopyTo(message[DataOffset..]);

    public bool Equals(ClassicText? other) => other is not null && _data.AsSpan().SequenceEqual(other._data);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(_data);
        return h.ToHashCode();
    }

    public override string ToString() => $"message \"{Text}\"";
}

/// <summary>
/// A command from the laptop: 10 bytes, <c>03</c>, the letter as typed, int32 param0, int32 param1.
/// The letter is kept as sent (any byte): mapping it is <see cref="TryGetDriveCommand"/>'s job.
/// </summary>
public sealed record ClassicCommand(byte Letter, int Param0, int Param1) : ClassicMessage
{
    public const int Size = 10;
    public const int LetterOffset = 1;
    public const int Param0Offset = 2;
    public const int Param1Offset = 6;

    public override ClassicMessageType Type => ClassicMessageType.Command;

    public override int ByteCount => Size;

    /// <summary>The classic message for a command: the lower-case letter, params as int32 bit patterns.</summary>
    public static bool TryFrom(DriveCommand command, [NotNullWhen(true)] out ClassicCommand? message) =>
        TryFrom(command, TeamExtensions.None, out message);

    /// <summary>
    /// As <see cref="TryFrom(DriveCommand, out ClassicCommand?)"/>, a team's declared command by its declared letter
    /// (docs/extensions.md), as the team's own C client sends it.
    /// </summary>
    public static bool TryFrom(DriveCommand command, TeamExtensions extensions, [NotNullWhen(true)] out ClassicCommand? message)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        var letter = extensions.TryGetByCode(command.Command, out var declared) ? declared.Letter ?? '?' : command.Letter;
        if (letter == '?')
        {
            // Codes students added and declared without a letter: the classic protocol cannot say them.
            message = null;
            return false;
        }

        message = new ClassicCommand((byte)letter, unchecked((int)command.Param0), unchecked((int)command.Param1));
        return true;
    }

    /// <summary>
    /// What the course server sends the Arduino for this message (docs/course-protocol.md §4): the letter in either
    /// case picks the command, the params pass through as uint32, except <c>c</c>, which forces param0
    /// to 0. An unknown letter gives false (the course server drops it silently; ours answers an error).
    /// </summary>
    public bool TryGetDriveCommand(out DriveCommand command) => TryGetDriveCommand(TeamExtensions.None, out command);

    /// <summary>
    /// As <see cref="TryGetDriveCommand(out DriveCommand)"/>, with the team's declared letters too (docs/extensions.md):
    /// the declared command's code, params passed through.
    /// </summary>
    public bool TryGetDriveCommand(TeamExtensions extensions, out DriveCommand command)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        if (Letter < 0x80 && extensions.TryGetByLetter((char)Letter, out var declared))
        {
            command = new DriveCommand((CommandCode)declared.Code, unchecked((uint)Param0), unchecked((uint)Param1));
            return true;
        }

        if (Letter >= 0x80 || !DriveCommand.TryGetCommand((char)Letter, out var code))
        {
            command = default;
            return false;
        }

        var p0 = code == CommandCode.ClearStats ? 0u : unchecked((uint)Param0);
        command = new DriveCommand(code, p0, unchecked((uint)Param1));
        return true;
    }

    internal static ClassicCommand Read(ReadOnlySpan<byte> m) => new(
        m[LetterOffset],
        BinaryPrimitives.ReadInt32LittleEndian(m[Param0Offset..]),
        BinaryPrimitives.ReadInt32LittleEndian(m[Param1Offset..]));

    private protected override void WriteBody(Span<byte> message)
    {
        message[LetterOffset] = Letter;
        BinaryPrimitives.WriteInt32LittleEndian(message[Param0Offset..], Param0);
        BinaryPrimitives.WriteInt32LittleEndian(message[Param1Offset..], Param1);
    }

    public override string ToString() => Letter is >= 0x21 and < 0x7F ? $"command '{(char)Letter}' {Param0} {Param1}" : $"command #{Letter} {Param0} {Param1}";
}
