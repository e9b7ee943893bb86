using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>What the <see cref="TcpReceiver"/> needs of its connection.</summary>
internal interface ITcpReceiverHost
{
    /// <summary>The receive buffer (<c>SO_RCVBUF</c>): in-order and out-of-order data together stay below it.</summary>
    int ReceiveBufferSize { get; }

    /// <summary>The send MSS (0 before the handshake), the unit of receiver-side SWS avoidance.</summary>
    int SendMss { get; }

    /// <summary><c>SHUT_RD</c>: data is still acknowledged but discarded.</summary>
    bool ReadShutdown { get; }

    /// <summary>The application closed the socket: nobody will read new data.</summary>
    bool UserClosed { get; }

    /// <summary>In-order data or the FIN arrived.</summary>
    void OnReadable();
}

/// <summary>What <see cref="TcpReceiver.ReceiveText"/> did with a segment's text.</summary>
internal enum TcpReceiveOutcome
{
    /// <summary>Queued, reassembled or dropped as duplicate; nothing for the state machine to do.</summary>
    Done,
    /// <summary>The FIN is now in sequence: the connection moves on (CLOSE_WAIT, CLOSING or TIME_WAIT).</summary>
    FinReceived,
    /// <summary>Data arrived for a socket the application closed: the connection must be reset (RFC 2525 §2.17, as Linux).</summary>
    DataAfterClose,
}

/// <summary>
/// The receive side of a connection (RFC 9293 §3.10.7.4 seventh and eighth steps): the
/// acceptance test, in-order delivery and reassembly of out-of-order segments (zero-copy: the
/// received buffers are queued with their headers stripped), the advertised window computed from
/// real buffer space with receiver-side silly-window avoidance, SACK blocks, delayed ACKs, and FIN.
/// </summary>
internal sealed class TcpReceiver
{
    /// <summary>MSS assumed for SWS avoidance before one is negotiated (RFC 9293 §3.7.1 default).</summary>
    private const int DefaultMss = 536;

    /// <summary>Largest value of the 16-bit window field.</summary>
    private const long MaxWindowField = 65535;

    private readonly ITcpReceiverHost _host;
    private readonly TcpTimers _timers;
    private readonly TcpConfig _config;
    private readonly TcpStatistics _statistics;
    private readonly ReceiveQueue _queue = new();
    private readonly OutOfOrderQueue _ooo = new();

    private bool _hasOooFin;
    private uint _oooFinSeq;
    private uint _lastOooSeq;
    private int _segmentsUnacked;

    public TcpReceiver(ITcpReceiverHost host, TcpTimers timers, TcpConfig config, TcpStatistics statistics)
    {
        _host = host;
        _timers = timers;
        _config = config;
        _statistics = statistics;
    }

    /// <summary>RCV.NXT.</summary>
    public uint Next;

    /// <summary>Right edge of the window we last advertised (RCV.NXT + RCV.WND then); never moved left.</summary>
    public uint AdvertisedEdge;

    /// <summary>The ACK number of the last segment we sent (RFC 7323 §4.3 Last.ACK.sent).</summary>
    public uint LastAckSent;

    /// <summary>Our window scale (RCV.WIND.SHIFT), 0 when the peer does not scale.</summary>
    public int WindowScale;

    /// <summary>The peer's FIN is in sequence and consumed.</summary>
    public bool FinReceived { get; private set; }

    /// <summary>An ACK should go out now (hole filled, out-of-order data, FIN, or every second segment).</summary>
    public bool AckNow;

    /// <summary>Received data waits for a (delayed) ACK.</summary>
    public bool AckPending => _segmentsUnacked > 0 || AckNow;

    /// <summary>Bytes received in order and not yet read.</summary>
    public long ReadableBytes => _queue.Bytes;

    /// <summary>Out-of-order segments held for reassembly.</summary>
    public int OutOfOrderCount => _ooo.Count;

    /// <summary>Buffer space left for received data (in-order and out-of-order both count).</summary>
    private long Space => Math.Max(0, _host.ReceiveBufferSize - _queue.Bytes - _ooo.Bytes);

    private long ScaledSpace => Math.Min(Space, MaxWindowField << WindowScale);

    /// <summary>Starts the receive sequence space after the peer's SYN (IRS).</summary>
    public void Start(uint irs) => Next = irs + 1;

    /// <summary>The window used for acceptance tests: what we advertised, or more if space has opened since.</summary>
    public uint AcceptanceWindow()
    {
        long advertised = SeqNum.Gt(AdvertisedEdge, Next) ? AdvertisedEdge - Next : 0;
        return (uint)Math.Max(advertised, ScaledSpace);
    }

    /// <summary>Sequence acceptability (RFC 9293 §3.10.7.4 first step) of a segment occupying <paramref name="segmentLength"/> sequence numbers.</summary>
    public bool IsAcceptable(uint seq, uint segmentLength)
    {
        uint window = AcceptanceWindow();
        return segmentLength == 0
            ? (window == 0 ? seq == Next : SeqNum.InWindow(seq, Next, window))
            : window != 0 && (SeqNum.InWindow(seq, Next, window) || SeqNum.InWindow(seq + segmentLength - 1, Next, window));
    }

    /// <summary>Computes the window field for an outgoing segment and records the advertised edge.</summary>
    public ushort WindowToAdvertise()
    {
        if (SeqNum.Lt(AdvertisedEdge, Next))
            AdvertisedEdge = Next;
        uint edge = Next + (uint)ScaledSpace;
        if (SeqNum.Lt(edge, AdvertisedEdge))
        {
            edge = AdvertisedEdge; // RFC 9293 §3.8.6.2.2: the window is not shrunk
        }
        else
        {
            // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): move the edge only by a useful amount.
            uint growth = edge - AdvertisedEdge;
            if (growth < Math.Min(_host.ReceiveBufferSize / 2, MssForSws))
                edge = AdvertisedEdge;
        }
        uint window = edge - Next;
        // Round up to the scale granularity so that scaling never shrinks the advertised edge.
        uint field = (uint)Math.Min((window + (1u << WindowScale) - 1) >> WindowScale, MaxWindowField);
        AdvertisedEdge = Next + (field << WindowScale);
        return (ushort)field;
    }

    private int MssForSws => _host.SendMss > 0 ? _host.SendMss : DefaultMss;

    /// <summary>Records the unscaled window of our SYN-ACK as advertised.</summary>
    public void OnSynAckSent(ushort window)
    {
        AdvertisedEdge = Next + window;
        LastAckSent = Next;
    }

    /// <summary>Any segment we send acknowledges RCV.NXT: pending and delayed ACKs are satisfied.</summary>
    public void OnAckSent()
    {
        AckNow = false;
        _segmentsUnacked = 0;
        _timers.Stop(TcpTimer.DelayedAck);
        LastAckSent = Next;
    }

    /// <summary>SACK blocks (RFC 2018) describing the out-of-order data, most recent first.</summary>
    public int CollectSackBlocks(Span<SackBlock> blocks) => _ooo.Count > 0 ? _ooo.GetSackBlocks(blocks, _lastOooSeq) : 0;

    /// <summary>Segment text and FIN processing (RFC 9293 §3.10.7.4, seventh and eighth steps); owns <paramref name="payload"/>.</summary>
    public TcpReceiveOutcome ReceiveText(uint seq, PacketBuffer payload, bool fin, long now)
    {
                // Trim what we already have.
        if (SeqNum.Lt(seq, Next))
        {
            uint dup = Next - seq;
            if (dup > payload.Length)
            {
                payload.Release();
                return TcpReceiveOutcome.Done; // only an old FIN: answered by the caller's ACK
            }
            payload.TrimFront((int)dup);
            seq = Next;
            _statistics.DuplicateSegments++;
        }
        // Trim what lies beyond the window.
        uint rightEdge = Next + AcceptanceWindow();
        if (SeqNum.Gt(seq + (uint)payload.Length, rightEdge))
        {
            payload.Truncate((int)(rightEdge - seq));
            fin = false;
        }
        int length = payload.Length;
        if (_host.UserClosed && length > 0)
        {
            payload.Release();
            return TcpReceiveOutcome.DataAfterClose;
        }
        if (seq == Next)
        {
            if (length > 0)
            {
                Next += (uint)length;
                _statistics.BytesReceived += length;
                Deliver(payload);
            }
            else
            {
                payload.Release();
            }
            bool filled = DrainOutOfOrder();
            if (_hasOooFin && _oooFinSeq == Next)
            {
                _hasOooFin = false;
                fin = true;
            }
            // RFC 5681 §4.2: ACK at once when filling a hole, else every second full segment.
            if (filled || _ooo.Count > 0 || fin)
                AckNow = true;
            else if (length > 0)
                NoteDataForAck(now);
        }
        else
        {
            _statistics.OutOfOrderSegments++;
            if (fin)
            {
                _hasOooFin = true;
                _oooFinSeq = seq + (uint)length;
                fin = false;
            }
            if (length > 0)
            {
                _lastOooSeq = seq;
                if (!_ooo.Insert(seq, payload))
                    _statistics.DuplicateSegments++;
            }
            else
            {
                payload.Release();
            }
            AckNow = true; // duplicate ACK (with SACK blocks) at once
        }
        if (!fin)
            return TcpReceiveOutcome.Done;
        Next++;
        FinReceived = true;
        AckNow = true;
        _host.OnReadable();
        return TcpReceiveOutcome.FinReceived;
    }

    private void Deliver(PacketBuffer payload)
    {
        if (_host.ReadShutdown)
        {
            payload.Release();
            return;
        }
        _queue.Enqueue(payload);
        _host.OnReadable();
    }

    private bool DrainOutOfOrder()
    {
        bool any = false;
        var ooo = _ooo;
        while (ooo.Count > 0 && SeqNum.Le(ooo.FirstSeq, Next))
        {
            any = true;
            var buffer = ooo.RemoveFirst(out uint seq);
            uint end = seq + (uint)buffer.Length;
            if (SeqNum.Le(end, Next))
            {
                buffer.Release();
                continue;
            }
            buffer.TrimFront((int)(Next - seq));
            Next = end;
            _statistics.BytesReceived += buffer.Length;
            Deliver(buffer);
        }
        return any;
    }

    private void NoteDataForAck(long now)
    {
        _segmentsUnacked++;
        if (!_config.DelayedAck || _segmentsUnacked >= 2)
        {
            AckNow = true;
            return;
        }
        if (!_timers.IsArmed(TcpTimer.DelayedAck))
            _timers.Arm(TcpTimer.DelayedAck, now + _config.DelayedAckMicroseconds);
    }

    /// <summary>Takes the next in-order payload and its buffer reference.</summary>
    public bool TryDequeue(out PacketBuffer data) => _queue.TryDequeue(out data);

    /// <summary>Copies in-order bytes into <paramref name="destination"/>.</summary>
    public int Read(Span<byte> destination) => _queue.Read(destination);

    /// <summary>
    /// After the application read: whether the window opened enough to announce it at once (like
    /// Linux's tcp_cleanup_rbuf): the advertised window is at most half the buffer and the space
    /// has at least doubled, by one MSS or more.
    /// </summary>
    public bool WindowUpdateWorthSending()
    {
        if (FinReceived)
            return false;
        long advertised = SeqNum.Gt(AdvertisedEdge, Next) ? AdvertisedEdge - Next : 0;
        long space = ScaledSpace;
        return advertised * 2 <= _host.ReceiveBufferSize && space >= 2 * advertised && space - advertised >= _host.SendMss;
    }

    /// <summary>Drops data the application has not read.</summary>
    public void ClearReadable() => _queue.Clear();

    /// <summary>Drops the out-of-order data (the connection is over or in TIME_WAIT).</summary>
    public void ClearOutOfOrder() => _ooo.Clear();

    /// <summary>For diagnostics.</summary>
    public override string ToString() => $"rcvnxt={Next} advedge={AdvertisedEdge} rcvq={_queue.Bytes} ooo={_ooo.Count} ackNow={AckNow} fin={FinReceived}";
}
