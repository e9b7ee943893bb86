using Demi.Inet.Headers;

namespace Demi.Inet.Tests;

/// <summary>Builds whole frames as byte arrays, as a peer on the wire would.</summary>
internal static class Frames
{
    public static byte[] Arp(ushort op, MacAddress srcMac, Ipv4Address srcIp, MacAddress targetMac, Ipv4Address targetIp, MacAddress ethDst)
    {
        var frame = new byte[EthernetHeader.Length + ArpPacket.Length];
        new EthernetHeader(ethDst, srcMac, EthernetHeader.EtherTypeArp).Write(frame);
        new ArpPacket(op, srcMac, srcIp, targetMac, targetIp).Write(frame.AsSpan(EthernetHeader.Length));
        return frame;
    }

    public static byte[] Ipv4(MacAddress srcMac, MacAddress dstMac, Ipv4Address src, Ipv4Address dst, byte protocol, ReadOnlySpan<byte> transport, byte ttl = 64, ushort flags = 0)
    {
        var frame = new byte[EthernetHeader.Length + Ipv4Header.MinLength + transport.Length];
        new EthernetHeader(dstMac, srcMac, EthernetHeader.EtherTypeIpv4).Write(frame);
        new Ipv4Header(20, 0, (ushort)(20 + transport.Length), 0x1234, flags, ttl, protocol, 0, src, dst).Write(frame.AsSpan(EthernetHeader.Length), computeChecksum: true);
        transport.CopyTo(frame.AsSpan(EthernetHeader.Length + Ipv4Header.MinLength));
        return frame;
    }

    public static byte[] Udp(MacAddress srcMac, MacAddress dstMac, Ipv4Endpoint src, Ipv4Endpoint dst, ReadOnlySpan<byte> payload, bool checksum = true)
    {
        var segment = new byte[UdpHeader.HeaderLength + payload.Length];
        payload.CopyTo(segment.AsSpan(UdpHeader.HeaderLength));
        new UdpHeader(src.Port, dst.Port, (ushort)segment.Length, 0).Write(segment, src.Address, dst.Address, checksum);
        return Ipv4(srcMac, dstMac, src.Address, dst.Address, Ipv4Header.ProtocolUdp, segment);
    }

    public static byte[] EchoRequest(MacAddress srcMac, MacAddress dstMac, Ipv4Address src, Ipv4Address dst, ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        var message = new byte[IcmpHeader.Length + data.Length];
        data.CopyTo(message.AsSpan(IcmpHeader.Length));
        new IcmpHeader(IcmpHeader.TypeEchoRequest, 0, 0, id, seq).WriteWithChecksum(message);
        return Ipv4(srcMac, dstMac, src, dst, Ipv4Header.ProtocolIcmp, message);
    }
}
