using System.Text;
using System.Text.Json;
using Alex.Pki.Fleet;
using Alex.Protocol.Fleet;
using Alex.Web.Fleet;

namespace Alex.Web.Tests;

/// <summary>The fleet page's messages (Fleet/FleetPageMessages.cs): what a page may ask, and the board it is sent.</summary>
public sealed class FleetPageMessagesTests
{
    private static bool Read(string json, out FleetPageRequest request, out string? error) =>
        FleetPageMessages.TryRead(Encoding.UTF8.GetBytes(json), out request, out error);

    [Fact]
    public void TryRead_StopAllOrOneRobot_AndPing()
    {
        Assert.True(Read("""{"type":"stop","id":4,"all":true}""", out var all, out _));
        Assert.Equal(new FleetPageRequest("stop", 4, null), all);
        Assert.True(Read("""{"type":"stop","id":5,"robot":"alex-team7"}""", out var one, out _));
        Assert.Equal(new FleetPageRequest("stop", 5, "alex-team7"), one);
        Assert.True(Read("""{"type":"ping","id":6}""", out var ping, out _));
        Assert.Equal("ping", ping.Type);
    }

    [Theory]
    [InlineData("""{"type":"stop","id":1}""", "a stop names one robot")]
    [InlineData("""{"type":"stop","id":1,"robot":null}""", "a stop names one robot")]
    [InlineData("""{"type":"stop","id":1,"all":true,"robot":"alex1"}""", "a stop names one robot")]
    [InlineData("""{"type":"stop","id":1,"all":"yes"}""", "a stop names one robot")]
    [InlineData("""{"type":"stop","id":1,"robot":"+"}""", "contains '/', '+' or '#'")]
    [InlineData("""{"type":"stop","id":1,"robot":"fleet"}""", "the level that addresses every robot")]
    [InlineData("""{"type":"drive","id":1}""", "unknown type 'drive'")]
    [InlineData("""[1,2]""", "expected a JSON object")]
    [InlineData("""{"type":""", "not JSON")]
    public void TryRead_Refused_WithATextForThePage(string json, string why)
    {
        Assert.False(Read(json, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_Oversized_Refused()
    {
        Assert.False(Read($$"""{"type":"stop","robot":"{{new string('a', FleetPageMessages.MaxRequestBytes)}}"}""", out _, out var error));
        Assert.Contains("longer than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Board_RowsInTheBoardsOrder_StateNamesAndAges()
    {
        var now = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
        var board = new FleetBoard();
        board.Heard("alex1", new FleetStatus { Arduino = true, Moving = true, Lease = "laptop", Drivers = 1, Watchers = 2, Admins = 0, Odometry = new FleetOdometry(120, 5, now) }, now.AddSeconds(-3));
        board.Heard("alex2", new FleetStatus { Arduino = false, ArduinoDetail = "no /dev/ttyACM0" }, now.AddSeconds(-1));
        board.Heard("alex3", FleetStatus.OfflineWill, now.AddMinutes(-2));

        using var doc = JsonDocument.Parse(FleetPageMessages.Board(board.Rows(now), new FleetWatchState(true, null, 0, now), now));
        var root = doc.RootElement;
        Assert.Equal("board", root.GetProperty("type").GetString());
        Assert.True(root.GetProperty("connected").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("problem").ValueKind);
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["alex3", "alex2", "alex1"], rows.Select(r => r.GetProperty("robot").GetString()));
        Assert.Equal(["offline", "arduino-down", "moving"], rows.Select(r => r.GetProperty("state").GetString()));
        Assert.Equal(120_000, rows[0].GetProperty("ageMs").GetInt64());
        Assert.Equal("no /dev/ttyACM0", rows[1].GetProperty("note").GetString());
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("drivers").ValueKind);
        Assert.Equal("laptop", rows[2].GetProperty("lease").GetString());
        Assert.Equal(2, rows[2].GetProperty("watchers").GetInt32());
        Assert.Equal(120, rows[2].GetProperty("forwardCm").GetInt64());
        Assert.Equal("driven by laptop", rows[2].GetProperty("note").GetString());
    }

    [Fact]
    public void Board_BrokerLost_NotConnectedWithWhy_RowsAsLastHeard()
    {
        var now = new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
        var board = new FleetBoard();
        board.Heard("alex1", new FleetStatus { Arduino = true, Moving = false }, now.AddSeconds(-5));
        var lost = new FleetWatchState(false, "the broker mqtts://broker.lab:8883 closed the connection", 2, now.AddSeconds(-4));

        using var doc = JsonDocument.Parse(FleetPageMessages.Board(board.Rows(now), lost, now));
        var root = doc.RootElement;
        Assert.False(root.GetProperty("connected").GetBoolean());
        Assert.Equal("the broker mqtts://broker.lab:8883 closed the connection", root.GetProperty("problem").GetString());
        Assert.Equal("alex1", Assert.Single(root.GetProperty("rows").EnumerateArray().ToList()).GetProperty("robot").GetString());
    }

    [Fact]
    public void Hello_SaysWhoAndWhetherTheyMayStop()
    {
        var facts = new FleetPageFacts("mqtts://broker.lab:8883", "laptop", new FleetStopRight(false, true, "'laptop' is a client certificate"));
        using var doc = JsonDocument.Parse(FleetPageMessages.Hello(facts, "1.2.3"));
        var root = doc.RootElement;
        Assert.Equal("hello", root.GetProperty("type").GetString());
        Assert.Equal("laptop", root.GetProperty("you").GetString());
        Assert.False(root.GetProperty("mayStop").GetBoolean());
        Assert.True(root.GetProperty("checked").GetBoolean());
        Assert.Equal("'laptop' is a client certificate", root.GetProperty("why").GetString());
    }
}
