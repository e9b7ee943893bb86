using Demi.Buffers;

namespace Demi.Inet.Tests;

public sealed class AllocationTests
{
    /// <summary>One datagram A→B and one B→A, popped and released: the steady-state per-packet path.</summary>
    private static void RoundTrip(TwoStacks net, UdpSocket a, UdpSocket b, Ipv4Endpoint toB, Ipv4Endpoint toA)
    {
        PacketBuffer.TryRent(net.A.Pool, out var p);
        p.Append(64).Fill(1);
        a.PushTo(p, toB);
        net.A.Poll();
        net.B.Poll();
        while (b.TryPop(out var got, out var from))
        {
            // Echo in place: the received buffer is pushed back (headers rebuilt in its headroom).
            b.PushTo(got, from);
        }
        net.B.Poll();
        net.A.Poll();
        while (a.TryPop(out var back, out _))
            back.Release();
    }

    [Fact]
    public void SteadyStateUdpEchoAllocatesNothing()
    {
        using var net = new TwoStacks(
            configureA: o => o.ArpTable[TwoStacks.AddressB] = TwoStacks.MacB,
            configureB: o => o.ArpTable[TwoStacks.AddressA] = TwoStacks.MacA);
        var a = net.A.CreateUdpSocket();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, a.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1)));
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 2)));
        var toB = new Ipv4Endpoint(TwoStacks.AddressB, 2);
        var toA = new Ipv4Endpoint(TwoStacks.AddressA, 1);
        for (int i = 0; i < 50_000; i++) // warm up (tiered JIT)
            RoundTrip(net, a, b, toB, toA);
        long received = net.A.Counters.UdpDatagramsReceived;
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int rounds = 20_000;
        for (int i = 0; i < rounds; i++)
            RoundTrip(net, a, b, toB, toA);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(rounds, net.A.Counters.UdpDatagramsReceived - received);
        Assert.True(allocated == 0, $"{allocated} bytes allocated over {rounds * 2} datagrams ({(double)allocated / (rounds * 2):F2} B/datagram)");
        Assert.Equal(0, net.A.Counters.TotalDrops + net.B.Counters.TotalDrops);
    }
}
