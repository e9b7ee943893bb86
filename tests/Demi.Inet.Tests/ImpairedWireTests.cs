using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

public sealed class ImpairedWireTests
{
    private static (int Received, long Lost) Exchange(VirtualWireOptions wire, int count)
    {
        using var net = new TwoStacks(wire);
        var a = net.A.CreateUdpSocket();
        var b = net.B.CreateUdpSocket();
        Assert.Equal(0, a.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1111)));
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 2222)));
        var seen = new HashSet<int>();
        int received = 0;
        for (int i = 0; i < count; i++)
        {
            var payload = BitConverter.GetBytes(i);
            int r = a.PushTo(TwoStacks.Payload(net.A, payload), new Ipv4Endpoint(TwoStacks.AddressB, 2222));
            Assert.True(r is 0 or UdpSocket.Pending, $"push {i}: {Errno.Name(r)}");
            net.Clock.AdvanceMicroseconds(100);
            net.Pump();
            while (b.TryPop(out var p, out var from))
            {
                Assert.Equal(1111, from.Port);
                seen.Add(BitConverter.ToInt32(p.Span));
                p.Release();
                received++;
            }
        }
        // Drain what is still delayed; ARP retries (timeouts 500 ms) may need time too.
        net.Run(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(5));
        while (b.TryPop(out var p, out _))
        {
            seen.Add(BitConverter.ToInt32(p.Span));
            p.Release();
            received++;
        }
        // Nothing wedged: a fresh exchange both ways still works after the impairments are lifted.
        wire.LossRate = 0;
        wire.DuplicateRate = 0;
        wire.ReorderRate = 0;
        b.PushTo(TwoStacks.Payload(net.B, "after"u8), new Ipv4Endpoint(TwoStacks.AddressA, 1111));
        net.Run(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(5));
        Assert.Equal("after"u8.ToArray(), TwoStacks.PopBytes(a, out _));
        Assert.Equal(0, net.A.PendingResolutions);
        Assert.Equal(0, net.A.Counters[DropReason.InternalError] + net.B.Counters[DropReason.InternalError]);
        return (seen.Count, net.Wire.Lost);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void OnePercentLossDoesNotWedge(int seed)
    {
        var (received, lost) = Exchange(new VirtualWireOptions { Seed = seed, LossRate = 0.01 }, 2000);
        Assert.True(lost > 0, "the wire lost nothing: the test does not test loss");
        Assert.InRange(received, 2000 - 100, 2000);
        Assert.True(received >= 2000 - lost - 5, $"received {received}, lost {lost}");
    }

    [Fact]
    public void DuplicationReorderingAndDelayDeliverEveryDatagram()
    {
        var options = new VirtualWireOptions { Seed = 9, DuplicateRate = 0.05, ReorderRate = 0.1, ReorderWindowMicroseconds = 500, DelayMicroseconds = 250 };
        var (received, _) = Exchange(options, 500);
        Assert.Equal(500, received);
    }

    [Fact]
    public void SameSeedSameOutcome()
    {
        static long Run(int seed)
        {
            var wire = new VirtualWire(new VirtualWireOptions { Seed = seed, LossRate = 0.3, Clock = new ManualInetClock() });
            var p1 = wire.CreatePort(TwoStacks.MacA);
            var p2 = wire.CreatePort(TwoStacks.MacB);
            var frame = new byte[60];
            TwoStacks.MacB.Write(frame);
            long pattern = 0;
            var rx = new Demi.Buffers.PacketBuffer[1];
            for (int i = 0; i < 60; i++)
            {
                p1.TransmitCopy(frame);
                int n = p2.Receive(rx);
                if (n == 1)
                    rx[0].Release();
                pattern = (pattern << 1) | (uint)n;
            }
            wire.Dispose();
            return pattern;
        }
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }
}
