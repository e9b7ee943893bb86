using System.Text;

namespace Demi.Inet.Tests;

public sealed class UdpTests
{
    [Fact]
    public void PushToAndPopBothWaysCarryAddresses()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, a.Bind(new Ipv4Endpoint(TwoStacks.AddressA, 5000)));
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 6000)));

        int r = a.PushTo(TwoStacks.Payload(net.A, "hello"u8), new Ipv4Endpoint(TwoStacks.AddressB, 6000));
        Assert.Equal(UdpSocket.Pending, r); // first send waits for ARP
        net.Pump();
        Assert.Equal("hello", Encoding.ASCII.GetString(TwoStacks.PopBytes(b, out var from)));
        Assert.Equal(new Ipv4Endpoint(TwoStacks.AddressA, 5000), from);

        // Reply to the source: B learned A's MAC from A's ARP request, so no wait this time.
        Assert.Equal(0, b.PushTo(TwoStacks.Payload(net.B, "world!"u8), from));
        net.Pump();
        Assert.Equal("world!", Encoding.ASCII.GetString(TwoStacks.PopBytes(a, out var from2)));
        Assert.Equal(new Ipv4Endpoint(TwoStacks.AddressB, 6000), from2);
        Assert.False(a.TryPop(out _, out _));
        Assert.Equal(0, net.A.Counters.TotalDrops);
        Assert.Equal(0, net.B.Counters.TotalDrops);
    }

    [Fact]
    public void SocketsSharingAPortWithReuseAddressGetDatagramsByBestMatchNewestFirst()
    {
        using var net = new TwoStacks();
        var sender = net.A.CreateUdpSocket();
        Assert.Equal(0, sender.Bind(new Ipv4Endpoint(TwoStacks.AddressA, 5000)));
        var other = net.A.CreateUdpSocket();
        Assert.Equal(0, other.Bind(new Ipv4Endpoint(TwoStacks.AddressA, 5001)));
        var wildcardOld = net.B.CreateUdpSocket();
        var wildcardNew = net.B.CreateUdpSocket();
        var connected = net.B.CreateUdpSocket();
        foreach (var s in new[] { wildcardOld, wildcardNew, connected })
            s.ReuseAddress = true;
        var refused = net.B.CreateUdpSocket();
        Assert.Equal(0, wildcardOld.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(Errno.EADDRINUSE, refused.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000))); // did not set SO_REUSEADDR
        Assert.Equal(0, wildcardNew.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, connected.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, connected.Connect(new Ipv4Endpoint(TwoStacks.AddressA, 5000)));
        var to = new Ipv4Endpoint(TwoStacks.AddressB, 7000);

        // From the connected socket's peer: the connected socket (best match).
        sender.PushTo(TwoStacks.Payload(net.A, "peer"u8), to);
        // From anyone else: the newest of the equally good wildcard sockets.
        other.PushTo(TwoStacks.Payload(net.A, "stranger"u8), to);
        net.Pump();
        Assert.Equal("peer", Encoding.ASCII.GetString(TwoStacks.PopBytes(connected, out _)));
        Assert.Equal("stranger", Encoding.ASCII.GetString(TwoStacks.PopBytes(wildcardNew, out _)));
        Assert.False(wildcardOld.TryPop(out _, out _));

        // The newest gone, the older one takes over; with all gone the port answers port unreachable.
        wildcardNew.Close();
        other.PushTo(TwoStacks.Payload(net.A, "again"u8), to);
        net.Pump();
        Assert.Equal("again", Encoding.ASCII.GetString(TwoStacks.PopBytes(wildcardOld, out _)));
        wildcardOld.Close();
        connected.Close();
        Assert.Equal(0, refused.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, net.B.Counters.TotalDrops);
    }

    [Fact]
    public void PendingPushCompletesThroughObserver()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        var observer = new RecordingObserver();
        a.Observer = observer;
        var b = net.B.CreateUdpSocket();
        var bObserver = new RecordingObserver();
        b.Observer = bObserver;
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7)));
        Assert.Equal(UdpSocket.Pending, a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(TwoStacks.AddressB, 7), tag: 42));
        Assert.Equal(UdpSocket.Pending, a.PushTo(TwoStacks.Payload(net.A, "y"u8), new Ipv4Endpoint(TwoStacks.AddressB, 7), tag: 43));
        Assert.Equal(2, net.A.PendingResolutions);
        net.Pump();
        Assert.Equal([(42UL, 0), (43UL, 0)], observer.Completions);
        Assert.Equal(2, bObserver.Datagrams);
        // Order kept behind ARP.
        Assert.Equal("x"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.Equal("y"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.Equal(1, net.A.Counters.ArpRequestsSent);
    }

    [Fact]
    public void PortZeroPicksDistinctEphemeralPorts()
    {
        using var net = new TwoStacks();
        var ports = new HashSet<ushort>();
        for (int i = 0; i < 50; i++)
        {
            var s = net.A.CreateUdpSocket();
            Assert.Equal(0, s.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
            Assert.InRange(s.LocalEndpoint.Port, (ushort)49152, (ushort)65535);
            Assert.True(ports.Add(s.LocalEndpoint.Port));
        }
        // Ports are not sequential from a fixed start (Demikernel #213): two stacks with other seeds differ.
        using var other = new TwoStacks(seed: 12345);
        var s2 = other.A.CreateUdpSocket();
        Assert.Equal(0, s2.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
        var s3 = net.B.CreateUdpSocket();
        Assert.Equal(0, s3.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
        Assert.NotEqual(s2.LocalEndpoint.Port, s3.LocalEndpoint.Port);
    }

    [Fact]
    public void UnboundPushToBindsEphemeralPortAndPeerCanReply()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(TwoStacks.AddressB, 9)));
        a.PushTo(TwoStacks.Payload(net.A, "ping"u8), new Ipv4Endpoint(TwoStacks.AddressB, 9));
        Assert.True(a.IsBound);
        net.Pump();
        TwoStacks.PopBytes(b, out var from);
        Assert.Equal(a.LocalEndpoint.Port, from.Port);
        Assert.Equal(0, b.PushTo(TwoStacks.Payload(net.B, "pong"u8), from));
        net.Pump();
        Assert.Equal("pong"u8.ToArray(), TwoStacks.PopBytes(a, out _));
    }

    [Fact]
    public void BindErrors()
    {
        using var net = new TwoStacks();
        var s1 = net.A.CreateUdpSocket();
        var s2 = net.A.CreateUdpSocket();
        var s3 = net.A.CreateUdpSocket();
        Assert.Equal(0, s1.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4000)));
        Assert.Equal(Errno.EINVAL, s1.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4001)));
        Assert.Equal(Errno.EADDRINUSE, s2.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4000)));
        Assert.Equal(Errno.EADDRINUSE, s2.Bind(new Ipv4Endpoint(TwoStacks.AddressA, 4000)));
        Assert.Equal(Errno.EADDRNOTAVAIL, s3.Bind(new Ipv4Endpoint(TwoStacks.AddressB, 4002)));
        s1.Close();
        Assert.Equal(0, s2.Bind(new Ipv4Endpoint(TwoStacks.AddressA, 4000)));
        Assert.Equal(Errno.EBADF, s1.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4003)));
    }

    [Fact]
    public void PushOnUnconnectedIsEdestaddrreqAndConnectedUsesPeer()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        var b = net.B.CreateUdpSocket();
        var other = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1000)));
        Assert.Equal(0, other.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1001)));
        int available = net.A.Pool.Available;
        Assert.Equal(Errno.EDESTADDRREQ, a.Push(TwoStacks.Payload(net.A, "z"u8)));
        Assert.Equal(available, net.A.Pool.Available); // the refused buffer was released
        Assert.Equal(Errno.EINVAL, a.Connect(new Ipv4Endpoint(TwoStacks.AddressB, 0)));
        Assert.Equal(0, a.Connect(new Ipv4Endpoint(TwoStacks.AddressB, 1000)));
        Assert.True(a.IsBound);
        a.Push(TwoStacks.Payload(net.A, "via-peer"u8));
        net.Pump();
        Assert.Equal("via-peer"u8.ToArray(), TwoStacks.PopBytes(b, out var from));
        // A connected socket hears only its peer: a datagram from another port is dropped.
        other.PushTo(TwoStacks.Payload(net.B, "stranger"u8), from);
        b.PushTo(TwoStacks.Payload(net.B, "peer"u8), from);
        net.Pump();
        Assert.Equal("peer"u8.ToArray(), TwoStacks.PopBytes(a, out _));
        Assert.False(a.TryPop(out _, out _));
        Assert.Equal(1, net.A.Counters[DropReason.UdpNoSocket]);
    }

    [Fact]
    public void SendErrors()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        int available = net.A.Pool.Available;
        Assert.Equal(Errno.EINVAL, a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(TwoStacks.AddressB, 0)));
        Assert.Equal(Errno.EINVAL, a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(Ipv4Address.Any, 53)));
        Assert.Equal(Errno.EMSGSIZE, a.PushTo(TwoStacks.Payload(net.A, new byte[1500 - 28 + 1]), new Ipv4Endpoint(TwoStacks.AddressB, 53)));
        Assert.Equal(Errno.EHOSTUNREACH, a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(TwoStacks.AddressA, 53)));
        a.Close();
        Assert.Equal(Errno.EBADF, a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(TwoStacks.AddressB, 53)));
        Assert.Equal(available, net.A.Pool.Available);
        // The largest datagram that fits the MTU goes through.
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 53)));
        var c = net.A.CreateUdpSocket();
        c.PushTo(TwoStacks.Payload(net.A, new byte[1500 - 28]), new Ipv4Endpoint(TwoStacks.AddressB, 53));
        net.Pump();
        Assert.Equal(1472, TwoStacks.PopBytes(b, out _).Length);
    }

    [Fact]
    public void WildcardReceivesBroadcastSpecificDoesNot()
    {
        using var net = new TwoStacks();
        var wildcard = net.B.CreateUdpSocket();
        Assert.Equal(0, wildcard.Bind(new Ipv4Endpoint(Ipv4Address.Any, 67)));
        var specific = net.B.CreateUdpSocket();
        Assert.Equal(0, specific.Bind(new Ipv4Endpoint(TwoStacks.AddressB, 68)));
        var a = net.A.CreateUdpSocket();
        Assert.Equal(0, a.PushTo(TwoStacks.Payload(net.A, "b1"u8), new Ipv4Endpoint(Ipv4Address.Broadcast, 67)));
        Assert.Equal(0, a.PushTo(TwoStacks.Payload(net.A, "b2"u8), new Ipv4Endpoint(Ipv4Address.Broadcast, 68)));
        net.Pump();
        Assert.Equal("b1"u8.ToArray(), TwoStacks.PopBytes(wildcard, out _));
        Assert.False(specific.TryPop(out _, out _));
        Assert.Equal(0, net.A.Counters.ArpRequestsSent);
    }

    [Fact]
    public void NoSocketAndQueueFullAreCountedAndBuffersReturn()
    {
        using var net = new TwoStacks(configureB: o => o.UdpReceiveQueueLength = 4);
        int availableB = net.B.Pool.Available;
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        var a = net.A.CreateUdpSocket();
        for (int i = 0; i < 10; i++)
            a.PushTo(TwoStacks.Payload(net.A, "q"u8), new Ipv4Endpoint(TwoStacks.AddressB, 80));
        a.PushTo(TwoStacks.Payload(net.A, "q"u8), new Ipv4Endpoint(TwoStacks.AddressB, 81));
        net.Pump();
        Assert.Equal(4, b.Available);
        Assert.Equal(6, net.B.Counters[DropReason.UdpReceiveQueueFull]);
        Assert.Equal(1, net.B.Counters[DropReason.UdpNoSocket]);
        b.Close();
        net.Pump();
        Assert.Equal(availableB, net.B.Pool.Available);
    }

    [Fact]
    public void UnreadSocketCannotStarveThePool()
    {
        using var net = new TwoStacks(new Wire.VirtualWireOptions { BufferCount = 64 });
        var hog = net.B.CreateUdpSocket();
        Assert.Equal(0, hog.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1)));
        var a = net.A.CreateUdpSocket();
        for (int i = 0; i < 100; i++)
        {
            a.PushTo(TwoStacks.Payload(net.A, "fill"u8), new Ipv4Endpoint(TwoStacks.AddressB, 1));
            net.Pump();
        }
        Assert.True(net.B.Counters[DropReason.PoolLow] > 0);
        Assert.True(net.B.Pool.Available >= 64 / 8 - 1, $"pool left with {net.B.Pool.Available} buffers");
        // Another socket still gets its datagrams, and pings are still answered.
        var other = net.B.CreateUdpSocket();
        Assert.Equal(0, other.Bind(new Ipv4Endpoint(Ipv4Address.Any, 2)));
        a.PushTo(TwoStacks.Payload(net.A, "still"u8), new Ipv4Endpoint(TwoStacks.AddressB, 2));
        net.Pump();
        Assert.Equal("still"u8.ToArray(), TwoStacks.PopBytes(other, out _));
        net.B.AddStaticArpEntry(TwoStacks.AddressRaw, TwoStacks.MacRaw);
        net.Raw.TransmitCopy(Frames.EchoRequest(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 1, 1, "x"u8));
        net.Pump();
        Assert.Equal(1, net.B.Counters.IcmpEchoRepliesSent);
    }

    [Fact]
    public void ConnectedSocketHearsPortUnreachableAsEconnrefused()
    {
        using var net = new TwoStacks();
        var a = net.A.CreateUdpSocket();
        var observer = new RecordingObserver();
        a.Observer = observer;
        var unconnected = net.A.CreateUdpSocket();
        Assert.Equal(0, a.Connect(new Ipv4Endpoint(TwoStacks.AddressB, 5555)));
        a.Push(TwoStacks.Payload(net.A, "anyone?"u8));
        unconnected.PushTo(TwoStacks.Payload(net.A, "anyone?"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5556));
        net.Pump();
        Assert.Equal(2, net.B.Counters.IcmpErrorsSent);
        Assert.Equal([Errno.ECONNREFUSED], observer.Errors);
        Assert.Equal(Errno.ECONNREFUSED, a.TakeError());
        Assert.Equal(0, a.TakeError());
        Assert.Equal(0, unconnected.PendingError); // like Linux: unconnected sockets ignore ICMP errors
        Assert.Equal(1, net.A.Counters.IcmpErrorsReceived);
        Assert.Equal(1, net.A.Counters[DropReason.IcmpUnsupported]);
    }
}
