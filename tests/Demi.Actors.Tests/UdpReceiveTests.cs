using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Demi.Actors.Tests;

/// <summary>
/// The kernel backend's UDP receive path (recvmmsg, read ahead of the pops): datagrams that outrun the
/// app's pops wait in Demi's buffers instead of overflowing the kernel's socket buffer (256 small
/// datagrams here). Each test sends in bursts that fit the kernel's buffer and checks that the shard
/// emptied it before the next (so the test does not depend on how the scheduler treats the shard);
/// only then does the app pop, so without read-ahead everything past the first 256 would be lost.
/// </summary>
public sealed class UdpReceiveTests
{
    private const int Datagrams = 1000;
    private const int Burst = 100;

    [Fact]
    public void AThousandDatagramsFromAKernelSenderWaitInDemiUntilPopped()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS);
        var local = TestUtil.LocalOf(libOS, qd);
        long freeBefore = libOS.Buffers.Pool.Available;
        // The first pop makes the shard watch the socket; the sender then outruns one-at-a-time pops.
        Assert.Equal(0, libOS.Pop(out var first, qd));
        using (var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            var to = new IPEndPoint(IPAddress.Loopback, local.Port);
            for (int i = 0; i < Datagrams; i++)
            {
                sender.SendTo(Encoding.ASCII.GetBytes($"datagram {i:D4}"), to);
                if (i % Burst == Burst - 1)
                    AssertShardDrainedKernelQueue(local.Port);
            }
        }
        var qt = first;
        for (int i = 0; i < Datagrams; i++)
        {
            if (i > 0)
                Assert.Equal(0, libOS.Pop(out qt, qd));
            var popped = TestUtil.WaitOk(libOS, qt);
            Assert.Equal($"datagram {i:D4}", TestUtil.Text(popped.Sga));
            libOS.SgaFree(popped.Sga);
        }
        Assert.Equal(0, libOS.Close(qd));
        Assert.Equal(freeBefore, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public void AThousandBatchedDemiDatagramsArriveWholeAndUnreadOnesGoBackToThePoolOnClose()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        int receiver = TestUtil.UdpSocket(libOS), sender = TestUtil.UdpSocket(libOS);
        var to = TestUtil.LocalOf(libOS, receiver);
        long freeBefore = libOS.Buffers.Pool.Available;
        Assert.Equal(0, libOS.Pop(out var first, receiver));
        var sgas = new Sga[Datagrams];
        var pushes = new ulong[Datagrams];
        for (int start = 0; start < Datagrams; start += Burst)
        {
            // One burst is pushed as a few sendmmsg calls.
            for (int i = start; i < start + Burst; i++)
            {
                sgas[i] = TestUtil.Alloc(libOS, $"datagram {i:D4}");
                Assert.Equal(0, libOS.PushTo(out pushes[i], sender, sgas[i], to));
            }
            for (int i = start; i < start + Burst; i++)
            {
                TestUtil.WaitOk(libOS, pushes[i]);
                libOS.SgaFree(sgas[i]);
            }
            AssertShardDrainedKernelQueue(to.Port);
        }
        var qt = first;
        // Take half; the other half stays read ahead and must be returned to the pool by close.
        for (int i = 0; i < Datagrams / 2; i++)
        {
            if (i > 0)
                Assert.Equal(0, libOS.Pop(out qt, receiver));
            var popped = TestUtil.WaitOk(libOS, qt);
            Assert.Equal($"datagram {i:D4}", TestUtil.Text(popped.Sga));
            libOS.SgaFree(popped.Sga);
        }
        Assert.Equal(0, libOS.Close(receiver));
        Assert.Equal(0, libOS.Close(sender));
        Assert.Equal(freeBefore, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public void ADatagramBiggerThanAPoolBufferArrivesWholeInABurst()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS);
        var local = TestUtil.LocalOf(libOS, qd);
        Assert.Equal(0, libOS.Pop(out var first, qd));
        var sizes = new[] { 10, 60_000, 20, 30_000, 40_000, 5 };
        using (var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            var to = new IPEndPoint(IPAddress.Loopback, local.Port);
            for (int i = 0; i < sizes.Length; i++)
                sender.SendTo(Enumerable.Repeat((byte)('a' + i), sizes[i]).ToArray(), to);
            AssertShardDrainedKernelQueue(local.Port);
        }
        var qt = first;
        for (int i = 0; i < sizes.Length; i++)
        {
            if (i > 0)
                Assert.Equal(0, libOS.Pop(out qt, qd));
            var popped = TestUtil.WaitOk(libOS, qt);
            Assert.Equal(sizes[i], popped.Sga.Length);
            Assert.True(popped.Sga.Span.IndexOfAnyExcept((byte)('a' + i)) < 0, $"datagram {i} carries another datagram's bytes");
            libOS.SgaFree(popped.Sga);
        }
        Assert.Equal(0, libOS.Close(qd));
        Assert.Equal(0, libOS.Buffers.LargeOutstanding);
    }

    // The socket's receive queue in /proc/net/udp ("tx_queue:rx_queue" in hex) reaches 0 only when
    // Demi has read the datagrams: no pop is waiting, so that is the read-ahead at work.
    private static void AssertShardDrainedKernelQueue(int port)
    {
        string local = $"0100007F:{port:X4}";
        bool drained = SpinWait.SpinUntil(() => KernelReceiveQueueBytes(local) == 0, TestUtil.Timeout);
        Assert.True(drained, $"the kernel still holds {KernelReceiveQueueBytes(local)} bytes for port {port}: Demi did not read ahead");
    }

    private static long KernelReceiveQueueBytes(string local)
    {
        foreach (var line in File.ReadLines("/proc/net/udp"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4 && fields[1] == local)
                return Convert.ToInt64(fields[4].Split(':')[1], 16);
        }
        return -1;
    }
}
