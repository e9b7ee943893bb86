using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Tcp;
using Demi.Inet.Tcp.Internal;

namespace Demi.Fuzz;

/// <summary>
/// One parser's harness: the input is that layer's bytes (for the layers under Ethernet, after a
/// control byte), wrapped in valid lower-layer headers and sent at a live stack that serves UDP on
/// port 7777 and TCP on port 80. The parser is also called directly and what it accepts is checked
/// for impossible fields. Any exception, a counted internal error, a leaked frame or a buffer that
/// does not come back fails the input. One stack serves every input (as a long-running server would).
/// </summary>
/// <remarks>Control byte: bit 0 fills the checksums the input carries (so that mutations get past them), bit 1 sends to the broadcast MAC.</remarks>
internal sealed class FrameHarness
{
    public enum Layer { Ethernet, Arp, Ipv4, Icmp, Udp, Tcp }

    private const byte FixChecksums = 1;
    private const byte ToBroadcast = 2;
    private const int BufferCount = 512;

    private readonly Layer _layer;
    private readonly Peer _peer;
    private readonly UdpSocket _udp;
    private readonly TcpLayer _tcp;
    private readonly TcpSocket _listener;
    private readonly byte[] _frame = new byte[EthernetHeader.Length + 1500];
    private int _baseline = -1;

    public FrameHarness(Layer layer)
    {
        _layer = layer;
        _peer = new Peer(BufferCount);
        _tcp = new TcpLayer(_peer.Stack, new TcpConfig { RandomSeed = 1 });
        _peer.Stack.RegisterProtocol(_tcp);
        _udp = _peer.Stack.CreateUdpSocket();
        Check(_udp.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7777)) == 0, "bind udp");
        _listener = _tcp.CreateSocket();
        Check(_listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)) == 0, "bind tcp");
        Check(_listener.Listen(16) == 0, "listen");
    }

    public void Run(ReadOnlySpan<byte> input)
    {
        int length = Build(input, out bool broadcast);
        ParseDirectly(input);
        if (length >= 0)
        {
            if (broadcast)
                _frame.AsSpan(0, 6).Fill(0xFF);
            _peer.Inject(_frame.AsSpan(0, length));
        }
        Settle();
    }

    /// <summary>Builds the frame in <see cref="_frame"/>; returns its length (-1: nothing to send).</summary>
    private int Build(ReadOnlySpan<byte> input, out bool broadcast)
    {
        broadcast = false;
        if (_layer == Layer.Ethernet)
        {
            int n = Math.Min(input.Length, _frame.Length);
            input[..n].CopyTo(_frame);
            return n;
        }
        if (input.Length == 0)
            return -1;
        byte control = input[0];
        var body = input[1..];
        broadcast = (control & ToBroadcast) != 0;
        bool fix = (control & FixChecksums) != 0;
        int room = _frame.Length - EthernetHeader.Length;
        switch (_layer)
        {
            case Layer.Arp:
            {
                Peer.WriteEthernet(_frame, EthernetHeader.EtherTypeArp);
                int n = Math.Min(body.Length, room);
                body[..n].CopyTo(_frame.AsSpan(EthernetHeader.Length));
                return EthernetHeader.Length + n;
            }
            case Layer.Ipv4:
            {
                Peer.WriteEthernet(_frame, EthernetHeader.EtherTypeIpv4);
                int n = Math.Min(body.Length, room);
                var packet = _frame.AsSpan(EthernetHeader.Length, n);
                body[..n].CopyTo(packet);
                if (fix && n >= Ipv4Header.MinLength)
                {
                    int ihl = (packet[0] & 0xF) * 4;
                    if (ihl >= Ipv4Header.MinLength && ihl <= n)
                    {
                        packet[10] = 0;
                        packet[11] = 0;
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet[10..], InternetChecksum.Compute(packet[..ihl]));
                    }
                }
                return EthernetHeader.Length + n;
            }
            default:
            {
                byte protocol = _layer switch { Layer.Icmp => Ipv4Header.ProtocolIcmp, Layer.Udp => Ipv4Header.ProtocolUdp, _ => Ipv4Header.ProtocolTcp };
                int checksumOffset = _layer switch { Layer.Icmp => 2, Layer.Udp => 6, _ => 16 };
                int n = Math.Min(body.Length, room - Ipv4Header.MinLength);
                Peer.WriteEthernet(_frame, EthernetHeader.EtherTypeIpv4);
                Peer.WriteIpv4(_frame.AsSpan(EthernetHeader.Length), protocol, n);
                var segment = _frame.AsSpan(EthernetHeader.Length + Ipv4Header.MinLength, n);
                body[..n].CopyTo(segment);
                if (fix)
                    Peer.FillChecksum(segment, protocol, checksumOffset);
                return EthernetHeader.Length + Ipv4Header.MinLength + n;
            }
        }
    }

    /// <summary>Calls the layer's parser on the raw bytes and checks what it accepts.</summary>
    private void ParseDirectly(ReadOnlySpan<byte> input)
    {
        var body = _layer == Layer.Ethernet || input.Length == 0 ? input : input[1..];
        switch (_layer)
        {
            case Layer.Ethernet:
                Check(EthernetHeader.TryRead(body, out _) == body.Length >= EthernetHeader.Length, "Ethernet accepted a frame shorter than its header, or refused a long one");
                break;
            case Layer.Arp:
                if (ArpPacket.TryRead(body, out _) == DropReason.None)
                    Check(body.Length >= ArpPacket.Length, "ARP accepted a short packet");
                break;
            case Layer.Ipv4:
                if (Ipv4Header.TryRead(body, verifyChecksum: false, out var ip) == DropReason.None)
                    Check(ip.HeaderLength >= Ipv4Header.MinLength && ip.HeaderLength <= ip.TotalLength && ip.TotalLength <= body.Length,
                        $"IPv4 accepted IHL {ip.HeaderLength}, total {ip.TotalLength} in {body.Length} bytes");
                break;
            case Layer.Icmp:
                if (IcmpHeader.TryRead(body, out _) == DropReason.None)
                    Check(body.Length >= IcmpHeader.Length, "ICMP accepted a short message");
                break;
            case Layer.Udp:
                if (UdpHeader.TryRead(body, Peer.PeerAddress, Peer.StackAddress, verifyChecksum: false, out var udp) == DropReason.None)
                    Check(udp.Length >= UdpHeader.HeaderLength && udp.Length <= body.Length, $"UDP accepted length {udp.Length} in {body.Length} bytes");
                break;
            case Layer.Tcp:
                if (TcpSegment.Parse(body, out var seg) == TcpParseError.None)
                    Check(seg.HeaderLength >= TcpSegment.MinHeaderLength && seg.HeaderLength <= body.Length && seg.PayloadLength == body.Length - seg.HeaderLength
                          && seg.WindowScale <= 14 && seg.SackCount is >= 0 and <= 4,
                        $"TCP accepted header {seg.HeaderLength}, payload {seg.PayloadLength}, wscale {seg.WindowScale}, sacks {seg.SackCount} in {body.Length} bytes");
                break;
        }
    }

    /// <summary>Consumes what the input produced (datagrams, connections, answers) and checks that every buffer came back.</summary>
    private void Settle()
    {
        while (_udp.TryPop(out var datagram, out _))
            datagram.Release();
        while (_listener.Accept(out var connection) == 0)
        {
            connection!.Abort();
            connection.Close();
        }
        _peer.Pump();
        _peer.DrainRaw();
        _peer.CheckCounters();
        // Half-open connections (a fuzzed SYN) and answers waiting for ARP (to a source that is not the
        // peer) hold a buffer or two until they time out: run the clock on until they did, then the pool
        // must be whole again.
        for (int i = 0; i < 200 && (_tcp.ConnectionCount > 0 || _peer.Stack.PendingResolutions > 0); i++)
        {
            _peer.Clock.Advance(TimeSpan.FromSeconds(5));
            _peer.Pump();
            _peer.DrainRaw();
        }
        Check(_tcp.ConnectionCount == 0, $"{_tcp.ConnectionCount} connections never timed out");
        Check(_peer.Stack.PendingResolutions == 0, $"{_peer.Stack.PendingResolutions} sends still wait for ARP");
        int available = _peer.Stack.Pool.Available;
        if (_baseline < 0)
            _baseline = available;
        Check(available == _baseline, $"the pool has {available} buffers free after the input, {_baseline} before: a buffer leaked");
        _peer.CheckCounters();
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
            throw new FuzzInvariantException(what);
    }
}
