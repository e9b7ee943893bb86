using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Demi.Buffers;
using Demi.Inet;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Measurements over a veth (short by default so CI stays quick; set DEMI_BENCH_SECONDS for real
/// figures). Results go to the test output and to /tmp/demi-xdp-bench.txt. Each asserts only what
/// must hold whatever the machine: traffic flowed, nothing leaked, no per-packet allocation on the
/// raw path.
/// </summary>
public sealed class Benchmarks(ITestOutputHelper output)
{
    private static readonly double Seconds = double.TryParse(Environment.GetEnvironmentVariable("DEMI_BENCH_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 1.0;

    private void Report(string line)
    {
        output.WriteLine(line);
        File.AppendAllText("/tmp/demi-xdp-bench.txt", $"{DateTime.UtcNow:O} {line}\n");
    }

    [Fact]
    public void Raw_frames_per_second_xsk_to_xsk()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var rx = XdpNicQueue.Open(new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA });
        using var tx = XdpNicQueue.Open(new XdpQueueOptions { Interface = veth.InterfaceB, NetworkNamespace = veth.NamespaceB });
        byte[] template = new byte[64];
        Frames.BuildUdp(template, veth.MacB, veth.MacA, Frames.Ip(veth.AddressB), Frames.Ip(veth.AddressA), 9, 9, new byte[64 - Frames.HeaderLength]);
        long received = 0, sent = 0, rxAlloc = 0, txAlloc = 0;
        var stop = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(Seconds);
        var receiver = new Thread(() =>
        {
            var burst = new PacketBuffer[64];
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            long n = 0;
            while (stop.Elapsed < duration + TimeSpan.FromMilliseconds(200))
            {
                int k = rx.Receive(burst);
                for (int i = 0; i < k; i++)
                    burst[i].Release();
                n += k;
                rx.Flush();
            }
            rxAlloc = GC.GetAllocatedBytesForCurrentThread() - a0;
            received = n;
        });
        var sender = new Thread(() =>
        {
            var burst = new PacketBuffer[64];
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            long n = 0;
            while (stop.Elapsed < duration)
            {
                int k = 0;
                while (k < burst.Length && PacketBuffer.TryRent(tx.Pool, out var f))
                {
                    template.CopyTo(f.Append(template.Length));
                    burst[k++] = f;
                }
                int taken = tx.Transmit(burst.AsSpan(0, k));
                for (int i = taken; i < k; i++)
                    burst[i].Release();
                n += taken;
                tx.Flush();
            }
            for (int i = 0; i < 100; i++)
                tx.Flush();
            txAlloc = GC.GetAllocatedBytesForCurrentThread() - a0;
            sent = n;
        });
        receiver.Start();
        sender.Start();
        sender.Join();
        receiver.Join();
        double secs = duration.TotalSeconds;
        Report($"raw xsk->xsk veth 64B native copy-mode: tx {sent / secs / 1e6:F3} Mpps, rx {received / secs / 1e6:F3} Mpps " +
               $"(sender and receiver each one thread on a 2-core machine), alloc/frame rx {(double)rxAlloc / Math.Max(1, received):F4} B, tx {(double)txAlloc / Math.Max(1, sent):F4} B, " +
               $"rx kernel drops ring-full {rx.GetStatistics().KernelRxRingFull} fill-empty {rx.GetStatistics().KernelRxFillEmpty}");
        Assert.True(received > 0);
        // The per-packet path allocates no managed memory (a few bytes of JIT/tiering noise at most).
        Assert.True((double)rxAlloc / received < 1.0, $"rx allocated {rxAlloc} B for {received} frames");
        Assert.True((double)txAlloc / sent < 1.0, $"tx allocated {txAlloc} B for {sent} frames");
    }

    [Fact]
    public void Udp_echo_demi_xdp_versus_kernel()
    {
        Privileges.RequireRoot();
        int count = (int)(20_000 * Seconds);
        // Demi over AF_XDP in A.
        (double Rate, double P50, double P99, long Lost) demi;
        long demiAlloc, demiEchoed;
        using (var veth = VethNamespaces.Create())
        using (var backend = XdpBackend.Create(new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA },
                   new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 }))
        using (var libOS = new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1 }))
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
            long echoed = 0;
            var server = new Thread(() =>
            {
                while (true)
                {
                    if (libOS.Pop(out var popQt, qd) != 0 || libOS.Wait(out var r, popQt, TimeSpan.FromSeconds(30)) != 0 || r.Failed)
                        return;
                    bool ok = libOS.PushTo(out var pushQt, qd, r.Sga, r.Sga.Address.Endpoint) == 0
                        && libOS.Wait(out var pushed, pushQt, TimeSpan.FromSeconds(5)) == 0 && !pushed.Failed;
                    libOS.SgaFree(r.Sga);
                    if (!ok)
                        return; // only completed echoes count
                    echoed++;
                }
            }) { IsBackground = true };
            server.Start();
            long a0 = GC.GetTotalAllocatedBytes(precise: true);
            demi = PingPong(veth, new IPEndPoint(IPAddress.Parse(veth.AddressA), 7), count);
            demiAlloc = GC.GetTotalAllocatedBytes(precise: true) - a0;
            demiEchoed = echoed;
            libOS.Close(qd);
            server.Join(TimeSpan.FromSeconds(5));
        }
        // The kernel UDP path over an identical veth, same client.
        (double Rate, double P50, double P99, long Lost) kernel;
        using (var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnA = true }))
        {
            Socket serverSocket;
            using (veth.Enter(VethSide.A))
                serverSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            serverSocket.Bind(new IPEndPoint(IPAddress.Any, 7));
            var server = new Thread(() =>
            {
                var buf = new byte[2048];
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                try
                {
                    while (true)
                    {
                        int n = serverSocket.ReceiveFrom(buf, ref from);
                        serverSocket.SendTo(buf.AsSpan(0, n), SocketFlags.None, from);
                    }
                }
                catch (SocketException) { }
                catch (ObjectDisposedException) { }
            }) { IsBackground = true };
            server.Start();
            kernel = PingPong(veth, new IPEndPoint(IPAddress.Parse(veth.AddressA), 7), count);
            serverSocket.Dispose();
            server.Join(TimeSpan.FromSeconds(5));
        }
        Report($"udp echo 64B ping-pong over veth, client = C# kernel socket in ns B, {count} msgs: " +
               $"demi-xdp {demi.Rate:F0} msg/s p50 {demi.P50:F1} us p99 {demi.P99:F1} us lost {demi.Lost}, alloc/msg (whole process, client included) {(double)demiAlloc / Math.Max(1, demiEchoed):F1} B; " +
               $"kernel {kernel.Rate:F0} msg/s p50 {kernel.P50:F1} us p99 {kernel.P99:F1} us lost {kernel.Lost}");
        Assert.True(demi.Rate > 0 && kernel.Rate > 0);
        Assert.True(demi.Lost < count / 100 + 1, $"demi lost {demi.Lost}");
    }

    /// <summary>One outstanding 64-byte datagram at a time from a kernel socket in namespace B.</summary>
    private static (double Rate, double P50, double P99, long Lost) PingPong(VethNamespaces veth, IPEndPoint server, int count)
    {
        (double, double, double, long) result = default;
        var t = new Thread(() =>
        {
            Socket s;
            using (veth.Enter(VethSide.B))
                s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using (s)
            {
                s.Bind(new IPEndPoint(IPAddress.Any, 0));
                s.Connect(server);
                s.ReceiveTimeout = 200;
                var msg = new byte[64];
                var reply = new byte[2048];
                var rtts = new double[count];
                int ok = 0;
                long lost = 0;
                // Warm-up: ARP, JIT, tiering.
                for (int i = 0; i < 200; i++)
                {
                    s.Send(msg);
                    try { s.Receive(reply); } catch (SocketException) { }
                }
                var total = Stopwatch.StartNew();
                for (int i = 0; i < count; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    s.Send(msg);
                    try
                    {
                        s.Receive(reply);
                        rtts[ok++] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                    }
                    catch (SocketException)
                    {
                        lost++;
                    }
                }
                double secs = total.Elapsed.TotalSeconds;
                Array.Sort(rtts, 0, ok);
                result = (ok / secs, ok > 0 ? rtts[ok / 2] : 0, ok > 0 ? rtts[Math.Min(ok - 1, (int)(ok * 0.99))] : 0, lost);
            }
        });
        t.Start();
        t.Join();
        return result;
    }
}
