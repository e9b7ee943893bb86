using System.Diagnostics;
using Demi.Inet.Tcp;
using Xunit.Abstractions;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// Throughput, request/response rate and allocation of two TCP layers on one thread over the
/// in-test pipe (10 µs virtual latency). Sizes scale with DEMI_TCP_BENCH_SCALE (default 1) for
/// longer runs; results go to the test output. Asserts that the steady state allocates nothing.
/// </summary>
public sealed class TcpBenchmarkTests(ITestOutputHelper output)
{
    private static int Scale => int.TryParse(Environment.GetEnvironmentVariable("DEMI_TCP_BENCH_SCALE"), out int s) && s > 0 ? s : 1;

    private static (TcpSocket Client, TcpSocket Server) Connect(LossyPipe pipe)
    {
        var listener = pipe.B.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(8));
        var client = pipe.A.CreateSocket();
        Assert.Equal(0, client.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 80)));
        TcpSocket? server = null;
        Assert.True(pipe.Run(() => client.State == TcpState.Established && listener.Accept(out server) == 0));
        return (client, server!);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void BulkThroughput(double loss)
    {
        using var pipe = new LossyPipe(21);
        pipe.LatencyMicroseconds = 10;
        pipe.Loss = loss;
        var (client, server) = Connect(pipe);
        var chunk = new byte[65536];
        new Random(1).NextBytes(chunk);
        var sink = new byte[65536];
        long received = 0;
        long target = 0;
        void App()
        {
            while (client.Send(chunk, out _) == 0)
            {
            }
            while (server.Receive(sink, out int n) == 0 && n > 0)
                received += n;
        }
        // Warm up (pools, rings and heaps reach their steady size), then measure.
        target = (loss == 0 ? 4L : 16L) << 20;
        Assert.True(pipe.Run(() => received >= target, App));
        long segmentsBefore = pipe.A.Statistics.SegmentsSent + pipe.B.Statistics.SegmentsSent;
        long rtxBefore = pipe.A.Statistics.Retransmissions;
        long bytesBefore = received;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        target = received + ((loss == 0 ? 64L : 16L) << 20) * Scale;
        Assert.True(pipe.Run(() => received >= target, App));
        watch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long segments = pipe.A.Statistics.SegmentsSent + pipe.B.Statistics.SegmentsSent - segmentsBefore;
        long bytes = received - bytesBefore;
        double gbps = bytes * 8 / watch.Elapsed.TotalSeconds / 1e9;
        output.WriteLine($"bulk loss={loss:P0}: {bytes / 1e6:F1} MB in {watch.Elapsed.TotalMilliseconds:F0} ms = {gbps:F2} Gbit/s ({bytes / watch.Elapsed.TotalSeconds / 1e6:F0} MB/s); "
            + $"segments {segments} ({segments / watch.Elapsed.TotalSeconds / 1e6:F2} M/s), retransmissions {pipe.A.Statistics.Retransmissions - rtxBefore}, "
            + $"allocated {allocated} B = {(double)allocated / segments:F3} B/segment");
        Assert.True((double)allocated / segments < 1.0, $"steady-state allocation {allocated} B over {segments} segments");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void RequestResponse64(double loss)
    {
        using var pipe = new LossyPipe(22);
        pipe.LatencyMicroseconds = 10;
        pipe.Loss = loss;
        var (client, server) = Connect(pipe);
        client.NoDelay = true;
        server.NoDelay = true;
        var request = new byte[64];
        var buffer = new byte[4096];
        long done = 0;
        int clientGot = 0, serverGot = 0;
        bool waiting = false;
        void Request()
        {
            if (!waiting)
            {
                if (client.Send(request, out int n) != 0 || n != 64)
                    throw new InvalidOperationException("request not accepted");
                waiting = true;
            }
        }
        void App()
        {
            Request();
            while (server.Receive(buffer, out int n) == 0 && n > 0)
            {
                serverGot += n;
                while (serverGot >= 64)
                {
                    serverGot -= 64;
                    if (server.Send(request, out _) != 0)
                        throw new InvalidOperationException("response not accepted");
                }
            }
            while (client.Receive(buffer, out int n) == 0 && n > 0)
            {
                clientGot += n;
                if (clientGot >= 64)
                {
                    clientGot -= 64;
                    done++;
                    waiting = false;
                }
            }
            Request(); // the next request goes out in the same step (a closed-loop client)
        }
        long target = 1000;
        Assert.True(pipe.Run(() => done >= target, App));
        long segmentsBefore = pipe.A.Statistics.SegmentsSent + pipe.B.Statistics.SegmentsSent;
        long rtxBefore = pipe.A.Statistics.Retransmissions + pipe.B.Statistics.Retransmissions;
        long doneBefore = done;
        long virtualBefore = pipe.Clock.NowMicroseconds;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        target = done + (loss == 0 ? 50_000 : 5_000) * Scale;
        Assert.True(pipe.Run(() => done >= target, App), $"stalled after {done}: {client.DebugState()} || {server.DebugState()} waiting={waiting} c={clientGot} s={serverGot}");
        watch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long segments = pipe.A.Statistics.SegmentsSent + pipe.B.Statistics.SegmentsSent - segmentsBefore;
        long transactions = done - doneBefore;
        output.WriteLine($"rr64 loss={loss:P0}: {transactions} round trips in {watch.Elapsed.TotalMilliseconds:F0} ms = {transactions / watch.Elapsed.TotalSeconds:F0}/s on one thread; "
            + $"segments {segments}, retransmissions {pipe.A.Statistics.Retransmissions + pipe.B.Statistics.Retransmissions - rtxBefore}, "
            + $"virtual time {(pipe.Clock.NowMicroseconds - virtualBefore) / 1e6:F2} s, allocated {allocated} B = {(double)allocated / segments:F3} B/segment");
        Assert.True((double)allocated / segments < 1.0, $"steady-state allocation {allocated} B over {segments} segments");
    }
}
