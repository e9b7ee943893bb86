using System.Globalization;
using Demi.Inet;
using Demi.Inet.Tcp;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// A soak over AF_XDP against kernel peers: UDP echoes (a pipelined kernel client, 32 in flight) and
/// sequential TCP connections (connect, echo 64 bytes, close) against one Demi libOS, then everything it
/// holds back at its baseline: pool frames, tokens, descriptors and TCP sockets exactly, the process's
/// RSS within <see cref="RssToleranceKb"/>. CI size: 100,000 echoes and 2,000 connections; the long
/// run multiplies both by DEMI_SOAK_SCALE (<c>DEMI_SOAK_SCALE=10</c>: 1,000,000 and 20,000).
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    private const int UdpEchoes = 100_000;
    private const int TcpConnections = 2_000;
    private const long RssToleranceKb = 64 * 1024;

    /// <summary>argv: ip, port, count, window. Sends window datagrams, collects their echoes (2 s each at most), repeats; prints "ok N".</summary>
    private const string UdpWindowClient = """
import socket, sys
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3]); w = int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.settimeout(2)
ok = 0; i = 0
while i < n:
    k = min(w, n - i); want = set()
    for j in range(i, i + k):
        m = b'soak-%08d' % j; want.add(m); s.sendto(m, dst)
    try:
        while want:
            d, a = s.recvfrom(2048)
            if d in want: want.discard(d); ok += 1
    except socket.timeout:
        pass
    i += k
print('ok', ok, flush=True)
""";

    /// <summary>argv: ip, port, connections. Connects, echoes 64 bytes, closes, in turn; prints "ok N".</summary>
    private const string TcpSequentialClient = """
import socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0
for i in range(n):
    msg = (b'conn-%08d-' % i).ljust(64, b'x')
    try:
        s = socket.create_connection((ip, port), timeout=5)
        s.sendall(msg); got = b''
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d: break
            got += d
        s.close()
        if got == msg: ok += 1
    except OSError as e:
        print('fail', i, repr(e), file=sys.stderr, flush=True)
print('ok', ok, flush=True)
""";

    private readonly record struct Holdings(int PoolAvailable, int Tokens, int Descriptors, int TcpSockets, long RssKb)
    {
        public override string ToString() => $"pool free {PoolAvailable}, tokens {Tokens}, descriptors {Descriptors}, tcp sockets {TcpSockets}, rss {RssKb} kB";
    }

    [Fact]
    public void Udp_echoes_and_sequential_tcp_connections_leave_pool_tokens_descriptors_and_rss_at_baseline()
    {
        Privileges.RequireRoot();
        int scale = Environment.GetEnvironmentVariable("DEMI_SOAK_SCALE") is { Length: > 0 } v ? int.Parse(v, CultureInfo.InvariantCulture) : 1;
        int udpEchoes = UdpEchoes * scale, tcpConnections = TcpConnections * scale;
        using var veth = VethNamespaces.Create();
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out _, tcp: true);
        Assert.Equal(0, libOS.Socket(out int uqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(uqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var udpEcho = DemiOverVeth.StartUdpEcho(libOS, uqd);
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, libOS.Listen(lqd, 64));
        long served = 0;
        var tcpServer = new Thread(() =>
        {
            // Serves connections one after another until the listener closes.
            while (libOS.Accept(out var aqt, lqd) == 0 && libOS.Wait(out var accepted, aqt, DemiOverVeth.Timeout) == 0 && !accepted.Failed)
            {
                int qd = accepted.AcceptedQd;
                while (libOS.Pop(out var pqt, qd) == 0 && libOS.Wait(out var r, pqt, DemiOverVeth.Timeout) == 0 && !r.Failed)
                {
                    bool end = r.Sga.Length == 0;
                    bool ok = end || (libOS.Push(out var sqt, qd, r.Sga) == 0 && libOS.Wait(out var pushed, sqt, DemiOverVeth.Timeout) == 0 && !pushed.Failed);
                    libOS.SgaFree(r.Sga);
                    if (end || !ok)
                        break;
                }
                libOS.Close(qd);
                Interlocked.Increment(ref served);
            }
        }) { IsBackground = true, Name = "soak-tcp" };
        tcpServer.Start();

        // Warm-up (JIT, ARP, pool and socket tables at their working size), then the baseline.
        Assert.Equal("ok 2000", veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), UdpWindowClient, veth.AddressA, "7", "2000", "32").StandardOutput.Trim());
        Assert.Equal("ok 50", veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), TcpSequentialClient, veth.AddressA, "7000", "50").StandardOutput.Trim());
        var baseline = Measure(libOS, 50);
        output.WriteLine($"baseline: {baseline}");

        var started = DateTime.UtcNow;
        var udp = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60 * scale), UdpWindowClient, veth.AddressA, "7", udpEchoes.ToString(CultureInfo.InvariantCulture), "32");
        var udpTime = DateTime.UtcNow - started;
        var tcp = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60 * scale), TcpSequentialClient, veth.AddressA, "7000", tcpConnections.ToString(CultureInfo.InvariantCulture));
        var tcpTime = DateTime.UtcNow - started - udpTime;
        output.WriteLine($"udp: {udp.StandardOutput.Trim()} of {udpEchoes} in {udpTime.TotalSeconds:F1} s; tcp: {tcp.StandardOutput.Trim()} of {tcpConnections} in {tcpTime.TotalSeconds:F1} s {tcp.StandardError.Trim()}");
        Assert.Equal($"ok {udpEchoes}", udp.StandardOutput.Trim());
        Assert.Equal($"ok {tcpConnections}", tcp.StandardOutput.Trim());

        var after = Measure(libOS, 50 + tcpConnections);
        output.WriteLine($"after:    {after}");
        Assert.Equal(baseline.PoolAvailable, after.PoolAvailable);
        Assert.Equal(baseline.Tokens, after.Tokens);
        Assert.Equal(baseline.Descriptors, after.Descriptors);
        Assert.Equal(baseline.TcpSockets, after.TcpSockets);
        Assert.True(after.RssKb - baseline.RssKb < RssToleranceKb, $"RSS grew by {after.RssKb - baseline.RssKb} kB (tolerance {RssToleranceKb} kB)");

        Assert.Equal(0, libOS.Close(lqd));
        Assert.Equal(0, libOS.Close(uqd));
        Assert.True(tcpServer.Join(DemiOverVeth.Timeout) && udpEcho.Join(DemiOverVeth.Timeout), "server threads did not end");
        Demi.Tests.Shared.StackHealth.AssertClean(libOS);

        // Waits for the servers to be idle again (every connection closed, each back in its pending pop or accept), then reads what the libOS holds.
        Holdings Measure(LibOS os, long connections)
        {
            var shard = os.Shards[0];
            var layer = TcpTransport.LayerOf(shard)!;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while ((Interlocked.Read(ref served) < connections || shard.Invoke(() => layer.OpenSockets) > 1) && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Thread.Sleep(200);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var stack = InetBackend.StackOf(shard)!;
            return new Holdings(shard.Invoke(() => stack.Pool.Available), os.TokensInUse, os.OpenDescriptors, shard.Invoke(() => layer.OpenSockets), RssKb());
        }
    }

    private static long RssKb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no VmRSS");
    }
}
