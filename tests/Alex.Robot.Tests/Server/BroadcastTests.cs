using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Robot.Server;

namespace Alex.Robot.Tests.Server;

/// <summary>What the hub tells everyone is encoded once per protocol, however many sessions get it.</summary>
public sealed class BroadcastTests
{
    [Fact]
    public void EncodedFor_RendersOncePerProtocol()
    {
        var broadcast = Broadcast.Status(default(StatusCounters), DateTimeOffset.UnixEpoch);
        var renders = 0;
        ReadOnlyMemory<byte> Render(Broadcast b)
        {
            renders++;
            return AlexLinkWriter.Encode(b.Message);
        }

        var first = broadcast.EncodedFor(SessionProtocol.AlexLink1, Render);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(first.Equals(broadcast.EncodedFor(SessionProtocol.AlexLink1, Render)));
        }

        Assert.Equal(1, renders);
        broadcast.EncodedFor(SessionProtocol.Classic, _ => new byte[] { 2 });
        Assert.Equal(1, renders);
        Assert.Equal(AlexLinkTopics.Status, broadcast.Topic);
    }
}
