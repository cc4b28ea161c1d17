using Alex.Protocol.Serial;

namespace Alex.Protocol.Tests.Serial;

/// <summary>Reading packets: the bare ones (no data, no params) are shared instances, everything else is read whole.</summary>
public sealed class SerialPacketTests
{
    private static byte[] Bytes(SerialPacket packet)
    {
        var bytes = new byte[SerialPacket.Size];
        packet.WriteTo(bytes);
        return bytes;
    }

    [Fact]
    public void Read_BarePackets_AreSharedAndEqualToWhatWasWritten()
    {
        Assert.Same(SerialPacket.Ok(), SerialPacket.Read(Bytes(SerialPacket.Ok())));

        var stop = SerialPacket.Read(Bytes(SerialPacket.ForCommand(CommandCode.Stop)));
        Assert.Same(stop, SerialPacket.Read(Bytes(SerialPacket.ForCommand(CommandCode.Stop))));
        Assert.Equal(SerialPacket.ForCommand(CommandCode.Stop), stop);
        Assert.Equal(SerialPacket.Error(ResponseCode.BadChecksum), SerialPacket.Read(Bytes(SerialPacket.Error(ResponseCode.BadChecksum))));

        // The padding (bytes 2-3) is ignored, as receivers do.
        var padded = Bytes(SerialPacket.Ok());
        padded[2] = 0xAA;
        padded[3] = 0x55;
        Assert.Same(SerialPacket.Ok(), SerialPacket.Read(padded));
    }

    [Theory]
    [InlineData(PacketType.Command, (byte)CommandCode.Forward, 0, 1u)] // a param
    [InlineData(PacketType.Command, (byte)CommandCode.Forward, 15, 1u)] // the last param
    [InlineData(PacketType.Response, (byte)ResponseCode.Ok, -1, 0u)] // data
    [InlineData(PacketType.Command, 9, 0, 0u)] // a code students added
    [InlineData((PacketType)7, 0, 0, 0u)] // an unknown type
    public void Read_AnythingButABarePacket_IsReadWhole(PacketType type, byte code, int paramIndex, uint value)
    {
        var parameters = new uint[SerialPacket.ParamCount];
        if (paramIndex >= 0)
        {
            parameters[paramIndex] = value;
        }

        ReadOnlySpan<byte> data = paramIndex < 0 ? "hi"u8 : default;
        var written = new SerialPacket(type, code, data, parameters);

        var read = SerialPacket.Read(Bytes(written));

        Assert.Equal(written, read);
        Assert.NotSame(read, SerialPacket.Read(Bytes(written)));
        Assert.Equal(written.Params.ToArray(), read.Params.ToArray());
        Assert.Equal(written.Text, read.Text);
    }
}
