using System.Buffers.Binary;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// A parsed TCP header and its options (RFC 9293 §3.1, RFC 7323, RFC 2018). Parsing validates
/// lengths so that malformed segments are rejected (and counted) instead of read past their end.
/// </summary>
internal struct TcpSegment
{
    public const int MinHeaderLength = 20;

    public ushort SourcePort;
    public ushort DestinationPort;
    public uint Seq;
    public uint Ack;
    public byte Flags;
    public ushort Window;
    public int HeaderLength;
    public int PayloadLength;

    public bool HasMss;
    public ushort Mss;
    /// <summary>Window-scale shift, or -1 when the option is absent.</summary>
    public int WindowScale;
    public bool SackPermitted;
    public bool HasTimestamp;
    public uint TsVal;
    public uint TsEcr;
    public int SackCount;
    public SackBlocks Sacks;

    public readonly bool Syn => (Flags & TcpFlags.Syn) != 0;
    public readonly bool Fin => (Flags & TcpFlags.Fin) != 0;
    public readonly bool Rst => (Flags & TcpFlags.Rst) != 0;
    public readonly bool HasAck => (Flags & TcpFlags.Ack) != 0;

    /// <summary>Sequence space the segment occupies: payload plus one for SYN and one for FIN.</summary>
    public readonly uint SegmentLength => (uint)PayloadLength + (Syn ? 1u : 0u) + (Fin ? 1u : 0u);

    /// <summary>Parses a header; false when the segment is malformed (too short, bad offset, bad option).</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, out TcpSegment segment) => Parse(data, out segment) == TcpParseError.None;

    /// <summary>Parses a header and says what was wrong with a malformed one.</summary>
    public static TcpParseError Parse(ReadOnlySpan<byte> data, out TcpSegment segment)
    {
        segment = default;
        segment.WindowScale = -1;
        if (data.Length < MinHeaderLength)
            return TcpParseError.Truncated;
        int headerLength = (data[12] >> 4) * 4;
        if (headerLength < MinHeaderLength || headerLength > data.Length)
            return TcpParseError.BadDataOffset;
        segment.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(data);
        segment.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        segment.Seq = BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
        segment.Ack = BinaryPrimitives.ReadUInt32BigEndian(data[8..]);
        segment.Flags = data[13];
        segment.Window = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        segment.HeaderLength = headerLength;
        segment.PayloadLength = data.Length - headerLength;
        return ParseOptions(data[MinHeaderLength..headerLength], ref segment) ? TcpParseError.None : TcpParseError.BadOptions;
    }

    private static bool ParseOptions(ReadOnlySpan<byte> options, ref TcpSegment segment)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
                break; // end of option list
            if (kind == 1)
            {
                i++; // NOP
                continue;
            }
            if (i + 1 >= options.Length)
                return false;
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
                return false;
            var body = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case 2 when length == 4:
                    segment.HasMss = true;
                    segment.Mss = BinaryPrimitives.ReadUInt16BigEndian(body);
                    break;
                case 3 when length == 3:
                    // RFC 7323 §2.3: a shift above 14 is treated as 14.
                    segment.WindowScale = Math.Min((int)body[0], 14);
                    break;
                case 4 when length == 2:
                    segment.SackPermitted = true;
                    break;
                case 5 when (length - 2) % 8 == 0:
                    int count = Math.Min((length - 2) / 8, 4);
                    for (int b = 0; b < count; b++)
                    {
                        segment.Sacks[b] = new SackBlock(
                            BinaryPrimitives.ReadUInt32BigEndian(body[(b * 8)..]),
                            BinaryPrimitives.ReadUInt32BigEndian(body[(b * 8 + 4)..]));
                    }
                    segment.SackCount = count;
                    break;
                case 8 when length == 10:
                    segment.HasTimestamp = true;
                    segment.TsVal = BinaryPrimitives.ReadUInt32BigEndian(body);
                    segment.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
                    break;
                case 2 or 3 or 4 or 8:
                    return false; // known option with a wrong length
                default:
                    break; // unknown options are skipped (RFC 9293 §3.2)
            }
            i += length;
        }
        return true;
    }
}

/// <summary>Why a TCP header did not parse.</summary>
internal enum TcpParseError
{
    None,
    /// <summary>Shorter than the 20-byte fixed header.</summary>
    Truncated,
    /// <summary>Data offset below 5 words or beyond the segment.</summary>
    BadDataOffset,
    /// <summary>An option running past the header, shorter than 2, or a known option with a wrong length.</summary>
    BadOptions,
}
