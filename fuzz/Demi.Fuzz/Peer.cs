using System.Buffers.Binary;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Wire;

namespace Demi.Fuzz;

/// <summary>
/// The stack under test (10.0.0.2/24 on a virtual wire, manual clock) and a raw port that plays the
/// peer (10.0.0.238): frames are injected from it and whatever the stack answers is read back there.
/// </summary>
internal sealed class Peer : IDisposable
{
    public static readonly Ipv4Address StackAddress = Ipv4Address.Parse("10.0.0.2");
    public static readonly Ipv4Address PeerAddress = Ipv4Address.Parse("10.0.0.238");
    public static readonly MacAddress StackMac = MacAddress.Parse("02:00:00:00:00:0b");
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:ee");

    private readonly PacketBuffer[] _frames = new PacketBuffer[64];

    public Peer(int bufferCount)
    {
        Clock = new ManualInetClock();
        Wire = new VirtualWire(new VirtualWireOptions { Clock = Clock, BufferCount = bufferCount, ReceiveCapacity = bufferCount });
        Nic = Wire.CreatePort(StackMac);
        Raw = Wire.CreatePort(PeerMac);
        Stack = new InetStack(Nic, new InetStackOptions
        {
            LocalAddress = StackAddress,
            PrefixLength = 24,
            Clock = Clock,
            Seed = 1,
            // A caught exception is what the harness looks for: it fails the input, so the log would only repeat it.
            InternalErrorLog = _ => { },
        });
        Stack.AddStaticArpEntry(PeerAddress, PeerMac);
    }

    public ManualInetClock Clock { get; }
    public VirtualWire Wire { get; }
    public VirtualNicQueue Nic { get; }
    public VirtualNicQueue Raw { get; }
    public InetStack Stack { get; }

    /// <summary>Sends <paramref name="frame"/> from the peer and lets the stack process it.</summary>
    public void Inject(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > Raw.Mtu + EthernetHeader.Length)
            frame = frame[..(Raw.Mtu + EthernetHeader.Length)];
        if (!Raw.TransmitCopy(frame))
            throw new FuzzInvariantException("the wire refused a frame: the pool leaked");
        Pump();
    }

    /// <summary>Polls until the stack is idle (bounded).</summary>
    public void Pump()
    {
        for (int i = 0; i < 64 && Stack.Poll() > 0; i++)
        {
        }
    }

    /// <summary>Releases what the stack sent to the peer; <paramref name="onFrame"/> sees each first.</summary>
    public void DrainRaw(Action<ReadOnlySpan<byte>>? onFrame = null)
    {
        int n;
        while ((n = Raw.Receive(_frames)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                onFrame?.Invoke(_frames[i].Span);
                _frames[i].Release();
                _frames[i] = default;
            }
        }
    }

    /// <summary>Fails the input if the stack caught a bug of its own.</summary>
    public void CheckCounters()
    {
        var counters = Stack.Counters;
        if (counters[DropReason.InternalError] != 0)
            throw new FuzzInvariantException($"the stack caught an internal error ({counters})");
    }

    /// <summary>An Ethernet header from the peer to the stack.</summary>
    public static void WriteEthernet(Span<byte> frame, ushort etherType, bool broadcast = false)
        => new EthernetHeader(broadcast ? MacAddress.Broadcast : StackMac, PeerMac, etherType).Write(frame);

    /// <summary>A valid IPv4 header from the peer to the stack (checksum filled) for a transport of <paramref name="transportLength"/> bytes.</summary>
    public static void WriteIpv4(Span<byte> packet, byte protocol, int transportLength)
        => new Ipv4Header(Ipv4Header.MinLength, 0, (ushort)(Ipv4Header.MinLength + transportLength), 1, Ipv4Header.FlagDontFragment, 64, protocol, 0, PeerAddress, StackAddress)
            .Write(packet, computeChecksum: true);

    /// <summary>Fills a transport checksum (UDP, TCP: with the pseudo-header; ICMP: plain) at <paramref name="offset"/> of <paramref name="segment"/>.</summary>
    public static void FillChecksum(Span<byte> segment, byte protocol, int offset)
    {
        if (segment.Length < offset + 2)
            return;
        segment[offset] = 0;
        segment[offset + 1] = 0;
        uint sum = protocol == Ipv4Header.ProtocolIcmp ? 0 : InternetChecksum.PseudoHeaderSum(PeerAddress.Value, StackAddress.Value, protocol, segment.Length);
        ushort checksum = InternetChecksum.Finish(InternetChecksum.Add(sum, segment));
        if (protocol == Ipv4Header.ProtocolUdp && checksum == 0)
            checksum = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(segment[offset..], checksum);
    }

    public void Dispose()
    {
        DrainRaw();
        Stack.Dispose();
        Wire.Dispose();
    }
}
