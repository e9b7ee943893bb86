using CsCheck;
using Demi.Inet.Headers;

namespace Demi.Inet.Tests;

public sealed class PropertyTests
{
    private static readonly Gen<MacAddress> GenMac = Gen.ULong[0, 0xFFFF_FFFF_FFFFUL].Select(v => new MacAddress(v));
    private static readonly Gen<Ipv4Address> GenIp = Gen.UInt.Select(v => new Ipv4Address(v));

    /// <summary>The textbook RFC 1071 sum: big-endian 16-bit words, odd byte padded, carries folded.</summary>
    private static ushort ReferenceChecksum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        ulong sum = initial;
        for (int i = 0; i < data.Length; i += 2)
            sum += (uint)(data[i] << 8) + (i + 1 < data.Length ? data[i + 1] : 0u);
        while ((sum >> 16) != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    [Fact]
    public void ChecksumMatchesReference()
    {
        Gen.Byte.Array[0, 3000].Sample(data =>
            Assert.Equal(ReferenceChecksum(data), InternetChecksum.Compute(data)), iter: 2000);
    }

    [Theory]
    [InlineData(0xFF, 65_535)] // every word 0xFFFF: the most carries the vector lanes can collect
    [InlineData(0xFF, 96)]
    [InlineData(0x80, 1_400)]
    public void ChecksumOfCarryHeavyBuffersMatchesReference(byte fill, int length)
    {
        var data = Enumerable.Repeat(fill, length).ToArray();
        Assert.Equal(ReferenceChecksum(data), InternetChecksum.Compute(data));
        // Unaligned starts take the same path.
        Assert.Equal(ReferenceChecksum(data[1..]), InternetChecksum.Compute(data.AsSpan(1)));
    }

    [Fact]
    public void ChecksumOfSplitAtEvenOffsetEqualsWhole()
    {
        Gen.Select(Gen.Byte.Array[2, 1500], Gen.Int[0, 750]).Sample((data, half) =>
        {
            int split = Math.Min(half * 2, data.Length);
            uint sum = InternetChecksum.Add(InternetChecksum.Add(0, data.AsSpan(0, split)), data.AsSpan(split));
            Assert.Equal(ReferenceChecksum(data), InternetChecksum.Finish(sum));
        }, iter: 1000);
    }

    [Fact]
    public void PseudoHeaderSumMatchesReference()
    {
        Gen.Select(GenIp, GenIp, Gen.Byte.Array[0, 200]).Sample((src, dst, segment) =>
        {
            var pseudo = new byte[12 + segment.Length];
            src.Write(pseudo);
            dst.Write(pseudo.AsSpan(4));
            pseudo[9] = 17;
            pseudo[10] = (byte)(segment.Length >> 8);
            pseudo[11] = (byte)segment.Length;
            segment.CopyTo(pseudo, 12);
            uint sum = InternetChecksum.PseudoHeaderSum(src.Value, dst.Value, 17, segment.Length);
            Assert.Equal(ReferenceChecksum(pseudo), InternetChecksum.Finish(InternetChecksum.Add(sum, segment)));
        }, iter: 1000);
    }

    [Fact]
    public void EthernetRoundTrip()
    {
        Gen.Select(GenMac, GenMac, Gen.UShort).Sample((d, s, t) =>
        {
            var h = new EthernetHeader(d, s, t);
            var buf = new byte[EthernetHeader.Length];
            h.Write(buf);
            Assert.True(EthernetHeader.TryRead(buf, out var back));
            Assert.Equal(h, back);
        });
    }

    [Fact]
    public void ArpRoundTrip()
    {
        Gen.Select(Gen.Int[1, 2], GenMac, GenIp, GenMac, GenIp).Sample((op, sm, si, tm, ti) =>
        {
            var p = new ArpPacket((ushort)op, sm, si, tm, ti);
            var buf = new byte[ArpPacket.Length];
            p.Write(buf);
            Assert.Equal(DropReason.None, ArpPacket.TryRead(buf, out var back));
            Assert.Equal(p, back);
        });
    }

    [Fact]
    public void Ipv4RoundTripAndChecksumVerifies()
    {
        Gen.Select(Gen.Select(Gen.Byte, Gen.UShort[20, 1500], Gen.UShort, Gen.Byte[1, 255]), Gen.Select(Gen.Byte, GenIp, GenIp, Gen.UShort))
            .Sample((t1, t2) =>
            {
                var (tos, total, id, ttl) = t1;
                var (proto, src, dst, flags) = t2;
                var h = new Ipv4Header(20, tos, total, id, flags, ttl, proto, 0, src, dst);
                var buf = new byte[total];
                h.Write(buf, computeChecksum: true);
                Assert.Equal(0, ReferenceChecksum(buf.AsSpan(0, 20))); // a correct header sums to zero
                Assert.Equal(DropReason.None, Ipv4Header.TryRead(buf, verifyChecksum: true, out var back));
                Assert.Equal(h with { Checksum = back.Checksum }, back);
            });
    }

    [Fact]
    public void UdpRoundTripAndChecksumVerifies()
    {
        Gen.Select(Gen.UShort, Gen.UShort, GenIp, GenIp, Gen.Byte.Array[0, 1472]).Sample((sp, dp, src, dst, payload) =>
        {
            var seg = new byte[8 + payload.Length];
            payload.CopyTo(seg, 8);
            var h = new UdpHeader(sp, dp, (ushort)seg.Length, 0);
            h.Write(seg, src, dst, computeChecksum: true);
            Assert.Equal(DropReason.None, UdpHeader.TryRead(seg, src, dst, verifyChecksum: true, out var back));
            Assert.Equal(h with { Checksum = back.Checksum }, back);
            Assert.NotEqual(0, back.Checksum); // zero would mean "no checksum"
            if (payload.Length > 0)
            {
                seg[^1] ^= 0x01; // any single-bit error is caught
                Assert.Equal(DropReason.UdpBadChecksum, UdpHeader.TryRead(seg, src, dst, verifyChecksum: true, out _));
            }
        }, iter: 500);
    }

    [Fact]
    public void IcmpRoundTrip()
    {
        Gen.Select(Gen.Byte, Gen.Byte, Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 100]).Sample((type, code, id, seq, data) =>
        {
            var msg = new byte[8 + data.Length];
            data.CopyTo(msg, 8);
            var h = new IcmpHeader(type, code, 0, id, seq);
            h.WriteWithChecksum(msg);
            Assert.Equal(DropReason.None, IcmpHeader.TryRead(msg, out var back));
            Assert.Equal(h with { Checksum = back.Checksum }, back);
        });
    }

    [Fact]
    public void ParsersNeverThrowOnArbitraryBytes()
    {
        Gen.Select(Gen.Byte.Array[0, 80], GenIp, GenIp).Sample((bytes, a, b) =>
        {
            _ = EthernetHeader.TryRead(bytes, out _);
            _ = ArpPacket.TryRead(bytes, out _);
            _ = Ipv4Header.TryRead(bytes, true, out _);
            _ = UdpHeader.TryRead(bytes, a, b, true, out _);
            _ = IcmpHeader.TryRead(bytes, out _);
        }, iter: 5000);
    }
}
