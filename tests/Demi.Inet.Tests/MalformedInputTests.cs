using System.Buffers.Binary;
using Demi.Inet.Headers;

namespace Demi.Inet.Tests;

/// <summary>Truncated and corrupted frames are dropped and counted; nothing throws; the stack keeps serving; no buffer leaks.</summary>
public sealed class MalformedInputTests
{
    private static readonly Ipv4Endpoint RawEndpoint = new(TwoStacks.AddressRaw, 4444);
    private static readonly Ipv4Endpoint ServiceEndpoint = new(TwoStacks.AddressB, 7777);

    private static byte[] ValidUdp() => Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacB, RawEndpoint, ServiceEndpoint, "payload!"u8);

    private static byte[] ValidPing() => Frames.EchoRequest(TwoStacks.MacRaw, TwoStacks.MacB, TwoStacks.AddressRaw, TwoStacks.AddressB, 5, 6, "0123456789"u8);

    private static byte[] ValidArp() => Frames.Arp(ArpPacket.OperationRequest, TwoStacks.MacRaw, TwoStacks.AddressRaw, MacAddress.Zero, TwoStacks.AddressB, MacAddress.Broadcast);

    public static TheoryData<string> Kinds => new() { "udp", "icmp", "arp" };

    private static byte[] Valid(string kind) => kind switch { "udp" => ValidUdp(), "icmp" => ValidPing(), _ => ValidArp() };

    private sealed class Fixture : IDisposable
    {
        public readonly TwoStacks Net = new();
        public readonly UdpSocket Service;
        public readonly int PoolAvailable;

        public Fixture()
        {
            Net.B.AddStaticArpEntry(TwoStacks.AddressRaw, TwoStacks.MacRaw);
            Service = Net.B.CreateUdpSocket();
            Assert.Equal(0, Service.Bind(ServiceEndpoint));
            PoolAvailable = Net.B.Pool.Available;
        }

        /// <summary>Sends one frame to B and returns how B's drop counters moved.</summary>
        public (long Drops, long Delivered) Send(byte[] frame)
        {
            long drops = Net.B.Counters.TotalDrops;
            long delivered = Net.B.Counters.UdpDatagramsReceived + Net.B.Counters.IcmpEchoRepliesSent + Net.B.Counters.ArpRepliesSent;
            Assert.True(Net.Raw.TransmitCopy(frame));
            Net.B.Poll();
            Net.DrainRaw();
            while (Service.TryPop(out var p, out _))
                p.Release();
            return (Net.B.Counters.TotalDrops - drops,
                Net.B.Counters.UdpDatagramsReceived + Net.B.Counters.IcmpEchoRepliesSent + Net.B.Counters.ArpRepliesSent - delivered);
        }

        /// <summary>The stack still answers, and every buffer went back to the pool.</summary>
        public void AssertStillServing()
        {
            Assert.Equal((0, 1), Send(ValidUdp()));
            Assert.Equal((0, 1), Send(ValidPing()));
            Assert.Equal((0, 1), Send(ValidArp()));
            Assert.Equal(0, Net.B.Counters[DropReason.InternalError]);
            Assert.Equal(PoolAvailable, Net.B.Pool.Available);
        }

        public void Dispose() => Net.Dispose();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryTruncationIsDroppedAndCounted(string kind)
    {
        using var f = new Fixture();
        var valid = Valid(kind);
        Assert.Equal((0, 1), f.Send(valid));
        for (int length = 0; length < valid.Length; length++)
        {
            var (drops, delivered) = f.Send(valid[..length]);
            Assert.True(drops == 1 && delivered == 0, $"{kind} truncated to {length}: drops {drops}, delivered {delivered}");
        }
        f.AssertStillServing();
    }

    // (name, frame kind, corruption, expected reason)
    public static TheoryData<string, string, DropReason> Corruptions => new()
    {
        { "ip-version-6", "udp", DropReason.Ipv4BadVersion },
        { "ip-ihl-0", "udp", DropReason.Ipv4BadHeaderLength },
        { "ip-ihl-4", "udp", DropReason.Ipv4BadHeaderLength },
        { "ip-ihl-15", "udp", DropReason.Ipv4BadHeaderLength },
        { "ip-total-too-big", "udp", DropReason.Ipv4BadTotalLength },
        { "ip-total-below-header", "udp", DropReason.Ipv4BadTotalLength },
        { "ip-checksum", "udp", DropReason.Ipv4BadChecksum },
        { "ip-ttl-0", "udp", DropReason.Ipv4TtlExpired },
        { "ip-more-fragments", "udp", DropReason.Ipv4Fragment },
        { "ip-fragment-offset", "udp", DropReason.Ipv4Fragment },
        { "ip-not-for-us", "udp", DropReason.Ipv4NotForUs },
        { "ip-source-broadcast", "udp", DropReason.Ipv4BadSource },
        { "ip-protocol-unknown", "udp", DropReason.Ipv4NoProtocolHandler },
        { "ip-option-length-0", "udp", DropReason.Ipv4BadOptions },
        { "ip-option-length-1", "udp", DropReason.Ipv4BadOptions },
        { "ip-option-past-header", "udp", DropReason.Ipv4BadOptions },
        { "ip-option-no-length", "udp", DropReason.Ipv4BadOptions },
        { "eth-not-for-us", "udp", DropReason.EthernetNotForUs },
        { "eth-ipv6", "udp", DropReason.UnsupportedEtherType },
        { "udp-length-below-8", "udp", DropReason.UdpBadLength },
        { "udp-length-too-big", "udp", DropReason.UdpBadLength },
        { "udp-checksum", "udp", DropReason.UdpBadChecksum },
        { "udp-payload-bit", "udp", DropReason.UdpBadChecksum },
        { "udp-no-socket", "udp", DropReason.UdpNoSocket },
        { "icmp-checksum", "icmp", DropReason.IcmpBadChecksum },
        { "icmp-data-bit", "icmp", DropReason.IcmpBadChecksum },
        { "arp-hardware-type", "arp", DropReason.ArpMalformed },
        { "arp-protocol-length", "arp", DropReason.ArpMalformed },
        { "arp-operation", "arp", DropReason.ArpUnsupportedOperation },
        { "arp-not-for-us", "arp", DropReason.ArpNotForUs },
    };

    private static void Corrupt(string name, ref byte[] f)
    {
        if (name.StartsWith("ip-option-", StringComparison.Ordinal))
        {
            // Valid UDP frame with a 4-byte options area, then the options are made malformed.
            byte[] options = name switch
            {
                "ip-option-length-0" => [0x07, 0x00, 0x00, 0x00],
                "ip-option-length-1" => [0x07, 0x01, 0x00, 0x00],
                "ip-option-past-header" => [0x01, 0x07, 0x08, 0x00],
                _ => [0x01, 0x01, 0x01, 0x44],
            };
            f = WithOptions(f, options);
            return;
        }
        var ip = f.AsSpan(14);
        var udp = f.AsSpan(34);
        switch (name)
        {
            case "ip-version-6": ip[0] = 0x65; break;
            case "ip-ihl-0": ip[0] = 0x40; break;
            case "ip-ihl-4": ip[0] = 0x44; break;
            case "ip-ihl-15": ip[0] = 0x4F; break;
            case "ip-total-too-big": BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(ip.Length + 1)); break;
            case "ip-total-below-header": BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 19); break;
            case "ip-checksum": ip[10] ^= 0x01; return;
            case "ip-ttl-0": ip[8] = 0; break;
            case "ip-more-fragments": ip[6] |= 0x20; break;
            case "ip-fragment-offset": ip[7] = 1; break;
            case "ip-not-for-us": Ipv4Address.Parse("10.0.0.77").Write(ip[16..]); break;
            case "ip-source-broadcast": Ipv4Address.Broadcast.Write(ip[12..]); break;
            case "ip-protocol-unknown": ip[9] = 200; break;
            case "eth-not-for-us": MacAddress.Parse("02:00:00:00:00:77").Write(f); return;
            case "eth-ipv6": f[12] = 0x86; f[13] = 0xDD; return;
            case "udp-length-below-8": BinaryPrimitives.WriteUInt16BigEndian(udp[4..], 7); return;
            case "udp-length-too-big": BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(udp.Length + 1)); return;
            case "udp-checksum": udp[6] ^= 0x40; return;
            case "udp-payload-bit": udp[^1] ^= 0x10; return;
            case "udp-no-socket": BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 7778); FixUdpChecksum(f); return;
            case "icmp-checksum": f[34 + 2] ^= 0x80; return;
            case "icmp-data-bit": f[^1] ^= 0x01; return;
            case "arp-hardware-type": ip[1] = 6; return;
            case "arp-protocol-length": ip[5] = 16; return;
            case "arp-operation": ip[7] = 9; return;
            case "arp-not-for-us": Ipv4Address.Parse("10.0.0.77").Write(ip[24..]); return;
            default: throw new ArgumentException(name);
        }
        // IP-level edits keep the header checksum right so that the intended check is what fails.
        FixIpChecksum(f);
    }

    /// <summary>The frame with <paramref name="options"/> (a multiple of 4 bytes) inserted after the IPv4 header.</summary>
    private static byte[] WithOptions(byte[] plain, byte[] options)
    {
        var f = new byte[plain.Length + options.Length];
        plain.AsSpan(0, 34).CopyTo(f);
        options.CopyTo(f, 34);
        plain.AsSpan(34).CopyTo(f.AsSpan(34 + options.Length));
        f[14] = (byte)(0x40 | ((20 + options.Length) / 4));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(f.Length - 14));
        FixIpChecksum(f);
        return f;
    }

    private static void FixIpChecksum(byte[] f)
    {
        var ip = f.AsSpan(14);
        int ihl = Math.Min((ip[0] & 0xF) * 4, ip.Length);
        if (ihl < 20)
            ihl = 20;
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..ihl]));
    }

    private static void FixUdpChecksum(byte[] f)
    {
        var udp = f.AsSpan(34);
        udp[6] = 0;
        udp[7] = 0;
        uint sum = InternetChecksum.PseudoHeaderSum(TwoStacks.AddressRaw.Value, TwoStacks.AddressB.Value, 17, udp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], InternetChecksum.Finish(InternetChecksum.Add(sum, udp)));
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptedFieldIsDroppedWithItsReason(string name, string kind, DropReason expected)
    {
        using var f = new Fixture();
        var frame = Valid(kind);
        Corrupt(name, ref frame);
        long before = f.Net.B.Counters[expected];
        var (drops, delivered) = f.Send(frame);
        Assert.Equal((1L, 0L), (drops, delivered));
        Assert.Equal(before + 1, f.Net.B.Counters[expected]);
        f.AssertStillServing();
    }

    [Fact]
    public void ZeroUdpChecksumIsAcceptedAndOptionsAreSkipped()
    {
        using var f = new Fixture();
        Assert.Equal((0, 1), f.Send(Frames.Udp(TwoStacks.MacRaw, TwoStacks.MacB, RawEndpoint, ServiceEndpoint, "nocsum"u8, checksum: false)));
        // IPv4 headers with well-formed options are accepted (options skipped).
        var plain = ValidUdp();
        Assert.Equal((0, 1), f.Send(WithOptions(plain, [1, 1, 1, 0])));           // NOP NOP NOP EOL
        Assert.Equal((0, 1), f.Send(WithOptions(plain, [0x94, 0x04, 0, 0])));    // Router Alert
        Assert.Equal((0, 1), f.Send(WithOptions(plain, [0x07, 0x07, 0x04, 0, 0, 0, 0, 0]))); // Record Route, one slot, then EOL
        // Ethernet padding after the IP packet (short frames padded to 60 bytes) is ignored.
        var padded = new byte[plain.Length + 18];
        plain.CopyTo(padded, 0);
        padded[^1] = 0xAA;
        Assert.Equal((0, 1), f.Send(padded));
        f.AssertStillServing();
    }

    [Fact]
    public void RandomGarbageNeverThrowsOrLeaks()
    {
        using var f = new Fixture();
        var rng = new Random(1234);
        var valid = new[] { ValidUdp(), ValidPing(), ValidArp() };
        for (int i = 0; i < 3000; i++)
        {
            var frame = (byte[])valid[i % 3].Clone();
            int flips = 1 + rng.Next(4);
            for (int k = 0; k < flips; k++)
                frame[14 + rng.Next(frame.Length - 14)] ^= (byte)(1 << rng.Next(8));
            var (drops, delivered) = f.Send(frame[..rng.Next(frame.Length + 1)]);
            Assert.InRange(drops + delivered, 0, 1); // 0 only for a corrupted request that became a valid reply
        }
        f.AssertStillServing();
    }
}
