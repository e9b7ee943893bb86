using System.Buffers.Binary;

namespace Demi.Inet.Headers;

/// <summary>An IPv4 header (RFC 791). Options are skipped on receive and never sent.</summary>
public readonly record struct Ipv4Header(
    int HeaderLength, byte TypeOfService, ushort TotalLength, ushort Identification, ushort FlagsAndFragmentOffset,
    byte Ttl, byte Protocol, ushort Checksum, Ipv4Address Source, Ipv4Address Destination)
{
    /// <summary>Size of a header without options.</summary>
    public const int MinLength = 20;

    /// <summary>Protocol number of ICMP.</summary>
    public const byte ProtocolIcmp = 1;

    /// <summary>Protocol number of TCP.</summary>
    public const byte ProtocolTcp = 6;

    /// <summary>Protocol number of UDP.</summary>
    public const byte ProtocolUdp = 17;

    /// <summary>The Don't Fragment flag bit in <see cref="FlagsAndFragmentOffset"/>.</summary>
    public const ushort FlagDontFragment = 0x4000;

    /// <summary>The More Fragments flag bit in <see cref="FlagsAndFragmentOffset"/>.</summary>
    public const ushort FlagMoreFragments = 0x2000;

    /// <summary>True for a fragment of a larger datagram (MF set or a non-zero offset).</summary>
    public bool IsFragment => (FlagsAndFragmentOffset & (FlagMoreFragments | 0x1FFF)) != 0;

    /// <summary>
    /// Reads and validates a header: version 4, IHL at least 5 and inside the packet, total length at
    /// least the header and at most <c>packet.Length</c> (longer frames are link padding), checksum
    /// (when <paramref name="verifyChecksum"/>), a well-formed options list, TTL non-zero. Addresses and fragments are the caller's
    /// policy. Returns <see cref="DropReason.None"/> on success.
    /// </summary>
    public static DropReason TryRead(ReadOnlySpan<byte> packet, bool verifyChecksum, out Ipv4Header header)
    {
        header = default;
        if (packet.Length < MinLength)
            return DropReason.Ipv4Truncated;
        byte versionIhl = packet[0];
        if ((versionIhl >> 4) != 4)
            return DropReason.Ipv4BadVersion;
        int headerLength = (versionIhl & 0xF) * 4;
        if (headerLength < MinLength || headerLength > packet.Length)
            return DropReason.Ipv4BadHeaderLength;
        ushort totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (totalLength < headerLength || totalLength > packet.Length)
            return DropReason.Ipv4BadTotalLength;
        if (verifyChecksum && InternetChecksum.Fold(InternetChecksum.Add(0, packet[..headerLength])) != 0xFFFF)
            return DropReason.Ipv4BadChecksum;
        if (headerLength > MinLength && !OptionsWellFormed(packet[MinLength..headerLength]))
            return DropReason.Ipv4BadOptions;
        header = new Ipv4Header(headerLength, packet[1], totalLength, BinaryPrimitives.ReadUInt16BigEndian(packet[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(packet[6..]), packet[8], packet[9], BinaryPrimitives.ReadUInt16BigEndian(packet[10..]),
            Ipv4Address.Read(packet[12..]), Ipv4Address.Read(packet[16..]));
        return header.Ttl == 0 ? DropReason.Ipv4TtlExpired : DropReason.None;
    }

    // RFC 791 §3.1: EOL (0) ends the list, NOP (1) is one byte, every other option is type, length
    // (counting both), data. Options are otherwise ignored, but a malformed list means a corrupt header.
    private static bool OptionsWellFormed(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == 0)
                return true;
            if (type == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= options.Length)
                return false;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
                return false;
            i += length;
        }
        return true;
    }

    /// <summary>
    /// Writes a 20-byte header (no options; <see cref="HeaderLength"/> is ignored) into <paramref name="destination"/>.
    /// The checksum is computed when <paramref name="computeChecksum"/>, else written as zero (device offload).
    /// </summary>
    public void Write(Span<byte> destination, bool computeChecksum)
    {
        _ = destination[MinLength - 1];
        destination[0] = 0x45;
        destination[1] = TypeOfService;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], TotalLength);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Identification);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], FlagsAndFragmentOffset);
        destination[8] = Ttl;
        destination[9] = Protocol;
        destination[10] = 0;
        destination[11] = 0;
        Source.Write(destination[12..]);
        Destination.Write(destination[16..]);
        if (computeChecksum)
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], ComputeChecksum());
    }

    /// <summary>
    /// The RFC 791 header checksum of the 20-byte header <see cref="Write"/> writes, summed from the fields
    /// rather than read back from the bytes just written: a 4-byte read over those 1- and 2-byte stores
    /// cannot be forwarded from the store buffer and stalls until they reach the cache.
    /// </summary>
    public ushort ComputeChecksum()
    {
        uint source = Source.Value, destination = Destination.Value;
        uint sum = (0x45u << 8 | TypeOfService) + TotalLength + Identification + FlagsAndFragmentOffset
                   + ((uint)Ttl << 8 | Protocol) + (source >> 16) + (source & 0xFFFF) + (destination >> 16) + (destination & 0xFFFF);
        return InternetChecksum.Finish(sum);
    }
}
