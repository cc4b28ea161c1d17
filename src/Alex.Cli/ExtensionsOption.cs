// `--extensions FILE` for the connecting commands (send, drive, web): the team's declaration file
// (docs/extensions.md), read and checked as the server does; a bad file is one line with its line and reason, exit 2.
using System.CommandLine;
using Alex.Protocol.Extensions;

namespace Alex.Cli;

internal static class ExtensionsOption
{
    public static Option<string> Create() =>
        new("--extensions") { Description = "The team's declaration file (alex-extensions.json, docs/extensions.md): its commands by name, key and reply" };

    /// <summary>The declaration, or none when no file is given.</summary>
    public static TeamExtensions Load(string? path)
    {
        if (path is null)
        {
            return TeamExtensions.None;
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--extensions {path}: cannot read it: {e.Message}", "give the path of the team's declaration file (docs/extensions.md)");
        }

        if (ExtensionFile.Parse(text, out var problems) is { } extensions)
        {
            return extensions;
        }

        var (message, hint) = ExtensionFile.Refusal(path, problems);
        throw new CliException(message, hint);
    }
}
