using System.Net;
using System.Net.Sockets;
using Demi.Cli.CommandLine;

namespace Demi.Cli.Tests;

/// <summary>
/// Every user mistake ends in one line that names the option and exit code 2 — never a stack
/// trace. Each case runs the real parser and command, as `demi` does.
/// </summary>
public sealed class UsageErrorTests
{
    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = DemiCommandLine.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static void AssertUsageError(string[] args, string option, string because)
    {
        var (exit, _, error) = Run(args);
        Assert.Equal(DemiCommandLine.UsageError, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"demi: {option}", line);
        Assert.Contains(because, line);
        Assert.DoesNotContain("   at ", error); // no stack trace
    }

    [Theory]
    [InlineData("--bind 127.0.0.1:99999", "--bind '127.0.0.1:99999'", "port from 0 to 65535")]
    [InlineData("--bind 127.0.0.1", "--bind '127.0.0.1'", "the port is missing")]
    [InlineData("--bind 10.0.0.300:7", "--bind '10.0.0.300:7'", "IPv4 address")]
    [InlineData("--idle lazy", "--idle 'lazy'", "spin, park or spin-then-park")]
    [InlineData("--cores 9", "--cores '9'", "core 9 does not exist or is not available")]
    [InlineData("--cores 1-0", "--cores '1-0'", "CPU list")]
    [InlineData("--proto sctp", "--proto 'sctp'", "udp or tcp")]
    [InlineData("--backend dpd", "--backend 'dpd'", "kernel, xdp or dpdk")]
    [InlineData("--backend xdp --iface veth0 --ip 999.1.1.1", "--ip '999.1.1.1'", "IPv4 address")]
    [InlineData("--backend xdp --ip 10.0.0.1", "--iface", "needs the interface")]
    [InlineData("--backend xdp --iface veth0", "--ip", "needs this stack's IPv4 address")]
    [InlineData("--prefix 33", "--prefix '33'", "from 0 to 32")]
    [InlineData("--backend dpdk --ip 10.0.0.1 --vdev net_af_packet0,iface", "--vdev 'net_af_packet0,iface'", "KEY=VALUE pairs")]
    [InlineData("--backend dpdk --ip 10.0.0.1 --vdev 0net", "--vdev '0net'", "a driver name")]
    [InlineData("--backend dpdk --vdev net_af_packet0,iface=veth0", "--ip", "--backend dpdk needs this stack's IPv4 address")]
    [InlineData("--backend dpdk --ip 10.0.0.1", "--vdev", "needs --vdev DEVARGS")]
    public void EchoServer_BadOption(string args, string option, string because)
        => AssertUsageError(["echo", "server", .. args.Split(' ')], option, because);

    [Theory]
    [InlineData("--server localhost:7777", "--server 'localhost:7777'", "host names are not resolved")]
    [InlineData("--size -1", "--size '-1'", "from 1 to 65000")]
    [InlineData("--size 0", "--size '0'", "from 1 to 65000")]
    [InlineData("--size big", "--size 'big'", "integer")]
    [InlineData("--duration abc", "--duration 'abc'", "duration like 10s")]
    [InlineData("--duration -5s", "--duration '-5s'", "duration like 10s")]
    [InlineData("--warmup 1x", "--warmup '1x'", "duration like 10s")]
    [InlineData("--concurrency 5000", "--concurrency '5000'", "from 1 to 1024")]
    [InlineData("--count -3", "--count '-3'", "of at least 0")]
    public void EchoClient_BadOption(string args, string option, string because)
        => AssertUsageError(["echo", "client", .. args.Split(' ')], option, because);

    [Theory]
    [InlineData("--size -1", "--size '-1'", "from 1 to 65000")]
    [InlineData("--duration abc", "--duration 'abc'", "duration like 10s")]
    [InlineData("--proto quic", "--proto 'quic'", "udp, tcp or both")]
    [InlineData("--server-core 9", "--server-core '9'", "not available")]
    public void EchoDemo_BadOption(string args, string option, string because)
        => AssertUsageError(["echo", "demo", .. args.Split(' ')], option, because);

    [Theory]
    [InlineData("--maxmemory -1", "--maxmemory '-1'", "of at least 0")]
    [InlineData("--bind 127.0.0.1", "--bind '127.0.0.1'", "the port is missing")]
    [InlineData("--idle lazy", "--idle 'lazy'", "spin, park or spin-then-park")]
    public void Kv_BadOption(string args, string option, string because)
        => AssertUsageError(["kv", .. args.Split(' ')], option, because);

    [Fact]
    public void DpdkEal_WithoutIp_NamesIp()
        => AssertUsageError(["echo", "server", "--backend", "dpdk", "--eal", "-l 0 --no-huge --vdev net_tap0"], "--ip", "--backend dpdk needs this stack's IPv4 address");

    [Fact]
    public void EmptyEal_IsNamed()
        => AssertUsageError(["echo", "server", "--backend", "dpdk", "--ip", "10.0.0.1", "--eal", " "], "--eal ''", "EAL arguments as one quoted value");

    [Fact]
    public void RepeatedOption_IsAnError_NotTheLastOneSilently()
        => AssertUsageError(["echo", "demo", "--size", "1", "--size", "2"], "Option '--size'", "expects a single argument");

    [Fact]
    public void Flag_DoesNotSwallowTheNextWord()
        => AssertUsageError(["echo", "demo", "--quiet", "udp"], "Unrecognized command or argument 'udp'", "demi echo demo --help");

    [Fact]
    public void EchoAlone_SaysWhichSubcommandIsMissing()
        => AssertUsageError(["echo"], "echo: missing subcommand", "demo, server or client");

    [Fact]
    public void UnknownCommand_IsNamed()
        => AssertUsageError(["bogus"], "Unrecognized command or argument 'bogus'", "demi --help");

    [Fact]
    public void UdpClient_WithNoServer_SaysNobodyAnswered()
    {
        int port = FreeUdpPort();
        AssertUsageError(["echo", "client", "--server", $"127.0.0.1:{port}", "--duration", "200ms", "--warmup", "0", "--quiet"],
            $"--server 127.0.0.1:{port}", "no echo came back over udp");
    }

    [Fact]
    public void TcpClient_WithNoServer_SaysTheConnectFailed()
    {
        int port = FreeTcpPort();
        AssertUsageError(["echo", "client", "--proto", "tcp", "--server", $"127.0.0.1:{port}", "--duration", "200ms", "--warmup", "0", "--quiet"],
            $"--server 127.0.0.1:{port}", "ECONNREFUSED");
    }

    [Fact]
    public void EchoServer_OnAPortInUse_NamesBind()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        AssertUsageError(["echo", "server", "--bind", $"127.0.0.1:{port}"], $"--bind 127.0.0.1:{port}", "EADDRINUSE");
    }

    [Theory]
    [InlineData("echo", "demo")]
    [InlineData("echo", "server")]
    [InlineData("echo", "client")]
    [InlineData("kv")]
    [InlineData("doctor")]
    public void EveryCommand_HasHelp(params string[] command)
    {
        var (exit, output, error) = Run([.. command, "--help"]);
        Assert.Equal(0, exit);
        Assert.Empty(error);
        Assert.Contains($" {string.Join(' ', command)} [options]", output); // the root is named after the executable
    }

    [Fact]
    public void ClientHelp_ListsTheSharedBackendOptionsWithDefaults()
    {
        var (_, output, _) = Run("echo", "client", "--help");
        Assert.Contains("--backend <dpdk|kernel|xdp>", output);
        Assert.Contains("--vdev <DEVARGS>", output);
        Assert.Contains("--eal <\"ARGS\">", output);
        Assert.Contains("--idle <park|spin|spin-then-park>", output);
        Assert.Contains("[default: spin-then-park]", output);
        Assert.Contains("--size <N>", output);
    }

    [Fact]
    public void Completions_OfferTheOptionsOfTheCommand()
    {
        var (exit, output, _) = Run("[suggest:19]", "demi echo server --p");
        Assert.Equal(0, exit);
        Assert.Equal(["--pcap", "--prefix", "--proto"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void Completions_OfferTheValuesOfAChoice()
    {
        var (_, output, _) = Run("[suggest:25]", "demi echo server --idle s");
        Assert.Equal(["spin", "spin-then-park"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static int FreeTcpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
