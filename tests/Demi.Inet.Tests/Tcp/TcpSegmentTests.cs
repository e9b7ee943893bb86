using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Segment-level behaviour: crafted segments in, exact segments out.</summary>
public sealed class TcpSegmentTests
{
    private const byte S = SegmentCrafter.Syn, A = SegmentCrafter.Ack, F = SegmentCrafter.Fin, R = SegmentCrafter.Rst, P = SegmentCrafter.Psh;

    [Fact]
    public void SynAck_CarriesNegotiatedOptions()
    {
        using var h = new TcpHarness();
        var listener = h.Tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(8));
        byte[] options = [.. SegmentCrafter.MssOption(1400), .. SegmentCrafter.SackPermittedOption(), .. SegmentCrafter.TimestampOption(777, 0), .. SegmentCrafter.WindowScaleOption(7)];
        h.Inject(80, 1000, 0, S, 65535, options);
        var synAck = Assert.Single(h.Ip.Take());
        Assert.True(synAck.ChecksumOk);
        Assert.True(synAck.Syn && synAck.Ack && !synAck.Fin && !synAck.Rst);
        Assert.Equal(1001u, synAck.AckNumber);
        Assert.Equal(TcpHarness.Peer, synAck.Destination);
        Assert.True(synAck.Header.HasMss);
        Assert.Equal(1460, synAck.Header.Mss); // MTU 1500 − 40
        Assert.True(synAck.Header.SackPermitted);
        Assert.True(synAck.Header.HasTimestamp);
        Assert.Equal(777u, synAck.Header.TsEcr);
        Assert.Equal(3, synAck.Header.WindowScale); // 256 KiB >> 2 is 65536, one more than fits: shift 3
        Assert.Equal(65535, synAck.Window); // never scaled on a SYN
        Assert.Empty(synAck.Payload);
    }

    [Fact]
    public void SynAck_OmitsOptionsThePeerDidNotOffer()
    {
        using var h = new TcpHarness();
        var listener = h.Tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(TcpHarness.Local, 81)));
        Assert.Equal(0, listener.Listen(8));
        h.Inject(81, 1000, 0, S, 8192, SegmentCrafter.MssOption(536));
        var synAck = Assert.Single(h.Ip.Take());
        Assert.True(synAck.Header.HasMss);
        Assert.False(synAck.Header.SackPermitted);
        Assert.False(synAck.Header.HasTimestamp);
        Assert.Equal(-1, synAck.Header.WindowScale);
        // Complete and check the negotiated MSS is the peer's 536.
        h.Inject(81, 1001, synAck.Seq + 1, A, 8192);
        Assert.Equal(0, listener.Accept(out var connection));
        Assert.Equal(536, connection!.SendMss);
    }

    [Fact]
    public void ActiveOpen_SynCarriesOptions_AndHandshakeCompletes()
    {
        using var h = new TcpHarness();
        var (socket, _, port) = h.EstablishActive();
        Assert.True(port >= 49152);
        Assert.Equal(1460 - 12, socket.SendMss); // timestamps take 12 bytes of every segment
        Assert.Equal(TcpHarness.Peer, socket.RemoteEndpoint.Address);
    }

    [Fact]
    public void SynToClosedPort_IsAnsweredWithRstAck()
    {
        using var h = new TcpHarness();
        h.Inject(9999, 12345, 0, S, 1000);
        var rst = Assert.Single(h.Ip.Take());
        Assert.True(rst.Rst && rst.Ack);
        Assert.Equal(0u, rst.Seq);
        Assert.Equal(12346u, rst.AckNumber);
        Assert.Equal(1, h.Tcp.Statistics.NoPortDropped);
    }

    [Fact]
    public void AckToClosedPort_IsAnsweredWithRstAtItsAckNumber_AndRstIsNeverAnswered()
    {
        using var h = new TcpHarness();
        h.Inject(9999, 12345, 777, A, 1000);
        var rst = Assert.Single(h.Ip.Take());
        Assert.True(rst.Rst && !rst.Ack);
        Assert.Equal(777u, rst.Seq);
        h.Inject(9999, 12345, 777, R, 1000);
        Assert.Empty(h.Ip.Take());
    }

    [Fact]
    public void BadChecksumAndMalformedHeaders_AreDroppedAndCounted()
    {
        using var h = new TcpHarness();
        h.Inject(9999, 1, 0, S, 1000, corrupt: true);
        Assert.Empty(h.Ip.Take());
        Assert.Equal(1, h.Tcp.Statistics.ChecksumErrors);
        // Data offset pointing past the end, and a truncated option.
        var buffer = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, 1, 2, 0, 0, S, 0);
        buffer.Span[12] = 0xF0;
        h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, buffer, checksumVerified: true);
        var bad = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, 1, 2, 0, 0, S, 0, [2, 9, 0, 0]);
        h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, bad, checksumVerified: true);
        var tiny = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, 1, 2, 0, 0, S, 0);
        tiny.Truncate(10);
        h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, tiny, checksumVerified: true);
        Assert.Equal(3, h.Tcp.Statistics.MalformedDropped);
        Assert.Empty(h.Ip.Take());
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void InWindowRst_GetsChallengeAck_ExactRstResets()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq + 100, 0, R);
        var challenge = Assert.Single(h.Ip.Take());
        Assert.True(challenge.Ack && !challenge.Rst);
        Assert.Equal(ourSeq, challenge.Seq);
        Assert.Equal(h.PeerSeq, challenge.AckNumber);
        Assert.Equal(TcpState.Established, conn.State);
        Assert.Equal(1, h.Tcp.Statistics.ChallengeAcksSent);
        // Out of window: silently dropped.
        h.Inject(80, h.PeerSeq + 10_000_000, 0, R);
        Assert.Empty(h.Ip.Take());
        // Exact: resets.
        h.Inject(80, h.PeerSeq, 0, R);
        Assert.Equal(TcpState.Closed, conn.State);
        Assert.Equal(Errno.ECONNRESET, conn.Error);
        Assert.Equal(Errno.ECONNRESET, conn.Receive(out _));
        Assert.Equal(0, h.Tcp.ConnectionCount);
    }

    [Fact]
    public void SynOnEstablishedConnection_GetsChallengeAck()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq + 5, 0, S);
        var challenge = Assert.Single(h.Ip.Take());
        Assert.True(challenge.Ack && !challenge.Syn && !challenge.Rst);
        Assert.Equal(ourSeq, challenge.Seq);
        Assert.Equal(h.PeerSeq, challenge.AckNumber);
        Assert.Equal(TcpState.Established, conn.State);
    }

    [Fact]
    public void AckForUnsentData_IsChallengedAndDropped()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq, ourSeq + 1000, (byte)(A | P), payload: [1, 2, 3]);
        var reply = Assert.Single(h.Ip.Take());
        Assert.Equal(h.PeerSeq, reply.AckNumber); // the data was not taken
        Assert.Equal(0, conn.ReadableBytes);
    }

    [Fact]
    public void ReceiveWindow_ShrinksWithUnreadData_AndReadSendsWindowUpdate()
    {
        var config = new TcpConfig { RandomSeed = 1, ReceiveBufferSize = 8192, DelayedAck = false };
        using var h = new TcpHarness(config);
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        var chunk = new byte[1460];
        uint lastWindow = 8192;
        for (int i = 0; i < 5; i++)
        {
            h.Inject(80, h.PeerSeq, ourSeq, A, payload: chunk);
            h.PeerSeq += 1460;
            var ack = Assert.Single(h.Ip.Take());
            Assert.Equal(h.PeerSeq, ack.AckNumber);
            Assert.True(ack.Window < lastWindow, $"window {ack.Window} should shrink below {lastWindow}");
            lastWindow = ack.Window;
        }
        Assert.Equal(8192 - 5 * 1460, (int)lastWindow);
        // Fill the rest; the window goes to zero and more data is refused.
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: new byte[lastWindow]);
        h.PeerSeq += lastWindow;
        var full = Assert.Single(h.Ip.Take());
        Assert.Equal(0, full.Window);
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: new byte[100]);
        var refused = Assert.Single(h.Ip.Take());
        Assert.Equal(h.PeerSeq, refused.AckNumber);
        // The application reads everything: a window update goes out unprompted.
        var buffer = new byte[16384];
        Assert.Equal(0, conn.Receive(buffer, out int read));
        Assert.Equal(8192, read);
        var update = Assert.Single(h.Ip.Take());
        Assert.True(update.Ack && update.Payload.Length == 0);
        Assert.Equal(8192, update.Window);
        Assert.Equal(h.PeerSeq, update.AckNumber);
    }

    [Fact]
    public void SynRetransmission_BacksOff_ThenConnectTimesOut()
    {
        var config = new TcpConfig { RandomSeed = 1, SynRetries = 3 };
        using var h = new TcpHarness(config);
        var socket = h.Tcp.CreateSocket();
        var observer = new RecordingObserver();
        socket.Observer = observer;
        Assert.Equal(0, socket.Connect(new Ipv4Endpoint(TcpHarness.Peer, 80)));
        long start = h.Clock.NowMicroseconds;
        var times = new List<long>();
        uint? iss = null;
        for (int step = 0; step < 200 && socket.State != TcpState.Closed; step++)
        {
            foreach (var seg in h.Ip.Take())
            {
                Assert.True(seg.Syn && !seg.Ack);
                iss ??= seg.Seq;
                Assert.Equal(iss, seg.Seq);
                times.Add(h.Clock.NowMicroseconds - start);
            }
            h.Advance(100_000);
        }
        // 1 s initial RTO, doubled each time: SYN at 0, 1, 3, 7 s; failure at 15 s.
        Assert.Equal(new long[] { 0, 1_000_000, 3_000_000, 7_000_000 }, times.ToArray());
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Equal(Errno.ETIMEDOUT, socket.Error);
        Assert.True(observer.Events.HasFlag(TcpEvents.Error));
        Assert.InRange(h.Clock.NowMicroseconds - start, 15_000_000, 15_100_000);
        Assert.Equal(Errno.ETIMEDOUT, socket.Receive(out _));
        Assert.Equal(0, socket.Close());
        Assert.Equal(0, h.Tcp.OpenSockets);
    }

    [Fact]
    public void UnreachableHost_FailsConnectWithEhostunreach()
    {
        var config = new TcpConfig { RandomSeed = 1, SynRetries = 2 };
        using var h = new TcpHarness(config);
        h.Ip.FailWith = Errno.EHOSTUNREACH;
        var socket = h.Tcp.CreateSocket();
        Assert.Equal(0, socket.Connect(new Ipv4Endpoint(TcpHarness.Peer, 80)));
        h.Advance(20_000_000);
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Equal(Errno.EHOSTUNREACH, socket.Error);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void DataRetransmission_FollowsRtoWithBackoff_AndGivesUpWithEtimedout()
    {
        var config = new TcpConfig { RandomSeed = 1, MaxRetransmissions = 4 };
        using var h = new TcpHarness(config);
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false, rttMicroseconds: 10_000);
        Assert.Equal(0, socket.Send(new byte[100], out int accepted));
        Assert.Equal(100, accepted);
        long start = h.Clock.NowMicroseconds;
        var first = Assert.Single(h.Ip.Take());
        Assert.Equal(ourSeq, first.Seq);
        Assert.Equal(100, first.Payload.Length);
        var times = new List<long>();
        CapturedSegment? reset = null;
        for (int step = 0; step < 2000 && socket.State != TcpState.Closed; step++)
        {
            h.Advance(10_000);
            foreach (var seg in h.Ip.Take())
            {
                if (seg.Rst)
                {
                    reset = seg;
                    continue;
                }
                Assert.Equal(ourSeq, seg.Seq);
                Assert.Equal(first.Payload, seg.Payload);
                times.Add(h.Clock.NowMicroseconds - start);
            }
        }
        // One 10 ms RTT sample: RTO = max(200 ms, SRTT + 4·RTTVAR = 30 ms) = 200 ms, then doubling.
        Assert.Equal(new long[] { 200_000, 600_000, 1_400_000, 3_000_000 }, times.ToArray());
        Assert.NotNull(reset);
        Assert.Equal(Errno.ETIMEDOUT, socket.Error);
        Assert.Equal(4, socket.Retransmissions);
        Assert.InRange(h.Clock.NowMicroseconds - start, 6_200_000, 6_220_000);
        Assert.Equal(0, socket.Close());
        Assert.Equal(h.PoolStart, h.Pool.Available);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        _ = port;
    }

    [Fact]
    public void AckStopsRetransmission_AndRttSampleSetsRto()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false, rttMicroseconds: 50_000);
        Assert.Equal(0, socket.Send(new byte[1000], out _));
        Assert.Single(h.Ip.Take());
        h.Clock.AdvanceMicroseconds(50_000);
        h.Inject(port, h.PeerSeq, ourSeq + 1000, A);
        Assert.Equal(50_000, socket.SmoothedRttMicroseconds);
        h.Advance(5_000_000);
        Assert.Empty(h.Ip.Take());
        Assert.Equal(0, socket.Retransmissions);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void ZeroWindow_IsProbedWithBackoff_AndDataFlowsWhenItOpens()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false, peerWindow: 0, rttMicroseconds: 10_000);
        Assert.Equal(0, socket.Send(new byte[500], out _));
        Assert.Empty(h.Ip.Take()); // nothing fits a zero window
        var probes = new List<(long At, CapturedSegment Seg)>();
        long start = h.Clock.NowMicroseconds;
        for (int i = 0; i < 100; i++)
        {
            h.Advance(10_000);
            foreach (var seg in h.Ip.Take())
                probes.Add((h.Clock.NowMicroseconds - start, seg));
        }
        Assert.Equal(2, probes.Count); // at 200 ms and 600 ms
        Assert.All(probes, p => Assert.Equal(ourSeq - 1, p.Seg.Seq));
        Assert.Equal(200_000, probes[0].At);
        Assert.Equal(600_000, probes[1].At);
        Assert.True(h.Tcp.Statistics.ZeroWindowProbes >= 2);
        // The peer answers a probe with an open window: the data goes.
        h.Inject(port, h.PeerSeq, ourSeq, A, 1000);
        var data = Assert.Single(h.Ip.Take());
        Assert.Equal(ourSeq, data.Seq);
        Assert.Equal(500, data.Payload.Length);
    }

    [Fact]
    public void OldTimestamp_IsRejectedByPaws()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: true);
        uint tsNow = h.PeerTs;
        h.Inject(80, h.PeerSeq, ourSeq, A, options: SegmentCrafter.TimestampOption(tsNow - 50, 0), payload: [9, 9, 9]);
        var ack = Assert.Single(h.Ip.Take());
        Assert.Equal(h.PeerSeq, ack.AckNumber); // not accepted
        Assert.Equal(0, conn.ReadableBytes);
        Assert.Equal(1, h.Tcp.Statistics.PawsDropped);
        h.Inject(80, h.PeerSeq, ourSeq, A, options: SegmentCrafter.TimestampOption(tsNow + 1, 0), payload: [9, 9, 9]);
        Assert.Equal(3, conn.ReadableBytes);
    }

    [Fact]
    public void TinySegments_AreCoalesced_SoTheyDoNotPinOneFrameEach()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        for (int i = 0; i < 300; i++)
        {
            h.Inject(80, h.PeerSeq, ourSeq, A, payload: [(byte)i]);
            h.PeerSeq++;
        }
        Assert.Equal(300, conn.ReadableBytes);
        Assert.True(h.PoolStart - h.Pool.Available <= 2, $"{h.PoolStart - h.Pool.Available} frames held for 300 bytes");
        var buffer = new byte[400];
        Assert.Equal(0, conn.Receive(buffer, out int read));
        Assert.Equal(300, read);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray(), buffer[..300]);
        h.Ip.Take();
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void DelayedAck_WaitsForSecondSegmentOrTimer()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: new byte[1000]);
        h.PeerSeq += 1000;
        Assert.Empty(h.Ip.Take());
        h.Advance(39_000);
        Assert.Empty(h.Ip.Take());
        h.Advance(1_000);
        var delayed = Assert.Single(h.Ip.Take());
        Assert.Equal(h.PeerSeq, delayed.AckNumber);
        // Two segments: the second is acknowledged at once.
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: new byte[1000]);
        h.PeerSeq += 1000;
        Assert.Empty(h.Ip.Take());
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: new byte[1000]);
        h.PeerSeq += 1000;
        Assert.Equal(h.PeerSeq, Assert.Single(h.Ip.Take()).AckNumber);
        Assert.Equal(3000, conn.ReadableBytes);
    }

    [Fact]
    public void OutOfOrderSegment_GetsDuplicateAckWithSack_ThenDataIsDeliveredInOrder()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        uint s = h.PeerSeq;
        h.Inject(80, s + 100, ourSeq, A, payload: Enumerable.Repeat((byte)2, 100).ToArray());
        var dup = Assert.Single(h.Ip.Take());
        Assert.Equal(s, dup.AckNumber);
        Assert.Equal(1, dup.Header.SackCount);
        Assert.Equal(s + 100, dup.Header.Sacks[0].Start);
        Assert.Equal(s + 200, dup.Header.Sacks[0].End);
        Assert.Equal(0, conn.ReadableBytes);
        h.Inject(80, s, ourSeq, A, payload: Enumerable.Repeat((byte)1, 100).ToArray());
        var ack = Assert.Single(h.Ip.Take());
        Assert.Equal(s + 200, ack.AckNumber);
        Assert.Equal(0, ack.Header.SackCount);
        var buffer = new byte[300];
        Assert.Equal(0, conn.Receive(buffer, out int read));
        Assert.Equal(200, read);
        Assert.All(buffer[..100], b => Assert.Equal(1, b));
        Assert.All(buffer[100..200], b => Assert.Equal(2, b));
    }

    [Fact]
    public void SackedData_IsNotRetransmitted_AndHolesAre()
    {
        var config = new TcpConfig { RandomSeed = 1 };
        using var h = new TcpHarness(config);
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.NoDelay = true;
        int mss = socket.SendMss;
        Assert.Equal(0, socket.Send(new byte[mss * 8], out int accepted));
        Assert.Equal(mss * 8, accepted);
        var sent = h.Ip.Take();
        Assert.Equal(8, sent.Count); // initial window of 10 segments
        // Segment 0 is lost; the peer SACKs 1..3 with three duplicate ACKs.
        for (int i = 1; i <= 3; i++)
            h.Inject(port, h.PeerSeq, ourSeq, A, options: SegmentCrafter.SackOption((ourSeq + (uint)mss, ourSeq + (uint)(mss * (i + 1)))));
        var retransmitted = h.Ip.Take().Where(s => s.Payload.Length > 0).ToList();
        Assert.NotEmpty(retransmitted);
        Assert.Equal(ourSeq, retransmitted[0].Seq);
        Assert.DoesNotContain(retransmitted, s => s.Seq != ourSeq && s.Seq < ourSeq + (uint)(mss * 4));
        Assert.Equal(1, h.Tcp.Statistics.FastRetransmits);
    }

    [Fact]
    public void ASegmentIsTakenFromTheStackOnlyWhereTcpReleasesIt_SoAFaultBeforeThatLeavesItToTheStack()
    {
        using var h = new TcpHarness(new TcpConfig { RandomSeed = 1 });
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.NoDelay = true;
        int mss = socket.SendMss;
        Assert.Equal(0, socket.Send(new byte[mss * 4], out _));
        h.Ip.Take();
        int baseline = h.Pool.Available;
        // Two duplicate ACKs: each is taken (and released) by TCP.
        for (int i = 0; i < 2; i++)
            h.Inject(port, h.PeerSeq, ourSeq, A);
        int taken = h.Ip.Taken;
        Assert.Equal(baseline, h.Pool.Available);
        // The third starts a fast retransmit, and the layer below throws on that send: the fault comes
        // while TCP is still processing the ACK, before it took the segment, so the segment is still the
        // stack's to release (InetStack does, and counts an internal error). Before, TCP took every
        // segment on arrival and a fault like this one leaked it.
        h.Ip.ThrowOnSend = new InvalidOperationException("fault below TCP");
        var segment = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, h.PeerPort, port, h.PeerSeq, ourSeq, A, 65535, null, null, false);
        Assert.Throws<InvalidOperationException>(() => h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, segment, checksumVerified: false));
        Assert.Equal(taken, h.Ip.Taken); // not taken ...
        Assert.Equal(baseline - 1, h.Pool.Available); // ... nor released: one reference left, the stack's
        segment.Release();
        Assert.Equal(baseline, h.Pool.Available);
        // A segment TCP took before a fault is TCP's, not the stack's: here data and a FIN, queued for the
        // app before the fault in sending the FIN's ACK.
        h.Ip.ThrowOnSend = new InvalidOperationException("fault below TCP, after the take");
        var data = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, h.PeerPort, port, h.PeerSeq, ourSeq, A | F, 65535, null, new byte[100], false);
        Assert.Throws<InvalidOperationException>(() => h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, data, checksumVerified: false));
        Assert.Equal(taken + 1, h.Ip.Taken);
        Assert.Equal(100, socket.Receive(new byte[200], out int read) == 0 ? read : -1); // queued before the ACK's send threw
        Assert.Equal(baseline, h.Pool.Available);
    }

    [Fact]
    public void KeepAlive_ProbesIdleConnection_AndTimesOut()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.KeepAliveIdleMicroseconds = 10_000_000;
        socket.KeepAliveIntervalMicroseconds = 1_000_000;
        socket.KeepAliveProbes = 3;
        socket.KeepAlive = true;
        h.Advance(9_900_000);
        Assert.Empty(h.Ip.Take());
        h.Advance(200_000);
        var probe = Assert.Single(h.Ip.Take());
        Assert.Equal(ourSeq - 1, probe.Seq);
        // An answer resets the count.
        h.Inject(port, h.PeerSeq, ourSeq, A);
        h.Advance(9_000_000);
        Assert.Empty(h.Ip.Take());
        h.Advance(20_000_000);
        var segments = h.Ip.Take();
        Assert.Equal(3, segments.Count(s => !s.Rst));
        Assert.Single(segments, s => s.Rst);
        Assert.Equal(Errno.ETIMEDOUT, socket.Error);
    }

    [Fact]
    public void Backlog_BoundsHalfOpenConnections()
    {
        using var h = new TcpHarness();
        var listener = h.Tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(2));
        for (ushort i = 0; i < 50; i++)
            h.Inject(80, 1000, 0, S, fromPort: (ushort)(30000 + i));
        // Each new SYN is answered and pushes out the oldest half-open connection: never more than 2 (SynFloodTests).
        Assert.Equal(50, h.Ip.Take().Count);
        Assert.Equal(48, h.Tcp.Statistics.HalfOpenDropped);
        Assert.Equal(0, h.Tcp.Statistics.ListenOverflows);
        Assert.Equal(2, h.Tcp.ConnectionCount);
        // Half-open connections give up after their SYN-ACK retries and free the backlog.
        h.Advance(200_000_000);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        h.Ip.Take();
        h.Inject(80, 1000, 0, S, fromPort: 31000);
        Assert.Single(h.Ip.Take());
        Assert.Equal(0, listener.Close());
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void Bind_Rules()
    {
        using var h = new TcpHarness();
        var a = h.Tcp.CreateSocket();
        Assert.Equal(0, a.Bind(new Ipv4Endpoint(TcpHarness.Local, 8080)));
        var b = h.Tcp.CreateSocket();
        Assert.Equal(Errno.EADDRINUSE, b.Bind(new Ipv4Endpoint(TcpHarness.Local, 8080)));
        Assert.Equal(Errno.EADDRINUSE, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 8080)));
        Assert.Equal(Errno.EADDRNOTAVAIL, b.Bind(new Ipv4Endpoint(Ipv4Address.Parse("10.9.9.9"), 8081)));
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
        Assert.InRange(b.LocalEndpoint.Port, 49152, 65535);
        var c = h.Tcp.CreateSocket();
        Assert.Equal(0, c.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
        Assert.NotEqual(b.LocalEndpoint.Port, c.LocalEndpoint.Port);
        Assert.Equal(Errno.EINVAL, c.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0))); // already bound
        Assert.Equal(0, a.Close());
        var d = h.Tcp.CreateSocket();
        Assert.Equal(0, d.Bind(new Ipv4Endpoint(Ipv4Address.Any, 8080))); // freed by close
        Assert.Equal(Errno.EBADF, a.Bind(new Ipv4Endpoint(Ipv4Address.Any, 1)));
        // Ephemeral ports are random: several sockets do not get consecutive ports.
        var ports = Enumerable.Range(0, 8).Select(_ =>
        {
            var s = h.Tcp.CreateSocket();
            Assert.Equal(0, s.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)));
            return (int)s.LocalEndpoint.Port;
        }).ToArray();
        Assert.True(ports.Zip(ports.Skip(1)).Any(p => Math.Abs(p.First - p.Second) > 1), "ephemeral ports look sequential");
    }

    [Fact]
    public void Isn_IsUnpredictablePerTupleAndAdvancesWithTime()
    {
        using var h = new TcpHarness();
        var s1 = h.Tcp.CreateSocket();
        Assert.Equal(0, s1.Connect(new Ipv4Endpoint(TcpHarness.Peer, 80)));
        var s2 = h.Tcp.CreateSocket();
        Assert.Equal(0, s2.Connect(new Ipv4Endpoint(TcpHarness.Peer, 81)));
        var syns = h.Ip.Take();
        Assert.Equal(2, syns.Count);
        Assert.True(Math.Abs((long)syns[0].Seq - syns[1].Seq) > 1000, "ISNs of different tuples must not be close");
    }

    [Fact]
    public void FinHandshake_PassiveClose_ReachesClosed()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq, ourSeq, (byte)(A | F));
        h.PeerSeq++;
        Assert.Equal(TcpState.CloseWait, conn.State);
        var ack = Assert.Single(h.Ip.Take());
        Assert.Equal(h.PeerSeq, ack.AckNumber);
        Assert.Equal(0, conn.Receive(out var eof));
        Assert.Equal(0, eof.Length);
        Assert.Equal(0, conn.Close());
        var fin = Assert.Single(h.Ip.Take());
        Assert.True(fin.Fin);
        Assert.Equal(ourSeq, fin.Seq);
        Assert.Equal(TcpState.LastAck, conn.State);
        h.Inject(80, h.PeerSeq, ourSeq + 1, A);
        Assert.Equal(TcpState.Closed, conn.State);
        Assert.Equal(0, h.Tcp.ConnectionCount);
    }

    [Fact]
    public void ActiveClose_GoesThroughTimeWait_ForTwoMsl()
    {
        var config = new TcpConfig { RandomSeed = 1, MslMicroseconds = 1_000_000 };
        using var h = new TcpHarness(config);
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        Assert.Equal(0, socket.Shutdown(TcpShutdown.Write));
        var fin = Assert.Single(h.Ip.Take());
        Assert.True(fin.Fin);
        Assert.Equal(TcpState.FinWait1, socket.State);
        Assert.Equal(Errno.EPIPE, socket.Send(new byte[1], out _));
        h.Inject(port, h.PeerSeq, ourSeq + 1, A);
        Assert.Equal(TcpState.FinWait2, socket.State);
        // Half-close: the peer may still send.
        h.Inject(port, h.PeerSeq, ourSeq + 1, A, payload: [42]);
        h.PeerSeq++;
        h.Inject(port, h.PeerSeq, ourSeq + 1, (byte)(A | F));
        h.PeerSeq++;
        Assert.Equal(TcpState.TimeWait, socket.State);
        var buffer = new byte[10];
        Assert.Equal(0, socket.Receive(buffer, out int read));
        Assert.Equal(1, read);
        Assert.Equal(0, socket.Receive(buffer, out read));
        Assert.Equal(0, read);
        h.Ip.Take();
        // A retransmitted FIN in TIME_WAIT is acknowledged again.
        h.Inject(port, h.PeerSeq - 1, ourSeq + 1, (byte)(A | F));
        Assert.Equal(h.PeerSeq, Assert.Single(h.Ip.Take()).AckNumber);
        h.Advance(1_900_000);
        Assert.Equal(TcpState.TimeWait, socket.State);
        h.Advance(200_000);
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Equal(0, socket.Error);
        Assert.Equal(0, socket.Close());
        Assert.Equal(0, h.Tcp.ConnectionCount);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void CloseWithUnreadData_SendsRst()
    {
        using var h = new TcpHarness();
        var (_, conn, ourSeq) = h.EstablishPassive(timestamps: false);
        h.Inject(80, h.PeerSeq, ourSeq, A, payload: [1, 2, 3]);
        h.Ip.Take();
        Assert.Equal(0, conn.Close());
        var rst = Assert.Single(h.Ip.Take());
        Assert.True(rst.Rst);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void LingerZero_AbortsWithRst()
    {
        using var h = new TcpHarness();
        var (socket, _, _) = h.EstablishActive(timestamps: false);
        socket.LingerEnabled = true;
        socket.LingerSeconds = 0;
        Assert.Equal(0, socket.Send(new byte[100], out _));
        h.Ip.Take();
        Assert.Equal(0, socket.Close());
        var rst = Assert.Single(h.Ip.Take());
        Assert.True(rst.Rst);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    [Fact]
    public void LingerWithTimeout_AbortsWhenTheFinIsNotAcknowledgedInTime()
    {
        var config = new TcpConfig { RandomSeed = 1, InitialRtoMicroseconds = 3_000_000, MinRtoMicroseconds = 3_000_000 };
        using var h = new TcpHarness(config);
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.LingerEnabled = true;
        socket.LingerSeconds = 1;
        Assert.Equal(0, socket.Close());
        Assert.True(Assert.Single(h.Ip.Take()).Fin);
        h.Advance(900_000);
        Assert.Empty(h.Ip.Take());
        h.Advance(200_000);
        var rst = Assert.Single(h.Ip.Take());
        Assert.True(rst.Rst);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        _ = ourSeq;
        _ = port;
    }

    [Fact]
    public void LingerWithTimeout_IsSatisfiedByTheFinAck()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.LingerEnabled = true;
        socket.LingerSeconds = 1;
        Assert.Equal(0, socket.Close());
        Assert.True(Assert.Single(h.Ip.Take()).Fin);
        h.Inject(port, h.PeerSeq, ourSeq + 1, A);
        h.Advance(2_000_000);
        Assert.DoesNotContain(h.Ip.Take(), s => s.Rst);
        Assert.Equal(1, h.Tcp.ConnectionCount); // FIN_WAIT_2, waiting for the peer's FIN
    }

    [Fact]
    public void SendBuffer_AppliesBackpressure_AndAckMakesItWritable()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        socket.SendBufferSize = 4096;
        var observer = new RecordingObserver();
        socket.Observer = observer;
        Assert.Equal(0, socket.Send(new byte[10000], out int accepted));
        Assert.InRange(accepted, 4096, 4096 + 2048);
        Assert.Equal(Errno.EAGAIN, socket.Send(new byte[100], out _));
        var sent = h.Ip.Take();
        uint acked = (uint)sent.Sum(s => s.Payload.Length);
        h.Inject(port, h.PeerSeq, ourSeq + acked, A);
        Assert.True(observer.Events.HasFlag(TcpEvents.Writable));
        Assert.Equal(0, socket.Send(new byte[100], out accepted));
        Assert.Equal(100, accepted);
    }

    [Fact]
    public void Nagle_HoldsSmallSegmentsUntilAck_NoDelaySendsAtOnce()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false);
        Assert.Equal(0, socket.Send(new byte[10], out _));
        Assert.Single(h.Ip.Take());
        Assert.Equal(0, socket.Send(new byte[10], out _));
        Assert.Equal(0, socket.Send(new byte[10], out _));
        Assert.Empty(h.Ip.Take()); // held by Nagle
        h.Inject(port, h.PeerSeq, ourSeq + 10, A);
        var coalesced = Assert.Single(h.Ip.Take());
        Assert.Equal(20, coalesced.Payload.Length);
        socket.NoDelay = true;
        Assert.Equal(0, socket.Send(new byte[10], out _));
        Assert.Single(h.Ip.Take());
    }
}

internal sealed class RecordingObserver : ITcpSocketObserver
{
    public TcpEvents Events;
    public int Calls;

    public void OnTcpEvents(TcpSocket socket, TcpEvents events)
    {
        Events |= events;
        Calls++;
    }
}
