// What a client shows for the reply to a team's declared command (docs/extensions.md): the values named as the
// declaration file says, a colour reading's swatch, a message's text. The CLI, the console and the web gateway
// render it; the naming and the swatch are decided here once.
using System.Globalization;
using Alex.Protocol;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Extensions;
using Alex.Protocol.Serial;

namespace Alex.Client;

/// <summary>A declared command's reply, named: its values (or text) and, for a colour, the swatch.</summary>
public sealed record DeclaredReading(string Command, IReadOnlyList<DeclaredValue> Values, string Text, DeclaredShow Show, string? Swatch)
{
    /// <summary>One line for people: "red 310 Hz, green 120 Hz, blue 95 Hz", or the message's text.</summary>
    public string Summary => Values.Count == 0 ? Text : string.Join(", ", Values);

    /// <summary>The reading in a reply, when the command is a declared one that answers with values; else null.</summary>
    public static DeclaredReading? From(TeamExtensions extensions, CommandReply reply)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        ArgumentNullException.ThrowIfNull(reply);
        return reply.Declared is { } declared && extensions.TryGetByCode(declared.Command, out var command) ? From(command, declared) : null;
    }

    public static DeclaredReading From(DeclaredCommand command, AlexLinkDeclaredReply reply)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(reply);
        if (command.Reply != DeclaredReplyKind.Response || command.Response is not { } response)
        {
            return new DeclaredReading(command.Name, [], reply.Text, DeclaredShow.Number, null);
        }

        var values = response.Decode(reply.Params);
        return new DeclaredReading(command.Name, values, "", response.Show, response.Show == DeclaredShow.Colour ? SwatchOf(response, values) : null);
    }

    // Each of red, green and blue scaled by its declared max (255 when none) to 0–255: "#rrggbb".
    private static string SwatchOf(DeclaredResponse response, IReadOnlyList<DeclaredValue> values)
    {
        int Channel(string name)
        {
            var field = response.Fields.First(f => f.Name == name);
            var value = values.First(v => v.Name == name).Value;
            var max = field.Max == 0 ? 255u : field.Max;
            return (int)Math.Min(255, (ulong)value * 255 / max);
        }

        return string.Create(CultureInfo.InvariantCulture, $"#{Channel("red"):x2}{Channel("green"):x2}{Channel("blue"):x2}");
    }
}
