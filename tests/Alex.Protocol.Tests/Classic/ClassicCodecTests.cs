using System.Buffers;
using Alex.Protocol.Classic;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Alex.Protocol.Tests.Classic;

/// <summary>The classic network messages, byte for byte as the course programs send them (PROTOCOL.md §4).</summary>
public sealed class ClassicCodecTests
{
    public static TheoryData<int> Vectors => GoldenVectors.Indexes(v => v.Channel == "tls-plaintext");

    [Fact]
    public void Vectors_AllTlsPlaintextPresent()
    {
        Assert.Equal(29, GoldenVectors.TlsPlaintext.Count());
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TryRead_RecordedMessage_DecodesAndReencodesExactly(int index)
    {
        var v = GoldenVectors.Items[index];
        var buffer = new ReadOnlySequence<byte>(v.Bytes);
        Assert.Equal(OperationStatus.Done, ClassicReader.TryRead(ref buffer, out var message));
        Assert.True(buffer.IsEmpty);
        Assert.NotNull(message);
        Assert.Equal(v.Bytes.Length, message.ByteCount);
        Assert.Equal(Convert.ToHexString(v.Expected), Convert.ToHexString(message.Encode()));
        var expectedType = v.Direction == "laptop->pi" ? ClassicMessageType.Command : message.Type;
        Assert.Equal(expectedType, message.Type);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void TryRead_RecordedMessageSplitAtEveryOffset_WaitsThenDecodes(int index)
    {
        var bytes = GoldenVectors.Items[index].Bytes;
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var head = new ReadOnlySequence<byte>(bytes, 0, cut);
            Assert.Equal(OperationStatus.NeedMoreData, ClassicReader.TryRead(ref head, out _));
            Assert.Equal(cut, head.Length);

            var whole = Segmented.Of(bytes, cut);
            Assert.Equal(OperationStatus.Done, ClassicReader.TryRead(ref whole, out var message));
            Assert.True(whole.IsEmpty);
            Assert.Equal(bytes, message!.Encode());
        }
    }

    [Fact]
    public void TryRead_WholeSessionInOneBuffer_YieldsEveryMessageInOrder()
    {
        // What a stream reader sees if records are coalesced: all Pi->laptop vectors back to back.
        var replies = GoldenVectors.TlsPlaintext.Where(v => v.Direction == "pi->laptop").Select(v => v.Bytes).ToList();
        var all = replies.SelectMany(b => b).ToArray();
        for (var cut = 0; cut <= all.Length; cut += 7)
        {
            var buffer = Segmented.Of(all, cut);
            var got = new List<byte[]>();
            while (ClassicReader.TryRead(ref buffer, out var m) == OperationStatus.Done)
            {
                got.Add(m!.Encode());
            }

            Assert.True(buffer.IsEmpty);
            Assert.Equal(replies, got);
        }
    }

    [Fact]
    public void Encode_ForwardFiftyAtSeventyFive_MatchesProtocolExample()
    {
        Assert.True(ClassicCommand.TryFrom(new DriveCommand(CommandCode.Forward, 50, 75), out var f));
        Assert.Equal("0366320000004B000000", Convert.ToHexString(f.Encode()));
        Assert.True(ClassicCommand.TryFrom(DriveCommand.GetStats, out var g));
        Assert.Equal("03670000000000000000", Convert.ToHexString(g.Encode()));
        Assert.Equal("0000", Convert.ToHexString(ClassicResponse.Ok.Encode()));
    }

    [Fact]
    public void Decode_RecordedStatus_GivesCounters()
    {
        var v = GoldenVectors.TlsPlaintext.First(v => v.Bytes.Length == ClassicStatus.Size && v.Bytes[1] == 0xDD);
        Assert.Equal(OperationStatus.Done, ClassicReader.TryRead(v.Bytes, out var m, out var consumed));
        Assert.Equal(65, consumed);
        var status = Assert.IsType<ClassicStatus>(m);
        Assert.Equal(new StatusCounters(477, 477, 286, 286, 114, 228, 228, 114, 49, 29), status.Counters);
    }

    private static Alex.Protocol.Extensions.TeamExtensions Colour =>
        Alex.Protocol.Extensions.ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "colour-sensor.json")), out _)!;

    [Fact]
    public void TryFrom_DeclaredCommand_GoesAsItsDeclaredLetter()
    {
        Assert.False(ClassicCommand.TryFrom(new DriveCommand((CommandCode)7), out _));
        Assert.True(ClassicCommand.TryFrom(new DriveCommand((CommandCode)7, 1, 2), Colour, out var colour));
        Assert.Equal("036f0100000002000000", Convert.ToHexString(colour.Encode()).ToLowerInvariant());
        Assert.True(ClassicCommand.TryFrom(DriveCommand.GetStats, Colour, out var g));
        Assert.Equal("03670000000000000000", Convert.ToHexString(g.Encode()));
    }

    [Fact]
    public void TryRead_DeclaredClassicType_ReadsTheTeamPacket_UndeclaredTypeStaysInvalid()
    {
        var packet = Convert.FromHexString("04" + "36010000" + "78000000" + "5F000000" + string.Concat(Enumerable.Repeat("00000000", 13)));
        Assert.Equal(OperationStatus.InvalidData, ClassicReader.TryRead(packet, out _, out _));
        Assert.Equal(OperationStatus.NeedMoreData, ClassicReader.TryRead(packet.AsSpan(0, 64), Colour, out _, out var none));
        Assert.Equal(0, none);
        Assert.Equal(OperationStatus.Done, ClassicReader.TryRead([.. packet, 0, 0], Colour, out var m, out var consumed));
        Assert.Equal(65, consumed);
        var team = Assert.IsType<ClassicTeamPacket>(m);
        Assert.Equal((byte)4, team.TypeByte);
        Assert.Equal([310u, 120u, 95u], team.Params[..3].ToArray());
        Assert.Equal(packet, team.Encode());
        Assert.Equal(OperationStatus.InvalidData, ClassicReader.TryRead([5, .. packet[1..]], Colour, out _, out _));
    }

    [Fact]
    public void Decode_RecordedMessage_GivesText()
    {
        var v = GoldenVectors.TlsPlaintext.First(v => v.Bytes.Length == ClassicText.Size);
        Assert.Equal(OperationStatus.Done, ClassicReader.TryRead(v.Bytes, out var m, out _));
        Assert.Equal("Hello from Alex", Assert.IsType<ClassicText>(m).Text);
    }

    [Theory]
    [InlineData("0366320000004b000000", CommandCode.Forward, 50u, 75u)]
    [InlineData("03460a00000064000000", CommandCode.Forward, 10u, 100u)]
    [InlineData("03621e0000003c000000", CommandCode.Reverse, 30u, 60u)]
    [InlineData("036c5a00000050000000", CommandCode.TurnLeft, 90u, 80u)]
    [InlineData("03722d00000046000000", CommandCode.TurnRight, 45u, 70u)]
    [InlineData("03730000000000000000", CommandCode.Stop, 0u, 0u)]
    [InlineData("03670000000000000000", CommandCode.GetStats, 0u, 0u)]
    [InlineData("03437b000000c8010000", CommandCode.ClearStats, 0u, 456u)]
    [InlineData("0342ffffffff05000000", CommandCode.Reverse, uint.MaxValue, 5u)]
    public void TryGetDriveCommand_Letter_MapsAsCourseServer(string hex, CommandCode code, uint p0, uint p1)
    {
        Assert.Equal(OperationStatus.Done, ClassicReader.TryRead(Convert.FromHexString(hex), out var m, out _));
        Assert.True(Assert.IsType<ClassicCommand>(m).TryGetDriveCommand(out var command));
        Assert.Equal(new DriveCommand(code, p0, p1), command);
    }

    [Theory]
    [InlineData((byte)'q')]
    [InlineData((byte)'x')]
    [InlineData((byte)0)]
    [InlineData((byte)0xE6)] // 'æ' in Latin-1: ToLower must not map it anywhere
    [InlineData((byte)0xC6)]
    public void TryGetDriveCommand_UnknownLetter_IsFalseNotException(byte letter)
    {
        Assert.False(new ClassicCommand(letter, 1, 2).TryGetDriveCommand(out _));
    }

    [Theory]
    [InlineData((byte)4)]
    [InlineData((byte)0x16)]
    [InlineData((byte)0xFF)]
    [InlineData((byte)'f')]
    public void TryRead_UnknownTypeByte_IsInvalidDataAndConsumesNothing(byte type)
    {
        var buffer = new ReadOnlySequence<byte>([type, 0x66, 0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Equal(OperationStatus.InvalidData, ClassicReader.TryRead(ref buffer, out var m));
        Assert.Null(m);
        Assert.Equal(10, buffer.Length);
    }

    [Fact]
    public void TryRead_Empty_NeedsMoreData()
    {
        var empty = ReadOnlySequence<byte>.Empty;
        Assert.Equal(OperationStatus.NeedMoreData, ClassicReader.TryRead(ref empty, out _));
        Assert.Equal(OperationStatus.NeedMoreData, ClassicReader.TryRead([], out _, out var consumed));
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void TryFromArduino_EachPacketType_MapsAsCourseServer()
    {
        Assert.True(ClassicMessage.TryFromArduino(SerialPacket.Ok(), out var ok));
        Assert.Equal("0000", Convert.ToHexString(ok.Encode()));
        Assert.True(ClassicMessage.TryFromArduino(SerialPacket.Error(ResponseCode.BadChecksum), out var bad));
        Assert.Equal("0003", Convert.ToHexString(bad.Encode()));
        var counters = new StatusCounters(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        Assert.True(ClassicMessage.TryFromArduino(SerialPacket.StatusReply(counters), out var status));
        Assert.Equal(counters, Assert.IsType<ClassicStatus>(status).Counters);
        Assert.True(ClassicMessage.TryFromArduino(SerialPacket.Message("Hello from Alex"), out var text));
        Assert.Equal("0248656C6C6F2066726F6D20416C6578" + new string('0', 34), Convert.ToHexString(text.Encode()));

        Assert.False(ClassicMessage.TryFromArduino(SerialPacket.Hello(), out _));
        Assert.False(ClassicMessage.TryFromArduino(new SerialPacket(PacketType.Response, (byte)ResponseCode.BadPacket, default, default), out _));
        Assert.False(ClassicMessage.TryFromArduino(SerialPacket.ForCommand(CommandCode.Forward, 1, 2), out _));
    }

    [Fact]
    public void ClassicText_ThirtyTwoChars_HasNoTerminator()
    {
        var text = new ClassicText(new string('A', 40));
        Assert.Equal(new string('A', 32), text.Text);
        Assert.Equal(33, text.Encode().Length);
    }

    [Fact]
    public void ClassicWriter_Write_AppendsExactBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.Equal(10, ClassicWriter.Write(buffer, new ClassicCommand((byte)'f', 50, 75)));
        Assert.Equal("0366320000004B000000", Convert.ToHexString(buffer.WrittenSpan));
    }

    [Property(MaxTest = 300)]
    public Property RoundTrip_AnyMessage_ReadsBackEqual() =>
        Prop.ForAll(Arbitrary(), message =>
        {
            var bytes = message.Encode();
            var buffer = new ReadOnlySequence<byte>(bytes);
            return ClassicReader.TryRead(ref buffer, out var back) == OperationStatus.Done
                && buffer.IsEmpty
                && message.Equals(back);
        });

    [Property(MaxTest = 300)]
    public Property TryRead_AnyBytes_NeverThrowsAndConsumesAMessageLength(byte[] junk) =>
        Prop.ToProperty(Consumes(junk));

    private static bool Consumes(byte[] junk)
    {
        var buffer = new ReadOnlySequence<byte>(junk ?? []);
        while (true)
        {
            var before = buffer.Length;
            var status = ClassicReader.TryRead(ref buffer, out var m);
            if (status != OperationStatus.Done)
            {
                return buffer.Length == before;
            }

            if (m is null || before - buffer.Length != m.ByteCount || !ClassicMessage.TryGetSize((byte)m.Type, out _))
            {
                return false;
            }
        }
    }

    private static Arbitrary<ClassicMessage> Arbitrary()
    {
        var response = ArbMap.Default.GeneratorFor<byte>().Select(c => (ClassicMessage)new ClassicResponse(c));
        var status = ArbMap.Default.GeneratorFor<uint>().ArrayOf(16).Select(p => (ClassicMessage)new ClassicStatus(p));
        var text = ArbMap.Default.GeneratorFor<byte>().ArrayOf(32).Select(d => (ClassicMessage)new ClassicText(d));
        var command = ArbMap.Default.GeneratorFor<(byte, int, int)>().Select(t => (ClassicMessage)new ClassicCommand(t.Item1, t.Item2, t.Item3));
        return Gen.OneOf(response, status, text, command).ToArbitrary();
    }
}
