using System.CommandLine;
using Demi.Cli.Commands;
using Demi.Runtime;

namespace Demi.Cli.CommandLine;

/// <summary>
/// The <c>demi</c> command line. To add a command, write a <see cref="Command"/> subclass in
/// <c>Commands/</c> (its options as fields, shared ones from <see cref="LibOSCommandOptions"/> /
/// <see cref="EchoOptions"/>) and add it to <see cref="CreateRoot"/>.
/// <para>
/// Exit codes: 0 success; 1 the run failed (a Demi, AF_XDP or DPDK error); 2 a usage error, printed as
/// one line that names the option.
/// </para>
/// </summary>
internal static class DemiCommandLine
{
    public const int Success = 0;
    public const int RunFailed = 1;
    public const int UsageError = 2;

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("demi: the Demi kernel-bypass libOS command")
        {
            new EchoCommand(),
            new KvCommand(),
            new DoctorCommand(),
        };
        var help = new Command("help", "Shows this help.");
        help.SetAction(parse => root.Parse(["--help"]).Invoke(parse.InvocationConfiguration));
        root.Add(help);
        // `demi` alone shows the help.
        root.SetAction(parse => root.Parse(["--help"]).Invoke(parse.InvocationConfiguration));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; output and errors go to the given writers.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = CreateRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per mistake (usually one), naming the option; help is one flag away.
            for (int i = 0; i < parse.Errors.Count; i++)
                error.WriteLine(i < parse.Errors.Count - 1 ? $"demi: {parse.Errors[i].Message}" : $"demi: {parse.Errors[i].Message} (see `{HelpHint(parse)} --help`)");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException ex)
        {
            error.WriteLine($"demi: {ex.Message}");
            return UsageError;
        }
        catch (DemiException ex)
        {
            error.WriteLine($"demi: {ex.Message}");
            return RunFailed;
        }
        catch (Demi.Transport.Xdp.XdpException ex)
        {
            error.WriteLine($"demi: AF_XDP: {ex.Message} (run `demi doctor`)");
            return RunFailed;
        }
        catch (Demi.Transport.Dpdk.DpdkException ex)
        {
            error.WriteLine($"demi: DPDK: {ex.Message} (run `demi doctor`)");
            return RunFailed;
        }
    }

    private static string HelpHint(ParseResult parse)
    {
        var names = new List<string>();
        for (var command = parse.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(command.Command is RootCommand ? "demi" : command.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
