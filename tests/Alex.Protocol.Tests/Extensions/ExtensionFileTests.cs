using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Protocol.Tests.Extensions;

/// <summary>
/// The declaration file (docs/extensions.md): the two shipped examples parse to what they say; every file in
/// Extensions/bad/ is refused with the line and reason its first line expects ("// expect: line N: reason").
/// </summary>
public sealed class ExtensionFileTests
{
    public static TheoryData<string> BadFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Extensions", "bad"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Fact]
    public void Parse_ColourSensorExample_ColourCommandAndResponse()
    {
        var set = Example("colour-sensor.json");

        var colour = Assert.Single(set.Commands);
        Assert.Equal(("colour", (byte)7, 'o', 'o'), (colour.Name, colour.Code, colour.Letter!.Value, colour.Key!.Value));
        Assert.False(colour.DriversOnly);
        Assert.False(colour.Moves);
        Assert.Empty(colour.Params);
        Assert.Equal(DeclaredReplyKind.Response, colour.Reply);
        var response = colour.Response!;
        Assert.Equal((byte)6, response.Code);
        Assert.Equal((byte)4, response.ClassicType);
        Assert.Equal(DeclaredShow.Colour, response.Show);
        Assert.Equal(["red", "green", "blue"], response.Fields.Select(f => f.Name));
        Assert.Equal(
            ["red 310 Hz", "green 120 Hz", "blue 95 Hz"],
            response.Decode([310, 120, 95, 7]).Select(v => v.ToString()));
        Assert.True(set.TryGetByLetter('O', out var byLetter));
        Assert.Same(colour, byLetter);
    }

    [Fact]
    public void Parse_UltrasonicServoExample_ReadClawsAndAnUnboundedMove()
    {
        var set = Example("ultrasonic-servo.json");

        Assert.Equal(["range", "claw-open", "claw-close", "sweep"], set.Commands.Select(c => c.Name));
        var range = set.Commands[0];
        Assert.True(range.Response!.StatusShaped);
        Assert.Equal((byte)1, range.Response.ClassicType);
        Assert.False(range.DriversOnly);
        Assert.True(set.Commands[1].DriversOnly);
        var sweep = set.Commands[3];
        Assert.True(sweep.Moves);
        Assert.True(set.IsMove((CommandCode)16));
        Assert.False(set.IsMove((CommandCode)8));
        Assert.True(set.Relays((CommandCode)14));
        Assert.False(set.Relays((CommandCode)9));
        Assert.True(sweep.RunsUntilStopped(new DriveCommand((CommandCode)16, 0, 40)));
        Assert.Null(sweep.CheckRanges(new DriveCommand((CommandCode)16, 40, 0)));
        Assert.Equal("sweep: speed 61 % is outside its declared range 0–60 %", sweep.CheckRanges(new DriveCommand((CommandCode)16, 61, 0)));
        Assert.Equal("sweep takes 1 parameter(s); param1 must be 0, got 5", sweep.CheckRanges(new DriveCommand((CommandCode)16, 10, 5)));
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Parse_BadFile_RefusedWithItsLineAndReason(string file)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Extensions", "bad", file));
        var expected = text[..text.IndexOf('\n', StringComparison.Ordinal)]["// expect: ".Length..];

        var set = ExtensionFile.Parse(text, out var problems);

        Assert.Null(set);
        Assert.Equal(expected, problems[0].ToString());
    }

    [Fact]
    public void Parse_SeveralProblems_AllSaidInLineOrder()
    {
        const string text = """
            {
              "alexExtensions": 1,
              "commands": [
                { "name": "a", "code": 3, "roles": ["drive"], "reply": "ok" },
                { "name": "y", "code": 7, "roles": ["watch"], "reply": "ok", "letter": "f" }
              ]
            }
            """;

        Assert.Null(ExtensionFile.Parse(text, out var problems));

        Assert.Equal(
            [
                "line 4: command \"a\": code 3 is the course's TURN_RIGHT; the team's commands start at 7",
                "line 5: command \"y\": letter 'f' is the course's FORWARD (the course's letters f b l r s g c are taken, in either case)",
                "line 5: command \"y\": \"roles\" must be [\"drive\"] or [\"drive\", \"watch\"]",
            ],
            problems.Select(p => p.ToString()));
    }

    [Theory]
    [InlineData("", "line 1: the file is empty (expected a JSON object)")]
    [InlineData("[]", "line 1: the file must hold one JSON object, not a list")]
    [InlineData("{\"alexExtensions\": 1}", "line 1: \"commands\" is missing: a declaration adds at least one command")]
    [InlineData("{\"alexExtensions\": 1, \"commands\": []}\n{}", "line 2: more text after the end of the JSON object")]
    public void Parse_NotADeclaration_Refused(string text, string expected)
    {
        Assert.Null(ExtensionFile.Parse(text, out var problems));
        Assert.Equal(expected, problems[0].ToString());
    }

    [Fact]
    public void Parse_ReservedKeys_NoneFreeForTheConsoleLetters()
    {
        foreach (var key in ExtensionFile.ReservedKeys.Trim())
        {
            var text = $$"""{ "alexExtensions": 1, "commands": [ { "name": "x", "code": 7, "roles": ["drive"], "reply": "ok", "key": "{{(key == '"' ? "\\\"" : key.ToString())}}" } ] }""";
            Assert.Null(ExtensionFile.Parse(text, out _));
        }
    }

    [Fact]
    public void Parse_HostileText_NeverThrows()
    {
        var rng = new Random(21);
        var good = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "ultrasonic-servo.json"));
        for (var i = 0; i < 2000; i++)
        {
            var chars = good.ToCharArray();
            for (var k = 0; k < 1 + rng.Next(4); k++)
            {
                chars[rng.Next(chars.Length)] = "{}[]\",:0-9a \n"[rng.Next(13)];
            }

            var set = ExtensionFile.Parse(new string(chars), out var problems);
            Assert.True(set is not null || problems.Count > 0);
            Assert.All(problems, p => Assert.InRange(p.Line, 1, 1000));
        }

        Assert.Null(ExtensionFile.Parse(new string('[', 5000), out var deep));
        Assert.Single(deep);
    }

    private static TeamExtensions Example(string name)
    {
        var set = ExtensionFile.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", name)), out var problems);
        Assert.True(set is not null, string.Join("\n", problems));
        return set;
    }
}
