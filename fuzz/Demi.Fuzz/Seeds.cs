using System.Buffers.Binary;
using System.Text;
using Demi.Inet;
using Demi.Inet.Headers;

namespace Demi.Fuzz;

/// <summary>
/// Writes the seed corpus (<c>Demi.Fuzz --write-seeds DIR</c> makes DIR/TARGET/seed-*): valid inputs
/// of each kind, so that fuzzing starts past the first checks. The committed fuzz/corpus was made
/// with it and then grown by fuzzing.
/// </summary>
internal static class Seeds
{
    private const byte Fix = 1;

    public static void Write(string root)
    {
        foreach (var (target, name, bytes) in All())
        {
            var dir = Path.Combine(root, target);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "seed-" + name), bytes);
        }
    }

    private static IEnumerable<(string Target, string Name, byte[] Bytes)> All()
    {
        var udp = UdpSegment(7777, "hello"u8);
        var ping = EchoRequest();
        var syn = TcpSegmentBytes(0x02, [2, 4, 5, 0xB4, 1, 3, 3, 7, 1, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
        var arp = ArpRequest();
        yield return ("ethernet", "udp", Frame(EthernetHeader.EtherTypeIpv4, Ipv4(Ipv4Header.ProtocolUdp, udp)));
        yield return ("ethernet", "ping", Frame(EthernetHeader.EtherTypeIpv4, Ipv4(Ipv4Header.ProtocolIcmp, ping)));
        yield return ("ethernet", "syn", Frame(EthernetHeader.EtherTypeIpv4, Ipv4(Ipv4Header.ProtocolTcp, syn)));
        yield return ("ethernet", "arp", Frame(EthernetHeader.EtherTypeArp, arp));
        yield return ("arp", "request", [Fix, .. arp]);
        yield return ("ipv4", "udp", [Fix, .. Ipv4(Ipv4Header.ProtocolUdp, udp)]);
        yield return ("ipv4", "ping", [Fix, .. Ipv4(Ipv4Header.ProtocolIcmp, ping)]);
        yield return ("ipv4", "options", [Fix, .. Ipv4WithOptions(Ipv4Header.ProtocolUdp, udp)]);
        yield return ("icmp", "echo", [Fix, .. ping]);
        yield return ("icmp", "unreachable", [Fix, .. PortUnreachable()]);
        yield return ("udp", "datagram", [Fix, .. udp]);
        yield return ("udp", "closed-port", [Fix, .. UdpSegment(9, "x"u8)]);
        yield return ("tcp", "syn", [Fix, .. syn]);
        yield return ("tcp", "ack", [Fix, .. TcpSegmentBytes(0x10, [])]);
        yield return ("tcp", "sack", [Fix, .. TcpSegmentBytes(0x10, [1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9])]);
        // Handshake with every option, then ACK the SYN-ACK, data, data again, FIN, each with an application action.
        yield return ("tcp-state", "session", [0x0F,
            1, 0x10, 0, 0, 0, 0, 0, 1,      // ACK (completes the handshake); accept
            3, 0x18, 0, 0, 0, 0, 25, 1,     // 100 bytes of data; read
            2, 0x10, 0, 0, 0, 0, 0, 2,      // ACK; the application sends
            3, 0x18, 0, 0, 0, 0, 10, 1,     // more data; read
            4, 0x11, 0, 0, 0, 0, 0, 1,      // FIN; shut down writing
            5, 0x10, 0, 0, 0, 0, 0, 200]);  // ACK; close
        yield return ("tcp-state", "reset", [0x00, 1, 0x10, 0, 0, 0, 0, 0, 1, 0, 0x04, 0, 0, 0, 0, 0, 1]);
        yield return ("config", "full", Encoding.UTF8.GetBytes("""
            demikernel:
              local_ipv4_addr: 10.0.0.1
              local_link_addr: "02:AA:00:00:00:01"
            raw_socket:
              linux_interface_name: veth0
              xdp_interface_index: 2
            tcp_socket_options:
              keepalive: true
              linger: { enabled: true, time_seconds: 4 }
              nodelay: false
            inetstack_config:
              mtu: 1500
              arp_table:
                "02:00:00:00:00:02": 10.0.0.2
              arp_request_retries: 3
              arp_request_timeout: 0.5
            demi:
              cores: "0-1"
              shard_count: 2
            """));
        yield return ("config", "flow", Encoding.UTF8.GetBytes("{demikernel: {local_ipv4_addr: 10.0.0.9}, dpdk: {eal_init: [\"--no-huge\"]}}"));
    }

    private static byte[] Frame(ushort etherType, byte[] payload)
    {
        var frame = new byte[EthernetHeader.Length + payload.Length];
        Peer.WriteEthernet(frame, etherType);
        payload.CopyTo(frame, EthernetHeader.Length);
        return frame;
    }

    private static byte[] Ipv4(byte protocol, byte[] transport)
    {
        var packet = new byte[Ipv4Header.MinLength + transport.Length];
        Peer.WriteIpv4(packet, protocol, transport.Length);
        transport.CopyTo(packet, Ipv4Header.MinLength);
        return packet;
    }

    private static byte[] Ipv4WithOptions(byte protocol, byte[] transport)
    {
        var packet = new byte[24 + transport.Length];
        new Ipv4Header(24, 0, (ushort)packet.Length, 7, 0, 64, protocol, 0, Peer.PeerAddress, Peer.StackAddress).Write(packet, computeChecksum: false);
        packet[20] = 1; // NOP options
        packet[21] = 1;
        packet[22] = 1;
        packet[23] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum.Compute(packet.AsSpan(0, 24)));
        transport.CopyTo(packet, 24);
        return packet;
    }

    private static byte[] UdpSegment(ushort port, ReadOnlySpan<byte> payload)
    {
        var segment = new byte[UdpHeader.HeaderLength + payload.Length];
        payload.CopyTo(segment.AsSpan(UdpHeader.HeaderLength));
        new UdpHeader(5353, port, (ushort)segment.Length, 0).Write(segment, Peer.PeerAddress, Peer.StackAddress, computeChecksum: true);
        return segment;
    }

    private static byte[] EchoRequest()
    {
        var message = new byte[IcmpHeader.Length + 16];
        new IcmpHeader(IcmpHeader.TypeEchoRequest, 0, 0, 1, 1).WriteWithChecksum(message);
        return message;
    }

    private static byte[] PortUnreachable()
    {
        // Quotes a datagram the stack sent from port 7777 to the peer's port 9.
        var quote = new byte[Ipv4Header.MinLength + UdpHeader.HeaderLength];
        new Ipv4Header(20, 0, 28, 1, 0, 64, Ipv4Header.ProtocolUdp, 0, Peer.StackAddress, Peer.PeerAddress).Write(quote, computeChecksum: true);
        new UdpHeader(7777, 9, 8, 0).Write(quote.AsSpan(Ipv4Header.MinLength), Peer.StackAddress, Peer.PeerAddress, computeChecksum: false);
        var message = new byte[IcmpHeader.Length + quote.Length];
        quote.CopyTo(message, IcmpHeader.Length);
        new IcmpHeader(IcmpHeader.TypeDestinationUnreachable, IcmpHeader.CodePortUnreachable, 0, 0, 0).WriteWithChecksum(message);
        return message;
    }

    private static byte[] ArpRequest()
    {
        var packet = new byte[ArpPacket.Length];
        new ArpPacket(ArpPacket.OperationRequest, Peer.PeerMac, Peer.PeerAddress, MacAddress.Zero, Peer.StackAddress).Write(packet);
        return packet;
    }

    private static byte[] TcpSegmentBytes(byte flags, byte[] options)
    {
        var segment = new byte[20 + options.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), 80);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), 1000);
        segment[12] = (byte)(segment.Length / 4 << 4);
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), 65535);
        options.CopyTo(segment, 20);
        Peer.FillChecksum(segment, Ipv4Header.ProtocolTcp, 16);
        return segment;
    }
}
