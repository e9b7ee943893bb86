using Demi.Buffers;
using Demi.Inet.Headers;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>Frames the NIC refuses, and the reference of a frame whose processing throws.</summary>
public sealed class TransmitAndOwnershipTests
{
    private sealed class ThrowingHandler : IIpProtocolHandler
    {
        public byte Protocol => 200;
        public long NextDeadline => long.MaxValue;
        public int OnTimer(long nowMicroseconds) => 0;
        public void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified)
            => throw new InvalidOperationException("handler bug");
    }

    private sealed class ThrowingObserver : IUdpSocketObserver
    {
        public void OnDatagram(UdpSocket socket) { }
        public void OnError(UdpSocket socket, int errno) => throw new InvalidOperationException("observer bug");
        public void OnPushCompleted(UdpSocket socket, ulong tag, int errno) { }
    }

    [Fact]
    public void RefusedFrameCompletesItsPushWithEnobufs()
    {
        var clock = new ManualInetClock();
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = clock });
        var nic = new RefusingNicQueue(wire.CreatePort(TwoStacks.MacA)) { Budget = 1 };
        using var stack = new InetStack(nic, new InetStackOptions { LocalAddress = TwoStacks.AddressA, Clock = clock });
        stack.AddStaticArpEntry(TwoStacks.AddressB, TwoStacks.MacB);
        int available = stack.Pool.Available;
        var observer = new RecordingObserver();
        var s = stack.CreateUdpSocket();
        s.Observer = observer;
        var b = new Ipv4Endpoint(TwoStacks.AddressB, 5);
        Assert.Equal(0, s.PushTo(TwoStacks.Payload(stack, "taken"u8), b, tag: 1));
        Assert.Equal(0, s.PushTo(TwoStacks.Payload(stack, "refused"u8), b, tag: 2));
        stack.Poll();
        // The first frame went out (nothing to report); the second was refused and says so.
        Assert.Equal([(2UL, Errno.ENOBUFS)], observer.Completions);
        Assert.Equal(1, stack.Counters[DropReason.TxQueueFull]);
        Assert.Equal(1, stack.Counters.TxFrames);
        Assert.Equal(available, stack.Pool.Available);
    }

    [Fact]
    public void FrameIsReleasedWhenProcessingThrowsBeforeAHandlerTookIt()
    {
        var log = new List<string>();
        using var net = new TwoStacks(configureA: o => { o.InjectsFaults = true; o.InternalErrorLog = log.Add; });
        var s = net.A.CreateUdpSocket();
        s.Observer = new ThrowingObserver();
        Assert.Equal(0, s.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4000)));
        Assert.Equal(0, s.Connect(new Ipv4Endpoint(TwoStacks.AddressRaw, 9)));
        // An ICMP port unreachable from the peer about A's datagram: reporting it to the socket throws.
        var quote = Frames.Udp(TwoStacks.MacA, TwoStacks.MacRaw, new Ipv4Endpoint(TwoStacks.AddressA, 4000), new Ipv4Endpoint(TwoStacks.AddressRaw, 9), "x"u8)
            .AsSpan(EthernetHeader.Length, Ipv4Header.MinLength + UdpHeader.HeaderLength).ToArray();
        var icmp = new byte[IcmpHeader.Length + quote.Length];
        quote.CopyTo(icmp.AsSpan(IcmpHeader.Length));
        new IcmpHeader(IcmpHeader.TypeDestinationUnreachable, IcmpHeader.CodePortUnreachable, 0, 0, 0).WriteWithChecksum(icmp);
        int available = net.A.Pool.Available;
        Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, Ipv4Header.ProtocolIcmp, icmp)));
        net.Pump();
        Assert.Equal(1, net.A.Counters[DropReason.InternalError]);
        Assert.Equal(available, net.A.Pool.Available);
        // The caught bug is loud: logged with its exception.
        Assert.Contains(log, line => line.Contains("observer bug") && line.Contains("released"));
    }

    [Fact]
    public void AThrowingHandlersFrameIsReleasedExactlyOnce()
    {
        var log = new List<string>();
        using var net = new TwoStacks(configureA: o => { o.InjectsFaults = true; o.InternalErrorLog = log.Add; });
        net.A.RegisterProtocol(new ThrowingHandler());
        int baseline = net.A.Pool.Available;
        Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 200, "payload"u8)));
        net.Pump();
        Assert.Equal(1, net.A.Counters[DropReason.InternalError]);
        Assert.Equal(baseline, net.A.Pool.Available); // released, not leaked
        Assert.Single(log, line => line.Contains("handler bug") && line.Contains("released"));
        // Released once only: a second release would have returned the buffer twice and the pool
        // would now count one more than it has; a burst of throwing frames keeps it exact.
        for (int i = 0; i < 10; i++)
            Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 200, "payload"u8)));
        net.Pump();
        Assert.Equal(11, net.A.Counters[DropReason.InternalError]);
        Assert.Equal(baseline, net.A.Pool.Available);
        // The stack keeps working.
        net.Raw.TransmitCopy(Frames.EchoRequest(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 1, 1, "ping"u8));
        net.Pump();
        Assert.Equal(1, net.A.Counters.IcmpEchoRepliesSent);
    }

    /// <summary>Takes the segment, keeps it, then throws: the frame is the handler's, not the stack's to release.</summary>
    private sealed class KeepThenThrowHandler(IIpLayer ip) : IIpProtocolHandler
    {
        public readonly List<PacketBuffer> Kept = [];
        public byte Protocol => 201;
        public long NextDeadline => long.MaxValue;
        public int OnTimer(long nowMicroseconds) => 0;

        public void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified)
        {
            ip.TakeReceived(segment);
            Kept.Add(segment);
            throw new InvalidOperationException("bug after keeping");
        }
    }

    [Fact]
    public void AFrameItsHandlerTookBeforeThrowingStaysTheHandlersAndIsNotFreedTwice()
    {
        var log = new List<string>();
        using var net = new TwoStacks(configureA: o => { o.InjectsFaults = true; o.InternalErrorLog = log.Add; });
        var handler = new KeepThenThrowHandler(net.A);
        net.A.RegisterProtocol(handler);
        int baseline = net.A.Pool.Available;
        Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 201, "kept"u8)));
        net.Pump();
        Assert.Equal(1, net.A.Counters[DropReason.InternalError]);
        var kept = Assert.Single(handler.Kept);
        Assert.Equal(baseline - 1, net.A.Pool.Available); // the handler holds it: the stack did not release it
        Assert.Equal("kept", System.Text.Encoding.ASCII.GetString(kept.Span));
        kept.Release();
        Assert.Equal(baseline, net.A.Pool.Available); // exactly one reference, now returned
        Assert.Single(log, line => line.Contains("bug after keeping") && line.Contains("its handler's"));
    }

    private sealed class ThrowingDatagramObserver : IUdpSocketObserver
    {
        public void OnDatagram(UdpSocket socket) => throw new InvalidOperationException("datagram observer bug");
        public void OnError(UdpSocket socket, int errno) { }
        public void OnPushCompleted(UdpSocket socket, ulong tag, int errno) { }
    }

    [Fact]
    public void ADatagramWhoseObserverThrowsIsQueuedOnceAndReleasedOnceWhenPopped()
    {
        var log = new List<string>();
        using var net = new TwoStacks(configureA: o => { o.InjectsFaults = true; o.InternalErrorLog = log.Add; });
        var s = net.A.CreateUdpSocket();
        s.Observer = new ThrowingDatagramObserver();
        Assert.Equal(0, s.Bind(new Ipv4Endpoint(Ipv4Address.Any, 4000)));
        int baseline = net.A.Pool.Available;
        Assert.True(net.Raw.TransmitCopy(Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacA, new Ipv4Endpoint(TwoStacks.AddressRaw, 9), new Ipv4Endpoint(TwoStacks.AddressA, 4000), "queued"u8)));
        net.Pump();
        Assert.Equal(1, net.A.Counters[DropReason.InternalError]);
        Assert.Equal(baseline - 1, net.A.Pool.Available); // in the socket's queue
        Assert.True(s.TryPop(out var payload, out _));
        Assert.Equal("queued", System.Text.Encoding.ASCII.GetString(payload.Span));
        payload.Release();
        Assert.False(s.TryPop(out _, out _));
        Assert.Equal(baseline, net.A.Pool.Available);
    }

    [Fact]
    public void InternalErrorLogIsRateLimited()
    {
        var log = new List<string>();
        using var net = new TwoStacks(configureA: o => { o.InjectsFaults = true; o.InternalErrorLog = log.Add; });
        net.A.RegisterProtocol(new ThrowingHandler());
        for (int i = 0; i < 100; i++)
        {
            Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 200, "payload"u8)));
            net.Pump();
        }
        Assert.Equal(100, net.A.Counters[DropReason.InternalError]);
        Assert.Equal(5, log.Count); // a burst, then at most one a second (the manual clock stands still)
        net.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacA, TwoStacks.AddressRaw, TwoStacks.AddressA, 200, "payload"u8)));
        net.Pump();
        Assert.Equal(6, log.Count);
        Assert.Contains("95 more suppressed", log[^1]);
    }
}
