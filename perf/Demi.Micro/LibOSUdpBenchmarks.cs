using BenchmarkDotNet.Attributes;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Headers;
using Demi.Inet.Wire;
using Demi.Runtime;

namespace Demi.Micro;

/// <summary>
/// UDP through the whole LibOS on the virtual wire (<see cref="InetBackend"/> on a
/// <see cref="VirtualNicQueue"/>, one unpinned shard), driven the way <c>perf/Demi.Perf</c>'s Demi echo
/// server drives it: Post* calls from the shard's Rx completion handler. The benchmark thread plays
/// the peer on a second wire port. One operation = one datagram; N per invocation amortizes the one
/// thread hand-off per invocation. The wire copies each frame once per hop (as DMA would) under its
/// lock; <see cref="WireOnly"/> is that cost alone, to subtract.
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class LibOSUdpBenchmarks
{
    /// <summary>Datagrams per invocation.</summary>
    public const int N = 1024;

    private const int PayloadSize = 64;
    private const int PopsInFlight = 32; // as the echo server
    private const int ModeSend = 1, ModeReceive = 2, ModeEcho = 3;

    private static readonly MacAddress MacServer = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly MacAddress MacPeer = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly Ipv4Address AddressServer = Ipv4Address.Parse("10.0.0.2");
    private static readonly Ipv4Address AddressPeer = Ipv4Address.Parse("10.0.0.1");

    private readonly Ipv4Endpoint _peerEndpoint = new(AddressPeer, 1000);
    private readonly ManualResetEventSlim _done = new(false, spinCount: 1);
    private readonly PacketBuffer[] _drain = new PacketBuffer[32];
    private VirtualWire _wire = null!;
    private VirtualNicQueue _peer = null!;
    private VirtualWire _baselineWire = null!;
    private VirtualNicQueue _baselineA = null!, _baselineB = null!;
    private LibOS _os = null!;
    private Shard _shard = null!;
    private IDisposable _subscription = null!;
    private byte[] _request = null!;
    private int _udp, _doorbell;
    private Sga _bell;
    private int _mode, _remaining;
    private long _failures;

    [GlobalSetup]
    public void Setup()
    {
        _wire = new VirtualWire();
        var serverNic = _wire.CreatePort(MacServer);
        _peer = _wire.CreatePort(MacPeer);
        var options = new InetStackOptions { LocalAddress = AddressServer };
        options.ArpTable[AddressPeer] = MacPeer;
        _os = new LibOS(new LibOSOptions { Backend = new InetBackend(serverNic, options), ShardCount = 1 });
        _shard = _os.Shards[0];
        _subscription = _shard.Completions.Subscribe(OnCompletion);
        Check(_os.Socket(out _udp, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Check(_os.Bind(_udp, new Ipv4Endpoint(AddressServer, 2000)));
        Check(_os.Queue(out _doorbell));
        _bell = _os.SgaAlloc(8);
        Check(_os.PostPop(_doorbell));
        for (int i = 0; i < PopsInFlight; i++)
            Check(_os.PostPop(_udp));
        _request = BuildRequest();

        _baselineWire = new VirtualWire();
        _baselineA = _baselineWire.CreatePort(MacPeer);
        _baselineB = _baselineWire.CreatePort(MacServer);

        // Each path must move all N datagrams (a lost one would hang the benchmark): check once here.
        if (PushToFrame() != N || FrameToPop() != N || Echo() != N || WireOnly() != N || Volatile.Read(ref _failures) != 0)
            throw new InvalidOperationException("A LibOS UDP path lost datagrams during set-up.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _subscription.Dispose();
        _os.SgaFree(_bell);
        _os.Dispose();
        _wire.Dispose();
        _baselineWire.Dispose();
    }

    // The shard thread: the echo server's handler plus counting.
    private void OnCompletion(QResult r)
    {
        var os = _os;
        if (r.Qd == _doorbell)
        {
            // The benchmark thread rang: run the send burst here, on the shard, like a handler would.
            if (r.Opcode == Opcode.Pop)
            {
                os.SgaFree(r.Sga);
                os.PostPop(_doorbell);
                for (int i = 0; i < N; i++)
                {
                    var sga = os.SgaAlloc(PayloadSize);
                    if (os.PostPushTo(_udp, sga, _peerEndpoint) != 0)
                    {
                        os.SgaFree(sga);
                        Interlocked.Increment(ref _failures);
                    }
                }
            }
            return;
        }
        switch (r.Opcode)
        {
            case Opcode.Pop:
                if (_mode == ModeEcho)
                {
                    if (os.PostPushTo(_udp, r.Sga, r.Sga.Address.Endpoint) != 0)
                    {
                        os.SgaFree(r.Sga);
                        Interlocked.Increment(ref _failures);
                    }
                    os.PostPop(_udp);
                    return;
                }
                os.SgaFree(r.Sga);
                os.PostPop(_udp);
                if (--_remaining == 0)
                    _done.Set();
                return;
            case Opcode.Push:
                os.SgaFree(r.Sga);
                if (--_remaining == 0)
                    _done.Set();
                return;
            case Opcode.Failed:
                Interlocked.Increment(ref _failures);
                if (r.Sga.IsAllocated)
                    os.SgaFree(r.Sga);
                return;
        }
    }

    /// <summary>
    /// Send: PostPushTo (on the shard) → mailbox → dispatch → UDP/IPv4/Ethernet headers and checksums
    /// in the buffer's headroom → NIC burst → push completion → SgaFree; plus SgaAlloc, and the wire's
    /// copy to the peer (drained here).
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int PushToFrame()
    {
        Arm(ModeSend);
        Check(_os.PostPush(_doorbell, _bell));
        _done.Wait();
        return DrainPeer(N);
    }

    /// <summary>
    /// Receive: frames the peer put on the wire → stack parse/checksum/demux → socket → pop completion
    /// (zero copy: the frame is the app's buffer) → handler: SgaFree + PostPop.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int FrameToPop()
    {
        Arm(ModeReceive);
        Inject();
        _done.Wait();
        return N - _remaining;
    }

    /// <summary>
    /// The Demi echo server's path per datagram: frame → pop completion → PostPushTo of the same
    /// buffer + PostPop → headers rewritten in place → NIC → push completion → SgaFree.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int Echo()
    {
        Arm(ModeEcho);
        Inject();
        _done.Wait();
        return DrainPeer(N);
    }

    /// <summary>The wire alone (copy in under its lock, take out, release), per frame: subtract once per hop.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int WireOnly()
    {
        for (int i = 0; i < N; i++)
            _baselineA.TransmitCopy(_request);
        int got = 0, n;
        while ((n = _baselineB.Receive(_drain)) > 0)
        {
            for (int i = 0; i < n; i++)
                _drain[i].Release();
            got += n;
        }
        return got;
    }

    private void Arm(int mode)
    {
        _mode = mode;
        _remaining = N;
        _done.Reset();
    }

    private void Inject()
    {
        for (int i = 0; i < N; i++)
            _peer.TransmitCopy(_request);
        _shard.Wake(); // the virtual NIC has no fd to wake a parked shard
    }

    private int DrainPeer(int expected)
    {
        int got = 0;
        // Push completions are published after the frames were handed to the wire: they are all there.
        for (int round = 0; got < expected && round < 1000; round++)
        {
            int n = _peer.Receive(_drain);
            for (int i = 0; i < n; i++)
                _drain[i].Release();
            got += n;
        }
        return got;
    }

    private static byte[] BuildRequest()
    {
        var segment = new byte[UdpHeader.HeaderLength + PayloadSize];
        new UdpHeader(1000, 2000, (ushort)segment.Length, 0).Write(segment, AddressPeer, AddressServer, computeChecksum: true);
        var frame = new byte[EthernetHeader.Length + Ipv4Header.MinLength + segment.Length];
        new EthernetHeader(MacServer, MacPeer, EthernetHeader.EtherTypeIpv4).Write(frame);
        new Ipv4Header(20, 0, (ushort)(20 + segment.Length), 1, Ipv4Header.FlagDontFragment, 64, Ipv4Header.ProtocolUdp, 0, AddressPeer, AddressServer)
            .Write(frame.AsSpan(EthernetHeader.Length), computeChecksum: true);
        segment.CopyTo(frame, EthernetHeader.Length + Ipv4Header.MinLength);
        return frame;
    }

    private static void Check(int err)
    {
        if (err != 0)
            throw new InvalidOperationException($"Demi call failed: errno {err} ({Errno.Name(err)})");
    }
}
