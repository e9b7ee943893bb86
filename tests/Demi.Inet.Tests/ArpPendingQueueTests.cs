namespace Demi.Inet.Tests;

/// <summary>
/// Issue 16 item 8: sends waiting for ARP are queued per unresolved neighbour, bounded in bytes like
/// Linux's unres_qlen_bytes; one neighbour that never answers cannot starve the others.
/// </summary>
public sealed class ArpPendingQueueTests
{
    private static int Drain(UdpSocket socket)
    {
        int n = 0;
        while (socket.TryPop(out var payload, out _))
        {
            payload.Release();
            n++;
        }
        return n;
    }

    [Fact]
    public void FirstBurstOf300DatagramsToAnUnresolvedNeighbour_AllArriveOnceItAnswers()
    {
        using var net = new TwoStacks();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 9)));
        var a = net.A.CreateUdpSocket();
        var to = new Ipv4Endpoint(TwoStacks.AddressB, 9);
        for (int i = 0; i < 300; i++)
            Assert.Equal(UdpSocket.Pending, a.PushTo(TwoStacks.Payload(net.A, new byte[64]), to));
        Assert.Equal(300, net.A.PendingResolutions);
        Assert.Equal(1, net.A.Counters.ArpRequestsSent);
        net.Pump();
        Assert.Equal(300, Drain(b));
        Assert.Equal(0, net.A.Counters[DropReason.ArpPendingQueueFull]);
        Assert.Equal(0, net.A.PendingResolutions);
    }

    [Fact]
    public void QueuePerNeighbourIsBoundedInBytes()
    {
        using var net = new TwoStacks(configureA: o => o.ArpPendingBytesPerNeighbour = 10_000);
        var a = net.A.CreateUdpSocket();
        var absent = new Ipv4Endpoint(Ipv4Address.Parse("10.0.0.99"), 9);
        int queued = 0;
        for (int i = 0; i < 50; i++)
            if (a.PushTo(TwoStacks.Payload(net.A, new byte[1000]), absent) == UdpSocket.Pending)
                queued++;
        // 1,028-byte IPv4 packets: 9 fit in 10,000 bytes.
        Assert.Equal(9, queued);
        Assert.Equal(41, net.A.Counters[DropReason.ArpPendingQueueFull]);
    }

    [Fact]
    public void ANeighbourThatNeverAnswers_DoesNotStarveTheOthers()
    {
        using var net = new TwoStacks(configureA: o => o.ArpPendingLimit = 400);
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 9)));
        var a = net.A.CreateUdpSocket();
        var absent = new Ipv4Endpoint(Ipv4Address.Parse("10.0.0.99"), 9);
        for (int i = 0; i < 1000; i++)
            a.PushTo(TwoStacks.Payload(net.A, new byte[64]), absent);
        Assert.Equal(300, net.A.PendingResolutions); // three quarters of the 400 slots
        for (int i = 0; i < 50; i++)
            Assert.Equal(UdpSocket.Pending, a.PushTo(TwoStacks.Payload(net.A, new byte[64]), new Ipv4Endpoint(TwoStacks.AddressB, 9)));
        net.Pump();
        Assert.Equal(50, Drain(b));
    }

    [Fact]
    public void ManyNeighboursThatNeverAnswer_DoNotKeepANewOneFromBeingResolved()
    {
        using var net = new TwoStacks();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 9)));
        var a = net.A.CreateUdpSocket();
        // More silent neighbours than resolution slots (a spoofed flood's answers), all past their first request.
        for (int i = 0; i < 40; i++)
            a.PushTo(TwoStacks.Payload(net.A, "x"u8), new Ipv4Endpoint(Ipv4Address.Parse($"10.0.1.{i + 1}"), 9));
        net.Run(TimeSpan.FromMilliseconds(600), TimeSpan.FromMilliseconds(100));
        Assert.Equal(UdpSocket.Pending, a.PushTo(TwoStacks.Payload(net.A, "legit"u8), new Ipv4Endpoint(TwoStacks.AddressB, 9)));
        net.Pump();
        Assert.Equal("legit"u8.ToArray(), TwoStacks.PopBytes(b, out _));
        Assert.True(net.A.Counters.ArpResolutionsEvicted >= 1);
    }
}
