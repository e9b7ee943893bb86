using Demi.Inet.Headers;

namespace Demi.Inet.Tests;

public sealed class ArpTests
{
    [Fact]
    public void ResolvesAndBothSidesLearn()
    {
        using var net = new TwoStacks();
        Assert.False(net.A.TryGetArpEntry(TwoStacks.AddressB, out _));
        var s = net.A.CreateUdpSocket();
        s.PushTo(TwoStacks.Payload(net.A, "1"u8), new Ipv4Endpoint(TwoStacks.AddressB, 1));
        net.Pump();
        Assert.True(net.A.TryGetArpEntry(TwoStacks.AddressB, out var macB));
        Assert.Equal(TwoStacks.MacB, macB);
        Assert.True(net.B.TryGetArpEntry(TwoStacks.AddressA, out var macA));
        Assert.Equal(TwoStacks.MacA, macA);
        Assert.Equal(1, net.A.Counters.ArpRequestsSent);
        Assert.Equal(1, net.B.Counters.ArpRepliesSent);
        Assert.Equal(0, net.A.PendingResolutions);
    }

    [Fact]
    public void TimesOutWhenPeerAbsentThenFailsFastWithEhostunreach()
    {
        using var net = new TwoStacks(configureA: o =>
        {
            o.ArpRequestRetries = 2;
            o.ArpRequestTimeout = TimeSpan.FromMilliseconds(100);
            o.ArpFailureHoldTime = TimeSpan.FromSeconds(1);
        });
        var observer = new RecordingObserver();
        var s = net.A.CreateUdpSocket();
        s.Observer = observer;
        int available = net.A.Pool.Available;
        var absent = new Ipv4Endpoint(Ipv4Address.Parse("10.0.0.99"), 9);
        Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "lost"u8), absent, tag: 7));
        net.Run(TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(10));
        Assert.Empty(observer.Completions); // still retrying
        net.Run(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(10));
        Assert.Equal([(7UL, Errno.ETIMEDOUT)], observer.Completions);
        Assert.Equal(3, net.A.Counters.ArpRequestsSent); // first try + 2 retries
        Assert.Equal(1, net.A.Counters[DropReason.ArpResolutionFailed]);
        Assert.Equal(available, net.A.Pool.Available);
        Assert.Equal(long.MaxValue, net.A.NextDeadline);
        // Within the hold time new sends fail at once; after it, resolution is tried again.
        Assert.Equal(Errno.EHOSTUNREACH, s.PushTo(TwoStacks.Payload(net.A, "x"u8), absent));
        net.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "x"u8), absent, tag: 8));
        Assert.Equal(4, net.A.Counters.ArpRequestsSent);
    }

    [Fact]
    public void PendingQueueIsBounded()
    {
        using var net = new TwoStacks(configureA: o => o.ArpPendingLimit = 3);
        var s = net.A.CreateUdpSocket();
        var absent = new Ipv4Endpoint(Ipv4Address.Parse("10.0.0.99"), 9);
        for (int i = 0; i < 3; i++)
            Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "x"u8), absent));
        Assert.Equal(Errno.ENOBUFS, s.PushTo(TwoStacks.Payload(net.A, "x"u8), absent));
        Assert.Equal(1, net.A.Counters[DropReason.ArpPendingQueueFull]);
        Assert.Equal(3, net.A.PendingResolutions);
    }

    [Fact]
    public void StaticEntriesSkipResolution()
    {
        using var net = new TwoStacks(configureA: o => o.ArpTable[TwoStacks.AddressB] = TwoStacks.MacB);
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 5)));
        var s = net.A.CreateUdpSocket();
        Assert.Equal(0, s.PushTo(TwoStacks.Payload(net.A, "s"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5)));
        net.Pump();
        Assert.Equal(0, net.A.Counters.ArpRequestsSent);
        Assert.Equal("s"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        // A static entry is never overwritten by what the wire says.
        net.Raw.TransmitCopy(Frames.Arp(ArpPacket.OperationReply, TwoStacks.MacRaw, TwoStacks.AddressB, TwoStacks.MacA, TwoStacks.AddressA, TwoStacks.MacA));
        net.Pump();
        Assert.True(net.A.TryGetArpEntry(TwoStacks.AddressB, out var mac));
        Assert.Equal(TwoStacks.MacB, mac);
    }

    [Fact]
    public void LearnedEntriesExpireAfterTtl()
    {
        using var net = new TwoStacks(configureA: o => o.ArpCacheTtl = TimeSpan.FromSeconds(5));
        var s = net.A.CreateUdpSocket();
        s.PushTo(TwoStacks.Payload(net.A, "1"u8), new Ipv4Endpoint(TwoStacks.AddressB, 1));
        net.Pump();
        Assert.True(net.A.TryGetArpEntry(TwoStacks.AddressB, out _));
        net.Clock.Advance(TimeSpan.FromSeconds(6));
        Assert.False(net.A.TryGetArpEntry(TwoStacks.AddressB, out _));
        Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "2"u8), new Ipv4Endpoint(TwoStacks.AddressB, 1)));
        net.Pump();
        Assert.Equal(2, net.A.Counters.ArpRequestsSent);
    }

    [Fact]
    public void AnswersRequestsFromARawPeer()
    {
        using var net = new TwoStacks();
        net.Raw.TransmitCopy(Frames.Arp(ArpPacket.OperationRequest, TwoStacks.MacRaw, TwoStacks.AddressRaw, MacAddress.Zero, TwoStacks.AddressB, MacAddress.Broadcast));
        net.Pump();
        var replies = net.DrainRaw();
        var reply = Assert.Single(replies);
        Assert.True(EthernetHeader.TryRead(reply, out var eth));
        Assert.Equal(TwoStacks.MacRaw, eth.Destination);
        Assert.Equal(TwoStacks.MacB, eth.Source);
        Assert.Equal(EthernetHeader.EtherTypeArp, eth.EtherType);
        Assert.Equal(DropReason.None, ArpPacket.TryRead(reply.AsSpan(14), out var arp));
        Assert.Equal(new ArpPacket(ArpPacket.OperationReply, TwoStacks.MacB, TwoStacks.AddressB, TwoStacks.MacRaw, TwoStacks.AddressRaw), arp);
        // A saw the broadcast request for B: not for it, counted, nothing learned.
        Assert.Equal(1, net.A.Counters[DropReason.ArpNotForUs]);
        Assert.False(net.A.TryGetArpEntry(TwoStacks.AddressRaw, out _));
    }

    [Fact]
    public void ConfigurationKeysOfDemikernel()
    {
        var o = new InetStackOptions();
        Assert.True(o.Set("local_ipv4_addr", "192.168.1.2"));
        Assert.True(o.Set("local_link_addr", "02:11:22:33:44:55"));
        Assert.True(o.Set("mtu", "1400"));
        Assert.True(o.Set("arp_request_retries", "5"));
        Assert.True(o.Set("arp_request_timeout", "0.25"));
        Assert.True(o.Set("arp_cache_ttl", "30"));
        Assert.True(o.Set("udp_checksum_offload", "true"));
        Assert.True(o.Set("tcp_checksum_offload", "false"));
        Assert.True(o.Set("arp_table", "02:aa:bb:cc:dd:ee = 192.168.1.3"));
        Assert.False(o.Set("no_such_key", "1"));
        Assert.Equal(Ipv4Address.Parse("192.168.1.2"), o.LocalAddress);
        Assert.Equal(MacAddress.Parse("02:11:22:33:44:55"), o.MacAddress);
        Assert.Equal(1400, o.Mtu);
        Assert.Equal(5, o.ArpRequestRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.ArpRequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), o.ArpCacheTtl);
        Assert.True(o.UdpChecksumOffload);
        Assert.Equal(MacAddress.Parse("02:aa:bb:cc:dd:ee"), o.ArpTable[Ipv4Address.Parse("192.168.1.3")]);
    }

    [Fact]
    public void SharedCacheResolvesSendsWaitingOnAnotherQueue()
    {
        // Two queues of one interface (same MAC and address, one stack each): the reply to queue 1's
        // request lands on queue 2 (the wire delivers to the last port with that MAC).
        using var net = new TwoStacks();
        using var queues = new SharedCacheQueues(net);
        var (s1, s2, b, u) = (queues.Stack1, queues.Stack2, queues.PeerSocket, queues.Stack1.CreateUdpSocket());
        Assert.Equal(UdpSocket.Pending, u.PushTo(TwoStacks.Payload(s1, "via shared cache"u8), new Ipv4Endpoint(TwoStacks.AddressB, 99)));
        for (int i = 0; i < 10; i++)
        {
            s1.Poll();
            net.Pump();
            s2.Poll();
        }
        Assert.Equal(1, s1.Counters.ArpRequestsSent);
        Assert.Equal(0, s1.Counters.RxFrames); // the reply went to queue 2
        Assert.Equal(2, s2.Counters.RxFrames); // queue 1's broadcast request, and the reply
        Assert.True(s1.TryGetArpEntry(TwoStacks.AddressB, out var mac));
        Assert.Equal(TwoStacks.MacB, mac);
        Assert.Equal(0, s1.PendingResolutions);
        Assert.Equal("via shared cache"u8.ToArray(), TwoStacks.PopBytes(b, out var from));
        Assert.Equal(TwoStacks.AddressRaw, from.Address);
    }

    [Fact]
    public void ASendThatFindsTheSharedEntryLeavesAfterTheSendsStillWaitingForIt()
    {
        // Queue 1 waits for B's address; queue 2 gets the reply and fills the shared cache. Before
        // queue 1 polls again (a shard drains its mailbox before its NIC), its app sends once more:
        // that send finds the entry, and must not overtake the one still waiting.
        using var net = new TwoStacks();
        using var queues = new SharedCacheQueues(net);
        var (s1, s2, b, u) = (queues.Stack1, queues.Stack2, queues.PeerSocket, queues.Stack1.CreateUdpSocket());
        var shared = queues.Cache;
        var to = new Ipv4Endpoint(TwoStacks.AddressB, 99);
        Assert.Equal(UdpSocket.Pending, u.PushTo(TwoStacks.Payload(s1, "first"u8), to));
        s1.Poll(); // the request goes out
        for (int i = 0; i < 5; i++)
        {
            net.Pump();
            s2.Poll();
        }
        Assert.True(shared.TryGet(TwoStacks.AddressB, net.Clock.NowMicroseconds, out _), "queue 2 did not learn B's address");
        Assert.Equal(1, s1.PendingResolutions); // "first" still waits on queue 1

        Assert.Equal(0, u.PushTo(TwoStacks.Payload(s1, "second"u8), to));
        Assert.Equal(0, s1.PendingResolutions);
        s1.Poll();
        net.Pump();
        Assert.Equal("first"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.Equal("second"u8.ToArray(), TwoStacks.PopBytes(b, out _));
    }

    [Theory]
    [InlineData(true)]  // the entry that fills the cache has expired
    [InlineData(false)] // it is still valid: the oldest one is evicted
    public void FullCacheStillResolvesNewNeighbours(bool expired)
    {
        using var net = new TwoStacks(configureA: o =>
        {
            o.ArpCacheCapacity = 1;
            o.ArpCacheTtl = TimeSpan.FromSeconds(5);
        });
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 5)));
        // A learns C (the raw peer) from its request: the cache is now full.
        net.Raw.TransmitCopy(Frames.Arp(ArpPacket.OperationRequest, TwoStacks.MacRaw, TwoStacks.AddressRaw, MacAddress.Zero, TwoStacks.AddressA, MacAddress.Broadcast));
        net.Pump();
        Assert.True(net.A.TryGetArpEntry(TwoStacks.AddressRaw, out _));
        Assert.Equal(1, net.A.ArpCache.Count);
        net.Clock.Advance(TimeSpan.FromSeconds(expired ? 6 : 1));
        var observer = new RecordingObserver();
        var s = net.A.CreateUdpSocket();
        s.Observer = observer;
        Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "to B"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5), tag: 3));
        net.Pump();
        Assert.Equal("to B"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.Equal([(3UL, 0)], observer.Completions);
        Assert.Equal(0, net.A.PendingResolutions);
        // B took the place of C, and later sends to B hit the cache.
        Assert.True(net.A.TryGetArpEntry(TwoStacks.AddressB, out var mac));
        Assert.Equal(TwoStacks.MacB, mac);
        Assert.False(net.A.TryGetArpEntry(TwoStacks.AddressRaw, out _));
        Assert.Equal(1, net.A.ArpCache.Count);
        Assert.Equal(0, s.PushTo(TwoStacks.Payload(net.A, "again"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5)));
        net.Pump();
        Assert.Equal("again"u8.ToArray(), TwoStacks.PopBytes(b, out _));
    }

    [Fact]
    public void ClosingASocketCancelsItsSendsWaitingForArp()
    {
        using var net = new TwoStacks();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 5)));
        int available = net.A.Pool.Available;
        var observer = new RecordingObserver();
        var s = net.A.CreateUdpSocket();
        s.Observer = observer;
        var other = net.A.CreateUdpSocket();
        Assert.Equal(UdpSocket.Pending, s.PushTo(TwoStacks.Payload(net.A, "cancelled"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5), tag: 1));
        Assert.Equal(UdpSocket.Pending, other.PushTo(TwoStacks.Payload(net.A, "kept"u8), new Ipv4Endpoint(TwoStacks.AddressB, 5)));
        s.Close();
        Assert.Equal([(1UL, Errno.ECANCELED)], observer.Completions);
        Assert.Equal(1, net.A.PendingResolutions);
        net.Pump();
        // Only the other socket's datagram went out once B answered.
        Assert.Equal("kept"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.Equal(0, b.Available);
        Assert.Equal([(1UL, Errno.ECANCELED)], observer.Completions);
        Assert.Equal(available, net.A.Pool.Available);
    }
}

/// <summary>Two queues of one interface on the wire of a <see cref="TwoStacks"/> (same MAC and address, a stack each, one shared ARP cache), and B's UDP socket on port 99.</summary>
internal sealed class SharedCacheQueues : IDisposable
{
    public SharedCacheQueues(TwoStacks net)
    {
        var queue1 = net.Wire.CreatePort(TwoStacks.MacRaw);
        var queue2 = net.Wire.CreatePort(TwoStacks.MacRaw);
        Stack1 = new InetStack(queue1, new InetStackOptions { LocalAddress = TwoStacks.AddressRaw, Clock = net.Clock, ArpCache = Cache });
        Stack2 = new InetStack(queue2, new InetStackOptions { LocalAddress = TwoStacks.AddressRaw, Clock = net.Clock, ArpCache = Cache });
        PeerSocket = net.B.CreateUdpSocket();
        Assert.Equal(0, PeerSocket.Bind(new Ipv4Endpoint(Ipv4Address.Any, 99)));
    }

    public ArpCache Cache { get; } = new();
    public InetStack Stack1 { get; }
    public InetStack Stack2 { get; }
    public UdpSocket PeerSocket { get; }

    public void Dispose()
    {
        Stack1.Dispose();
        Stack2.Dispose();
    }
}
