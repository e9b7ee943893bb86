using Demi.Inet.Tcp;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>
/// One port space per libOS: binds conflict across shards and protocols' rules as on Linux, ephemeral
/// ports name their shard and never collide, exhaustion is EADDRNOTAVAIL. Deterministic: the virtual
/// wire, nothing answering.
/// </summary>
public sealed class PortSpaceTests
{
    private static readonly Ipv4Address Local = Ipv4Address.Parse("10.8.0.1");
    private static readonly Ipv4Address Remote = Ipv4Address.Parse("10.8.0.2");

    /// <summary>A libOS of two shards over two ports of a virtual wire (one stack each, one port space), TCP included.</summary>
    private static LibOS TwoShardLibOS(VirtualWire wire, out InetBackend backend)
    {
        var nics = new WirePorts(wire);
        backend = new InetBackend(nics.Queues, _ => new InetStackOptions { LocalAddress = Local }, ownsQueues: true)
        {
            StreamTransport = new TcpTransport(),
        };
        return new LibOS(new LibOSOptions { Backend = backend, ShardCount = 2 });
    }

    private sealed class WirePorts(VirtualWire wire)
    {
        public readonly Nic.INicQueue[] Queues =
            [wire.CreatePort(MacAddress.Parse("02:00:00:00:08:01")), wire.CreatePort(MacAddress.Parse("02:00:00:00:08:02"))];
    }

    /// <summary>Two sockets of <paramref name="type"/>, one on each shard.</summary>
    private static (int First, int Second) OnBothShards(LibOS os, int type)
    {
        Assert.Equal(0, os.Socket(out int a, SocketConstants.AF_INET, type, 0));
        Assert.Equal(0, os.Socket(out int b, SocketConstants.AF_INET, type, 0));
        Assert.NotEqual(os.GetActor(a)!.Shard.Id, os.GetActor(b)!.Shard.Id);
        return (a, b);
    }

    private static void ReuseAddress(LibOS os, int qd) => Assert.Equal(0, os.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR, BitConverter.GetBytes(1)));

    [Fact]
    public void Udp_binds_conflict_across_shards_wildcard_and_specific()
    {
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        using var os = TwoShardLibOS(wire, out var backend);
        var (a, b) = OnBothShards(os, SocketConstants.SOCK_DGRAM);
        Assert.Equal(0, os.Bind(a, new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Local, 5000)));     // specific vs wildcard
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        Assert.Equal(0, os.Bind(b, new Ipv4Endpoint(Local, 5001)));
        var (c, d) = OnBothShards(os, SocketConstants.SOCK_DGRAM);
        Assert.Equal(Errno.EADDRINUSE, os.Bind(c, new Ipv4Endpoint(Ipv4Address.Any, 5001))); // wildcard vs specific
        // The frames of a bound port belong to the socket's shard.
        Assert.Equal(1UL << os.GetActor(a)!.Shard.Id, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 5000));
        // TCP has its own ports.
        var (t, _) = OnBothShards(os, SocketConstants.SOCK_STREAM);
        Assert.Equal(0, os.Bind(t, new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        // A closed socket's port is free for any shard.
        Assert.Equal(0, os.Close(a));
        Assert.Equal(0, os.Bind(d, new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        Assert.Equal(1UL << os.GetActor(d)!.Shard.Id, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 5000));
        // Port 0 picks an ephemeral port that names the socket's shard.
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, os.Socket(out int e, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, os.Bind(e, new Ipv4Endpoint(Ipv4Address.Any, 0)));
            Assert.Equal(0, os.GetSockName(e, out var local));
            Assert.Equal(os.GetActor(e)!.Shard.Id, local.Port % 2);
            Assert.True(local.Port >= 49152);
        }
    }

    [Fact]
    public void Udp_SO_REUSEADDR_shares_a_port_across_shards_only_when_every_holder_set_it_and_the_newest_owns_unicast()
    {
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        using var os = TwoShardLibOS(wire, out var backend);
        var (a, b) = OnBothShards(os, SocketConstants.SOCK_DGRAM);
        ReuseAddress(os, a);
        Assert.Equal(0, os.Bind(a, new Ipv4Endpoint(Ipv4Address.Any, 6000)));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Ipv4Address.Any, 6000))); // b did not set it
        ReuseAddress(os, b);
        Assert.Equal(0, os.Bind(b, new Ipv4Endpoint(Local, 6000)));                        // both did: shared
        Span<byte> value = stackalloc byte[4];
        Assert.Equal(0, os.GetSockOpt(b, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR, value, out int length));
        Assert.Equal(4, length);
        Assert.Equal(1, BitConverter.ToInt32(value));
        // Linux hands unicast to the newest of the sharers: steering sends the port's frames to b's shard.
        Assert.Equal(1UL << os.GetActor(b)!.Shard.Id, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 6000));
        Assert.Equal(0, os.Close(b));
        Assert.Equal(1UL << os.GetActor(a)!.Shard.Id, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 6000));
        // A socket without the option still cannot join.
        Assert.Equal(0, os.Socket(out int c, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(c, new Ipv4Endpoint(Local, 6000)));
    }

    private static void ReusePort(LibOS os, int qd) => Assert.Equal(0, os.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)));

    [Fact]
    public void Udp_SO_REUSEPORT_puts_a_socket_on_every_shard_in_one_group_that_every_member_must_join()
    {
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        using var os = TwoShardLibOS(wire, out var backend);
        Assert.Equal(0, os.Socket(out int a, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard: 0));
        Assert.Equal(0, os.Socket(out int b, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard: 1));
        Assert.Equal(0, os.GetActor(a)!.Shard.Id);
        Assert.Equal(1, os.GetActor(b)!.Shard.Id);
        Assert.Equal(Errno.EINVAL, os.Socket(out _, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard: 2));
        ReusePort(os, a);
        Assert.Equal(0, os.Bind(a, new Ipv4Endpoint(Ipv4Address.Any, 6100)));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Local, 6100))); // b is not in the group yet
        ReusePort(os, b);
        Span<byte> value = stackalloc byte[4];
        Assert.Equal(0, os.GetSockOpt(b, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, value, out int length));
        Assert.Equal((4, 1), (length, BitConverter.ToInt32(value)));
        Assert.Equal(0, os.Bind(b, new Ipv4Endpoint(Local, 6100)));
        Assert.Equal(0b11UL, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 6100)); // both shards serve the port
        // SO_REUSEADDR alone does not join a SO_REUSEPORT group.
        Assert.Equal(0, os.Socket(out int c, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard: 0));
        ReuseAddress(os, c);
        Assert.Equal(Errno.EADDRINUSE, os.Bind(c, new Ipv4Endpoint(Ipv4Address.Any, 6100)));
        Assert.Equal(0, os.Close(a));
        Assert.Equal(0b10UL, backend.Ports.OwnersOf(PortSpace.ProtocolUdp, 6100));
        // TCP listeners already accept on every shard; SO_REUSEPORT is not a TCP option here.
        Assert.Equal(0, os.Socket(out int t, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(Errno.ENOPROTOOPT, os.SetSockOpt(t, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)));
    }

    [Fact]
    public void Tcp_binds_conflict_across_shards_as_on_linux_with_and_without_SO_REUSEADDR()
    {
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        using var os = TwoShardLibOS(wire, out var backend);
        var (a, b) = OnBothShards(os, SocketConstants.SOCK_STREAM);
        Assert.Equal(0, os.Bind(a, new Ipv4Endpoint(Local, 6000)));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Ipv4Address.Any, 6000)));
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Local, 6000)));
        ReuseAddress(os, b); // only one side with SO_REUSEADDR: still a conflict
        Assert.Equal(Errno.EADDRINUSE, os.Bind(b, new Ipv4Endpoint(Ipv4Address.Any, 6000)));

        // Both with SO_REUSEADDR, neither listening: they share the port; then only one may listen.
        var (c, d) = OnBothShards(os, SocketConstants.SOCK_STREAM);
        ReuseAddress(os, c);
        ReuseAddress(os, d);
        Assert.Equal(0, os.Bind(c, new Ipv4Endpoint(Ipv4Address.Any, 6001)));
        Assert.Equal(0, os.Bind(d, new Ipv4Endpoint(Local, 6001)));
        Assert.Equal(2, backend.Ports.BindingCount(PortSpace.ProtocolTcp, 6001));
        Assert.Equal(0, os.Listen(c, 16));
        Assert.Equal(Errno.EADDRINUSE, os.Listen(d, 16));
        // A listener holds its port against SO_REUSEADDR binds too, and accepts on every shard.
        Assert.Equal(0, os.Socket(out int e, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        ReuseAddress(os, e);
        Assert.Equal(Errno.EADDRINUSE, os.Bind(e, new Ipv4Endpoint(Ipv4Address.Any, 6001)));
        Assert.Equal(3UL, backend.Ports.OwnersOf(PortSpace.ProtocolTcp, 6001));

        // Closing frees the port everywhere.
        Assert.Equal(0, os.Close(a));
        Assert.Equal(0, os.Socket(out int f, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, os.Bind(f, new Ipv4Endpoint(Ipv4Address.Any, 6000)));
        Assert.Equal(0, os.Close(c));
        Assert.Equal(0, os.Close(d));
        Assert.Equal(0, backend.Ports.BindingCount(PortSpace.ProtocolTcp, 6001));
        Assert.Equal(0UL, backend.Ports.OwnersOf(PortSpace.ProtocolTcp, 6001));
    }

    /// <summary>Two shards' stacks and TCP layers sharing one port space, driven from the test thread (each layer as its shard would).</summary>
    private sealed class TwoLayers : IDisposable
    {
        public readonly VirtualWire Wire = new(new VirtualWireOptions { Clock = new ManualInetClock() });
        public readonly PortSpace Ports = new(2);
        public readonly InetStack[] Stacks = new InetStack[2];
        public readonly TcpLayer[] Layers = new TcpLayer[2];

        public TwoLayers(ushort first = 49152, ushort last = 65535)
        {
            for (int s = 0; s < 2; s++)
            {
                var nic = Wire.CreatePort(MacAddress.Parse($"02:00:00:00:09:0{s}"));
                Stacks[s] = new InetStack(nic, new InetStackOptions { LocalAddress = Local, PortSpace = Ports, PortShard = s, Seed = 1 });
                Layers[s] = new TcpLayer(Stacks[s], new TcpConfig { EphemeralPortFirst = first, EphemeralPortLast = last, RandomSeed = 1 });
                Assert.Same(Ports, Layers[s].Ports);
                Stacks[s].RegisterProtocol(Layers[s]);
            }
        }

        public void Dispose()
        {
            foreach (var s in Stacks)
                s.Dispose();
            Wire.Dispose();
        }
    }

    [Fact]
    public void Ten_thousand_ephemeral_connects_across_two_shards_have_distinct_tuples_naming_their_shard()
    {
        using var rig = new TwoLayers();
        var tuples = new HashSet<(ushort LocalPort, Ipv4Endpoint Remote)>();
        var remote = new Ipv4Endpoint(Remote, 80);
        for (int i = 0; i < 10_000; i++)
        {
            int shard = i % 2;
            var socket = rig.Layers[shard].CreateSocket();
            Assert.Equal(0, socket.Connect(remote));
            var local = socket.LocalEndpoint;
            Assert.Equal(shard, local.Port % 2); // the port names the shard: steering needs no table
            Assert.True(tuples.Add((local.Port, remote)), $"duplicate 4-tuple {local} -> {remote} on connect {i}");
        }
        Assert.Equal(10_000, tuples.Count);
        Assert.Equal(5_000, rig.Layers[0].ConnectionCount);
        Assert.Equal(5_000, rig.Layers[1].ConnectionCount);
        // An explicit bind on either shard refuses a port a connection of the other shard uses.
        var used = tuples.First(t => t.LocalPort % 2 == 1).LocalPort;
        Assert.Equal(Errno.EADDRINUSE, rig.Layers[0].CreateSocket().Bind(new Ipv4Endpoint(Ipv4Address.Any, used)));
    }

    [Fact]
    public void Exhausting_a_shards_ephemeral_ports_is_EADDRNOTAVAIL_and_other_destinations_still_connect()
    {
        using var rig = new TwoLayers(first: 40000, last: 40009); // 5 ports per shard
        var remote = new Ipv4Endpoint(Remote, 80);
        for (int shard = 0; shard < 2; shard++)
        {
            var ports = new HashSet<ushort>();
            for (int i = 0; i < 5; i++)
            {
                var socket = rig.Layers[shard].CreateSocket();
                Assert.Equal(0, socket.Connect(remote));
                Assert.True(ports.Add(socket.LocalEndpoint.Port));
            }
            Assert.All(ports, p => Assert.Equal(shard, p % 2));
            Assert.Equal(Errno.EADDRNOTAVAIL, rig.Layers[shard].CreateSocket().Connect(remote));
            // Another destination makes other 4-tuples: the same ports serve it.
            Assert.Equal(0, rig.Layers[shard].CreateSocket().Connect(new Ipv4Endpoint(Remote, 81)));
        }
        // A port-0 bind finds nothing free either (every port in the range is in use).
        Assert.Equal(Errno.EADDRINUSE, rig.Layers[0].CreateSocket().Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
    }
}
