using System.Buffers.Binary;
using Demi.Inet;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp.Tests;

/// <summary>Completion of CHECKSUM_PARTIAL checksums (as a Linux veth peer with TX offload sends them), without a kernel.</summary>
public sealed class PartialChecksumTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:01");

    private static byte[] Udp(int payload, out ushort correct)
    {
        var frame = new byte[Frames.HeaderLength + payload];
        var data = new byte[payload];
        new Random(payload).NextBytes(data);
        Frames.BuildUdp(frame, Mac, Mac, Frames.Ip("10.99.0.2"), Frames.Ip("10.99.0.1"), 40000, 7, data);
        correct = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40));
        return frame;
    }

    private static ushort PseudoFold(byte[] frame, byte protocol)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16)) - 20;
        return InternetChecksum.Fold(InternetChecksum.PseudoHeaderSum(Frames.Ip("10.99.0.2"), Frames.Ip("10.99.0.1"), protocol, length));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(1001)]
    public void A_partial_udp_checksum_is_completed_and_a_full_one_left_alone(int payload)
    {
        var frame = Udp(payload, out ushort correct);
        var copy = frame.ToArray();
        bool touched = PartialChecksum.TryComplete(frame);
        Assert.Equal(copy, frame); // a correct checksum stays correct (recomputing it is idempotent)
        _ = touched;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(40), PseudoFold(frame, 17));
        Assert.True(PartialChecksum.TryComplete(frame));
        Assert.Equal(correct, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40)));
        Assert.True(Frames.TryParseUdp(frame, out var parsed) && parsed.UdpChecksumOk);
    }

    [Fact]
    public void A_partial_tcp_checksum_is_completed()
    {
        // A SYN-sized TCP segment built on a UDP frame's IPv4 header.
        var frame = new byte[14 + 20 + 40];
        Frames.BuildUdp(frame, Mac, Mac, Frames.Ip("10.99.0.2"), Frames.Ip("10.99.0.1"), 1, 2, new byte[32]);
        frame[23] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), 0);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), InternetChecksum.Compute(frame.AsSpan(14, 20)));
        var tcp = frame.AsSpan(34);
        tcp.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 51836);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 7000);
        tcp[12] = 0xA0; tcp[13] = 0x02;
        uint pseudo = InternetChecksum.PseudoHeaderSum(Frames.Ip("10.99.0.2"), Frames.Ip("10.99.0.1"), 6, 40);
        ushort correct = InternetChecksum.Finish(InternetChecksum.Add(pseudo, tcp));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Fold(pseudo));
        Assert.True(PartialChecksum.TryComplete(frame));
        Assert.Equal(correct, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(34 + 16)));
    }

    [Fact]
    public void Fragments_truncated_and_non_ip_frames_are_not_touched()
    {
        var frame = Udp(64, out _);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(40), PseudoFold(frame, 17));
        var fragment = frame.ToArray();
        fragment[20] = 0x20; // MF
        Assert.False(PartialChecksum.TryComplete(fragment));
        var truncated = frame.AsSpan(0, 50).ToArray(); // IPv4 total length beyond the frame
        Assert.False(PartialChecksum.TryComplete(truncated));
        var arp = frame.ToArray();
        arp[12] = 0x08; arp[13] = 0x06;
        Assert.False(PartialChecksum.TryComplete(arp));
        Assert.False(PartialChecksum.TryComplete(new byte[10]));
    }
}
