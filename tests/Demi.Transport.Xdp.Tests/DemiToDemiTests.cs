using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>Two libOS instances over AF_XDP, one on each end of the veth (each side's namespace), talking to each other.</summary>
public sealed class DemiToDemiTests(ITestOutputHelper output)
{
    private void Report(string line)
    {
        output.WriteLine(line);
        File.AppendAllText("/tmp/demi-xdp-bench.txt", $"{DateTime.UtcNow:O} {line}\n");
    }

    private static VethNamespaces CreateVeth(int queues = 1) => VethNamespaces.Create(new VethOptions { QueueCount = queues, KernelAddressOnB = false });

    [Fact]
    public void Udp_echo_between_two_demi_instances_with_data_checks()
    {
        Privileges.RequireRoot();
        using var veth = CreateVeth();
        using var server = DemiOverVeth.Create(veth, VethSide.A, out var serverBackend);
        using var client = DemiOverVeth.Create(veth, VethSide.B, out var clientBackend);
        Assert.Equal(0, server.Socket(out int sqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, server.Bind(sqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        int echoed = 0;
        var echo = DemiOverVeth.StartUdpEcho(server, sqd, () => Interlocked.Increment(ref echoed));

        Assert.Equal(0, client.Socket(out int cqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, client.Bind(cqd, new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        var dest = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7);
        const int N = 2000;
        var rng = new Random(7);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < N; i++)
        {
            int size = 1 + rng.Next(1400);
            var sga = client.SgaAlloc(size);
            rng.NextBytes(sga.Span);
            BitConverter.TryWriteBytes(sga.Span, i); // sequence number (sizes below 4 keep what fits)
            byte[] expected = sga.ToArray();
            Assert.Equal(0, client.Pop(out var popQt, cqd));
            Assert.Equal(0, client.PushTo(out var pushQt, cqd, sga, dest));
            DemiOverVeth.WaitOk(client, pushQt);
            var reply = DemiOverVeth.WaitOk(client, popQt);
            Assert.Equal(expected, reply.Sga.ToArray());
            Assert.Equal(dest, reply.Sga.Address.Endpoint);
            Assert.Equal(0, client.SgaFree(reply.Sga));
            Assert.Equal(0, client.SgaFree(sga));
        }
        sw.Stop();
        // The server counts after its push completes, which may be just after the reply arrived.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref echoed) == N, 5000), $"echoed {echoed}");
        Report($"demi<->demi UDP ping-pong over AF_XDP veth (1..1400 B, one datagram in flight, Wait on app thread): {N / sw.Elapsed.TotalSeconds:F0} round trips/s");
        // Both sides learned each other by ARP; no frame went missing.
        var sStack = Demi.Inet.InetBackend.StackOf(server.Shards[0])!;
        var cStack = Demi.Inet.InetBackend.StackOf(client.Shards[0])!;
        Assert.True(cStack.TryGetArpEntry(Ipv4Address.Parse(veth.AddressA), out var mac) && mac == veth.MacA);
        Assert.True(sStack.Counters.UdpDatagramsReceived >= N && cStack.Counters.UdpDatagramsReceived >= N);
        Assert.Equal(0, client.Close(cqd));
        Assert.Equal(0, server.Close(sqd));
        Assert.True(echo.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the server thread's pending pop");
        _ = serverBackend;
        _ = clientBackend;
    }

    [Fact]
    public void Udp_pipelined_stream_between_two_demi_instances_arrives_complete()
    {
        Privileges.RequireRoot();
        using var veth = CreateVeth();
        using var server = DemiOverVeth.Create(veth, VethSide.A, out _);
        using var client = DemiOverVeth.Create(veth, VethSide.B, out _);
        Assert.Equal(0, server.Socket(out int sqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, server.Bind(sqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var echo = DemiOverVeth.StartUdpEcho(server, sqd);
        Assert.Equal(0, client.Socket(out int cqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, client.Bind(cqd, new Ipv4Endpoint(Ipv4Address.Any, 0)));
        var dest = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7);
        // Warm up ARP both ways.
        {
            var sga = client.SgaAlloc(8);
            Assert.Equal(0, client.Pop(out var p, cqd));
            Assert.Equal(0, client.PushTo(out var q, cqd, sga, dest));
            DemiOverVeth.WaitOk(client, q);
            client.SgaFree(DemiOverVeth.WaitOk(client, p).Sga);
            client.SgaFree(sga);
        }
        const int N = 20_000, Window = 16;
        var seen = new bool[N];
        int received = 0, sent = 0;
        var pops = new Queue<ulong>();
        var sw = Stopwatch.StartNew();
        while (received < N && sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            while (sent < N && sent - received < Window)
            {
                var sga = client.SgaAlloc(64);
                sga.Span.Clear();
                BitConverter.TryWriteBytes(sga.Span, sent);
                Assert.Equal(0, client.Pop(out var popQt, cqd));
                pops.Enqueue(popQt);
                Assert.Equal(0, client.PushTo(out var pushQt, cqd, sga, dest));
                DemiOverVeth.WaitOk(client, pushQt);
                client.SgaFree(sga);
                sent++;
            }
            int rc = client.Wait(out var r, pops.Peek(), TimeSpan.FromSeconds(5));
            Assert.True(rc == 0, $"no echo after {received} of {N}: {Errno.Name(rc)}");
            Assert.Equal(0, rc);
            pops.Dequeue();
            Assert.False(r.Failed);
            Assert.Equal(64, r.Sga.Length);
            int seq = BitConverter.ToInt32(r.Sga.Span);
            Assert.InRange(seq, 0, N - 1);
            Assert.False(seen[seq], $"duplicate {seq}");
            seen[seq] = true;
            client.SgaFree(r.Sga);
            received++;
        }
        sw.Stop();
        int got = seen.Count(b => b);
        Report($"demi<->demi UDP echo over AF_XDP veth, 64 B, window {Window}: {got / sw.Elapsed.TotalSeconds:F0} echoes/s ({got}/{N} echoed)");
        Assert.Equal(N, got);
        Assert.Equal(0, client.Close(cqd));
        Assert.Equal(0, server.Close(sqd));
        Assert.True(echo.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the server thread's pending pop");
    }
}
