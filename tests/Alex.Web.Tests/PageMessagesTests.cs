using System.Text;
using System.Text.Json;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Client;
using Alex.Web.Robot;

namespace Alex.Web.Tests;

public sealed class PageMessagesTests
{
    private static bool Read(string json, out PageRequest request, out string? error) =>
        PageMessages.TryRead(Encoding.UTF8.GetBytes(json), out request, out error);

    [Theory]
    [InlineData("forward", CommandCode.Forward)]
    [InlineData("reverse", CommandCode.Reverse)]
    [InlineData("left", CommandCode.TurnLeft)]
    [InlineData("right", CommandCode.TurnRight)]
    public void Drive_MapsToTheSerialCommand(string move, CommandCode code)
    {
        Assert.True(Read($$"""{"type":"drive","id":3,"move":"{{move}}","value":50,"speed":75}""", out var r, out _));
        Assert.Equal(new DriveCommand(code, 50, 75), r.Command);
        Assert.Equal(3, r.Id);
    }

    [Theory]
    [InlineData("stop", CommandCode.Stop)]
    [InlineData("stats", CommandCode.GetStats)]
    [InlineData("clear", CommandCode.ClearStats)]
    public void ParameterlessCommands_Map(string type, CommandCode code)
    {
        Assert.True(Read($$"""{"type":"{{type}}","id":1}""", out var r, out _));
        Assert.Equal(code, r.Command.Command);
    }

    [Theory]
    [InlineData("""{"type":"drive","move":"forward","value":-1,"speed":50}""", "value")]
    [InlineData("""{"type":"drive","move":"forward","value":50,"speed":101}""", "speed")]
    [InlineData("""{"type":"drive","move":"forward","value":1.5,"speed":50}""", "value")]
    [InlineData("""{"type":"drive","move":"forward","value":"50","speed":50}""", "value")]
    [InlineData("""{"type":"drive","move":"up","value":5,"speed":50}""", "move")]
    [InlineData("""{"type":"drive","value":5,"speed":50}""", "move")]
    [InlineData("""{"type":"lease","action":"steal"}""", "lease")]
    [InlineData("""{"type":"launch"}""", "unknown")]
    [InlineData("""[1,2]""", "type")]
    [InlineData("""{"type":7}""", "type")]
    [InlineData("""{"type":"stop""", "JSON")]
    [InlineData("""not json""", "JSON")]
    [InlineData("""{"a":{"b":{"c":{"d":{"e":1}}}},"type":"stop"}""", "JSON")]
    public void HostileOrWrongInput_IsAnErrorValue_NotAnException(string json, string mentions)
    {
        Assert.False(Read(json, out _, out var error));
        Assert.Contains(mentions, error, StringComparison.OrdinalIgnoreCase);
    }

    private static readonly Alex.Protocol.Extensions.TeamExtensions Ultrasonic =
        Alex.Protocol.Extensions.ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json")), out _)!;

    [Fact]
    public void Declared_ByNameWithParams_MapsToItsCode()
    {
        Assert.True(PageMessages.TryRead(Encoding.UTF8.GetBytes("""{"type":"declared","id":9,"name":"sweep","params":[40]}"""), Ultrasonic, out var sweep, out _));
        Assert.Equal(new DriveCommand((CommandCode)16, 40), sweep.Command);
        Assert.Equal(9, sweep.Id);
        Assert.True(PageMessages.TryRead(Encoding.UTF8.GetBytes("""{"type":"declared","id":2,"name":"range"}"""), Ultrasonic, out var range, out _));
        Assert.Equal(new DriveCommand((CommandCode)8), range.Command);
    }

    [Theory]
    [InlineData("""{"type":"declared","name":"sweep","params":[90]}""", "sweep: speed 90 % is outside its declared range 0–60 %")]
    [InlineData("""{"type":"declared","name":"sweep","params":[10,1]}""", "sweep takes 1 parameter(s), as an array of whole numbers")]
    [InlineData("""{"type":"declared","name":"sweep","params":[-1]}""", "sweep: speed must be a whole number 0-4294967295")]
    [InlineData("""{"type":"declared","name":"launch"}""", "\"launch\" is not a declared command (declared: range, claw-open, claw-close, sweep)")]
    public void Declared_OutOfRangeOrUnknown_IsAnErrorValue(string json, string error)
    {
        Assert.False(PageMessages.TryRead(Encoding.UTF8.GetBytes(json), Ultrasonic, out _, out var said));
        Assert.Equal(error, said);
    }

    [Fact]
    public void Declared_WithoutADeclaration_SaysHowToGiveOne()
    {
        Assert.False(Read("""{"type":"declared","name":"colour"}""", out _, out var error));
        Assert.Equal("no team commands are declared (alex web --extensions FILE)", error);
    }

    [Fact]
    public void Hello_ListsTheDeclaredCommandsWithKeysAndParams()
    {
        using var doc = JsonDocument.Parse(PageMessages.Hello("127.0.0.1:5000", "1.0.0", new RobotGeometry(), Ultrasonic));
        var commands = doc.RootElement.GetProperty("commands");
        Assert.Equal(["range", "claw-open", "claw-close", "sweep"], commands.EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray());
        var sweep = commands[3];
        Assert.Equal("v", sweep.GetProperty("key").GetString());
        Assert.True(sweep.GetProperty("moves").GetBoolean());
        Assert.True(sweep.GetProperty("driversOnly").GetBoolean());
        Assert.Equal("turn in place until stopped", sweep.GetProperty("help").GetString());
        Assert.Equal("""{"name":"speed","unit":"%","min":0,"max":60}""", sweep.GetProperty("params")[0].GetRawText());
        Assert.False(commands[0].GetProperty("driversOnly").GetBoolean());
    }

    [Fact]
    public void Reply_WithADeclaredReading_CarriesItsValuesAndSwatch()
    {
        var reading = new DeclaredReading("colour", [new("red", 750, "Hz"), new("green", 500, "Hz"), new("blue", 250, "Hz")], "", Alex.Protocol.Extensions.DeclaredShow.Colour, "#bf7f3f");
        using var doc = JsonDocument.Parse(PageMessages.Reply(4, new Alex.Web.Robot.RobotReply(true, "OK", reading), TimeSpan.FromMilliseconds(12)));
        var r = doc.RootElement.GetProperty("reading");
        Assert.Equal("colour", r.GetProperty("command").GetString());
        Assert.Equal("#bf7f3f", r.GetProperty("swatch").GetString());
        Assert.Equal("""{"name":"green","value":500,"unit":"Hz"}""", r.GetProperty("values")[1].GetRawText());
        using var plain = JsonDocument.Parse(PageMessages.Reply(5, new Alex.Web.Robot.RobotReply(true, "OK"), TimeSpan.Zero));
        Assert.False(plain.RootElement.TryGetProperty("reading", out _));
    }

    [Fact]
    public void OversizedMessage_IsRefused()
    {
        var big = new byte[PageMessages.MaxRequestBytes + 1];
        Assert.False(PageMessages.TryRead(big, out _, out var error));
        Assert.Contains("longer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_CarriesAllTenCountersAndThePose()
    {
        var json = PageMessages.Status(new StatusCounters(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), new Pose(1.25, -2, 90));
        using var doc = JsonDocument.Parse(json);
        var c = doc.RootElement.GetProperty("counters");
        Assert.Equal(10, c.EnumerateObject().Count());
        Assert.Equal(9u, c.GetProperty("forwardDistanceCm").GetUInt32());
        Assert.Equal(10u, c.GetProperty("reverseDistanceCm").GetUInt32());
        Assert.Equal(90, doc.RootElement.GetProperty("pose").GetProperty("heading").GetDouble());
    }

    [Fact]
    public void Message_EscapesArduinoText()
    {
        var json = PageMessages.Message("<script>\"x\"</script>");
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("<script>\"x\"</script>", doc.RootElement.GetProperty("text").GetString());
        Assert.DoesNotContain("<script>", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_MeasuredPointsOnly_TenthsOfADegreeAndMillimetres()
    {
        var revolution = new ScanRevolution(42, 0, [new ScanPoint(0, 400), new ScanPoint(16384, 1250), new ScanPoint(32768, 0)]);

        Assert.Equal("""{"type":"scan","seq":42,"points":[[0,400],[900,1250]]}""", Encoding.UTF8.GetString(PageMessages.Scan(revolution)));
    }

    [Fact]
    public void Map_TilesAsTheWiresRunsInBase64_PoseInCmAndDegrees()
    {
        var cells = new sbyte[MapTile.CellCount];
        cells[0] = 64; // the bottom-left cell occupied, the rest unknown: runs (1, 64), (255, 0) × 4, (3, 0)
        var tile = new MapTile(-1, 2, cells);

        var json = Encoding.UTF8.GetString(PageMessages.Map(7, 5, new Alex.Protocol.Mapping.MapPose(12.34, -5, Math.PI / 2), [tile]));

        Assert.Equal("""{"type":"map","seq":7,"cell":5,"pose":{"x":12.3,"y":-5,"heading":90},"reset":false,"tiles":[[-1,2,"AUD/AP8A/wD/AAMA"]]}""", json);
        Assert.Equal(tile.Runs(), Convert.FromBase64String("AUD/AP8A/wD/AAMA"));
        Assert.Equal(cells, MapTile.FromRuns(tile.Runs()));
    }
}
