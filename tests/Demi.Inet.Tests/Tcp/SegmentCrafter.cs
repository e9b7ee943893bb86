using System.Buffers.Binary;
using Demi.Buffers;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Builds raw TCP segments by hand (independently of the stack's own writer) for injection.</summary>
internal static class SegmentCrafter
{
    public const byte Fin = 1, Syn = 2, Rst = 4, Psh = 8, Ack = 16;

    public static byte[] MssOption(ushort mss) => [2, 4, (byte)(mss >> 8), (byte)mss];

    public static byte[] WindowScaleOption(byte shift) => [1, 3, 3, shift];

    public static byte[] SackPermittedOption() => [1, 1, 4, 2];

    public static byte[] TimestampOption(uint tsVal, uint tsEcr)
    {
        var o = new byte[12];
        o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(4), tsVal);
        BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(8), tsEcr);
        return o;
    }

    public static byte[] SackOption(params (uint Start, uint End)[] blocks)
    {
        var o = new byte[4 + 8 * blocks.Length];
        o[0] = 1; o[1] = 1; o[2] = 5; o[3] = (byte)(2 + 8 * blocks.Length);
        for (int i = 0; i < blocks.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(4 + 8 * i), blocks[i].Start);
            BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(8 + 8 * i), blocks[i].End);
        }
        return o;
    }

    public static PacketBuffer Build(BufferPool pool, Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort,
        uint seq, uint ack, byte flags, ushort window, ReadOnlySpan<byte> options = default, ReadOnlySpan<byte> payload = default, bool corruptChecksum = false)
    {
        Assert.True(options.Length % 4 == 0);
        Assert.True(PacketBuffer.TryRent(pool, out var buffer));
        int headerLength = 20 + options.Length;
        var span = buffer.Append(headerLength + payload.Length);
        BinaryPrimitives.WriteUInt16BigEndian(span, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], ack);
        span[12] = (byte)((headerLength / 4) << 4);
        span[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(span[14..], window);
        span[16] = span[17] = span[18] = span[19] = 0;
        options.CopyTo(span[20..]);
        payload.CopyTo(span[headerLength..]);
        // Checksum over the pseudo-header (RFC 9293 §3.1), computed here word by word.
        ulong sum = (source.Value >> 16) + (source.Value & 0xFFFF) + (destination.Value >> 16) + (destination.Value & 0xFFFF) + 6 + (ulong)span.Length;
        for (int i = 0; i + 1 < span.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(span[i..]);
        if (span.Length % 2 == 1)
            sum += (ulong)span[^1] << 8;
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        ushort checksum = (ushort)~sum;
        if (corruptChecksum)
            checksum ^= 0x1234;
        BinaryPrimitives.WriteUInt16BigEndian(span[16..], checksum);
        return buffer;
    }
}
