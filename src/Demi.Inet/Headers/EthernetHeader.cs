using System.Buffers.Binary;

namespace Demi.Inet.Headers;

/// <summary>An Ethernet II header (14 bytes, no VLAN tag).</summary>
public readonly record struct EthernetHeader(MacAddress Destination, MacAddress Source, ushort EtherType)
{
    /// <summary>Header size in bytes.</summary>
    public const int Length = 14;

    /// <summary>An 802.1Q VLAN tag, which a frame may carry between the addresses and the EtherType.</summary>
    public const int VlanTagLength = 4;

    /// <summary>Bytes a frame adds to its IP packet at most (header and one VLAN tag): a frame is at most MTU + this.</summary>
    public const int MaxOverhead = Length + VlanTagLength;

    /// <summary>EtherType of IPv4.</summary>
    public const ushort EtherTypeIpv4 = 0x0800;

    /// <summary>EtherType of ARP.</summary>
    public const ushort EtherTypeArp = 0x0806;

    /// <summary>Reads a header; false when <paramref name="frame"/> is too short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out EthernetHeader header)
    {
        if (frame.Length < Length)
        {
            header = default;
            return false;
        }
        header = new EthernetHeader(MacAddress.Read(frame), MacAddress.Read(frame[6..]), BinaryPrimitives.ReadUInt16BigEndian(frame[12..]));
        return true;
    }

    /// <summary>Writes the header into the first 14 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        _ = destination[Length - 1]; // one bounds check up front
        Destination.Write(destination);
        Source.Write(destination[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[12..], EtherType);
    }
}
