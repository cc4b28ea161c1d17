using System.CommandLine;
using Alex.Cli;

return await AlexCommandLine.RunAsync(args).ConfigureAwait(false);
