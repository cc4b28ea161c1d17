using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;

namespace Alex.Cli;

/// <summary>
/// The `alex` command tree. Each feature lives in its own *Command.cs file and adds one line here.
/// Exit codes: 0 success, 1 the job failed (a check found problems, a command was refused),
/// 2 bad usage or bad input files, 130 interrupted.
/// </summary>
internal static class AlexCommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitInterrupted = 130;

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "AlexLink: secure remote control for Alex, the course robot.\n\n" +
            "Examples:\n" +
            "  alex demo                       everything on one machine with a simulated Alex\n" +
            "  alex pki init --dir pki         become a CA\n" +
            "  alex serve --pki pki --allow laptop --simulate\n" +
            "  alex send 127.0.0.1:5000 --pki pki f 50 75");

        // Feature commands, one line each (keep a blank line between them: fewer merge conflicts).
        root.Subcommands.Add(DemoCommand.Create());

        root.Subcommands.Add(DriveConsoleCommand.Create());

        root.Subcommands.Add(SendCommand.Create());

        root.Subcommands.Add(ScanCommand.Create());
        root.Subcommands.Add(MapCommand.Create());

        root.Subcommands.Add(RecordCommand.Create());

        root.Subcommands.Add(ReplayCommand.Create());

        root.Subcommands.Add(WebCommand.Create());

        root.Subcommands.Add(ServeCommand.Create());

        root.Subcommands.Add(SimCommand.Create());

        root.Subcommands.Add(PkiCommand.Create());

        root.Subcommands.Add(DoctorCommand.Create());

        root.Subcommands.Add(LabCommand.Create());

        root.Subcommands.Add(AdminCommands.Status());

        root.Subcommands.Add(AdminCommands.Logs());

        root.Subcommands.Add(DiscoverCommand.Create());

        root.Subcommands.Add(FleetCommand.Create());

        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var root = Build();
        var parse = root.Parse(args);
        var command = parse.CommandResult.Command;
        var bareGroup = parse.Errors.Count > 0 && command.Subcommands.Count > 0 && parse.UnmatchedTokens.Count == 0 &&
            parse.Errors.All(e => e.SymbolResult is CommandResult);
        if (command == root && (bareGroup || (parse.Errors.Count == 0 && parse.Action is System.CommandLine.Help.HelpAction)))
        {
            // `alex` alone or `alex --help`: what there is to choose from, one line each.
            WriteGroupHelp(parse.CommandResult, Console.Out);
            return bareGroup ? ExitUsage : ExitOk;
        }

        if (bareGroup)
        {
            // `alex pki` alone: its help, with the examples.
            var path = CommandPath(parse.CommandResult).Split(' ').Skip(1).Append("--help").ToArray();
            await root.Parse(path).InvokeAsync().ConfigureAwait(false);
            return ExitUsage;
        }

        if (parse.Errors.Count > 0)
        {
            // Usage errors: one line each and a pointer to the help, exit 2 (System.CommandLine's own
            // handler prints the whole help page and exits 1).
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"alex: {error.Message}");
            }

            Console.Error.WriteLine($"hint: see `{CommandPath(parse.CommandResult)} --help` for the options and examples");
            return ExitUsage;
        }

        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"alex: {e.Message}");
            if (e.Hint is not null)
            {
                Console.Error.WriteLine($"hint: {e.Hint}");
            }

            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return ExitInterrupted;
        }
    }

    /// <summary>The top-level help: what alex is, then each command with the first line of its description.</summary>
    internal static void WriteGroupHelp(CommandResult group, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(output);
        var path = CommandPath(group);
        var commands = group.Command.Subcommands.Where(c => !c.Hidden).ToList();
        var width = commands.Max(c => c.Name.Length) + 2;
        output.WriteLine(group.Command.Description);
        output.WriteLine();
        output.WriteLine($"Usage: {path} COMMAND [options]");
        output.WriteLine();
        output.WriteLine("Commands:");
        foreach (var c in commands)
        {
            output.WriteLine($"  {c.Name.PadRight(width)}{(c.Description ?? string.Empty).Split('\n')[0]}");
        }

        output.WriteLine();
        output.WriteLine($"Run `{path} COMMAND --help` for a command's options and examples.");
    }

    private static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    public static string Version =>
        typeof(AlexCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
}

/// <summary>A one-line error for the user, with an optional hint that says what to do next.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message, string? hint = null, int exitCode = AlexCommandLine.ExitUsage)
        : base(message)
    {
        Hint = hint;
        ExitCode = exitCode;
    }

    public CliException()
    {
    }

    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Hint { get; }

    public int ExitCode { get; } = AlexCommandLine.ExitUsage;
}
