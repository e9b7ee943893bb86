using System.Text.RegularExpressions;
using Demi.Cli.CommandLine;

namespace Demi.Cli.Tests;

/// <summary>The command lines the README and CI print are ones the parser accepts, with the values they mean.</summary>
public sealed partial class DocumentedCommandLineTests
{
    [Fact]
    public void CiDemoCommandLine_ParsesToTheShortRun()
    {
        // .ci/run: dotnet run --project src/Demi.Cli -c Release -- echo demo --duration 2 --warmup 1s --quiet
        var ci = File.ReadAllText(Path.Combine(RepoRoot(), ".ci", "run"));
        Assert.Contains("-- echo demo --duration 2 --warmup 1s --quiet", ci);
        var parse = DemiCommandLine.CreateRoot().Parse(["echo", "demo", "--duration", "2", "--warmup", "1s", "--quiet"]);
        Assert.Empty(parse.Errors);
        Assert.Equal(TimeSpan.FromSeconds(2), parse.GetValue<TimeSpan>("--duration"));
        Assert.Equal(TimeSpan.FromSeconds(1), parse.GetValue<TimeSpan>("--warmup"));
        Assert.True(parse.GetValue<bool>("--quiet"));
        Assert.Equal(64, parse.GetValue<int>("--size"));
    }

    [Fact]
    public void EveryDemiCommandInTheReadme_Parses()
    {
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        var commands = CommandLines().Matches(readme).Select(m => m.Groups["args"].Value.Trim()).ToList();
        Assert.NotEmpty(commands);
        foreach (var command in commands)
        {
            var parse = DemiCommandLine.CreateRoot().Parse(command.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.True(parse.Errors.Count == 0, $"README: `{command}`: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
    }

    [Theory]
    [InlineData("echo", "demo")]
    [InlineData("echo", "client")]
    [InlineData("echo", "server")]
    [InlineData("kv")]
    public void EveryDefaultTheHelpPrints_IsAcceptedAsInput(params string[] command)
    {
        // A newcomer copies "[default: 00:00:05]" from --help into the command line; it must mean the default.
        var output = new StringWriter();
        Assert.Equal(0, DemiCommandLine.Run([.. command, "--help"], output, new StringWriter()));
        var defaults = HelpDefaults().Matches(output.ToString()).ToList();
        Assert.NotEmpty(defaults);
        foreach (Match d in defaults)
        {
            string option = d.Groups["option"].Value, value = d.Groups["value"].Value;
            if (value is "True" or "False")
                continue; // a flag takes no value
            var parse = DemiCommandLine.CreateRoot().Parse([.. command, option, value]);
            Assert.True(parse.Errors.Count == 0, $"{string.Join(' ', command)} {option} {value}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
    }

    [GeneratedRegex(@"^\s+(?:-\w, )?(?<option>--[\w-]+)[^\n]*\[default: (?<value>[^\]]+)\]", RegexOptions.Multiline)]
    private static partial Regex HelpDefaults();

    // Lines of shell blocks that run the CLI: `demi ...` or `dotnet run --project src/Demi.Cli ... -- ...`.
    [GeneratedRegex(@"^(?:demi |dotnet run --project src/Demi\.Cli[^\n]*? -- )(?<args>[^\n#]*)$", RegexOptions.Multiline)]
    private static partial Regex CommandLines();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Demi.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Demi.sln not found above " + AppContext.BaseDirectory);
    }
}
