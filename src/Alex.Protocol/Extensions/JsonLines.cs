// A JSON document as a small tree whose every value knows its line, so that a check can say
// "line 14: ..." about any field (System.Text.Json's DOM forgets where things were). Strict: duplicate
// names in an object and trailing commas are errors; comments (// and /* */) are allowed, since a team
// annotates its declaration.
using System.Text;
using System.Text.Json;

namespace Alex.Protocol.Extensions;

internal enum JsonKind
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>One JSON value and the line (1-based) it starts on.</summary>
internal sealed class JsonNode
{
    public JsonNode(JsonKind kind, int line)
    {
        Kind = kind;
        Line = line;
    }

    public JsonKind Kind { get; }

    public int Line { get; }

    /// <summary>Object members in file order, each with the line of its name.</summary>
    public List<(string Name, int Line, JsonNode Value)> Members { get; } = [];

    public List<JsonNode> Items { get; } = [];

    public string Text { get; init; } = "";

    public string KindName => Kind switch
    {
        JsonKind.Object => "an object",
        JsonKind.Array => "a list",
        JsonKind.String => "a string",
        JsonKind.Number => "a number",
        JsonKind.Null => "null",
        _ => "true/false",
    };
}

/// <summary>Exception-free entry: a tree, or the line and reason of the first syntax error.</summary>
internal static class JsonLines
{
    private const int MaxDepth = 16;

    public static bool TryParse(string text, out JsonNode? root, out int errorLine, out string? error)
    {
        root = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            errorLine = 1;
            error = "the file is empty (expected a JSON object)";
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false, MaxDepth = MaxDepth, AllowMultipleValues = true });
        errorLine = 0;
        error = null;
        try
        {
            if (!reader.Read())
            {
                errorLine = 1;
                error = "the file is empty (expected a JSON object)";
                return false;
            }

            root = ReadValue(ref reader, lineStarts, out errorLine, out error);
            if (root is null)
            {
                return false;
            }

            if (reader.Read())
            {
                errorLine = LineOf(reader.TokenStartIndex, lineStarts);
                error = "more text after the end of the JSON object";
                root = null;
                return false;
            }

            return true;
        }
        catch (JsonException e)
        {
            root = null;
            errorLine = (int)(e.LineNumber ?? 0) + 1;
            error = "not valid JSON: " + Plain(e.Message);
            return false;
        }
    }

    private static JsonNode? ReadValue(ref Utf8JsonReader reader, List<int> lineStarts, out int errorLine, out string? error)
    {
        errorLine = 0;
        error = null;
        var line = LineOf(reader.TokenStartIndex, lineStarts);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new JsonNode(JsonKind.Object, line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.GetString()!;
                    var nameLine = LineOf(reader.TokenStartIndex, lineStarts);
                    if (obj.Members.Any(m => m.Name == name))
                    {
                        errorLine = nameLine;
                        error = $"\"{name}\" is given twice in this object";
                        return null;
                    }

                    reader.Read();
                    var value = ReadValue(ref reader, lineStarts, out errorLine, out error);
                    if (value is null)
                    {
                        return null;
                    }

                    obj.Members.Add((name, nameLine, value));
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new JsonNode(JsonKind.Array, line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var item = ReadValue(ref reader, lineStarts, out errorLine, out error);
                    if (item is null)
                    {
                        return null;
                    }

                    array.Items.Add(item);
                }

                return array;
            case JsonTokenType.String:
                return new JsonNode(JsonKind.String, line) { Text = reader.GetString()! };
            case JsonTokenType.Number:
                return new JsonNode(JsonKind.Number, line) { Text = Encoding.UTF8.GetString(reader.ValueSpan) };
            case JsonTokenType.True:
                return new JsonNode(JsonKind.True, line);
            case JsonTokenType.False:
                return new JsonNode(JsonKind.False, line);
            default:
                return new JsonNode(JsonKind.Null, line);
        }
    }

    private static int LineOf(long offset, List<int> lineStarts)
    {
        var i = lineStarts.BinarySearch((int)offset);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    // System.Text.Json's messages end with "LineNumber: 3 | BytePositionInLine: 7.": the line is said by the caller.
    private static string Plain(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var text = (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
        return text.Length > 0 && char.IsUpper(text[0]) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
    }
}
