using Demi.Buffers;
using Demi.Inet.Tcp;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// The connection's parts driven alone, each through its narrow interface: the timers, the
/// receiver, the sender and the handshake, with no layer, socket or wire around them.
/// </summary>
public sealed class TcpPartsTests : IDisposable
{
    private const int Headroom = 34 + TcpHeaderWriter.MaxHeaderLength;
    private readonly BufferPool _pool = new(2048, 256, 128);
    private readonly int _poolStart;

    public TcpPartsTests() => _poolStart = _pool.Available;

    public void Dispose()
    {
        Assert.Equal(_poolStart, _pool.Available); // every part released what it took
        _pool.Dispose();
    }

    private PacketBuffer Payload(int length, byte fill)
    {
        Assert.True(PacketBuffer.TryRent(_pool, out var buffer));
        buffer.Append(length).Fill(fill);
        return buffer;
    }

    // ---- TcpTimers ----

    private sealed class RecordingTimerHandler : ITcpTimerHandler
    {
        public readonly List<TcpTimer> Fired = new();
        public TcpTimer? EndsConnection;

        public bool OnLingerTimeout(long now) => Record(TcpTimer.Linger);
        public bool OnCloseTimeout(long now) => Record(TcpTimer.Close);
        public bool OnRetransmitTimeout(long now) => Record(TcpTimer.Retransmit);
        public void OnDelayedAckTimeout(long now) => Record(TcpTimer.DelayedAck);
        public void OnKeepAliveTimeout(long now) => Record(TcpTimer.KeepAlive);

        private bool Record(TcpTimer timer)
        {
            Fired.Add(timer);
            return timer == EndsConnection;
        }
    }

    [Fact]
    public void Timers_FireDueOnesInOrder_AndKeepTheRest()
    {
        var timers = new TcpTimers();
        Assert.Equal(TcpTimers.Stopped, timers.Next);
        timers.Arm(TcpTimer.KeepAlive, 50);
        timers.Arm(TcpTimer.DelayedAck, 10);
        timers.Arm(TcpTimer.Retransmit, 20);
        timers.Arm(TcpTimer.Close, 100);
        Assert.Equal(10, timers.Next);
        var handler = new RecordingTimerHandler();
        timers.Fire(60, handler);
        Assert.Equal([TcpTimer.Retransmit, TcpTimer.DelayedAck, TcpTimer.KeepAlive], handler.Fired);
        Assert.False(timers.IsArmed(TcpTimer.Retransmit)); // expired timers are stopped before their handler
        Assert.False(timers.IsArmed(TcpTimer.DelayedAck));
        Assert.True(timers.IsArmed(TcpTimer.KeepAlive));   // keepalive's handler re-arms or stops it itself
        Assert.Equal(50, timers.Next);
        timers.Stop(TcpTimer.KeepAlive);
        Assert.Equal(100, timers.Next);
    }

    [Fact]
    public void Timers_StopAtTheFirstThatEndsTheConnection()
    {
        var timers = new TcpTimers();
        timers.Arm(TcpTimer.Linger, 5);
        timers.Arm(TcpTimer.Retransmit, 5);
        timers.Arm(TcpTimer.DelayedAck, 5);
        var handler = new RecordingTimerHandler { EndsConnection = TcpTimer.Linger };
        timers.Fire(5, handler);
        Assert.Equal([TcpTimer.Linger], handler.Fired);
        Assert.True(timers.IsArmed(TcpTimer.Retransmit)); // not run: the connection is gone
    }

    // ---- TcpReceiver ----

    private sealed class ReceiverHost : ITcpReceiverHost
    {
        public int ReceiveBufferSize { get; set; } = 64 * 1024;
        public int SendMss { get; set; } = 1000;
        public bool ReadShutdown { get; set; }
        public bool UserClosed { get; set; }
        public int Readable;
        public void OnReadable() => Readable++;
    }

    [Fact]
    public void Receiver_ReassemblesOutOfOrderData_AndAcksAtOnceWhenTheHoleFills()
    {
        var host = new ReceiverHost();
        var timers = new TcpTimers();
        var statistics = new TcpStatistics();
        var receiver = new TcpReceiver(host, timers, new TcpConfig(), statistics);
        receiver.Start(irs: 999); // RCV.NXT 1000

        Assert.Equal(TcpReceiveOutcome.Done, receiver.ReceiveText(1100, Payload(100, 2), fin: false, now: 0));
        Assert.Equal(1000u, receiver.Next);
        Assert.True(receiver.AckNow); // a duplicate ACK with SACK blocks, at once
        Span<SackBlock> sacks = stackalloc SackBlock[4];
        Assert.Equal(1, receiver.CollectSackBlocks(sacks));
        Assert.Equal((1100u, 1200u), (sacks[0].Start, sacks[0].End));
        receiver.OnAckSent();

        Assert.Equal(TcpReceiveOutcome.Done, receiver.ReceiveText(1000, Payload(100, 1), fin: false, now: 0));
        Assert.Equal(1200u, receiver.Next);
        Assert.True(receiver.AckNow); // the hole filled
        Assert.Equal(200, receiver.ReadableBytes);
        var bytes = new byte[300];
        Assert.Equal(200, receiver.Read(bytes));
        Assert.Equal(Enumerable.Repeat((byte)1, 100).Concat(Enumerable.Repeat((byte)2, 100)), bytes[..200]);
        Assert.Equal(1, statistics.OutOfOrderSegments);
        Assert.Equal(200, statistics.BytesReceived);
    }

    [Fact]
    public void Receiver_DelaysTheAckOfOneSegment_AndAcksTheSecondAtOnce()
    {
        var host = new ReceiverHost();
        var timers = new TcpTimers();
        var config = new TcpConfig();
        var receiver = new TcpReceiver(host, timers, config, new TcpStatistics());
        receiver.Start(irs: 0);
        receiver.ReceiveText(1, Payload(500, 7), fin: false, now: 1_000);
        Assert.False(receiver.AckNow);
        Assert.True(receiver.AckPending);
        Assert.Equal(1_000 + config.DelayedAckMicroseconds, timers.DeadlineOf(TcpTimer.DelayedAck));
        receiver.ReceiveText(501, Payload(500, 7), fin: false, now: 2_000);
        Assert.True(receiver.AckNow); // RFC 5681 §4.2: every second segment
        receiver.OnAckSent();
        Assert.False(receiver.AckPending);
        Assert.False(timers.IsArmed(TcpTimer.DelayedAck));
        Assert.Equal(2, host.Readable);
        receiver.ClearReadable();
    }

    [Fact]
    public void Receiver_FinIsReportedOnlyOnceInSequence()
    {
        var receiver = new TcpReceiver(new ReceiverHost(), new TcpTimers(), new TcpConfig(), new TcpStatistics());
        receiver.Start(irs: 0);
        // The FIN arrives ahead of a hole: held until the data before it is there.
        Assert.Equal(TcpReceiveOutcome.Done, receiver.ReceiveText(101, Payload(10, 3), fin: true, now: 0));
        Assert.False(receiver.FinReceived);
        Assert.Equal(TcpReceiveOutcome.FinReceived, receiver.ReceiveText(1, Payload(100, 3), fin: false, now: 0));
        Assert.True(receiver.FinReceived);
        Assert.Equal(112u, receiver.Next); // 110 bytes and the FIN
        receiver.ClearReadable();
    }

    [Fact]
    public void Receiver_DataForAClosedSocket_AsksForAReset()
    {
        var host = new ReceiverHost { UserClosed = true };
        var receiver = new TcpReceiver(host, new TcpTimers(), new TcpConfig(), new TcpStatistics());
        receiver.Start(irs: 0);
        Assert.Equal(TcpReceiveOutcome.DataAfterClose, receiver.ReceiveText(1, Payload(10, 3), fin: false, now: 0));
        Assert.Equal(0, receiver.ReadableBytes);
        Assert.Equal(1u, receiver.Next);
    }

    [Fact]
    public void Receiver_WindowNeverShrinks_AndGrowsOnlyByAUsefulAmount()
    {
        var host = new ReceiverHost { ReceiveBufferSize = 4000, SendMss = 1000 };
        var receiver = new TcpReceiver(host, new TcpTimers(), new TcpConfig(), new TcpStatistics());
        receiver.Start(irs: 0);
        Assert.Equal(4000, receiver.WindowToAdvertise());
        receiver.ReceiveText(1, Payload(1000, 1), fin: false, now: 0);
        Assert.Equal(3000, receiver.WindowToAdvertise()); // the edge stays: 1 + 4000
        var sink = new byte[100];
        receiver.Read(sink); // 100 bytes read: less than an MSS of new space
        Assert.Equal(3000, receiver.WindowToAdvertise());
        Assert.False(receiver.WindowUpdateWorthSending());
        receiver.ClearReadable();
        Assert.Equal(4000, receiver.WindowToAdvertise()); // a whole MSS and more opened
    }

    // ---- TcpSender ----

    private sealed class SenderHost(BufferPool pool) : ITcpSenderHost
    {
        public readonly List<(uint Seq, byte Flags, int Length)> Sent = new();
        public long Now { get; set; }
        public int SendBufferSize { get; set; } = 64 * 1024;
        public bool NoDelay { get; set; }
        public uint TimestampNow => 0;
        public int Writable;
        public int FinAcked;

        public bool TryRentSegment(out PacketBuffer buffer)
        {
            if (!PacketBuffer.TryRent(pool, out buffer))
                return false;
            buffer.Offset = Headroom;
            buffer.Length = 0;
            return true;
        }

        public bool CanTransmitInPlace(in PacketBuffer buffer, int tcpHeaderLength) => false;

        public int CollectSackBlocks(Span<SackBlock> blocks) => 0;

        public void Transmit(PacketBuffer segment, uint seq, byte flags, int headerLength, ReadOnlySpan<SackBlock> sacks)
        {
            Sent.Add((seq, flags, segment.Length));
            segment.Release();
        }

        public void OnWritable() => Writable++;

        public void OnFinAcked(long now) => FinAcked++;
    }

    private static TcpSender Sender(SenderHost host, TcpTimers timers, uint iss = 1000)
    {
        var sender = new TcpSender(host, timers, new TcpStatistics(), 1_000_000, 200_000, 120_000_000);
        sender.Start(iss);
        sender.Una = iss + 1; // established: the SYN is acknowledged
        sender.SetMss(1000, TcpCongestionAlgorithm.NewReno);
        sender.TakeWindow(65535, 0, iss + 1);
        return sender;
    }

    private static TcpSegment AckOf(uint ack, ushort window = 65535, uint seq = 1)
        => new() { Ack = ack, Seq = seq, Flags = TcpFlags.Ack, Window = window };

    [Fact]
    public void Sender_CutsMssSegments_HoldsTheSmallTailForNagle_UntilTheAck()
    {
        var host = new SenderHost(_pool);
        var timers = new TcpTimers();
        var sender = Sender(host, timers);
        Assert.True(sender.TryEnqueue(Payload(1500, 9)));
        Assert.True(sender.TryEnqueue(Payload(1000, 9)));
        sender.Output(now: 0);
        Assert.Equal([(1001u, TcpFlags.Ack, 1000), (2001u, TcpFlags.Ack, 1000)], host.Sent);
        Assert.True(timers.IsArmed(TcpTimer.Retransmit));

        var ack = AckOf(3001);
        sender.ProcessAck(ref ack, now: 10_000);
        Assert.Equal(500, sender.QueuedBytes);
        Assert.False(timers.IsArmed(TcpTimer.Retransmit)); // nothing in flight
        sender.Output(now: 10_000);
        Assert.Equal((3001u, (byte)(TcpFlags.Ack | TcpFlags.Psh), 500), host.Sent[^1]);
        Assert.Equal(10_000, sender.Rtt.Srtt); // Karn: the first segment was timed
        ack = AckOf(3501);
        sender.ProcessAck(ref ack, now: 20_000);
        Assert.Equal(0, sender.QueuedBytes);
    }

    [Fact]
    public void Sender_WithNoDelay_SendsTheSmallTailAtOnce()
    {
        var host = new SenderHost(_pool) { NoDelay = true };
        var sender = Sender(host, new TcpTimers());
        Assert.True(sender.TryEnqueue(Payload(1500, 9)));
        Assert.True(sender.TryEnqueue(Payload(1000, 9)));
        sender.Output(now: 0);
        Assert.Equal([1000, 1000, 500], host.Sent.Select(s => s.Length));
        sender.Clear();
    }

    [Fact]
    public void Sender_ThreeDuplicateAcks_RetransmitTheFirstSegment()
    {
        var host = new SenderHost(_pool) { NoDelay = true };
        var sender = Sender(host, new TcpTimers());
        for (int i = 0; i < 5; i++)
            Assert.True(sender.TryEnqueue(Payload(1000, (byte)i)));
        sender.Output(now: 0);
        Assert.Equal(5, host.Sent.Count);
        for (int i = 0; i < 3; i++)
        {
            var dup = AckOf(1001);
            sender.ProcessAck(ref dup, now: 1_000);
        }
        Assert.Equal((1001u, TcpFlags.Ack, 1000), host.Sent[^1]); // fast retransmit (RFC 5681 §3.2)
        Assert.Equal(1, sender.Retransmissions);
        sender.Clear();
    }

    [Fact]
    public void Sender_FullSendBuffer_RefusesThenReportsWritableAfterTheAck()
    {
        var host = new SenderHost(_pool) { NoDelay = true, SendBufferSize = 1500 };
        var sender = Sender(host, new TcpTimers());
        Assert.True(sender.TryEnqueue(Payload(1500, 1)));
        var refused = Payload(10, 2);
        Assert.False(sender.TryEnqueue(refused));
        refused.Release();
        sender.Output(now: 0);
        Assert.Equal(0, host.Writable);
        var ack = AckOf(2001);
        sender.ProcessAck(ref ack, now: 1_000);
        Assert.Equal(1, host.Writable);
        sender.Clear();
    }

    [Fact]
    public void Sender_ZeroWindow_StartsThePersistTimer_AndProbes()
    {
        var host = new SenderHost(_pool);
        var timers = new TcpTimers();
        var sender = Sender(host, timers);
        var closed = AckOf(1001, window: 0, seq: 2);
        sender.ProcessAck(ref closed, now: 0);
        Assert.True(sender.TryEnqueue(Payload(100, 1)));
        sender.Output(now: 0);
        Assert.Empty(host.Sent);
        Assert.True(sender.Persist);
        Assert.Equal(sender.Rtt.Rto, timers.DeadlineOf(TcpTimer.Retransmit));
        sender.OnPersistTimeout(timers.DeadlineOf(TcpTimer.Retransmit), synchronized: true);
        Assert.Equal((1000u, TcpFlags.Ack, 0), Assert.Single(host.Sent)); // SND.UNA − 1: the peer must answer with its window
        sender.Clear();
    }

    // ---- TcpHandshake ----

    [Fact]
    public void Handshake_NegotiatesWhatBothOffer_AndTheSynAckOffersNoMore()
    {
        var handshake = new TcpHandshake(new TcpConfig()) { Iss = 7000 };
        var syn = new TcpSegment { Flags = TcpFlags.Syn, HasMss = true, Mss = 1460, WindowScale = -1, SackPermitted = true, HasTimestamp = false };
        handshake.TakeSynOptions(in syn);
        Assert.True(handshake.Sack);
        Assert.False(handshake.Timestamps);
        Assert.False(handshake.WindowScaling);
        Assert.Equal(1400, handshake.SendMss(localMss: 1400));

        Assert.True(PacketBuffer.TryRent(_pool, out var buffer));
        buffer.Offset = Headroom;
        buffer.Length = 0;
        handshake.WriteSyn(ref buffer, 80, 40000, withAck: true, ack: 5001, window: 65535, localMss: 1460, tsVal: 1, tsEcr: 2, windowScale: 7);
        Assert.True(TcpSegment.TryParse(buffer.Span, out var synAck));
        buffer.Release();
        Assert.True(synAck.Syn && synAck.HasAck);
        Assert.Equal((7000u, 5001u), (synAck.Seq, synAck.Ack));
        Assert.True(synAck.SackPermitted);
        Assert.False(synAck.HasTimestamp); // RFC 7323 §1.3: not offered back
        Assert.Equal(-1, synAck.WindowScale);
        Assert.Equal(1460, synAck.Mss);
    }

    [Fact]
    public void Handshake_TimestampsCostTheirOptionInTheMss_AndTinyMssIsIgnored()
    {
        var handshake = new TcpHandshake(new TcpConfig());
        var syn = new TcpSegment { Flags = TcpFlags.Syn, HasMss = true, Mss = 10, WindowScale = 3, HasTimestamp = true, TsVal = 5 };
        handshake.TakeSynOptions(in syn);
        Assert.Equal(TcpHandshake.DefaultPeerMss, handshake.PeerMss);
        Assert.Equal(TcpHandshake.DefaultPeerMss - TcpSender.TimestampOptionLength, handshake.SendMss(localMss: 1460));
        Assert.Equal(3, handshake.SendWindowScale);
        Assert.Equal(0, TcpHandshake.WindowScaleFor(65535));
        Assert.Equal(1, TcpHandshake.WindowScaleFor(65536));
        Assert.Equal(TcpHandshake.MaxWindowScale, TcpHandshake.WindowScaleFor(int.MaxValue));
    }

    [Fact]
    public void Backlog_BoundsHalfOpenAndReadyConnections()
    {
        var backlog = new TcpBacklog { Limit = 2 };
        Assert.True(backlog.TryAdmit());
        Assert.True(backlog.TryAdmit());
        Assert.False(backlog.TryAdmit());
        backlog.OnHandshakeEnded();
        Assert.True(backlog.TryAdmit());
        Assert.Equal(2, backlog.HalfOpenCount);
    }
}
