using System.Buffers.Binary;
using Demi.Inet.Headers;
using System.Runtime.CompilerServices;
using Demi.Inet;

namespace Demi.Transport.Xdp.Internal;

/// <summary>
/// Completes CHECKSUM_PARTIAL TCP/UDP checksums in received frames. A Linux peer whose veth has TX
/// checksum offload on (the default) hands over segments whose checksum field holds only the folded
/// pseudo-header sum, expecting the "device" to finish it; AF_XDP passes that through raw and gives no
/// metadata saying so. A field equal to the pseudo-header sum is therefore taken as partial and the
/// checksum is computed over the segment in place (only for those frames); any other value is left
/// for the stack to verify. The cost for ordinary frames is the pseudo-header sum (a few adds).
/// A corrupted segment whose field happens to equal the pseudo-header sum is accepted: the same
/// 1-in-65536 odds as any checksum collision.
/// </summary>
internal static class PartialChecksum
{
    // Offsets in the headers (RFC 791, RFC 9293 §3.1, RFC 768).
    private const int EtherTypeOffset = 12;
    private const int Ipv4ProtocolOffset = 9;
    private const int Ipv4TotalLengthOffset = 2;
    private const int Ipv4FragmentOffset = 6;
    private const int Ipv4SourceOffset = 12;
    private const int Ipv4DestinationOffset = 16;
    private const ushort MoreFragmentsAndOffsetMask = 0x3FFF;
    private const int TcpChecksumOffset = 16;
    private const int UdpChecksumOffset = 6;

    /// <summary>Completes the checksum if the frame is an unfragmented IPv4 TCP/UDP segment carrying a partial one. Returns whether it did.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryComplete(Span<byte> frame)
    {
        if (frame.Length < EthernetHeader.Length + Ipv4Header.MinLength + UdpHeader.HeaderLength
            || BinaryPrimitives.ReadUInt16BigEndian(frame[EtherTypeOffset..]) != EthernetHeader.EtherTypeIpv4)
            return false;
        var ip = frame[EthernetHeader.Length..];
        byte protocol = ip[Ipv4ProtocolOffset];
        if (protocol != Ipv4Header.ProtocolTcp && protocol != Ipv4Header.ProtocolUdp)
            return false;
        return Complete(ip, protocol);
    }

    private static bool Complete(Span<byte> ip, byte protocol)
    {
        int ihl = (ip[0] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[Ipv4TotalLengthOffset..]);
        if ((ip[0] >> 4) != 4 || ihl < Ipv4Header.MinLength || total > ip.Length || total < ihl + UdpHeader.HeaderLength
            || (BinaryPrimitives.ReadUInt16BigEndian(ip[Ipv4FragmentOffset..]) & MoreFragmentsAndOffsetMask) != 0) // MF or an offset: fragments never carry partial sums
            return false;
        int length = total - ihl;
        var segment = ip.Slice(ihl, length);
        int checksumOffset = protocol == Ipv4Header.ProtocolTcp ? TcpChecksumOffset : UdpChecksumOffset;
        if (length < checksumOffset + 2)
            return false;
        ushort field = BinaryPrimitives.ReadUInt16BigEndian(segment[checksumOffset..]);
        if (field == 0)
            return false; // UDP without a checksum (or a TCP checksum the stack will reject)
        uint pseudo = InternetChecksum.PseudoHeaderSum(
            BinaryPrimitives.ReadUInt32BigEndian(ip[Ipv4SourceOffset..]), BinaryPrimitives.ReadUInt32BigEndian(ip[Ipv4DestinationOffset..]), protocol, length);
        if (field != InternetChecksum.Fold(pseudo))
            return false;
        BinaryPrimitives.WriteUInt16BigEndian(segment[checksumOffset..], 0);
        ushort sum = InternetChecksum.Finish(InternetChecksum.Add(pseudo, segment));
        if (protocol == Ipv4Header.ProtocolUdp && sum == 0)
            sum = 0xFFFF; // UDP sends a computed zero as all ones
        BinaryPrimitives.WriteUInt16BigEndian(segment[checksumOffset..], sum);
        return true;
    }
}
