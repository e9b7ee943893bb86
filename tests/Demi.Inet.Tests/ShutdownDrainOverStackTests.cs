using Demi.Inet.Tcp;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>
/// Issue 16 item 3 on the user-space stack: a libOS disposed right after its pushes still delivers every
/// byte (the stack keeps sending and retransmitting until acknowledged, then exchanges FINs), to a peer
/// stack that reads slowly over the virtual wire; nothing is reset.
/// </summary>
public sealed class ShutdownDrainOverStackTests
{
    private const int Chunk = 4000;
    private const int Chunks = 64;
    private const int Runs = 5;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void PushesPostedJustBeforeDisposeReachThePeerThenEndOfStream()
    {
        for (int run = 0; run < Runs; run++)
        {
            using var wire = new VirtualWire(new VirtualWireOptions { Clock = InetClock.System, Seed = run + 1, LossRate = 0.01 });
            var nic = wire.CreatePort(TwoStacks.MacB);
            var peerNic = wire.CreatePort(TwoStacks.MacA);
            using var peer = new SlowTcpSink(peerNic, port: 80);
            var libOS = new LibOS(new LibOSOptions
            {
                Backend = new InetBackend(nic, new InetStackOptions { LocalAddress = TwoStacks.AddressB }) { StreamTransport = new TcpTransport() },
                ShardCount = 1,
                ShutdownDrainTimeout = Timeout,
            });
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
            Assert.Equal(0, libOS.Connect(out ulong qt, qd, new Ipv4Endpoint(TwoStacks.AddressA, 80)));
            Assert.Equal(0, libOS.Wait(out var connected, qt, Timeout));
            Assert.Equal(Opcode.Connect, connected.Opcode);
            for (int i = 0; i < Chunks; i++)
            {
                var sga = libOS.SgaAlloc(Chunk);
                sga.Span.Fill((byte)('a' + i % 26));
                Assert.Equal(0, libOS.PostPush(qd, sga)); // not waited for
                Assert.Equal(0, libOS.SgaFree(sga));
            }
            libOS.Dispose();
            Assert.Equal(new ShutdownReport(1, 0), libOS.LastShutdown);
            Assert.True(peer.WaitForEnd(Timeout), $"run {run}: the peer saw no end of stream after {peer.Received} bytes (error {peer.Error})");
            Assert.Equal(0, peer.Error);
            Assert.Equal(Chunk * Chunks, peer.Received);
        }
    }

    /// <summary>A peer stack on its own thread: accepts one connection on <c>port</c> and reads it 512 bytes per poll until end of stream.</summary>
    private sealed class SlowTcpSink : IDisposable
    {
        private readonly Thread _thread;
        private readonly ManualResetEventSlim _ended = new();
        private volatile bool _stop;
        private long _received;

        public SlowTcpSink(VirtualNicQueue nic, ushort port)
        {
            var stack = new InetStack(nic, new InetStackOptions { LocalAddress = TwoStacks.AddressA });
            var tcp = new TcpLayer(stack);
            stack.RegisterProtocol(tcp);
            var listener = tcp.CreateSocket();
            Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, port)));
            Assert.Equal(0, listener.Listen(4));
            _thread = new Thread(() =>
            {
                TcpSocket? connection = null;
                var buffer = new byte[512];
                var deadline = DateTime.UtcNow + Timeout;
                while (!_stop && DateTime.UtcNow < deadline)
                {
                    stack.Poll();
                    if (connection is null && listener.Accept(out var accepted) == 0)
                        connection = accepted;
                    if (connection is not null && !_ended.IsSet)
                    {
                        int err = connection.Receive(buffer, out int read);
                        if (err == 0 && read > 0)
                            Interlocked.Add(ref _received, read);
                        else if (err == 0)
                        {
                            connection.Close(); // as the kernel peer does: both FINs are exchanged
                            _ended.Set();
                        }
                        else if (err != Errno.EAGAIN)
                        {
                            Error = err;
                            _ended.Set();
                        }
                    }
                    Thread.Sleep(0);
                }
                stack.Dispose();
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Received => Interlocked.Read(ref _received);

        public int Error { get; private set; }

        public bool WaitForEnd(TimeSpan timeout) => _ended.Wait(timeout);

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }
}
