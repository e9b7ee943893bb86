using BenchmarkDotNet.Attributes;
using Demi.Inet;
using Demi.Inet.Headers;

namespace Demi.Micro;

/// <summary>
/// Ethernet II + IPv4 + UDP header parse (with the IPv4 and UDP checksum verification the stack does
/// on a NIC without offloads) and build (with both checksums), for a 64 B payload: the header work
/// of one received and one sent datagram, without buffers, sockets or NIC.
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class HeaderBenchmarks
{
    private const int Payload = 64;
    private const int FrameLength = EthernetHeader.Length + Ipv4Header.MinLength + UdpHeader.HeaderLength + Payload;

    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.0.0.1");
    private static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.0.0.2");

    private readonly byte[] _frame = new byte[FrameLength];
    private readonly byte[] _out = new byte[FrameLength];
    private ushort _id;

    [GlobalSetup]
    public void Setup()
    {
        new Random(7).NextBytes(_frame);
        Build(_frame, 1);
        if (Parse() != Payload)
            throw new InvalidOperationException("The template frame does not parse.");
    }

    /// <summary>Parse and validate all three headers of one frame; returns the UDP payload length (-1 if dropped).</summary>
    [Benchmark]
    public int Parse()
    {
        ReadOnlySpan<byte> frame = _frame;
        if (!EthernetHeader.TryRead(frame, out var eth) || eth.EtherType != EthernetHeader.EtherTypeIpv4)
            return -1;
        var packet = frame[EthernetHeader.Length..];
        if (Ipv4Header.TryRead(packet, verifyChecksum: true, out var ip) != DropReason.None)
            return -1;
        var segment = packet[ip.HeaderLength..ip.TotalLength];
        if (UdpHeader.TryRead(segment, ip.Source, ip.Destination, verifyChecksum: true, out var udp) != DropReason.None)
            return -1;
        return udp.Length - UdpHeader.HeaderLength;
    }

    /// <summary>Build all three headers in front of a 64 B payload, with the UDP and IPv4 checksums (the send path's header work).</summary>
    [Benchmark]
    public int Build() => Build(_out, ++_id);

    private static int Build(Span<byte> frame, ushort id)
    {
        var segment = frame[(EthernetHeader.Length + Ipv4Header.MinLength)..];
        new UdpHeader(1000, 2000, (ushort)segment.Length, 0).Write(segment, AddressA, AddressB, computeChecksum: true);
        new Ipv4Header(Ipv4Header.MinLength, 0, (ushort)(Ipv4Header.MinLength + segment.Length), id, Ipv4Header.FlagDontFragment, 64,
            Ipv4Header.ProtocolUdp, 0, AddressA, AddressB).Write(frame[EthernetHeader.Length..], computeChecksum: true);
        new EthernetHeader(MacB, MacA, EthernetHeader.EtherTypeIpv4).Write(frame);
        return frame.Length;
    }
}
