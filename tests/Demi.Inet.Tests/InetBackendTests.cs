using System.Text;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>The libOS's errno API running UDP over the user-space stack on a virtual wire.</summary>
public sealed class InetBackendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>A peer stack on its own thread that echoes every UDP datagram on port 7 back to its sender.</summary>
    private sealed class EchoPeer : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public EchoPeer(VirtualNicQueue nic)
        {
            Stack = new InetStack(nic, new InetStackOptions { LocalAddress = TwoStacks.AddressA });
            var socket = Stack.CreateUdpSocket();
            Assert.Equal(0, socket.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7)));
            _thread = new Thread(() =>
            {
                var deadline = DateTime.UtcNow + Timeout;
                while (!_stop && DateTime.UtcNow < deadline)
                {
                    Stack.Poll();
                    while (socket.TryPop(out var payload, out var from))
                        socket.PushTo(payload, from);
                    Thread.Yield();
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public InetStack Stack { get; }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            Stack.Dispose();
        }
    }

    private static (LibOS LibOS, VirtualWire Wire, VirtualNicQueue Peer) Create(Action<InetStackOptions>? configure = null)
    {
        var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        var nic = wire.CreatePort(TwoStacks.MacB);
        var peer = wire.CreatePort(TwoStacks.MacA);
        var options = new InetStackOptions { LocalAddress = TwoStacks.AddressB };
        configure?.Invoke(options);
        var libOS = new LibOS(new LibOSOptions { Backend = new InetBackend(nic, options), ShardCount = 1 });
        return (libOS, wire, peer);
    }

    private static QResult WaitOk(LibOS libOS, ulong qt)
    {
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.False(result.Failed, $"operation failed: {Errno.Name(result.Error)}");
        return result;
    }

    [Fact]
    public void UdpEchoThroughTheLibOS()
    {
        var (libOS, wire, peerNic) = Create();
        using var _ = wire;
        using var peer = new EchoPeer(peerNic);
        using (libOS)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 0)));
            Assert.Equal(0, libOS.GetSockName(qd, out var local));
            Assert.NotEqual(0, local.Port);
            var echo = new Ipv4Endpoint(TwoStacks.AddressA, 7);
            for (int i = 0; i < 200; i++)
            {
                string text = $"datagram {i}";
                var sga = libOS.SgaAlloc(text.Length);
                Encoding.ASCII.GetBytes(text, sga.Span);
                Assert.Equal(0, libOS.Pop(out var popQt, qd));
                Assert.Equal(0, libOS.PushTo(out var pushQt, qd, sga, echo));
                WaitOk(libOS, pushQt);
                var reply = WaitOk(libOS, popQt);
                Assert.Equal(Opcode.Pop, reply.Opcode);
                Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
                Assert.Equal(echo, reply.Sga.Address.Endpoint);
                Assert.Equal(0, libOS.SgaFree(reply.Sga));
                Assert.Equal(0, libOS.SgaFree(sga));
            }
            // Echo a popped datagram back out of the same buffer (zero-copy both ways).
            Assert.Equal(0, libOS.Close(qd));
        }
    }

    [Fact]
    public void ArpTimeoutFailsThePushAndUnconnectedPushIsEdestaddrreq()
    {
        var (libOS, wire, _) = Create(o =>
        {
            o.ArpRequestRetries = 1;
            o.ArpRequestTimeout = TimeSpan.FromMilliseconds(50);
        });
        using var w = wire;
        using (libOS)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            var sga = libOS.SgaAlloc(8);
            Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, new Ipv4Endpoint(Ipv4Address.Parse("10.0.0.99"), 9)));
            Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
            Assert.Equal(Opcode.Failed, result.Opcode);
            Assert.Equal(Errno.ETIMEDOUT, result.Error);
            // A failed push still names its sga, so that a fire-and-forget caller can free it.
            Assert.Equal(sga.Handle, result.Sga.Handle);
            Assert.Equal(0, libOS.Push(out var qt2, qd, sga));
            Assert.Equal(0, libOS.Wait(out var result2, qt2, Timeout));
            Assert.Equal(Errno.EDESTADDRREQ, result2.Error);
            Assert.Equal(sga.Handle, result2.Sga.Handle);
            Assert.Equal(0, libOS.SgaFree(sga));
            // Stream sockets need a TCP transport plugged into the backend.
            Assert.Equal(Errno.EPROTONOSUPPORT, libOS.Socket(out _, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        }
    }

    [Fact]
    public void ConnectedPushAndClosingCancelsPendingPop()
    {
        var (libOS, wire, peerNic) = Create();
        using var _ = wire;
        using var peer = new EchoPeer(peerNic);
        using (libOS)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Connect(out var cqt, qd, new Ipv4Endpoint(TwoStacks.AddressA, 7)));
            Assert.Equal(Opcode.Connect, WaitOk(libOS, cqt).Opcode);
            var sga = libOS.SgaAlloc(3);
            "abc"u8.CopyTo(sga.Span);
            Assert.Equal(0, libOS.Pop(out var popQt, qd));
            Assert.Equal(0, libOS.Push(out var pushQt, qd, sga));
            WaitOk(libOS, pushQt);
            var reply = WaitOk(libOS, popQt);
            Assert.Equal("abc"u8.ToArray(), reply.Sga.Span.ToArray());
            libOS.SgaFree(reply.Sga);
            libOS.SgaFree(sga);
            Assert.Equal(0, libOS.Pop(out var pending, qd));
            Assert.Equal(0, libOS.Close(qd));
            Assert.Equal(0, libOS.Wait(out var cancelled, pending, Timeout));
            Assert.Equal(Errno.ECANCELED, cancelled.Error);
        }
    }

    [Fact]
    public void PopOnConnectedSocketFailsWithEconnrefusedWhenPeerPortIsClosed()
    {
        var (libOS, wire, peerNic) = Create();
        using var _ = wire;
        using var peer = new EchoPeer(peerNic);
        using (libOS)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Connect(out var cqt, qd, new Ipv4Endpoint(TwoStacks.AddressA, 9)));
            WaitOk(libOS, cqt);
            Assert.Equal(0, libOS.Pop(out var popQt, qd));
            var sga = libOS.SgaAlloc(5);
            Assert.Equal(0, libOS.Push(out var pushQt, qd, sga));
            WaitOk(libOS, pushQt);
            Assert.Equal(0, libOS.Wait(out var result, popQt, Timeout));
            Assert.Equal(Errno.ECONNREFUSED, result.Error);
            libOS.SgaFree(sga);
        }
    }

    [Fact]
    public void TwoShardsShareArpAndCaptureToOneFileEach()
    {
        string dir = Directory.CreateTempSubdirectory("demi-inet-shards-").FullName;
        try
        {
            using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
            // Two queues of one interface (same MAC and address); unicast replies reach only the second.
            var queues = new[] { wire.CreatePort(TwoStacks.MacB), wire.CreatePort(TwoStacks.MacB) };
            using var peer = new EchoPeer(wire.CreatePort(TwoStacks.MacA));
            var options = new InetStackOptions { LocalAddress = TwoStacks.AddressB, CapturePath = Path.Combine(dir, "cap.pcap") };
            using (var libOS = new LibOS(new LibOSOptions { Backend = new InetBackend(queues, _ => options), ShardCount = 2 }))
            {
                var echo = new Ipv4Endpoint(TwoStacks.AddressA, 7);
                var shards = new HashSet<int>();
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
                    shards.Add(libOS.GetActor(qd)!.Shard.Id);
                    var sga = libOS.SgaAlloc(4);
                    "ping"u8.CopyTo(sga.Span);
                    Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, echo));
                    // The ARP reply lands on queue 2 whichever shard asked: the shared cache resolves it.
                    Assert.Equal(Opcode.Push, WaitOk(libOS, qt).Opcode);
                    libOS.SgaFree(sga);
                    Assert.Equal(0, libOS.Close(qd));
                }
                Assert.Equal(2, shards.Count);
            }
            foreach (int shard in new[] { 0, 1 })
            {
                var file = new FileInfo(Path.Combine(dir, $"cap.shard{shard}.pcap"));
                Assert.True(file.Exists && file.Length > 24, $"{file.Name} missing or empty");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ClosingCancelsAPushWaitingForArpAndItIsNeverSent()
    {
        var (libOS, wire, peerNic) = Create(o => o.ArpRequestTimeout = TimeSpan.FromSeconds(10));
        using var w = wire;
        using (libOS)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            var sga = libOS.SgaAlloc(8);
            // The peer port does not answer ARP yet: the push waits for resolution.
            Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, new Ipv4Endpoint(TwoStacks.AddressA, 9)));
            var frames = new Demi.Buffers.PacketBuffer[16];
            int n = 0;
            for (var deadline = DateTime.UtcNow + Timeout; n == 0 && DateTime.UtcNow < deadline; Thread.Sleep(1))
                n = peerNic.Receive(frames);
            Assert.Equal(1, n); // the ARP request
            frames[0].Release();
            Assert.Equal(0, libOS.Close(qd));
            Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
            Assert.Equal(Opcode.Failed, result.Opcode);
            Assert.Equal(Errno.ECANCELED, result.Error);
            Assert.Equal(sga.Handle, result.Sga.Handle);
            Assert.Equal(0, libOS.SgaFree(sga));
            // The peer now answers the (still running) resolution: the cancelled datagram must not follow.
            peerNic.TransmitCopy(Frames.Arp(Headers.ArpPacket.OperationReply, TwoStacks.MacA, TwoStacks.AddressA, TwoStacks.MacB, TwoStacks.AddressB, TwoStacks.MacB));
            Thread.Sleep(200);
            Assert.Equal(0, peerNic.Receive(frames));
        }
    }

    [Fact]
    public void APushWhoseFrameTheNicRefusesFailsWithEnobufs()
    {
        using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System });
        var nic = new RefusingNicQueue(wire.CreatePort(TwoStacks.MacB)) { Budget = 0 };
        var options = new InetStackOptions { LocalAddress = TwoStacks.AddressB };
        options.ArpTable[TwoStacks.AddressA] = TwoStacks.MacA;
        using var libOS = new LibOS(new LibOSOptions { Backend = new InetBackend(nic, options), ShardCount = 1 });
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        var sga = libOS.SgaAlloc(8);
        Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, new Ipv4Endpoint(TwoStacks.AddressA, 9)));
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.Equal(Opcode.Failed, result.Opcode);
        Assert.Equal(Errno.ENOBUFS, result.Error);
        Assert.Equal(sga.Handle, result.Sga.Handle);
        Assert.Equal(0, libOS.SgaFree(sga));
        Assert.Equal(0, libOS.Close(qd));
    }
}
