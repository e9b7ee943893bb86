using Demi.Cli.CommandLine;

namespace Demi.Cli.Tests;

/// <summary>The progress line redraws in place only on a terminal; redirected, it is one line per update.</summary>
public sealed class StatusLineTests
{
    [Fact]
    public void Redirected_WritesOneLinePerUpdate()
    {
        var writer = new StringWriter();
        var line = new StatusLine(writer, inPlace: false);
        line.Update("1 msgs");
        line.Update("2 msgs");
        line.Clear();
        Assert.Equal($"1 msgs{Environment.NewLine}2 msgs{Environment.NewLine}", writer.ToString());
    }

    [Fact]
    public void OnATerminal_RedrawsInPlace_AndClearsTheLongestText()
    {
        var writer = new StringWriter();
        var line = new StatusLine(writer, inPlace: true);
        line.Update("12345 msgs");
        line.Update("9 msgs");
        line.Clear();
        Assert.Equal("\r12345 msgs" + "\r9 msgs    " + "\r      \r", writer.ToString());
        Assert.DoesNotContain('\n', writer.ToString());
    }
}
