using System.Diagnostics;
using System.Security.Cryptography;
using Demi.Buffers;
using Demi.Inet.Nic;
using Demi.Inet.Tcp;
using Demi.Inet.Tests.Kernel;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// Interop with the Linux kernel's TCP over a veth pair between two namespaces (inet's
/// <see cref="KernelLink"/>: the kernel peer at 10.77.0.1, the stack at 10.77.0.2 on an AF_PACKET
/// queue). Needs root; runs in CI as root. Loss is injected on the stack's side (both directions,
/// seeded) because this kernel has no netem.
/// </summary>
public sealed class KernelTcpTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>Drops a seeded fraction of what TCP sends.</summary>
    private sealed class LossyIp(IIpLayer inner, double loss, int seed) : IIpLayer
    {
        private readonly Random _random = new(seed);
        public long Dropped;
        public Ipv4Address LocalAddress => inner.LocalAddress;
        public int Mtu => inner.Mtu;
        public BufferPool Pool => inner.Pool;
        public int HeaderRoom => inner.HeaderRoom;
        public InetClock Clock => inner.Clock;
        public NicOffloads Offloads => inner.Offloads;

        public void TakeReceived(in PacketBuffer segment) => inner.TakeReceived(segment);

        public int Send(Ipv4Address destination, byte protocol, PacketBuffer segment)
        {
            if (loss > 0 && _random.NextDouble() < loss)
            {
                Dropped++;
                segment.Release();
                return 0;
            }
            return inner.Send(destination, protocol, segment);
        }
    }

    /// <summary>Drops a seeded fraction of what arrives for TCP.</summary>
    private sealed class LossyHandler(TcpLayer inner, double loss, int seed) : IIpProtocolHandler
    {
        private readonly Random _random = new(seed);
        public long Dropped;
        public byte Protocol => 6;
        public long NextDeadline => inner.NextDeadline;
        public int OnTimer(long nowMicroseconds) => inner.OnTimer(nowMicroseconds);

        public void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified)
        {
            if (loss > 0 && _random.NextDouble() < loss)
            {
                Dropped++;
                segment.Release();
                return;
            }
            inner.Receive(source, destination, segment, checksumVerified);
        }
    }

    private const string KernelClient = """
        import socket, sys, random, threading
        host, port, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        data = random.Random(seed).randbytes(size)
        s = socket.create_connection((host, port), timeout=50)
        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send)
        t.start()
        got = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        t.join()
        s.close()
        print("OK" if bytes(got) == data else "MISMATCH %d of %d" % (len(got), len(data)), flush=True)
        """;

    private const string KernelServer = """
        import socket, sys, hashlib
        port = int(sys.argv[1])
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(("0.0.0.0", port))
        l.listen(1)
        print("LISTENING", flush=True)
        c, a = l.accept()
        c.settimeout(50)
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
        c.close()
        """;

    private const string KernelConnectOnce = """
        import socket, sys
        try:
            socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
            print("CONNECTED", flush=True)
        except ConnectionRefusedError:
            print("REFUSED", flush=True)
        """;

    private static string WriteScript(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"demi-tcp-{Guid.NewGuid():N}.py");
        File.WriteAllText(path, text);
        return path;
    }

    private static (TcpLayer Tcp, LossyIp Out, LossyHandler In) AddTcp(KernelLink link, double loss)
    {
        var ip = new LossyIp(link.Stack, loss, 1);
        var tcp = new TcpLayer(ip, new TcpConfig { RandomSeed = 2 });
        var handler = new LossyHandler(tcp, loss, 2);
        link.Stack.RegisterProtocol(handler);
        return (tcp, ip, handler);
    }

    private static bool Drive(KernelLink link, Func<bool> done, Action? app = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < Limit)
        {
            int work = link.Stack.Poll();
            app?.Invoke();
            if (done())
                return true;
            if (work == 0)
                Thread.Sleep(0);
        }
        return false;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.02)]
    public void KernelClient_EchoesThroughOurServer(double loss)
    {
        using var link = new KernelLink();
        var (tcp, lossOut, lossIn) = AddTcp(link, loss);
        var listener = tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, listener.Listen(4));
        string script = WriteScript(KernelClient);
        int size = loss == 0 ? 4_000_000 : 1_000_000;
        using var client = link.StartInKernelNs("python3", $"{script} {KernelLink.StackAddress} 7000 {size} 7");
        TcpSocket? server = null;
        PacketBuffer pending = default;
        bool shutdown = false;
        long echoed = 0;
        try
        {
            bool ok = Drive(link, () => client.HasExited && (server is null || server.State is TcpState.Closed or TcpState.TimeWait), () =>
            {
                if (server is null && listener.Accept(out server) != 0)
                    return;
                // Echo zero-copy: each received buffer goes straight into the send queue.
                while (true)
                {
                    if (pending.IsEmpty)
                    {
                        int rc = server!.Receive(out pending);
                        if (rc != 0)
                            break;
                        if (pending.Length == 0)
                        {
                            pending = default;
                            if (!shutdown)
                                server.Shutdown(TcpShutdown.Write);
                            shutdown = true;
                            break;
                        }
                    }
                    int length = pending.Length;
                    if (server!.Send(pending) != 0)
                        break;
                    echoed += length;
                    pending = default;
                }
            });
            string output = client.StandardOutput.ReadToEnd();
            Assert.True(ok, $"did not finish: echoed {echoed}, server {server?.DebugState()}, python: {output} {client.StandardError.ReadToEnd()}");
            Assert.Equal("OK", output.Trim());
            Assert.Equal(size, echoed);
            log.WriteLine($"kernel client, loss {loss:P0}: echoed {echoed} B; segments in {tcp.Statistics.SegmentsReceived} out {tcp.Statistics.SegmentsSent}, "
                + $"retransmissions {tcp.Statistics.Retransmissions}, dropped out {lossOut.Dropped} in {lossIn.Dropped}, mss {server!.SendMss}, srtt {server.SmoothedRttMicroseconds} µs");
            Assert.Equal(0, tcp.Statistics.ChecksumErrors + tcp.Statistics.MalformedDropped);
            if (loss > 0)
                Assert.True(lossOut.Dropped > 0 && lossIn.Dropped > 0 && tcp.Statistics.Retransmissions > 0);
        }
        finally
        {
            if (!client.HasExited)
                client.Kill(entireProcessTree: true);
            File.Delete(script);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.02)]
    public void OurClient_SendsToKernelServer(double loss)
    {
        using var link = new KernelLink();
        var (tcp, _, _) = AddTcp(link, loss);
        string script = WriteScript(KernelServer);
        using var server = link.StartInKernelNs("python3", $"{script} 9000");
        try
        {
            // Blocks until python prints (or exits, then null).
            string? ready = server.StandardOutput.ReadLine();
            Assert.True(ready == "LISTENING", $"the kernel server did not start: {ready} {(server.HasExited ? server.StandardError.ReadToEnd() : "")}");
            var data = new byte[loss == 0 ? 4_000_000 : 1_000_000];
            new Random(9).NextBytes(data);
            var client = tcp.CreateSocket();
            Assert.Equal(0, client.Connect(new Ipv4Endpoint(KernelLink.KernelAddress, 9000)));
            int sent = 0;
            var reply = new List<byte>();
            bool eof = false;
            bool ok = Drive(link, () => eof, () =>
            {
                if (client.State == TcpState.SynSent)
                    return;
                while (sent < data.Length && client.Send(data.AsSpan(sent, Math.Min(65536, data.Length - sent)), out int n) == 0)
                {
                    sent += n;
                    if (sent == data.Length)
                        Assert.Equal(0, client.Shutdown(TcpShutdown.Write));
                }
                var buffer = new byte[256];
                while (client.Receive(buffer, out int read) == 0)
                {
                    if (read == 0)
                    {
                        eof = true;
                        break;
                    }
                    reply.AddRange(buffer[..read]);
                }
                Assert.Equal(0, client.Error);
            });
            Assert.True(ok, $"did not finish: sent {sent}, {client.DebugState()}");
            string text = System.Text.Encoding.ASCII.GetString(reply.ToArray()).Trim();
            Assert.Equal($"{data.Length} {Convert.ToHexStringLower(SHA256.HashData(data))}", text);
            Assert.True(client.SendMss >= 1400, $"MSS {client.SendMss}");
            log.WriteLine($"kernel server, loss {loss:P0}: sent {data.Length} B; segments in {tcp.Statistics.SegmentsReceived} out {tcp.Statistics.SegmentsSent}, "
                + $"retransmissions {tcp.Statistics.Retransmissions} (fast {tcp.Statistics.FastRetransmits}, timeouts {tcp.Statistics.RetransmitTimeouts}), mss {client.SendMss}, cwnd {client.CongestionWindow}");
            Assert.Equal(0, client.Close());
            Assert.True(server.WaitForExit(10_000));
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
                server.Kill(entireProcessTree: true);
            File.Delete(script);
        }
    }

    [Fact]
    public void KernelConnectToClosedPort_IsRefused()
    {
        using var link = new KernelLink();
        var (tcp, _, _) = AddTcp(link, 0);
        string script = WriteScript(KernelConnectOnce);
        using var client = link.StartInKernelNs("python3", $"{script} {KernelLink.StackAddress} 7999");
        try
        {
            Assert.True(Drive(link, () => client.HasExited), "python did not finish");
            Assert.Equal("REFUSED", client.StandardOutput.ReadToEnd().Trim());
            Assert.Equal(1, tcp.Statistics.NoPortDropped);
        }
        finally
        {
            if (!client.HasExited)
                client.Kill(entireProcessTree: true);
            File.Delete(script);
        }
    }
}
