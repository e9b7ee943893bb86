using System.Buffers.Binary;
using System.Net;
using Demi.Inet;

namespace Demi.Transport.Xdp.Tests;

/// <summary>Builds and checks Ethernet II + IPv4 + UDP frames, independently of the stack under development.</summary>
internal static class Frames
{
    public const int HeaderLength = 14 + 20 + 8;

    public static uint Ip(string address) => BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(address).GetAddressBytes());

    /// <summary>Writes a full frame into <paramref name="frame"/>; returns its length.</summary>
    public static int BuildUdp(Span<byte> frame, MacAddress src, MacAddress dst, uint srcIp, uint dstIp,
        ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload, ushort ipId = 1, bool corruptUdpChecksum = false)
    {
        dst.Write(frame);
        src.Write(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);
        var ip = frame.Slice(14, 20);
        int udpLength = 8 + payload.Length;
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + udpLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], ipId);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // DF
        ip[8] = 64;
        ip[9] = 17;
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], srcIp);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dstIp);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip));
        var udp = frame.Slice(34, udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        udp[6] = udp[7] = 0;
        payload.CopyTo(udp[8..]);
        uint sum = InternetChecksum.PseudoHeaderSum(srcIp, dstIp, 17, udpLength);
        ushort c = InternetChecksum.Finish(InternetChecksum.Add(sum, udp));
        if (c == 0)
            c = 0xFFFF;
        if (corruptUdpChecksum)
            c ^= 0x5A5A;
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], c);
        return 14 + 20 + udpLength;
    }

    /// <summary>Parsed view of a UDP/IPv4 frame, with both checksums verified.</summary>
    public readonly record struct Udp(uint SrcIp, uint DstIp, ushort SrcPort, ushort DstPort, byte[] Payload, bool IpChecksumOk, bool UdpChecksumOk);

    public static bool TryParseUdp(ReadOnlySpan<byte> frame, out Udp udp)
    {
        udp = default;
        if (frame.Length < HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
            return false;
        var ip = frame[14..];
        int ihl = (ip[0] & 0xF) * 4;
        if ((ip[0] >> 4) != 4 || ip[9] != 17 || ihl < 20)
            return false;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (total > ip.Length)
            return false;
        bool ipOk = InternetChecksum.Compute(ip[..ihl]) == 0;
        uint srcIp = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]);
        uint dstIp = BinaryPrimitives.ReadUInt32BigEndian(ip[16..]);
        var seg = ip[ihl..total];
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(seg[4..]);
        if (udpLength < 8 || udpLength > seg.Length)
            return false;
        seg = seg[..udpLength];
        bool udpOk = BinaryPrimitives.ReadUInt16BigEndian(seg[6..]) == 0
            || InternetChecksum.Fold(InternetChecksum.Add(InternetChecksum.PseudoHeaderSum(srcIp, dstIp, 17, udpLength), seg)) == 0xFFFF;
        udp = new Udp(srcIp, dstIp, BinaryPrimitives.ReadUInt16BigEndian(seg), BinaryPrimitives.ReadUInt16BigEndian(seg[2..]),
            seg[8..].ToArray(), ipOk, udpOk);
        return true;
    }
}
