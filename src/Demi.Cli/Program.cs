using Demi.Cli.CommandLine;

namespace Demi.Cli;

internal static class Program
{
    private static int Main(string[] args) => DemiCommandLine.Run(args, Console.Out, Console.Error);
}
