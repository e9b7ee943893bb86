using Demi.Inet.Headers;

namespace Demi.Inet.Tests;

public sealed class IcmpTests
{
    [Fact]
    public void AnswersEchoRequestWithSameIdSequenceAndData()
    {
        using var net = new TwoStacks();
        // Let B know the raw peer's MAC first (static), so the reply goes straight out.
        net.B.AddStaticArpEntry(TwoStacks.AddressRaw, TwoStacks.MacRaw);
        var data = new byte[56];
        for (int i = 0; i < data.Length; i++)
            data[i] = (byte)(i * 7);
        net.Raw.TransmitCopy(Frames.EchoRequest(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 0xBEEF, 3, data));
        net.Pump();
        var reply = Assert.Single(net.DrainRaw());
        Assert.True(EthernetHeader.TryRead(reply, out var eth));
        Assert.Equal(TwoStacks.MacRaw, eth.Destination);
        Assert.Equal(DropReason.None, Ipv4Header.TryRead(reply.AsSpan(14), verifyChecksum: true, out var ip));
        Assert.Equal(TwoStacks.AddressB, ip.Source);
        Assert.Equal(TwoStacks.AddressRaw, ip.Destination);
        Assert.Equal(Ipv4Header.ProtocolIcmp, ip.Protocol);
        var message = reply.AsSpan(14 + ip.HeaderLength, ip.TotalLength - ip.HeaderLength);
        Assert.Equal(DropReason.None, IcmpHeader.TryRead(message, out var icmp)); // checksum verified
        Assert.Equal(IcmpHeader.TypeEchoReply, icmp.Type);
        Assert.Equal(0xBEEF, icmp.Identifier);
        Assert.Equal(3, icmp.Sequence);
        Assert.Equal(data, message[IcmpHeader.Length..].ToArray());
        Assert.Equal(1, net.B.Counters.IcmpEchoRepliesSent);
    }

    [Fact]
    public void EchoRequestFromUnknownPeerWaitsForArpThenReplies()
    {
        using var net = new TwoStacks();
        net.Raw.TransmitCopy(Frames.EchoRequest(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 1, 1, "abc"u8));
        net.Pump();
        var frames = net.DrainRaw();
        var request = Assert.Single(frames);
        Assert.Equal(DropReason.None, ArpPacket.TryRead(request.AsSpan(14), out var arp));
        Assert.Equal(ArpPacket.OperationRequest, arp.Operation);
        Assert.Equal(TwoStacks.AddressRaw, arp.TargetAddress);
        net.Raw.TransmitCopy(Frames.Arp(ArpPacket.OperationReply, TwoStacks.MacRaw, TwoStacks.AddressRaw, TwoStacks.MacB, TwoStacks.AddressB, TwoStacks.MacB));
        net.Pump();
        var reply = Assert.Single(net.DrainRaw());
        Assert.Equal(DropReason.None, Ipv4Header.TryRead(reply.AsSpan(14), true, out var ip));
        Assert.Equal(Ipv4Header.ProtocolIcmp, ip.Protocol);
    }

    [Fact]
    public void IgnoresBroadcastPingAndOtherTypes()
    {
        using var net = new TwoStacks();
        net.B.AddStaticArpEntry(TwoStacks.AddressRaw, TwoStacks.MacRaw);
        net.Raw.TransmitCopy(Frames.EchoRequest(TwoStacks.MacRaw, MacAddress.Broadcast, TwoStacks.AddressRaw, Ipv4Address.Broadcast, 1, 1, "abc"u8));
        var reply = new byte[8];
        new IcmpHeader(IcmpHeader.TypeEchoReply, 0, 0, 1, 1).WriteWithChecksum(reply);
        net.Raw.TransmitCopy(Frames.Ipv4(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 1, reply));
        net.Pump();
        Assert.Empty(net.DrainRaw());
        Assert.Equal(2, net.B.Counters[DropReason.IcmpUnsupported]);
    }

    [Fact]
    public void ClosedUdpPortAnswersPortUnreachableRateLimited()
    {
        using var net = new TwoStacks();
        net.B.AddStaticArpEntry(TwoStacks.AddressRaw, TwoStacks.MacRaw);
        var datagram = Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacB, new Ipv4Endpoint(TwoStacks.AddressRaw, 1234), new Ipv4Endpoint(TwoStacks.AddressB, 4321), "knock"u8);
        net.Raw.TransmitCopy(datagram);
        net.Pump();
        var reply = Assert.Single(net.DrainRaw());
        Assert.Equal(DropReason.None, Ipv4Header.TryRead(reply.AsSpan(14), true, out var ip));
        Assert.Equal(Ipv4Header.ProtocolIcmp, ip.Protocol);
        Assert.Equal(TwoStacks.AddressRaw, ip.Destination);
        var message = reply.AsSpan(14 + ip.HeaderLength, ip.TotalLength - ip.HeaderLength);
        Assert.Equal(DropReason.None, IcmpHeader.TryRead(message, out var icmp));
        Assert.Equal(IcmpHeader.TypeDestinationUnreachable, icmp.Type);
        Assert.Equal(IcmpHeader.CodePortUnreachable, icmp.Code);
        // The quote is the original IP header and the first 8 bytes (the UDP header).
        Assert.Equal(datagram.AsSpan(14, 28).ToArray(), message[8..].ToArray());

        // A flood gets a bounded number of errors; broadcasts get none.
        for (int i = 0; i < 200; i++)
            net.Raw.TransmitCopy(datagram);
        net.Pump();
        int errors = net.DrainRaw().Count;
        Assert.InRange(errors, 1, 50);
        net.Raw.TransmitCopy(Frames.Udp(TwoStacks.MacRaw, MacAddress.Broadcast, new Ipv4Endpoint(TwoStacks.AddressRaw, 1234), new Ipv4Endpoint(Ipv4Address.Broadcast, 4321), "all"u8));
        net.Clock.Advance(TimeSpan.FromSeconds(1));
        net.Pump();
        Assert.Empty(net.DrainRaw());
        Assert.Equal(1 + errors, net.B.Counters.IcmpErrorsSent);
    }
}
