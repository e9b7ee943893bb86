using System.Buffers.Binary;

namespace Demi.Inet.Headers;

/// <summary>An ARP packet for IPv4 over Ethernet (RFC 826), 28 bytes.</summary>
public readonly record struct ArpPacket(ushort Operation, MacAddress SenderMac, Ipv4Address SenderAddress, MacAddress TargetMac, Ipv4Address TargetAddress)
{
    /// <summary>Packet size in bytes.</summary>
    public const int Length = 28;

    /// <summary>ARP request opcode.</summary>
    public const ushort OperationRequest = 1;

    /// <summary>ARP reply opcode.</summary>
    public const ushort OperationReply = 2;

    private const ushort HardwareEthernet = 1;

    /// <summary>
    /// Reads and validates a packet (hardware type Ethernet, protocol IPv4, lengths 6 and 4).
    /// Returns <see cref="DropReason.None"/> on success.
    /// </summary>
    public static DropReason TryRead(ReadOnlySpan<byte> packet, out ArpPacket arp)
    {
        arp = default;
        if (packet.Length < Length)
            return DropReason.ArpMalformed;
        if (BinaryPrimitives.ReadUInt16BigEndian(packet) != HardwareEthernet
            || BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != EthernetHeader.EtherTypeIpv4
            || packet[4] != 6 || packet[5] != 4)
            return DropReason.ArpMalformed;
        ushort op = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        arp = new ArpPacket(op, MacAddress.Read(packet[8..]), Ipv4Address.Read(packet[14..]), MacAddress.Read(packet[18..]), Ipv4Address.Read(packet[24..]));
        return op is OperationRequest or OperationReply ? DropReason.None : DropReason.ArpUnsupportedOperation;
    }

    /// <summary>Writes the packet into the first 28 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        _ = destination[Length - 1];
        BinaryPrimitives.WriteUInt16BigEndian(destination, HardwareEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], EthernetHeader.EtherTypeIpv4);
        destination[4] = 6;
        destination[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], Operation);
        SenderMac.Write(destination[8..]);
        SenderAddress.Write(destination[14..]);
        TargetMac.Write(destination[18..]);
        TargetAddress.Write(destination[24..]);
    }
}
