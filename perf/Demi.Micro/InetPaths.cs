using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Wire;

namespace Demi.Micro;

/// <summary>
/// The stack's per-frame paths over the virtual wire, on one thread: receive (parse → socket → pop),
/// send (push → serialize → NIC) and a UDP echo round trip between two stacks. The wire copies each
/// frame once (as DMA would), which is included in the figures.
/// </summary>
public sealed class InetPaths : IDisposable
{
    public const int Burst = 32;
    public const int PayloadSize = 64;

    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.0.0.1");
    private static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.0.0.2");

    private readonly VirtualWire _wire;
    private readonly VirtualNicQueue _nicA;
    private readonly VirtualNicQueue _nicB;
    private readonly VirtualNicQueue _raw;
    private readonly InetStack _a;
    private readonly InetStack _b;
    private readonly UdpSocket _socketA;
    private readonly UdpSocket _socketB;
    private readonly Ipv4Endpoint _toB = new(AddressB, 2000);
    private readonly Ipv4Endpoint _toRaw = new(Ipv4Address.Parse("10.0.0.3"), 3000);
    private readonly PacketBuffer[] _rawFrames = new PacketBuffer[Burst];
    private readonly PacketBuffer[] _template = new PacketBuffer[Burst];
    private readonly byte[] _udpFrame;

    public InetPaths()
    {
        var clock = new ManualInetClock();
        _wire = new VirtualWire(new VirtualWireOptions { Clock = clock, BufferCount = 8192, ReceiveCapacity = 8192 });
        _nicA = _wire.CreatePort(MacA);
        _nicB = _wire.CreatePort(MacB);
        _raw = _wire.CreatePort(MacAddress.Parse("02:00:00:00:00:0c"));
        var a = new InetStackOptions { LocalAddress = AddressA, Clock = clock, BurstSize = Burst };
        a.ArpTable[AddressB] = MacB;
        var b = new InetStackOptions { LocalAddress = AddressB, Clock = clock, BurstSize = Burst };
        b.ArpTable[AddressA] = MacA;
        b.ArpTable[_toRaw.Address] = _raw.MacAddress;
        _a = new InetStack(_nicA, a);
        _b = new InetStack(_nicB, b);
        _socketA = _a.CreateUdpSocket();
        _socketB = _b.CreateUdpSocket();
        _socketA.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1000));
        _socketB.Bind(new Ipv4Endpoint(Ipv4Address.Any, 2000));

        // A valid UDP frame from A to B, as the raw port injects it for the receive path.
        var payload = new byte[PayloadSize];
        var segment = new byte[UdpHeader.HeaderLength + PayloadSize];
        payload.CopyTo(segment, UdpHeader.HeaderLength);
        new UdpHeader(1000, 2000, (ushort)segment.Length, 0).Write(segment, AddressA, AddressB, computeChecksum: true);
        _udpFrame = new byte[EthernetHeader.Length + Ipv4Header.MinLength + segment.Length];
        new EthernetHeader(MacB, MacA, EthernetHeader.EtherTypeIpv4).Write(_udpFrame);
        new Ipv4Header(20, 0, (ushort)(20 + segment.Length), 1, Ipv4Header.FlagDontFragment, 64, Ipv4Header.ProtocolUdp, 0, AddressA, AddressB)
            .Write(_udpFrame.AsSpan(EthernetHeader.Length), computeChecksum: true);
        segment.CopyTo(_udpFrame, EthernetHeader.Length + Ipv4Header.MinLength);
    }

    private ReplayNicQueue? _replay;
    private InetStack? _replayStack;
    private UdpSocket? _replaySocket;

    public InetCounters CountersA => _a.Counters;

    private void EnsureReplay()
    {
        if (_replay is not null)
            return;
        _replay = new ReplayNicQueue(MacB, _udpFrame);
        var options = new InetStackOptions { LocalAddress = AddressB, Clock = new ManualInetClock(), BurstSize = Burst };
        options.ArpTable[AddressA] = MacA;
        _replayStack = new InetStack(_replay, options);
        _replaySocket = _replayStack.CreateUdpSocket();
        _replaySocket.Bind(new Ipv4Endpoint(Ipv4Address.Any, 2000));
    }

    /// <summary>Stack alone, receive: a burst of frames from the replay NIC parsed, queued on the socket and popped. Returns frames popped.</summary>
    public int StackReceiveBurst()
    {
        EnsureReplay();
        _replay!.Replaying = true;
        _replayStack!.Poll();
        int popped = 0;
        while (_replaySocket!.TryPop(out var payload, out _))
        {
            payload.Release();
            popped++;
        }
        return popped;
    }

    /// <summary>Stack alone, send: a burst of pushes serialized (headers, checksums) and handed to the replay NIC. Returns frames sent.</summary>
    public int StackSendBurst()
    {
        EnsureReplay();
        _replay!.Replaying = false;
        var to = new Ipv4Endpoint(AddressA, 1000);
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer.TryRent(_replayStack!.Pool, out var payload);
            payload.Append(PayloadSize);
            _replaySocket!.PushTo(payload, to);
        }
        _replayStack!.Poll();
        return Burst;
    }
    public InetCounters CountersB => _b.Counters;

    /// <summary>Receive path: a burst of UDP frames arrives at B, is parsed, queued on the socket and popped. Returns frames popped.</summary>
    public int ReceiveBurst()
    {
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer.TryRent(_raw.Pool, out var frame);
            _udpFrame.CopyTo(frame.Append(_udpFrame.Length));
            _template[i] = frame;
        }
        _raw.Transmit(_template.AsSpan(0, Burst));
        _b.Poll();
        int popped = 0;
        while (_socketB.TryPop(out var payload, out _))
        {
            payload.Release();
            popped++;
        }
        return popped;
    }

    /// <summary>Send path: B pushes a burst of datagrams (headers built in headroom, checksums computed), flushed to the NIC. Returns frames sent.</summary>
    public int SendBurst()
    {
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer.TryRent(_b.Pool, out var payload);
            payload.Append(PayloadSize);
            _socketB.PushTo(payload, _toRaw);
        }
        _b.Poll();
        int n, drained = 0;
        while ((n = _raw.Receive(_rawFrames)) > 0)
        {
            for (int i = 0; i < n; i++)
                _rawFrames[i].Release();
            drained += n;
        }
        return drained;
    }

    /// <summary>Echo: A sends a burst to B, B echoes each popped datagram from its own buffer, A pops the replies. Returns datagrams A got back.</summary>
    public int EchoBurst()
    {
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer.TryRent(_a.Pool, out var payload);
            payload.Append(PayloadSize);
            _socketA.PushTo(payload, _toB);
        }
        _a.Poll();
        _b.Poll();
        while (_socketB.TryPop(out var request, out var from))
            _socketB.PushTo(request, from);
        _b.Poll();
        _a.Poll();
        int got = 0;
        while (_socketA.TryPop(out var reply, out _))
        {
            reply.Release();
            got++;
        }
        return got;
    }

    public void Dispose()
    {
        _replayStack?.Dispose();
        _replay?.Dispose();
        _a.Dispose();
        _b.Dispose();
        _wire.Dispose();
    }
}
