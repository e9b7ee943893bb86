using System.Buffers.Binary;

namespace Demi.Inet.Headers;

/// <summary>A UDP header (RFC 768), 8 bytes.</summary>
public readonly record struct UdpHeader(ushort SourcePort, ushort DestinationPort, ushort Length, ushort Checksum)
{
    /// <summary>Header size in bytes.</summary>
    public const int HeaderLength = 8;

    /// <summary>
    /// Reads and validates the header of a UDP segment (the IP payload): length field at least 8 and at
    /// most the segment, checksum over the pseudo-header when non-zero and <paramref name="verifyChecksum"/>
    /// (zero means the sender did not compute one, which RFC 768 allows).
    /// </summary>
    public static DropReason TryRead(ReadOnlySpan<byte> segment, Ipv4Address source, Ipv4Address destination, bool verifyChecksum, out UdpHeader header)
    {
        header = default;
        if (segment.Length < HeaderLength)
            return DropReason.UdpTruncated;
        ushort length = BinaryPrimitives.ReadUInt16BigEndian(segment[4..]);
        if (length < HeaderLength || length > segment.Length)
            return DropReason.UdpBadLength;
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(segment[6..]);
        if (verifyChecksum && checksum != 0)
        {
            uint sum = InternetChecksum.PseudoHeaderSum(source.Value, destination.Value, Ipv4Header.ProtocolUdp, length);
            if (InternetChecksum.Fold(InternetChecksum.Add(sum, segment[..length])) != 0xFFFF)
                return DropReason.UdpBadChecksum;
        }
        header = new UdpHeader(BinaryPrimitives.ReadUInt16BigEndian(segment), BinaryPrimitives.ReadUInt16BigEndian(segment[2..]), length, checksum);
        return DropReason.None;
    }

    /// <summary>
    /// Writes the header at the start of <paramref name="segment"/> (header followed by the payload,
    /// <see cref="Length"/> bytes in all) and, when <paramref name="computeChecksum"/>, the checksum over
    /// the pseudo-header and segment (a computed zero is sent as 0xFFFF, RFC 768). <see cref="Checksum"/> is ignored.
    /// </summary>
    public void Write(Span<byte> segment, Ipv4Address source, Ipv4Address destination, bool computeChecksum)
    {
        _ = segment[HeaderLength - 1];
        BinaryPrimitives.WriteUInt16BigEndian(segment, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[4..], Length);
        segment[6] = 0;
        segment[7] = 0;
        if (computeChecksum)
        {
            // The header's words from the fields, only the payload from memory: reading back the header
            // just written would stall on store forwarding (see Ipv4Header.ComputeChecksum).
            uint sum = InternetChecksum.PseudoHeaderSum(source.Value, destination.Value, Ipv4Header.ProtocolUdp, Length)
                       + SourcePort + DestinationPort + Length;
            ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, segment[HeaderLength..Length]));
            BinaryPrimitives.WriteUInt16BigEndian(segment[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
        }
    }
}
