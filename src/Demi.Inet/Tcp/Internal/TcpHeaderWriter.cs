using System.Buffers.Binary;

namespace Demi.Inet.Tcp.Internal;

/// <summary>Writes TCP headers and options in place (in a buffer's headroom) and fills the checksum.</summary>
internal static class TcpHeaderWriter
{
    /// <summary>Largest TCP header (20 bytes plus 40 of options).</summary>
    public const int MaxHeaderLength = 60;

    /// <summary>Bytes of options a SYN carries: MSS, SACK-permitted, timestamps, NOP, window scale (Linux's order).</summary>
    public static int SynOptionsLength(bool sack, bool timestamps, bool windowScale)
        => 4 + (timestamps ? (sack ? 10 + 2 : 12) : (sack ? 4 : 0)) + (windowScale ? 4 : 0);

    /// <summary>Writes SYN options; returns bytes written (a multiple of 4).</summary>
    public static int WriteSynOptions(Span<byte> o, ushort mss, bool sack, bool timestamps, uint tsVal, uint tsEcr, int windowScale)
    {
        int i = 0;
        o[i++] = 2; o[i++] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(o[i..], mss);
        i += 2;
        if (timestamps)
        {
            if (sack)
            {
                o[i++] = 4; o[i++] = 2;
            }
            else
            {
                o[i++] = 1; o[i++] = 1;
            }
            i += WriteTimestamp(o[i..], tsVal, tsEcr);
        }
        else if (sack)
        {
            o[i++] = 1; o[i++] = 1; o[i++] = 4; o[i++] = 2;
        }
        if (windowScale >= 0)
        {
            o[i++] = 1; o[i++] = 3; o[i++] = 3; o[i++] = (byte)windowScale;
        }
        return i;
    }

    private static int WriteTimestamp(Span<byte> o, uint tsVal, uint tsEcr)
    {
        o[0] = 8; o[1] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(o[2..], tsVal);
        BinaryPrimitives.WriteUInt32BigEndian(o[6..], tsEcr);
        return 10;
    }

    /// <summary>Options of a synchronized-state segment: NOP NOP TS, then NOP NOP SACK blocks.</summary>
    public static int DataOptionsLength(bool timestamps, int sackBlocks)
        => (timestamps ? 12 : 0) + (sackBlocks > 0 ? 4 + 8 * sackBlocks : 0);

    public static int WriteDataOptions(Span<byte> o, bool timestamps, uint tsVal, uint tsEcr, ReadOnlySpan<SackBlock> sacks)
    {
        int i = 0;
        if (timestamps)
        {
            o[i++] = 1; o[i++] = 1;
            i += WriteTimestamp(o[i..], tsVal, tsEcr);
        }
        if (sacks.Length > 0)
        {
            o[i++] = 1; o[i++] = 1; o[i++] = 5; o[i++] = (byte)(2 + 8 * sacks.Length);
            foreach (var block in sacks)
            {
                BinaryPrimitives.WriteUInt32BigEndian(o[i..], block.Start);
                BinaryPrimitives.WriteUInt32BigEndian(o[(i + 4)..], block.End);
                i += 8;
            }
        }
        return i;
    }

    /// <summary>Writes the fixed 20-byte header (checksum zero).</summary>
    public static void WriteFixed(Span<byte> h, ushort sourcePort, ushort destinationPort, uint seq, uint ack, byte flags, ushort window, int headerLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(h, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], ack);
        h[12] = (byte)((headerLength / 4) << 4);
        h[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(h[14..], window);
        h[16] = 0; h[17] = 0; // checksum
        h[18] = 0; h[19] = 0; // urgent pointer
    }

    /// <summary>Fills the checksum over the pseudo-header and the whole segment (header and payload).</summary>
    public static void FillChecksum(Span<byte> segment, Ipv4Address source, Ipv4Address destination)
    {
        segment[16] = 0;
        segment[17] = 0;
        uint sum = InternetChecksum.PseudoHeaderSum(source.Value, destination.Value, 6, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], InternetChecksum.Finish(InternetChecksum.Add(sum, segment)));
    }

    /// <summary>True when a received segment's checksum is right.</summary>
    public static bool VerifyChecksum(ReadOnlySpan<byte> segment, Ipv4Address source, Ipv4Address destination)
    {
        uint sum = InternetChecksum.PseudoHeaderSum(source.Value, destination.Value, 6, segment.Length);
        return InternetChecksum.Fold(InternetChecksum.Add(sum, segment)) == 0xFFFF;
    }
}
