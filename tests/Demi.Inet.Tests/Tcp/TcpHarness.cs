using Demi.Buffers;
using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// One TCP layer over a capturing IP layer and a manual clock, plus a hand-driven peer: tests
/// inject crafted segments and assert on exactly what the stack sends back.
/// </summary>
internal sealed class TcpHarness : IDisposable
{
    public static readonly Ipv4Address Local = Ipv4Address.Parse("10.0.0.1");
    public static readonly Ipv4Address Peer = Ipv4Address.Parse("10.0.0.2");

    public readonly BufferPool Pool = new(2048, 1024, 128);
    public readonly ManualInetClock Clock = new();
    public readonly TestIpLayer Ip;
    public readonly TcpLayer Tcp;
    public readonly int PoolStart;

    /// <summary>The crafted peer's next sequence number.</summary>
    public uint PeerSeq = 5000;
    public ushort PeerPort = 40000;
    public uint PeerTs = 100;

    public TcpHarness(TcpConfig? config = null)
    {
        Ip = new TestIpLayer(Pool, Clock, Local);
        Tcp = new TcpLayer(Ip, config ?? new TcpConfig { RandomSeed = 1 });
        PoolStart = Pool.Available;
    }

    public void Inject(ushort localPort, uint seq, uint ack, byte flags, ushort window = 65535, byte[]? options = null, byte[]? payload = null,
        bool corrupt = false, ushort? fromPort = null)
    {
        var buffer = SegmentCrafter.Build(Pool, Peer, Local, fromPort ?? PeerPort, localPort, seq, ack, flags, window, options, payload, corrupt);
        Tcp.Receive(Peer, Local, buffer, checksumVerified: false);
    }

    public void Advance(long microseconds)
    {
        long target = Clock.NowMicroseconds + microseconds;
        // Step through every timer deadline on the way, as a shard would.
        while (true)
        {
            long next = Tcp.NextDeadline;
            if (next > target)
                break;
            if (next > Clock.NowMicroseconds)
                Clock.AdvanceMicroseconds(next - Clock.NowMicroseconds);
            Tcp.OnTimer(Clock.NowMicroseconds);
        }
        if (target > Clock.NowMicroseconds)
            Clock.AdvanceMicroseconds(target - Clock.NowMicroseconds);
        Tcp.OnTimer(Clock.NowMicroseconds);
    }

    /// <summary>Listens on <paramref name="port"/>, runs a handshake from the crafted peer, and accepts.</summary>
    public (TcpSocket Listener, TcpSocket Connection, uint OurSeq) EstablishPassive(ushort port = 80, bool timestamps = true, ushort peerWindow = 65535, byte peerScale = 0)
    {
        var listener = Tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, port)));
        Assert.Equal(0, listener.Listen(16));
        var options = new List<byte>();
        options.AddRange(SegmentCrafter.MssOption(1460));
        options.AddRange(SegmentCrafter.SackPermittedOption());
        if (timestamps)
            options.AddRange(SegmentCrafter.TimestampOption(PeerTs, 0));
        options.AddRange(SegmentCrafter.WindowScaleOption(peerScale));
        Inject(port, PeerSeq, 0, SegmentCrafter.Syn, peerWindow, options.ToArray());
        var synAck = Assert.Single(Ip.Take());
        Assert.True(synAck.Syn && synAck.Ack);
        PeerSeq++;
        Clock.AdvanceMicroseconds(1000);
        Inject(port, PeerSeq, synAck.Seq + 1, SegmentCrafter.Ack, peerWindow, timestamps ? SegmentCrafter.TimestampOption(++PeerTs, synAck.Header.TsVal) : null);
        Assert.Equal(0, listener.Accept(out var connection));
        Assert.NotNull(connection);
        Assert.Equal(TcpState.Established, connection!.State);
        return (listener, connection, synAck.Seq + 1);
    }

    /// <summary>Connects to the crafted peer and completes the handshake.</summary>
    public (TcpSocket Socket, uint OurSeq, ushort LocalPort) EstablishActive(bool timestamps = true, ushort peerWindow = 65535, long rttMicroseconds = 10_000)
    {
        var socket = Tcp.CreateSocket();
        Assert.Equal(0, socket.Connect(new Ipv4Endpoint(Peer, 80)));
        var syn = Assert.Single(Ip.Take());
        Assert.True(syn.Syn && !syn.Ack);
        PeerPort = 80;
        Clock.AdvanceMicroseconds(rttMicroseconds);
        var options = new List<byte>();
        options.AddRange(SegmentCrafter.MssOption(1460));
        options.AddRange(SegmentCrafter.SackPermittedOption());
        if (timestamps)
            options.AddRange(SegmentCrafter.TimestampOption(PeerTs, syn.Header.TsVal));
        options.AddRange(SegmentCrafter.WindowScaleOption(0));
        ushort localPort = socket.LocalEndpoint.Port;
        Inject(localPort, PeerSeq, syn.Seq + 1, (byte)(SegmentCrafter.Syn | SegmentCrafter.Ack), peerWindow, options.ToArray());
        PeerSeq++;
        var ack = Assert.Single(Ip.Take());
        Assert.True(ack.Ack && !ack.Syn);
        Assert.Equal(PeerSeq, ack.AckNumber);
        Assert.Equal(TcpState.Established, socket.State);
        return (socket, syn.Seq + 1, localPort);
    }

    public byte[] PeerTimestamp(uint echo) => SegmentCrafter.TimestampOption(++PeerTs, echo);

    public void Dispose() => Pool.Dispose();
}
