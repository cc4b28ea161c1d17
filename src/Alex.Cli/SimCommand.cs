using System.CommandLine;

namespace Alex.Cli;

/// <summary>`alex sim`: the simulated Alex (issue 2). Filled in by the foundation work.</summary>
internal static class SimCommand
{
    public static Command Create()
    {
        var cmd = new Command("sim", "Run the simulated Alex (an Arduino running the course firmware).");
        cmd.SetAction(int (_) => throw new CliException("alex sim: not built yet"));
        return cmd;
    }
}
