using Demi.Cli.CommandLine;

namespace Demi.Cli.Tests;

/// <summary><c>--backend dpdk</c>'s options through the real parser: what a valid command line turns into.</summary>
public sealed class DpdkOptionsTests
{
    private static System.CommandLine.ParseResult Parse(params string[] args)
    {
        var parse = DemiCommandLine.CreateRoot().Parse(["echo", "server", "--backend", "dpdk", "--ip", "10.0.0.1", .. args]);
        Assert.Empty(parse.Errors);
        return parse;
    }

    [Theory]
    [InlineData("--eal", "-l 0 --no-huge -m 256 --vdev net_tap0")] // one space-separated value, though it starts with '-'
    [InlineData("--eal=-l 0 --no-huge -m 256 --vdev net_tap0", null)]
    public void Eal_TakesTheWholeArgumentList_AsOneValue(string first, string? second)
    {
        var parse = second is null ? Parse(first) : Parse(first, second);
        Assert.Equal(["-l", "0", "--no-huge", "-m", "256", "--vdev", "net_tap0"], parse.GetValue<string[]>("--eal") ?? []);
        Assert.Null(parse.GetValue<string?>("--vdev"));
    }

    [Fact]
    public void Vdev_WithNetnsAndPrefix_IsKeptAsGiven()
    {
        var parse = Parse("--vdev", "net_af_packet0,iface=demi-a,qpairs=2", "--netns", "ns-a", "--prefix", "16");
        Assert.Equal("net_af_packet0,iface=demi-a,qpairs=2", parse.GetValue<string?>("--vdev"));
        Assert.Equal("ns-a", parse.GetValue<string?>("--netns"));
        Assert.Equal(16, parse.GetValue<int>("--prefix"));
        Assert.Empty(parse.GetValue<string[]?>("--eal") ?? []);
    }
}
