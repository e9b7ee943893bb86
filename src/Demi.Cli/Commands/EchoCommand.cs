using System.CommandLine;
using Demi.Cli.CommandLine;

namespace Demi.Cli.Commands;

/// <summary><c>demi echo</c>: the echo subcommands.</summary>
internal sealed class EchoCommand : Command
{
    public EchoCommand()
        : base("echo", "Echo servers and clients: demo, server, client.")
    {
        Add(new EchoDemoCommand());
        Add(new EchoServerCommand());
        Add(new EchoClientCommand());
        SetAction(MissingSubcommand);
    }

    /// <summary><c>demi echo</c> alone is a usage error that says what is missing.</summary>
    private int MissingSubcommand(ParseResult parse)
        => throw new UsageException($"echo: missing subcommand: {CliOptions.OneOf(Subcommands.Select(c => c.Name).ToList())} (see `demi echo --help`)");
}
