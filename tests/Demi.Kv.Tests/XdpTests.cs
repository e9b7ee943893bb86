using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Kv.Tests;

/// <summary>
/// Demi-KV on AF_XDP (XdpBackend, the user-space TCP stack) in namespace A of a veth pair, driven by
/// redis-cli and redis-benchmark on the kernel's TCP in namespace B. Needs root (CI is root).
/// </summary>
public sealed class XdpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void RedisCliAndRedisBenchmarkOverAfXdp()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces and AF_XDP: " + reason);
        using var veth = VethNamespaces.Create(new VethOptions { AddressA = "10.99.14.1", AddressB = "10.99.14.2" });
        var backend = XdpBackend.Create(
            new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA, FrameCount = 8192 },
            _ => new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 });
        backend.StreamTransport = new TcpTransport();
        using var libOS = new LibOS(new LibOSOptions { Backend = backend });
        using var server = new KvServer(libOS, new KvServerOptions { Bind = new Ipv4Endpoint(Ipv4Address.Any, 6379) });
        server.Start();

        string Cli(params string[] args)
        {
            var r = veth.Run(VethSide.B, Timeout, "redis-cli", ["-h", veth.AddressA, "-p", "6379", .. args]);
            Assert.True(r.Succeeded, $"redis-cli {string.Join(' ', args)}: exit {r.ExitCode} {r.StandardError}");
            return r.StandardOutput;
        }

        Assert.Equal("PONG\n", Cli("PING"));
        Assert.Equal("OK\n", Cli("SET", "over", "af_xdp"));
        Assert.Equal("af_xdp\n", Cli("GET", "over"));
        Assert.Equal("(error) ERR unknown command 'NOPE', with args beginning with: \n", Cli("--no-raw", "NOPE"));

        // redis-benchmark's own traffic: 50 connections, pipelined and not, 100 random keys.
        var bench = veth.Run(VethSide.B, TimeSpan.FromSeconds(120), "redis-benchmark",
            "-h", veth.AddressA, "-p", "6379", "-t", "set,get", "-n", "20000", "-c", "50", "-P", "16", "-r", "100", "--csv");
        Assert.True(bench.Succeeded, $"redis-benchmark: exit {bench.ExitCode} {bench.StandardError}");
        var lines = bench.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("\"SET\",", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("\"GET\",", StringComparison.Ordinal));
        Assert.InRange(server.KeyCount(), 50, 101); // redis-benchmark's key:000000000000..99 plus "over"
        Assert.Equal(0, server.ProtocolErrors);
    }
}
