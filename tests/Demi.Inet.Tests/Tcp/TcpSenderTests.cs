using Demi.Inet.Tcp;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Sender details: re-packetization, window scaling, SWS override, and the congestion controllers.</summary>
public sealed class TcpSenderTests
{
    private const byte A = SegmentCrafter.Ack;

    [Fact]
    public void Retransmission_RepacketizesSmallPushesIntoOneSegment()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, _) = h.EstablishActive(timestamps: false);
        socket.NoDelay = true;
        for (int i = 0; i < 10; i++)
            Assert.Equal(0, socket.Send(Enumerable.Repeat((byte)i, 100).ToArray(), out _));
        var first = h.Ip.Take();
        Assert.Equal(10, first.Count);
        Assert.All(first, s => Assert.Equal(100, s.Payload.Length));
        h.Advance(210_000); // one RTO
        var again = Assert.Single(h.Ip.Take());
        Assert.Equal(ourSeq, again.Seq);
        Assert.Equal(1000, again.Payload.Length);
        Assert.Equal(first.SelectMany(s => s.Payload).ToArray(), again.Payload);
    }

    [Fact]
    public void PushedPoolBuffer_GoesOutZeroCopy_AndRetransmissionCopies()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: true);
        socket.NoDelay = true;
        Assert.True(Demi.Buffers.PacketBuffer.TryRent(h.Pool, out var buffer));
        Enumerable.Range(0, 300).Select(i => (byte)i).ToArray().CopyTo(buffer.Append(300));
        Assert.Equal(0, socket.Send(buffer)); // the send queue takes the reference
        var first = Assert.Single(h.Ip.Take());
        Assert.Equal(300, first.Payload.Length);
        Assert.Equal(1, h.Tcp.Statistics.ZeroCopySegments);
        Assert.Equal(1, h.Pool.RefCount(buffer.Index)); // the transmission's reference came back
        h.Advance(250_000); // one RTO (200 ms floor)
        var again = Assert.Single(h.Ip.Take());
        Assert.Equal(first.Payload, again.Payload);
        Assert.Equal(1, h.Tcp.Statistics.ZeroCopySegments);
        h.Inject(port, h.PeerSeq, ourSeq + 300, A, options: h.PeerTimestamp(again.Header.TsVal));
        Assert.Equal(0, h.Pool.RefCount(buffer.Index)); // acknowledged: released
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void PeerWindowScale_IsAppliedAfterTheHandshake()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false, peerWindow: 1, peerScale: 7);
        conn.NoDelay = true;
        Assert.Equal(0, conn.Send(new byte[1000], out _));
        var segment = Assert.Single(h.Ip.Take());
        Assert.Equal(128, segment.Payload.Length); // window field 1 << 7
        Assert.Equal(ourSeq, segment.Seq);
    }

    [Fact]
    public void SmallWindow_IsFilledByTheSwsOverrideTimer()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        // The peer shrinks its offer to 100 bytes (well below half its largest window).
        h.Inject(port, h.PeerSeq, ourSeq, A, 100);
        socket.NoDelay = true;
        Assert.Equal(0, socket.Send(new byte[5000], out _));
        Assert.Empty(h.Ip.Take()); // sender SWS avoidance holds the tiny segment
        h.Advance(250_000);
        var forced = Assert.Single(h.Ip.Take());
        Assert.Equal(100, forced.Payload.Length);
    }

    [Fact]
    public void NewReno_HalvesOnLoss_AndGrowsOneSegmentPerWindow()
    {
        var cc = new NewRenoCongestionControl();
        cc.Init(1000);
        Assert.Equal(10_000, cc.Cwnd);
        cc.OnAck(1000, 10_000, 0, 0);
        Assert.Equal(11_000, cc.Cwnd); // slow start
        cc.OnCongestionEvent(20_000, 0);
        Assert.Equal(10_000, cc.Ssthresh);
        Assert.Equal(10_000, cc.Cwnd);
        for (int i = 0; i < 10; i++)
            cc.OnAck(1000, 10_000, 0, 0);
        Assert.Equal(11_000, cc.Cwnd); // +1 SMSS after a window of ACKs
        cc.OnRetransmitTimeout(11_000, 0);
        Assert.Equal(1000, cc.Cwnd);
        Assert.Equal(5_500, cc.Ssthresh);
    }

    [Fact]
    public void Cubic_ReducesByBeta_AndRegrowsAlongTheCubicCurve()
    {
        const int mss = 1000;
        var cc = new CubicCongestionControl();
        cc.Init(mss);
        cc.Cwnd = 100L * mss;
        cc.Ssthresh = 100L * mss;
        long now = 0;
        cc.OnCongestionEvent(100L * mss, now);
        Assert.Equal(70L * mss, cc.Cwnd); // β = 0.7
        // One window of ACKs per 100 ms RTT.
        long rtt = 100_000;
        double SegmentsAt(double seconds)
        {
            while (now < seconds * 1_000_000)
            {
                long window = cc.Cwnd;
                for (long acked = 0; acked < window; acked += mss)
                    cc.OnAck(mss, window, now, rtt);
                now += rtt;
            }
            return (double)cc.Cwnd / mss;
        }
        // K = cbrt(W_max·(1−β)/C) = cbrt(100·0.3/0.4) ≈ 4.2 s.
        double at1 = SegmentsAt(1), at3 = SegmentsAt(3), atK = SegmentsAt(4.2), at7 = SegmentsAt(7), at9 = SegmentsAt(9);
        Assert.InRange(at1, 75, 95); // concave: fast at first
        Assert.InRange(at3 - at1, 0, at1 - 70); // then slower near W_max
        Assert.InRange(atK, 95, 106); // plateau at W_max
        // Convex probing beyond W_max: W(t) = 0.4·(t−K)³ + 100 gives ≈ 108.6 at 7 s and ≈ 143.7 at 9 s.
        Assert.InRange(at7, 104, 113);
        Assert.InRange(at9, 132, 155);
    }

    [Fact]
    public void CongestionAlgorithm_CanBeSwitchedOnALiveConnection()
    {
        using var h = new TcpHarness();
        var (socket, _, _) = h.EstablishActive(timestamps: false);
        long cwnd = socket.CongestionWindow;
        socket.CongestionAlgorithm = TcpCongestionAlgorithm.NewReno;
        Assert.Equal(TcpCongestionAlgorithm.NewReno, socket.CongestionAlgorithm);
        Assert.Equal(cwnd, socket.CongestionWindow);
    }
}
