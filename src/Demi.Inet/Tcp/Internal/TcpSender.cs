using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>What the <see cref="TcpSender"/> needs of its connection.</summary>
internal interface ITcpSenderHost
{
    /// <summary>The layer's clock, microseconds.</summary>
    long Now { get; }

    /// <summary><c>SO_SNDBUF</c>: pushes beyond it are refused until ACKs free space.</summary>
    int SendBufferSize { get; }

    /// <summary><c>TCP_NODELAY</c>: Nagle's algorithm is off.</summary>
    bool NoDelay { get; }

    /// <summary>Our current timestamp value (RFC 7323 TSval), milliseconds.</summary>
    uint TimestampNow { get; }

    /// <summary>Rents a buffer positioned so that every header fits in front; false when the pool is empty.</summary>
    bool TryRentSegment(out PacketBuffer buffer);

    /// <summary>Whether a pushed buffer can itself be the segment: it is the IP layer's pool's and has room for <paramref name="tcpHeaderLength"/> plus the IP and link headers.</summary>
    bool CanTransmitInPlace(in PacketBuffer buffer, int tcpHeaderLength);

    /// <summary>The receiver's SACK blocks to carry (RFC 2018), most recent first; their count.</summary>
    int CollectSackBlocks(Span<SackBlock> blocks);

    /// <summary>Prepends the TCP header (ACK number, window and timestamps from the receive side) to <paramref name="segment"/> and sends it; takes the buffer's reference.</summary>
    void Transmit(PacketBuffer segment, uint seq, byte flags, int headerLength, ReadOnlySpan<SackBlock> sacks);

    /// <summary>The send buffer has room again after a refused push.</summary>
    void OnWritable();

    /// <summary>Our FIN was acknowledged.</summary>
    void OnFinAcked(long now);
}

/// <summary>
/// The send side of a connection: ACK processing (RTT samples, congestion control, SACK
/// scoreboard, duplicate ACKs, fast retransmit and SACK-based recovery per RFC 6675 / NewReno per
/// RFC 6582), and the output routine that cuts segments from the send queue under the send and
/// congestion windows with Nagle's algorithm and sender-side silly-window avoidance. Segments are
/// built in fresh pool buffers (headers in headroom), which also re-packetizes small pushes on
/// retransmission; a first send of a whole pushed pool buffer goes out zero-copy. Owns the
/// retransmission/persist timer (<see cref="TcpTimer.Retransmit"/>).
/// </summary>
internal sealed class TcpSender
{
    /// <summary>Bytes of the timestamps option on every segment once negotiated (RFC 7323 §3: 10, padded to 12).</summary>
    public const int TimestampOptionLength = 12;

    /// <summary>Segments one <see cref="Output"/> call may send: a huge window cannot monopolize the shard.</summary>
    private const int MaxBurst = 256;

    /// <summary>Duplicate ACKs that signal a loss (RFC 5681 §3.2).</summary>
    private const int DupAckThreshold = 3;

    /// <summary>Largest RTT sample a timestamp echo may give (older echoes are wrapped or bogus), milliseconds.</summary>
    private const long MaxTimestampRttMs = 600_000;

    /// <summary>SACK blocks that fit the option space: 4 alone, 3 with timestamps (RFC 2018 §3).</summary>
    private const int MaxSackBlocks = 4;

    private readonly ITcpSenderHost _host;
    private readonly TcpTimers _timers;
    private readonly TcpStatistics _statistics;
    private readonly SendQueue _queue = new();
    private readonly SackScoreboard _sb = new();

    /// <summary>Sequence number of the first byte in the send queue.</summary>
    private uint _queueStart;
    private bool _writeBlocked;

    private bool _inRecovery;
    private uint _recover;
    private uint _rxtNext;
    private int _dupAcks;

    private bool _rttTiming;
    private uint _rttSeq;
    private long _rttStart;

    public TcpSender(ITcpSenderHost host, TcpTimers timers, TcpStatistics statistics, long initialRto, long minRto, long maxRto)
    {
        _host = host;
        _timers = timers;
        _statistics = statistics;
        Rtt.Init(initialRto, minRto, maxRto);
    }

    /// <summary>SND.UNA.</summary>
    public uint Una;

    /// <summary>SND.NXT (goes back to SND.UNA after a timeout).</summary>
    public uint Nxt;

    /// <summary>Highest sequence number sent plus one.</summary>
    public uint Max;

    /// <summary>SND.WND, scaled.</summary>
    public uint Wnd;

    /// <summary>SND.WL1 and SND.WL2: the segment that last updated the window.</summary>
    public uint Wl1, Wl2;

    /// <summary>The largest window the peer offered (MAX.SND.WND, RFC 5961).</summary>
    public uint MaxWnd;

    /// <summary>The peer's window scale (SND.WIND.SHIFT).</summary>
    public int WindowScale;

    /// <summary>Payload bytes per segment, options excluded (0 before the handshake).</summary>
    public int Mss { get; private set; }

    /// <summary>Both ends agreed on SACK (RFC 2018).</summary>
    public bool SackPermitted;

    /// <summary>Both ends agreed on timestamps (RFC 7323): every segment carries them, every ACK is an RTT sample.</summary>
    public bool Timestamps;

    /// <summary>The RFC 6298 estimator.</summary>
    public RttEstimator Rtt;

    /// <summary>Consecutive timeouts (or SYN retries) without progress.</summary>
    public int RetransmitCount;

    /// <summary>Zero-window probes sent since the peer last acknowledged anything (the connection gives up past a limit).</summary>
    public int ProbesOut { get; private set; }

    /// <summary>The retransmit timer is the persist timer (data waits for a window).</summary>
    public bool Persist { get; private set; }

    /// <summary>Our FIN is queued after the data.</summary>
    public bool FinQueued;

    /// <summary>Our FIN was acknowledged.</summary>
    public bool FinAcked { get; private set; }

    /// <summary>The last error IPv4 reported for our segments (EHOSTUNREACH when ARP failed), reported instead of ETIMEDOUT if the connection then times out, as Linux reports its soft errors.</summary>
    public int SoftError;

    /// <summary>Segments this connection retransmitted.</summary>
    public long Retransmissions { get; private set; }

    /// <summary>The congestion controller (null before the MSS is known).</summary>
    public CongestionControl? Congestion { get; private set; }

    /// <summary>Bytes in the send queue (unacknowledged or unsent).</summary>
    public long QueuedBytes => _queue.Bytes;

    /// <summary>Bytes sent and not acknowledged.</summary>
    public long FlightSize => Max - Una;

    private uint DataEnd => _queueStart + (uint)_queue.Bytes;

    /// <summary>Sequence number of our FIN (valid once queued: no data follows it).</summary>
    private uint FinSeq => DataEnd;

    /// <summary>Starts the send sequence space at our initial sequence number (the SYN takes ISS).</summary>
    public void Start(uint iss)
    {
        Una = iss;
        Nxt = iss + 1;
        Max = Nxt;
        _queueStart = iss + 1;
        _recover = iss;
    }

    /// <summary>Sets the MSS once options are known; creates the congestion controller the first time.</summary>
    public void SetMss(int mss, TcpCongestionAlgorithm algorithm)
    {
        Mss = mss;
        if (Congestion is null)
        {
            Congestion = CreateCongestionControl(algorithm);
            Congestion.Init(Mss);
        }
        else
        {
            Congestion.SetMss(Mss);
        }
    }

    /// <summary>Switches congestion control, keeping cwnd and ssthresh.</summary>
    public void ChangeCongestionControl(TcpCongestionAlgorithm algorithm)
    {
        if (Congestion is null)
            return;
        var next = CreateCongestionControl(algorithm);
        next.Init(Mss);
        next.Cwnd = Congestion.Cwnd;
        next.Ssthresh = Congestion.Ssthresh;
        Congestion = next;
    }

    private static CongestionControl CreateCongestionControl(TcpCongestionAlgorithm algorithm)
        => algorithm == TcpCongestionAlgorithm.NewReno ? new NewRenoCongestionControl() : new CubicCongestionControl();

    /// <summary>Starts timing the handshake: the SYN's send time gives the first RTT sample.</summary>
    public void StartHandshakeTiming(long now) => _rttStart = now;

    /// <summary>The handshake's final ACK (or SYN-ACK) arrived: the first RTT sample unless the SYN was retransmitted (Karn).</summary>
    public void OnHandshakeAcked(long now)
    {
        if (RetransmitCount == 0)
            Rtt.Sample(Math.Max(1, now - _rttStart));
        RetransmitCount = 0;
        StopRetransmit();
    }

    /// <summary>Takes the window of a SYN (never scaled, RFC 7323 §2.2) or of the handshake's ACK.</summary>
    public void TakeWindow(uint window, uint seq, uint ack)
    {
        Wnd = window;
        MaxWnd = Math.Max(MaxWnd, Wnd);
        Wl1 = seq;
        Wl2 = ack;
    }

    /// <summary>Queues data; false (and remembers to report <see cref="ITcpSenderHost.OnWritable"/>) when the send buffer is full.</summary>
    public bool TryEnqueue(PacketBuffer data)
    {
        if (_queue.Bytes >= _host.SendBufferSize)
        {
            _writeBlocked = true;
            return false;
        }
        _queue.Enqueue(data);
        return true;
    }

    /// <summary>
    /// Copies as much of <paramref name="data"/> as the send buffer takes into pool buffers of at
    /// most <paramref name="chunkSize"/> bytes; returns how much.
    /// </summary>
    public int EnqueueCopy(BufferPool pool, ReadOnlySpan<byte> data, int chunkSize)
    {
        int accepted = 0;
        while (accepted < data.Length && _queue.Bytes < _host.SendBufferSize)
        {
            if (!PacketBuffer.TryRent(pool, out var buffer))
                break;
            int n = Math.Min(Math.Min(chunkSize, buffer.TailroomLeft), data.Length - accepted);
            data.Slice(accepted, n).CopyTo(buffer.Append(n));
            _queue.Enqueue(buffer);
            accepted += n;
        }
        if (accepted < data.Length)
            _writeBlocked = true;
        return accepted;
    }

    /// <summary>Processes an acceptable ACK in a synchronized state (RFC 9293 §3.10.7.4 fifth step).</summary>
    public void ProcessAck(ref TcpSegment seg, long now)
    {
        uint ack = seg.Ack;
        ProbesOut = 0; // the peer is alive: zero-window probes start counting again (Linux: icsk_probes_out)
        var sb = _sb;
        bool windowChanged = ((uint)seg.Window << WindowScale) != Wnd;
        if (SeqNum.Gt(ack, Una))
        {
            long flightBefore = FlightSize;
            uint acked = ack - Una;
            // Release acknowledged bytes: data lies in [queueStart, DataEnd), FIN at DataEnd.
            uint dataAckEnd = SeqNum.Min(ack, DataEnd);
            if (SeqNum.Gt(dataAckEnd, _queueStart))
            {
                uint dataAcked = dataAckEnd - _queueStart;
                _queue.Consume(dataAcked);
                _queueStart += dataAcked;
            }
            if (FinQueued && SeqNum.Gt(ack, FinSeq))
                FinAcked = true;
            Una = ack;
            if (SeqNum.Lt(Nxt, Una))
                Nxt = Una;
            sb.OnCumulativeAck(ack);
            TakeRttSample(ref seg, ack, now);
            RetransmitCount = 0;
            Persist = false;
            SoftError = 0;
            if (_inRecovery)
            {
                if (SeqNum.Ge(ack, _recover))
                {
                    _inRecovery = false;
                    Congestion!.OnRecoveryExit();
                }
                else
                {
                    // Partial ACK (RFC 6582 §3.2): the next hole is lost too.
                    if (SeqNum.Lt(_rxtNext, Una))
                        _rxtNext = Una;
                    if (!SackPermitted)
                        RetransmitAt(Una, now);
                }
            }
            else
            {
                Congestion!.OnAck(acked, flightBefore, now, Rtt.Srtt);
            }
            _dupAcks = 0;
            if (Una == Max)
                StopRetransmit();
            else
                ArmRetransmit(now);
            if (_writeBlocked && _queue.Bytes < _host.SendBufferSize)
            {
                _writeBlocked = false;
                _host.OnWritable();
            }
            if (FinAcked)
                _host.OnFinAcked(now);
        }
        else if (ack == Una && seg.PayloadLength == 0 && !seg.Fin && !windowChanged && Max != Una)
        {
            _dupAcks++;
        }
        // Window update (RFC 9293 §3.10.7.4): only from a newer segment.
        if (SeqNum.Lt(Wl1, seg.Seq) || (Wl1 == seg.Seq && SeqNum.Le(Wl2, ack)))
        {
            Wnd = (uint)seg.Window << WindowScale;
            Wl1 = seg.Seq;
            Wl2 = ack;
            if (Wnd > MaxWnd)
                MaxWnd = Wnd;
            if (Wnd > 0)
                Persist = false;
        }
        if (SackPermitted)
        {
            for (int i = 0; i < seg.SackCount; i++)
                sb.Add(seg.Sacks[i].Start, seg.Sacks[i].End, Una, Max);
        }
        // Loss detection: three duplicate ACKs, or (RFC 6675 IsLost) more than 2·SMSS SACKed above SND.UNA.
        if (!_inRecovery && Max != Una && SeqNum.Ge(Una, _recover)
            && (_dupAcks >= DupAckThreshold || (SackPermitted && sb.SackedBytes > 2L * Mss)))
        {
            EnterRecovery(now);
        }
    }

    private void TakeRttSample(ref TcpSegment seg, uint ack, long now)
    {
        if (Timestamps && seg.HasTimestamp && seg.TsEcr != 0)
        {
            // RFC 7323 §4: timestamps make every ACK a sample, even for retransmitted data.
            long rttMs = (uint)(_host.TimestampNow - seg.TsEcr);
            if (rttMs < MaxTimestampRttMs)
                Rtt.Sample(rttMs * 1000 + 500);
            _rttTiming = false;
        }
        else if (_rttTiming && SeqNum.Gt(ack, _rttSeq))
        {
            Rtt.Sample(now - _rttStart);
            _rttTiming = false;
        }
    }

    private void EnterRecovery(long now)
    {
        _inRecovery = true;
        _recover = Max;
        _rxtNext = Una;
        _rttTiming = false; // Karn: no samples from retransmitted data
        Congestion!.OnCongestionEvent(FlightSize, now);
        _statistics.FastRetransmits++;
        RetransmitAt(Una, now);
    }

    /// <summary>Sends one segment of already-sent data starting at <paramref name="seq"/> (up to the next SACKed block).</summary>
    private void RetransmitAt(uint seq, long now)
    {
        uint limit = _sb.Count > 0 ? _sb.NextSackedStart(seq, Max) : Max;
        long available = (long)(DataEnd - seq);
        int length = (int)Math.Min(Math.Min(Mss, (long)(limit - seq)), Math.Max(0, available));
        bool fin = FinQueued && seq + (uint)length == FinSeq && SeqNum.Gt(Max, FinSeq);
        if (length <= 0 && !fin)
            return;
        int sent = SendSegment(seq, length, fin ? (byte)(TcpFlags.Ack | TcpFlags.Fin) : TcpFlags.Ack);
        if (sent >= 0 && SeqNum.Lt(_rxtNext, seq + (uint)sent))
            _rxtNext = seq + (uint)sent;
        if (!_timers.IsArmed(TcpTimer.Retransmit))
            ArmRetransmit(now);
    }

    /// <summary>
    /// The output routine of a synchronized connection (tcp_output): retransmits holes during
    /// recovery, sends new data allowed by min(cwnd, send window) and the FIN, and keeps the
    /// retransmission or persist timer running while something waits. A pending ACK that nothing
    /// carried is the caller's to send.
    /// </summary>
    public void Output(long now)
    {
        for (int burst = 0; burst < MaxBurst; burst++)
        {
            // Outside recovery the flight is SND.NXT − SND.UNA: after a timeout everything above SND.NXT counts as lost.
            if (!(_inRecovery ? SendInRecovery(now) : SendNewData(now, Congestion!.Cwnd - (long)(Nxt - Una))))
                break;
        }
        if (Max != Una && !_timers.IsArmed(TcpTimer.Retransmit))
            ArmRetransmit(now);
        MaybeStartPersist(now);
    }

    /// <summary>One transmission during recovery (RFC 6675 §5 NextSeg, simplified): a lost hole first, else new data, while pipe &lt; cwnd.</summary>
    private bool SendInRecovery(long now)
    {
        var sb = _sb;
        long lostNotRetransmitted = 0;
        if (SackPermitted && sb.Count > 0)
            lostNotRetransmitted = sb.UnsackedBelowHighest(SeqNum.Max(_rxtNext, Una));
        long pipe = FlightSize - sb.SackedBytes - lostNotRetransmitted;
        if (!SackPermitted)
            pipe -= (long)_dupAcks * Mss; // NewReno: each duplicate ACK means a segment left the network
        long room = Congestion!.Cwnd - Math.Max(pipe, 0);
        if (room < Math.Min(Mss, 1))
            return false;
        if (SackPermitted && sb.Count > 0 && sb.NextHole(SeqNum.Max(_rxtNext, Una), out uint holeStart, out uint holeEnd)
            && SeqNum.Lt(holeStart, sb.HighestSacked))
        {
            int length = (int)Math.Min(Mss, holeEnd - holeStart);
            int sent = SendSegment(holeStart, length, TcpFlags.Ack);
            if (sent < 0)
                return false;
            _rxtNext = holeStart + (uint)Math.Max(sent, 1);
            return true;
        }
        return SendNewData(now, room);
    }

    /// <summary>Sends one new segment at SND.NXT if the windows, Nagle and SWS avoidance allow it; false when nothing went out.</summary>
    private bool SendNewData(long now, long congestionRoom)
    {
        uint nxt = Nxt;
        if (_sb.Count > 0 && SeqNum.Lt(nxt, Max))
        {
            // Going back after a timeout: skip what the peer holds already.
            uint skipped = _sb.SkipSacked(nxt);
            if (skipped != nxt)
            {
                Nxt = skipped;
                nxt = skipped;
            }
        }
        long available = Math.Max(0, (long)(int)(DataEnd - nxt));
        bool finToSend = FinQueued && !FinAcked && SeqNum.Le(nxt, FinSeq);
        long windowRoom = (long)(int)(Una + Wnd - nxt);
        long room = Math.Min(windowRoom, congestionRoom);
        bool retransmitting = SeqNum.Lt(nxt, Max);
        long length = Math.Min(Math.Min(available, Mss), Math.Max(room, 0));
        if (retransmitting && _sb.Count > 0)
            length = Math.Min(length, (long)(_sb.NextSackedStart(nxt, Max) - nxt));
        // The FIN rides on the last data segment (or goes alone); like Linux it needs no window of its own.
        bool fin = finToSend && nxt + (uint)length == FinSeq;
        if (length <= 0 && !fin)
            return false;
        if (length < Mss && length > 0 && !retransmitting && !(fin && length == available))
        {
            // Nagle (RFC 9293 §3.7.4): hold a small segment while data is unacknowledged.
            if (!_host.NoDelay && Max != Una && length == available)
                return false;
            // Sender SWS avoidance: a window-limited small segment waits for more window.
            if (length < available && length < MaxWnd / 2)
                return false;
        }
        byte flags = TcpFlags.Ack;
        if (fin)
            flags |= TcpFlags.Fin;
        if (length > 0 && length == available)
            flags |= TcpFlags.Psh;
        int sent = SendSegment(nxt, (int)length, flags);
        if (sent < 0)
            return false;
        uint end = nxt + (uint)sent + (fin && sent == length ? 1u : 0u);
        Nxt = end;
        if (SeqNum.Gt(end, Max))
        {
            if (!_rttTiming && !Timestamps && sent > 0)
            {
                // Karn's rule: time only segments sent for the first time.
                _rttTiming = true;
                _rttSeq = nxt;
                _rttStart = now;
            }
            Max = end;
        }
        if (!_timers.IsArmed(TcpTimer.Retransmit))
            ArmRetransmit(now);
        return true;
    }

    /// <summary>Sends one segment of whatever fits the send window, bypassing Nagle and SWS avoidance (persist override).</summary>
    private void ForceSendInWindow(long now)
    {
        uint nxt = Nxt;
        long available = Math.Max(0, (long)(int)(DataEnd - nxt));
        long room = (long)(int)(Una + Wnd - nxt);
        int length = (int)Math.Min(Math.Min(available, Mss), Math.Max(room, 0));
        if (length <= 0)
            return;
        int sent = SendSegment(nxt, length, TcpFlags.Ack | TcpFlags.Psh);
        if (sent <= 0)
            return;
        Nxt = nxt + (uint)sent;
        if (SeqNum.Gt(Nxt, Max))
            Max = Nxt;
        ArmRetransmit(now);
    }

    /// <summary>Sends a pure ACK at SND.NXT (also a window update or a duplicate ACK with SACK blocks).</summary>
    public void SendAck() => SendSegment(Nxt, 0, TcpFlags.Ack);

    /// <summary>
    /// Builds and sends one segment of <paramref name="length"/> payload bytes from the send queue at
    /// <paramref name="seq"/>. Returns the payload bytes sent (may be fewer when SACK options take
    /// room), or -1 when no buffer was free.
    /// </summary>
    private int SendSegment(uint seq, int length, byte flags)
    {
        Span<SackBlock> sacks = stackalloc SackBlock[MaxSackBlocks];
        int sackCount = 0;
        if (SackPermitted)
            sackCount = _host.CollectSackBlocks(sacks[..(Timestamps ? MaxSackBlocks - 1 : MaxSackBlocks)]);
        int optionsLength = TcpHeaderWriter.DataOptionsLength(Timestamps, sackCount);
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        int maxPayload = Mss + (Timestamps ? TimestampOptionLength : 0) - optionsLength;
        if (length > maxPayload)
        {
            length = maxPayload;
            flags &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
        }
                PacketBuffer buffer;
        if (length > 0 && SeqNum.Ge(seq, Max) && TryZeroCopy(seq, length, headerLength, out buffer))
        {
            // The pushed buffer itself goes out, headers in its headroom.
        }
        else if (!_host.TryRentSegment(out buffer))
        {
            return -1;
        }
        else if (length > 0)
        {
            int copied = _queue.CopyTo((long)(seq - _queueStart), buffer.Append(length));
            if (copied != length)
                buffer.Truncate(buffer.Length - (length - copied));
            length = copied;
        }
        if (length > 0)
        {
            if (SeqNum.Lt(seq, Max))
            {
                Retransmissions++;
                _statistics.Retransmissions++;
            }
            _statistics.DataSegmentsSent++;
            _statistics.BytesSent += length;
        }
        else if ((flags & TcpFlags.Fin) != 0 && SeqNum.Lt(seq, Max))
        {
            Retransmissions++;
            _statistics.Retransmissions++;
        }
        _host.Transmit(buffer, seq, flags, headerLength, sacks[..sackCount]);
        return length;
    }

    /// <summary>
    /// Zero-copy transmission of a first send: when the segment is exactly one pushed buffer of the
    /// IP layer's pool with room for all headers in front, and nobody but the application and the
    /// send queue holds it (so no other transmission of it is in flight), the segment is that buffer
    /// with one more reference. Its headroom is written only this once: retransmissions copy.
    /// </summary>
    private bool TryZeroCopy(uint seq, int length, int headerLength, out PacketBuffer buffer)
    {
        if (_queue.TryGetEntryAt((long)(seq - _queueStart), length, out buffer)
            && _host.CanTransmitInPlace(in buffer, headerLength)
            && buffer.Pool.RefCount(buffer.Index) <= 2)
        {
            buffer.AddRef();
            _statistics.ZeroCopySegments++;
            return true;
        }
        buffer = default;
        return false;
    }

    /// <summary>A segment one below SND.UNA: the peer answers it with an ACK carrying its window (keepalive and zero-window probes).</summary>
    public void SendProbe()
    {
        if (!_host.TryRentSegment(out var buffer))
            return;
        int headerLength = TcpSegment.MinHeaderLength + TcpHeaderWriter.DataOptionsLength(Timestamps, 0);
        _host.Transmit(buffer, Una - 1, TcpFlags.Ack, headerLength, default);
    }

    /// <summary>Arms the retransmission timer one RTO from <paramref name="now"/>.</summary>
    public void ArmRetransmit(long now) => _timers.Arm(TcpTimer.Retransmit, now + Rtt.Rto);

    /// <summary>Stops the retransmission (and persist) timer: everything is acknowledged.</summary>
    public void StopRetransmit()
    {
        _timers.Stop(TcpTimer.Retransmit);
        Persist = false;
    }

    /// <summary>
    /// Starts the persist timer when data waits and nothing is in flight to bring an ACK: a zero
    /// send window (probe it), or a window too small for sender SWS avoidance (the RFC 9293
    /// §3.8.6.2.1 override timeout sends what fits).
    /// </summary>
    private void MaybeStartPersist(long now)
    {
        if (Max == Una && !_timers.IsArmed(TcpTimer.Retransmit)
            && (DataEnd != Nxt || (FinQueued && !FinAcked && Wnd == 0)))
        {
            Persist = true;
            _timers.Arm(TcpTimer.Retransmit, now + Rtt.Rto);
        }
    }

    /// <summary>
    /// The persist timer expired: with some window, send what fits (SWS override); with none, a
    /// zero-window probe, backing off.
    /// </summary>
    public void OnPersistTimeout(long now, bool synchronized)
    {
        if (Wnd > 0 && synchronized)
        {
            Persist = false;
            ForceSendInWindow(now);
            return;
        }
        // Zero-window probe: a segment the peer must answer with its current window.
        _statistics.ZeroWindowProbes++;
        ProbesOut++;
        SendProbe();
        Rtt.Backoff();
        _timers.Arm(TcpTimer.Retransmit, now + Rtt.Rto);
    }

    /// <summary>
    /// A retransmission timeout of data (RFC 6298 §5.4-5.6, RFC 5681 §3.1): back off, collapse
    /// cwnd, go back to SND.UNA. The caller runs the output routine and re-arms the timer.
    /// </summary>
    public void OnRetransmitTimeout(long now)
    {
        Congestion!.OnRetransmitTimeout(FlightSize, now);
        _inRecovery = false;
        _recover = Max;
        _dupAcks = 0;
        _sb.Clear(); // RFC 2018 §8: after a timeout the receiver may have reneged
        Nxt = Una;
        _rttTiming = false;
        Rtt.Backoff();
    }

    /// <summary>Drops the unsent and unacknowledged data and the recovery state (the connection is over or in TIME_WAIT).</summary>
    public void Clear()
    {
        _queue.Clear();
        _sb.Clear();
        Persist = false;
        _inRecovery = false;
    }

    /// <summary>For diagnostics.</summary>
    public override string ToString()
        => $"una={Una} nxt={Nxt} max={Max} wnd={Wnd} cwnd={Congestion?.Cwnd} sendq={_queue.Bytes} rec={_inRecovery} dup={_dupAcks} persist={Persist} fin={FinQueued}/{FinAcked}";
}
