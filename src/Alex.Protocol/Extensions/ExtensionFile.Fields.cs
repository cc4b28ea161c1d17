// The declaration file's typed field readers (docs/extensions.md, "The file"): each reads one JSON value of the kind
// a field must have, or records at the value's line why it is not (ExtensionFile's Checker holds the rules).
using System.Globalization;

namespace Alex.Protocol.Extensions;

public static partial class ExtensionFile
{
    private sealed partial class Checker
    {
        // The object's members by name; any other name is a problem (a typo must not pass silently).
        private Dictionary<string, JsonNode> Fields(JsonNode obj, string what, params string[] known)
        {
            var found = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
            foreach (var (name, line, value) in obj.Members)
            {
                if (!known.Contains(name))
                {
                    Fail(line, $"\"{name}\" is not a field of {what} (known: {string.Join(", ", known)})");
                    continue;
                }

                found[name] = value;
            }

            return found;
        }

        private string? RequiredName(JsonNode node, Dictionary<string, JsonNode> f, string what, IEnumerable<string> earlier, out bool ok)
        {
            ok = true;
            if (!f.TryGetValue("name", out var n))
            {
                Fail(node.Line, $"a {what} needs a \"name\"");
                ok = false;
                return null;
            }

            var name = String(n, $"the {what}'s \"name\"", MaxNameLength);
            if (name is null)
            {
                ok = false;
                return null;
            }

            if (name.Length == 0 || !char.IsAsciiLetterLower(name[0]) || name.Any(ch => !(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-')))
            {
                Fail(n.Line, $"{what} name \"{name}\" must be lower-case letters, digits and '-', starting with a letter");
                ok = false;
            }
            else if (earlier.Contains(name))
            {
                Fail(n.Line, $"{what} name \"{name}\" is used twice");
                ok = false;
            }

            return name;
        }

        private string? String(JsonNode node, string what, int maxLength)
        {
            if (node.Kind != JsonKind.String)
            {
                Fail(node.Line, $"{what} must be a string, not {node.KindName}");
                return null;
            }

            if (node.Text.Length > maxLength)
            {
                Fail(node.Line, $"{what} is longer than {maxLength} characters");
                return null;
            }

            return node.Text;
        }

        private List<JsonNode>? List(JsonNode node, string what)
        {
            if (node.Kind != JsonKind.Array)
            {
                Fail(node.Line, $"{what} must be a list ([...]), not {node.KindName}");
                return null;
            }

            return node.Items;
        }

        private bool? Bool(JsonNode node, string what)
        {
            if (node.Kind is not (JsonKind.True or JsonKind.False))
            {
                Fail(node.Line, $"{what} must be true or false, not {node.KindName}");
                return null;
            }

            return node.Kind == JsonKind.True;
        }

        private char? OneChar(JsonNode node, string what, string field)
        {
            var s = String(node, $"{what}: {field}", 8);
            if (s is null)
            {
                return null;
            }

            if (s.Length != 1 || s[0] is <= ' ' or >= (char)0x7F)
            {
                Fail(node.Line, $"{what}: {field} must be one printable ASCII character, got \"{s}\"");
                return null;
            }

            return s[0];
        }

        private static bool TryInt(JsonNode node, out int value)
        {
            value = 0;
            return node.Kind == JsonKind.Number && int.TryParse(node.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }

        private static bool TryUInt(JsonNode node, out uint value)
        {
            value = 0;
            return node.Kind == JsonKind.Number && uint.TryParse(node.Text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }
    }
}
