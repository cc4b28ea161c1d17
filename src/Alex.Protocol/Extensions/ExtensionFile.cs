// The team's declaration file (alex-extensions.json, docs/extensions.md) read and checked: pure, no I/O (the
// caller reads the file). Every problem comes back with its line and a reason; a file with any problem is
// refused whole, so the server never runs half a declaration.
//
// Refused: unknown fields; wrong types; names, codes, letters and keys that clash with the course's own
// (commands 0–6, responses 0–5, letters f b l r s g c, classic packet types 0–3, docs/course-protocol.md §1 and §4)
// or with each other; a moving command that drivers and watchers may both send; a moving command whose
// parameters are not all bounded (min and max); a speed over 100 %; a range whose min is over its max; a reply
// naming a response that is not declared; a response no command replies with.
using Alex.Protocol.Serial;

namespace Alex.Protocol.Extensions;

/// <summary>One thing wrong with a declaration file.</summary>
public readonly record struct ExtensionProblem(int Line, string Reason)
{
    public override string ToString() => $"line {Line}: {Reason}";
}

/// <summary>Parses and checks a declaration file's text.</summary>
public static partial class ExtensionFile
{
    /// <summary>The format's version, the file's "alexExtensions" field.</summary>
    public const int FormatVersion = 1;

    /// <summary>Keys the drive console and the web page already use (docs/extensions.md): a declared key may not be one of them.</summary>
    public const string ReservedKeys = "fwbxlarsdgcqtup0123456789+=-_[].,<> ";

    /// <summary>The course's command letters (docs/course-protocol.md §4), either case.</summary>
    public const string CourseLetters = "fblrsgc";

    private const int MaxCommands = 64;
    private const int MaxNameLength = 24;
    private const int MaxHelpLength = 80;
    private const int MinReplyWithinMs = 100;
    private const int MaxReplyWithinMs = 5000;

    private static readonly string[] s_colourFields = ["red", "green", "blue"];

    private static readonly string[] s_courseNames = ["f", "b", "l", "r", "s", "g", "c", "forward", "reverse", "back", "backward", "left", "right", "stop", "stats", "status", "get", "clear"];

    /// <summary>
    /// The declaration in <paramref name="text"/>, or null with at least one problem. Problems are in line order.
    /// </summary>
    public static TeamExtensions? Parse(string text, out IReadOnlyList<ExtensionProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<ExtensionProblem>();
        problems = found;
        if (!JsonLines.TryParse(text, out var root, out var errorLine, out var error))
        {
            found.Add(new(errorLine, error!));
            return null;
        }

        var checker = new Checker(found);
        var result = checker.Root(root!);
        found.Sort((a, b) => a.Line.CompareTo(b.Line));
        return found.Count == 0 ? result : null;
    }

    /// <summary>The one-line refusal for a file (path, first problem's line and reason) and its hint.</summary>
    public static (string Message, string Hint) Refusal(string path, IReadOnlyList<ExtensionProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var first = problems.Count > 0 ? problems[0] : new ExtensionProblem(1, "not a declaration");
        var more = problems.Count > 1 ? $" ({problems.Count - 1} more problem(s) after this one)" : "";
        return ($"{path} line {first.Line}: {first.Reason}", $"fix the declaration{more}; docs/extensions.md describes every field, examples/ has two files to start from");
    }

    private sealed partial class Checker(List<ExtensionProblem> problems)
    {
        public TeamExtensions? Root(JsonNode root)
        {
            if (root.Kind != JsonKind.Object)
            {
                Fail(root.Line, $"the file must hold one JSON object, not {root.KindName}");
                return null;
            }

            var fields = Fields(root, "the file", "alexExtensions", "description", "responses", "commands");
            if (!fields.TryGetValue("alexExtensions", out var version))
            {
                Fail(root.Line, $"\"alexExtensions\": {FormatVersion} is missing (it says which version of the format this file is)");
            }
            else if (!TryInt(version, out var v) || v != FormatVersion)
            {
                Fail(version.Line, $"\"alexExtensions\" must be {FormatVersion}, the only version of the format there is");
            }

            var description = fields.TryGetValue("description", out var d) ? String(d, "\"description\"", 200) ?? "" : "";

            var responses = new List<DeclaredResponse>();
            if (fields.TryGetValue("responses", out var rs) && List(rs, "\"responses\"") is { } responseNodes)
            {
                foreach (var node in responseNodes)
                {
                    if (Response(node, responses) is { } r)
                    {
                        responses.Add(r);
                    }
                }
            }

            var commands = new List<DeclaredCommand>();
            if (!fields.TryGetValue("commands", out var cs))
            {
                Fail(root.Line, "\"commands\" is missing: a declaration adds at least one command");
            }
            else if (List(cs, "\"commands\"") is { } commandNodes)
            {
                if (commandNodes.Count == 0)
                {
                    Fail(cs.Line, "\"commands\" is empty: a declaration adds at least one command");
                }
                else if (commandNodes.Count > MaxCommands)
                {
                    Fail(cs.Line, $"{commandNodes.Count} commands: at most {MaxCommands}");
                }

                foreach (var node in commandNodes)
                {
                    if (Command(node, responses, commands) is { } c)
                    {
                        commands.Add(c);
                    }
                }
            }

            foreach (var r in responses)
            {
                if (!commands.Any(c => ReferenceEquals(c.Response, r)))
                {
                    Fail(r.Line, $"response \"{r.Name}\" is declared but no command replies with it");
                }
            }

            return new TeamExtensions(description, commands, responses);
        }

        private DeclaredResponse? Response(JsonNode node, List<DeclaredResponse> earlier)
        {
            if (node.Kind != JsonKind.Object)
            {
                Fail(node.Line, $"each response must be an object, not {node.KindName}");
                return null;
            }

            var f = Fields(node, "a response", "name", "code", "statusShaped", "fields", "show", "classicType");
            var ok = true;
            var name = RequiredName(node, f, "response", earlier.Select(r => r.Name), out var nameOk);
            ok &= nameOk;
            var statusShaped = f.TryGetValue("statusShaped", out var ss) && Bool(ss, "\"statusShaped\"") == true;
            byte code = (byte)ResponseCode.Status;
            if (f.TryGetValue("code", out var codeNode))
            {
                if (statusShaped)
                {
                    Fail(codeNode.Line, $"response \"{name}\": give \"code\" or \"statusShaped\": true, not both (a STATUS-shaped reply arrives as RESPONSE STATUS, code 1)");
                    ok = false;
                }
                else if (!TryInt(codeNode, out var c) || c is < 0 or > 255)
                {
                    Fail(codeNode.Line, $"response \"{name}\": \"code\" must be a whole number from 6 to 255");
                    ok = false;
                }
                else if (c <= (int)ResponseCode.BadResponse)
                {
                    Fail(codeNode.Line, $"response \"{name}\": code {c} is the course's {Snake(((ResponseCode)c).ToString())}; the team's responses start at 6");
                    ok = false;
                }
                else if (earlier.FirstOrDefault(r => !r.StatusShaped && r.Code == c) is { } same)
                {
                    Fail(codeNode.Line, $"response \"{name}\": code {c} is already response \"{same.Name}\" (line {same.Line})");
                    ok = false;
                }
                else
                {
                    code = (byte)c;
                }
            }
            else if (!statusShaped)
            {
                Fail(node.Line, $"response \"{name}\": \"code\" (6–255) is missing, or say \"statusShaped\": true for a reply that arrives as RESPONSE STATUS");
                ok = false;
            }

            var fields = new List<DeclaredField>();
            if (!f.TryGetValue("fields", out var fieldsNode))
            {
                Fail(node.Line, $"response \"{name}\": \"fields\" is missing (which params carry which values)");
                ok = false;
            }
            else if (List(fieldsNode, "\"fields\"") is { } items)
            {
                if (items.Count is 0 or > SerialPacket.ParamCount)
                {
                    Fail(fieldsNode.Line, $"response \"{name}\": \"fields\" must list 1 to {SerialPacket.ParamCount} values");
                    ok = false;
                }

                foreach (var item in items)
                {
                    if (Field(item, name, fields) is { } field)
                    {
                        fields.Add(field);
                    }
                    else
                    {
                        ok = false;
                    }
                }
            }
            else
            {
                ok = false;
            }

            var show = DeclaredShow.Number;
            if (f.TryGetValue("show", out var showNode))
            {
                switch (String(showNode, "\"show\"", 16))
                {
                    case "number":
                        break;
                    case "colour" or "color":
                        show = DeclaredShow.Colour;
                        var missing = s_colourFields.Where(n => fields.All(x => x.Name != n)).ToList();
                        if (missing.Count > 0)
                        {
                            Fail(showNode.Line, $"response \"{name}\": \"show\": \"colour\" needs fields named red, green and blue (missing: {string.Join(", ", missing)})");
                            ok = false;
                        }

                        break;
                    case null:
                        ok = false;
                        break;
                    default:
                        Fail(showNode.Line, $"response \"{name}\": \"show\" must be \"number\" or \"colour\"");
                        ok = false;
                        break;
                }
            }

            byte? classic = statusShaped ? (byte)1 : null;
            if (f.TryGetValue("classicType", out var ct))
            {
                if (statusShaped)
                {
                    Fail(ct.Line, $"response \"{name}\": a STATUS-shaped reply goes to classic clients as the course's status packet (type 1); leave out \"classicType\"");
                    ok = false;
                }
                else if (!TryInt(ct, out var t) || t is < 0 or > 255)
                {
                    Fail(ct.Line, $"response \"{name}\": \"classicType\" must be a whole number from 4 to 255");
                    ok = false;
                }
                else if (t <= 3)
                {
                    Fail(ct.Line, $"response \"{name}\": classic packet type {t} is the course's ({ClassicTypeName(t)}); the team's start at 4");
                    ok = false;
                }
                else if (earlier.FirstOrDefault(r => r.ClassicType == t) is { } same)
                {
                    Fail(ct.Line, $"response \"{name}\": classic packet type {t} is already response \"{same.Name}\" (line {same.Line})");
                    ok = false;
                }
                else
                {
                    classic = (byte)t;
                }
            }

            return ok ? new DeclaredResponse(name!, code, statusShaped, fields, show, classic, node.Line) : null;
        }

        private DeclaredField? Field(JsonNode node, string? response, List<DeclaredField> earlier)
        {
            if (node.Kind != JsonKind.Object)
            {
                Fail(node.Line, $"response \"{response}\": each field must be an object, not {node.KindName}");
                return null;
            }

            var f = Fields(node, "a field", "name", "param", "unit", "max");
            var name = RequiredName(node, f, "field", earlier.Select(x => x.Name), out var ok);
            var param = -1;
            if (!f.TryGetValue("param", out var p))
            {
                Fail(node.Line, $"field \"{name}\": \"param\" is missing (which of the packet's params 0–15 carries it)");
                ok = false;
            }
            else if (!TryInt(p, out param) || param is < 0 or >= SerialPacket.ParamCount)
            {
                Fail(p.Line, $"field \"{name}\": \"param\" must be a whole number from 0 to 15");
                ok = false;
            }
            else if (earlier.FirstOrDefault(x => x.Param == param) is { } same)
            {
                Fail(p.Line, $"field \"{name}\": param {param} already carries \"{same.Name}\"");
                ok = false;
            }

            var unit = f.TryGetValue("unit", out var u) ? String(u, "\"unit\"", 12) ?? "" : "";
            uint max = 0;
            if (f.TryGetValue("max", out var m) && !TryUInt(m, out max))
            {
                Fail(m.Line, $"field \"{name}\": \"max\" must be a whole number from 0 to {uint.MaxValue}");
                ok = false;
            }

            return ok ? new DeclaredField(name!, param, unit, max) : null;
        }

        private DeclaredCommand? Command(JsonNode node, List<DeclaredResponse> responses, List<DeclaredCommand> earlier)
        {
            if (node.Kind != JsonKind.Object)
            {
                Fail(node.Line, $"each command must be an object, not {node.KindName}");
                return null;
            }

            var f = Fields(node, "a command", "name", "code", "letter", "key", "roles", "moves", "params", "reply", "replyWithinMs", "help");
            var name = RequiredName(node, f, "command", earlier.Select(c => c.Name), out var ok);
            if (name is not null && s_courseNames.Contains(name))
            {
                Fail(f["name"].Line, $"command \"{name}\": the name is one of the course's commands");
                ok = false;
            }

            var what = $"command \"{name}\"";
            byte code = 0;
            if (!f.TryGetValue("code", out var codeNode))
            {
                Fail(node.Line, $"{what}: \"code\" (7–255, the COMMAND packet's command code) is missing");
                ok = false;
            }
            else if (!TryInt(codeNode, out var c) || c is < 0 or > 255)
            {
                Fail(codeNode.Line, $"{what}: \"code\" must be a whole number from 7 to 255");
                ok = false;
            }
            else if (c <= (int)CommandCode.ClearStats)
            {
                Fail(codeNode.Line, $"{what}: code {c} is the course's {Snake(((CommandCode)c).ToString())}; the team's commands start at 7");
                ok = false;
            }
            else if (earlier.FirstOrDefault(x => x.Code == c) is { } same)
            {
                Fail(codeNode.Line, $"{what}: code {c} is already command \"{same.Name}\" (line {same.Line})");
                ok = false;
            }
            else
            {
                code = (byte)c;
            }

            char? letter = null;
            if (f.TryGetValue("letter", out var letterNode) && OneChar(letterNode, what, "\"letter\"") is { } l)
            {
                if (CourseLetters.Contains(char.ToLowerInvariant(l), StringComparison.Ordinal))
                {
                    Fail(letterNode.Line, $"{what}: letter '{l}' is the course's {CourseCommandName(l)} (the course's letters f b l r s g c are taken, in either case)");
                    ok = false;
                }
                else if (earlier.FirstOrDefault(x => x.Letter is { } xl && char.ToLowerInvariant(xl) == char.ToLowerInvariant(l)) is { } same)
                {
                    Fail(letterNode.Line, $"{what}: letter '{l}' is already command \"{same.Name}\" (line {same.Line}; letters match in either case)");
                    ok = false;
                }
                else
                {
                    letter = char.ToLowerInvariant(l);
                }
            }
            else if (letterNode is not null)
            {
                ok = false;
            }

            char? key = null;
            if (f.TryGetValue("key", out var keyNode) && OneChar(keyNode, what, "\"key\"") is { } k)
            {
                k = char.ToLowerInvariant(k);
                if (ReservedKeys.Contains(k, StringComparison.Ordinal))
                {
                    Fail(keyNode.Line, $"{what}: key '{k}' is taken by the drive console or the web page (taken: {ReservedKeys.Trim()} and space)");
                    ok = false;
                }
                else if (earlier.FirstOrDefault(x => x.Key == k) is { } same)
                {
                    Fail(keyNode.Line, $"{what}: key '{k}' is already command \"{same.Name}\" (line {same.Line})");
                    ok = false;
                }
                else
                {
                    key = k;
                }
            }
            else if (keyNode is not null)
            {
                ok = false;
            }

            var moves = f.TryGetValue("moves", out var movesNode) && Bool(movesNode, $"{what}: \"moves\"") == true;
            var driversOnly = true;
            if (!f.TryGetValue("roles", out var rolesNode))
            {
                Fail(node.Line, $"{what}: \"roles\" is missing: [\"drive\"], or [\"drive\", \"watch\"] for a read watchers may send too");
                ok = false;
            }
            else if (List(rolesNode, $"{what}: \"roles\"") is { } roles)
            {
                var names = roles.Select(r => r.Kind == JsonKind.String ? r.Text : "").ToList();
                if (names.Count == 0 || names.Any(n => n is not ("drive" or "watch")) || names.Distinct().Count() != names.Count || !names.Contains("drive"))
                {
                    Fail(rolesNode.Line, $"{what}: \"roles\" must be [\"drive\"] or [\"drive\", \"watch\"]");
                    ok = false;
                }
                else if (names.Contains("watch"))
                {
                    if (moves)
                    {
                        Fail(rolesNode.Line, $"{what}: it moves the robot, so only drivers may send it (\"roles\": [\"drive\"])");
                        ok = false;
                    }

                    driversOnly = false;
                }
            }
            else
            {
                ok = false;
            }

            var parameters = new List<DeclaredParam>();
            if (f.TryGetValue("params", out var paramsNode) && List(paramsNode, $"{what}: \"params\"") is { } ps)
            {
                if (ps.Count > 2)
                {
                    Fail(paramsNode.Line, $"{what}: at most 2 params (a command carries param0 and param1)");
                    ok = false;
                }

                foreach (var p in ps)
                {
                    if (Param(p, what, moves, parameters) is { } param)
                    {
                        parameters.Add(param);
                    }
                    else
                    {
                        ok = false;
                    }
                }
            }
            else if (paramsNode is not null)
            {
                ok = false;
            }

            if (moves && parameters.Count(p => p.Meaning is ParamMeaning.Distance or ParamMeaning.Angle) > 1)
            {
                Fail(paramsNode!.Line, $"{what}: a move has at most one distance (cm) or angle (deg) parameter");
                ok = false;
            }

            var reply = DeclaredReplyKind.Ok;
            DeclaredResponse? response = null;
            if (!f.TryGetValue("reply", out var replyNode))
            {
                Fail(node.Line, $"{what}: \"reply\" is missing: \"ok\", \"message\", or the name of a declared response");
                ok = false;
            }
            else
            {
                switch (String(replyNode, $"{what}: \"reply\"", MaxNameLength))
                {
                    case "ok":
                        break;
                    case "message":
                        reply = DeclaredReplyKind.Message;
                        break;
                    case null:
                        ok = false;
                        break;
                    case var r:
                        response = responses.FirstOrDefault(x => x.Name == r);
                        if (response is null)
                        {
                            Fail(replyNode.Line, $"{what}: reply \"{r}\" is not \"ok\", \"message\" or a declared response ({(responses.Count == 0 ? "none is declared" : string.Join(", ", responses.Select(x => x.Name)))})");
                            ok = false;
                        }

                        reply = DeclaredReplyKind.Response;
                        break;
                }
            }

            TimeSpan? replyWithin = null;
            if (f.TryGetValue("replyWithinMs", out var withinNode))
            {
                if (!TryInt(withinNode, out var ms) || ms < MinReplyWithinMs || ms > MaxReplyWithinMs)
                {
                    Fail(withinNode.Line, $"{what}: \"replyWithinMs\" must be a whole number of milliseconds from {MinReplyWithinMs} to {MaxReplyWithinMs}");
                    ok = false;
                }
                else if (moves)
                {
                    // One frame is on the line at a time: a STOP waits behind a command until it is answered.
                    Fail(withinNode.Line, $"{what}: it moves the robot, so it must answer within the link's reply timeout: a STOP waits behind it on the line (answer OK at once and move afterwards)");
                    ok = false;
                }
                else
                {
                    replyWithin = TimeSpan.FromMilliseconds(ms);
                }
            }

            var help = f.TryGetValue("help", out var h) ? String(h, $"{what}: \"help\"", MaxHelpLength) ?? "" : "";
            return ok ? new DeclaredCommand(name!, code, letter, key, driversOnly, moves, parameters, reply, response, help, node.Line) { ReplyWithin = replyWithin } : null;
        }

        private DeclaredParam? Param(JsonNode node, string what, bool moves, List<DeclaredParam> earlier)
        {
            if (node.Kind != JsonKind.Object)
            {
                Fail(node.Line, $"{what}: each param must be an object, not {node.KindName}");
                return null;
            }

            var f = Fields(node, "a param", "name", "unit", "min", "max");
            var name = RequiredName(node, f, "param", earlier.Select(p => p.Name), out var ok);
            var unit = f.TryGetValue("unit", out var u) ? String(u, "\"unit\"", 12) ?? "" : "";
            uint min = 0, max = uint.MaxValue;
            if (f.TryGetValue("min", out var minNode) && !TryUInt(minNode, out min))
            {
                Fail(minNode.Line, $"{what}: param \"{name}\": \"min\" must be a whole number from 0 to {uint.MaxValue}");
                ok = false;
            }

            var hasMax = f.TryGetValue("max", out var maxNode);
            if (hasMax && !TryUInt(maxNode!, out max))
            {
                Fail(maxNode!.Line, $"{what}: param \"{name}\": \"max\" must be a whole number from 0 to {uint.MaxValue}");
                ok = false;
            }
            else if (hasMax && min > max)
            {
                Fail(maxNode!.Line, $"{what}: param \"{name}\": min {min} is over max {max}");
                ok = false;
            }

            var meaning = DeclaredParam.MeaningOf(unit);
            if (meaning == ParamMeaning.Speed && (!hasMax || max > 100))
            {
                Fail(hasMax ? maxNode!.Line : node.Line, $"{what}: param \"{name}\" is a speed in %: its \"max\" must be 100 or less");
                ok = false;
            }
            else if (moves && (!hasMax || minNode is null))
            {
                Fail(node.Line, $"{what}: it moves the robot, so param \"{name}\" needs limits: give its \"min\" and \"max\"");
                ok = false;
            }

            return ok ? new DeclaredParam(name!, unit, min, max, hasMax) : null;
        }

        private static string CourseCommandName(char letter) =>
            DriveCommand.TryGetCommand(letter, out var code) ? Snake(code.ToString()) : "?";

        // The course's spelling of its constants: GetStats → GET_STATS.
        private static string Snake(string pascal) =>
            string.Concat(pascal.Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : char.ToUpperInvariant(ch).ToString()));

        private static string ClassicTypeName(int t) => t switch
        {
            0 => "ack / error",
            1 => "status",
            2 => "message",
            _ => "command",
        };

        private void Fail(int line, string reason) => problems.Add(new(line, reason));
    }
}
