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

        string Cli(params string[] args) => KvPeer.Cli(veth, args);

        Assert.Equal("PONG\n", Cli("PING"));
        Assert.Equal("OK\n", Cli("SET", "over", "af_xdp"));
        Assert.Equal("af_xdp\n", Cli("GET", "over"));
        Assert.Equal("(error) ERR unknown command 'NOPE', with args beginning with: \n", Cli("--no-raw", "NOPE"));

        // redis-benchmark's own traffic: 50 connections, pipelined and not, 100 random keys.
        KvPeer.BenchmarkCompletes(veth);
        Assert.InRange(server.KeyCount(), 50, 101); // redis-benchmark's key:000000000000..99 plus "over"
        Assert.Equal(0, server.ProtocolErrors);
    }
}
