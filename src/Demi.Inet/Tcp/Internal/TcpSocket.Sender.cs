using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

// The send side: ACK processing (RTT samples, congestion control, SACK scoreboard, duplicate
// ACKs, fast retransmit and SACK-based recovery per RFC 6675 / NewReno per RFC 6582), and the
// output routine that cuts segments from the send queue under the send and congestion windows
// with Nagle's algorithm and sender-side silly-window avoidance. Segments are built in fresh pool
// buffers (headers in headroom), which also re-packetizes small pushes on retransmission.
public sealed partial class TcpSocket
{
    private uint _sndUna;
    private uint _sndNxt;
    /// <summary>Highest sequence number sent plus one (SND.NXT can go back after a timeout).</summary>
    private uint _sndMax;
    private uint _sndWl1;
    private uint _sndWl2;
    private uint _sndWnd;
    private uint _maxSndWnd;
    /// <summary>Sequence number of the first byte in the send queue.</summary>
    private uint _sendQStart;
    private bool _finQueued;
    private bool _finAcked;
    private bool _writeBlocked;

    private bool _inRecovery;
    private uint _recover;
    private uint _rxtNext;
    private int _dupAcks;

    private bool _rttTiming;
    private uint _rttSeq;
    private long _rttStart;

    private uint DataEnd => _sendQStart + (uint)_sendQ!.Bytes;

    /// <summary>Sequence number of our FIN (valid once queued: no data follows it).</summary>
    private uint FinSeq => DataEnd;

    private long FlightSize => _sndMax - _sndUna;

    /// <summary>Processes an acceptable ACK in a synchronized state (RFC 9293 §3.10.7.4 fifth step).</summary>
    private void ProcessAck(ref TcpSegment seg, long now)
    {
        uint ack = seg.Ack;
        var sb = _sb!;
        bool windowChanged = ((uint)seg.Window << _sndWscale) != _sndWnd;
        if (SeqNum.Gt(ack, _sndUna))
        {
            long flightBefore = FlightSize;
            uint acked = ack - _sndUna;
            // Release acknowledged bytes: data lies in [sendQStart, DataEnd), FIN at DataEnd.
            uint dataAckEnd = SeqNum.Min(ack, DataEnd);
            if (SeqNum.Gt(dataAckEnd, _sendQStart))
            {
                uint dataAcked = dataAckEnd - _sendQStart;
                _sendQ!.Consume(dataAcked);
                _sendQStart += dataAcked;
            }
            if (_finQueued && SeqNum.Gt(ack, FinSeq))
                _finAcked = true;
            _sndUna = ack;
            if (SeqNum.Lt(_sndNxt, _sndUna))
                _sndNxt = _sndUna;
            sb.OnCumulativeAck(ack);
            TakeRttSample(ref seg, ack, now);
            _rtxCount = 0;
            _persist = false;
            _softError = 0;
            if (_inRecovery)
            {
                if (SeqNum.Ge(ack, _recover))
                {
                    _inRecovery = false;
                    _cc!.OnRecoveryExit();
                }
                else
                {
                    // Partial ACK (RFC 6582 §3.2): the next hole is lost too.
                    if (SeqNum.Lt(_rxtNext, _sndUna))
                        _rxtNext = _sndUna;
                    if (!_sackOk)
                        RetransmitAt(_sndUna, now);
                }
            }
            else
            {
                _cc!.OnAck(acked, flightBefore, now, _rtt.Srtt);
            }
            _dupAcks = 0;
            if (_sndUna == _sndMax)
                StopRetransmit();
            else
                RestartRetransmit(now);
            if (_writeBlocked && _sendQ!.Bytes < SendBufferSize)
            {
                _writeBlocked = false;
                Layer.Raise(this, TcpEvents.Writable);
            }
            if (_finAcked)
                OnFinAcked(now);
        }
        else if (ack == _sndUna && seg.PayloadLength == 0 && !seg.Fin && !windowChanged && _sndMax != _sndUna)
        {
            _dupAcks++;
        }
        // Window update (RFC 9293 §3.10.7.4): only from a newer segment.
        if (SeqNum.Lt(_sndWl1, seg.Seq) || (_sndWl1 == seg.Seq && SeqNum.Le(_sndWl2, ack)))
        {
            _sndWnd = (uint)seg.Window << _sndWscale;
            _sndWl1 = seg.Seq;
            _sndWl2 = ack;
            if (_sndWnd > _maxSndWnd)
                _maxSndWnd = _sndWnd;
            if (_sndWnd > 0)
                _persist = false;
        }
        if (_sackOk)
        {
            for (int i = 0; i < seg.SackCount; i++)
                sb.Add(seg.Sacks[i].Start, seg.Sacks[i].End, _sndUna, _sndMax);
        }
        // Loss detection: three duplicate ACKs, or (RFC 6675 IsLost) more than 2·SMSS SACKed above SND.UNA.
        if (!_inRecovery && _sndMax != _sndUna && SeqNum.Ge(_sndUna, _recover)
            && (_dupAcks >= 3 || (_sackOk && sb.SackedBytes > 2L * _sndMss)))
        {
            EnterRecovery(now);
        }
    }

    private void TakeRttSample(ref TcpSegment seg, uint ack, long now)
    {
        if (_tsOk && seg.HasTimestamp && seg.TsEcr != 0)
        {
            // RFC 7323 §4: timestamps make every ACK a sample, even for retransmitted data.
            long rttMs = (uint)(TsNow - seg.TsEcr);
            if (rttMs < 600_000)
                _rtt.Sample(rttMs * 1000 + 500);
            _rttTiming = false;
        }
        else if (_rttTiming && SeqNum.Gt(ack, _rttSeq))
        {
            _rtt.Sample(now - _rttStart);
            _rttTiming = false;
        }
    }

    private void EnterRecovery(long now)
    {
        _inRecovery = true;
        _recover = _sndMax;
        _rxtNext = _sndUna;
        _rttTiming = false; // Karn: no samples from retransmitted data
        _cc!.OnCongestionEvent(FlightSize, now);
        Layer.Statistics.FastRetransmits++;
        RetransmitAt(_sndUna, now);
    }

    /// <summary>Sends one segment of already-sent data starting at <paramref name="seq"/> (up to the next SACKed block).</summary>
    private void RetransmitAt(uint seq, long now)
    {
        uint limit = _sb!.Count > 0 ? _sb.NextSackedStart(seq, _sndMax) : _sndMax;
        long available = (long)(DataEnd - seq);
        int length = (int)Math.Min(Math.Min(_sndMss, (long)(limit - seq)), Math.Max(0, available));
        bool fin = _finQueued && seq + (uint)length == FinSeq && SeqNum.Gt(_sndMax, FinSeq);
        if (length <= 0 && !fin)
            return;
        int sent = SendSegment(seq, length, fin ? (byte)(TcpFlags.Ack | TcpFlags.Fin) : TcpFlags.Ack, now);
        if (sent >= 0 && SeqNum.Lt(_rxtNext, seq + (uint)sent))
            _rxtNext = seq + (uint)sent;
        if (_rtxDeadline == long.MaxValue)
            ArmRetransmit(now);
    }

    /// <summary>
    /// The output routine (tcp_output): retransmits holes during recovery, sends new data allowed by
    /// min(cwnd, send window), queues the FIN, and sends a pending ACK if nothing else carried it.
    /// </summary>
    private void Output()
    {
        if (!IsSynchronized)
        {
            if (_ackNow && State == TcpState.TimeWait)
                SendAck();
            return;
        }
        long now = Layer.Now;
        // Bounded burst per call: a huge window cannot monopolize the shard.
        for (int burst = 0; burst < 256; burst++)
        {
            // Outside recovery the flight is SND.NXT − SND.UNA: after a timeout everything above SND.NXT counts as lost.
            if (!(_inRecovery ? SendInRecovery(now) : SendNewData(now, _cc!.Cwnd - (long)(_sndNxt - _sndUna))))
                break;
        }
        if (_ackNow)
            SendAck();
        if (_sndMax != _sndUna && _rtxDeadline == long.MaxValue)
            ArmRetransmit(now);
        MaybeStartPersist(now);
    }

    /// <summary>One transmission during recovery (RFC 6675 §5 NextSeg, simplified): a lost hole first, else new data, while pipe &lt; cwnd.</summary>
    private bool SendInRecovery(long now)
    {
        var sb = _sb!;
        long lostNotRetransmitted = 0;
        if (_sackOk && sb.Count > 0)
            lostNotRetransmitted = sb.UnsackedBelowHighest(SeqNum.Max(_rxtNext, _sndUna));
        long pipe = FlightSize - sb.SackedBytes - lostNotRetransmitted;
        if (!_sackOk)
            pipe -= (long)_dupAcks * _sndMss; // NewReno: each duplicate ACK means a segment left the network
        long room = _cc!.Cwnd - Math.Max(pipe, 0);
        if (room < Math.Min(_sndMss, 1))
            return false;
        if (_sackOk && sb.Count > 0 && sb.NextHole(SeqNum.Max(_rxtNext, _sndUna), out uint holeStart, out uint holeEnd)
            && SeqNum.Lt(holeStart, sb.HighestSacked))
        {
            int length = (int)Math.Min(_sndMss, holeEnd - holeStart);
            int sent = SendSegment(holeStart, length, TcpFlags.Ack, now);
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
        uint nxt = _sndNxt;
        if (_sb!.Count > 0 && SeqNum.Lt(nxt, _sndMax))
        {
            // Going back after a timeout: skip what the peer holds already.
            uint skipped = _sb.SkipSacked(nxt);
            if (skipped != nxt)
            {
                _sndNxt = skipped;
                nxt = skipped;
            }
        }
        long available = Math.Max(0, (long)(int)(DataEnd - nxt));
        bool finToSend = _finQueued && !_finAcked && SeqNum.Le(nxt, FinSeq);
        long windowRoom = (long)(int)(_sndUna + _sndWnd - nxt);
        long room = Math.Min(windowRoom, congestionRoom);
        bool retransmitting = SeqNum.Lt(nxt, _sndMax);
        long length = Math.Min(Math.Min(available, _sndMss), Math.Max(room, 0));
        if (retransmitting && _sb.Count > 0)
            length = Math.Min(length, (long)(_sb.NextSackedStart(nxt, _sndMax) - nxt));
        // The FIN rides on the last data segment (or goes alone); like Linux it needs no window of its own.
        bool fin = finToSend && nxt + (uint)length == FinSeq;
        if (length <= 0 && !fin)
            return false;
        if (length < _sndMss && length > 0 && !retransmitting && !(fin && length == available))
        {
            // Nagle (RFC 9293 §3.7.4): hold a small segment while data is unacknowledged.
            if (!NoDelay && _sndMax != _sndUna && length == available)
                return false;
            // Sender SWS avoidance: a window-limited small segment waits for more window.
            if (length < available && length < _maxSndWnd / 2)
                return false;
        }
        byte flags = TcpFlags.Ack;
        if (fin)
            flags |= TcpFlags.Fin;
        if (length > 0 && length == available)
            flags |= TcpFlags.Psh;
        int sent = SendSegment(nxt, (int)length, flags, now);
        if (sent < 0)
            return false;
        uint end = nxt + (uint)sent + (fin && sent == length ? 1u : 0u);
        _sndNxt = end;
        if (SeqNum.Gt(end, _sndMax))
        {
            if (!_rttTiming && !_tsOk && sent > 0)
            {
                // Karn's rule: time only segments sent for the first time.
                _rttTiming = true;
                _rttSeq = nxt;
                _rttStart = now;
            }
            _sndMax = end;
        }
        if (_rtxDeadline == long.MaxValue)
            ArmRetransmit(now);
        return true;
    }

    /// <summary>Sends one segment of whatever fits the send window, bypassing Nagle and SWS avoidance (persist override).</summary>
    private void ForceSendInWindow(long now)
    {
        uint nxt = _sndNxt;
        long available = Math.Max(0, (long)(int)(DataEnd - nxt));
        long room = (long)(int)(_sndUna + _sndWnd - nxt);
        int length = (int)Math.Min(Math.Min(available, _sndMss), Math.Max(room, 0));
        if (length <= 0)
            return;
        int sent = SendSegment(nxt, length, TcpFlags.Ack | TcpFlags.Psh, now);
        if (sent <= 0)
            return;
        _sndNxt = nxt + (uint)sent;
        if (SeqNum.Gt(_sndNxt, _sndMax))
            _sndMax = _sndNxt;
        ArmRetransmit(now);
    }

    /// <summary>
    /// Builds and sends one segment of <paramref name="length"/> payload bytes from the send queue at
    /// <paramref name="seq"/>. Returns the payload bytes sent (may be fewer when SACK options take
    /// room), or -1 when no buffer was free.
    /// </summary>
    private int SendSegment(uint seq, int length, byte flags, long now)
    {
        Span<SackBlock> sacks = stackalloc SackBlock[4];
        int sackCount = 0;
        if (_sackOk && _ooo!.Count > 0)
            sackCount = _ooo.GetSackBlocks(sacks[..(_tsOk ? 3 : 4)], _lastOooSeq);
        int optionsLength = TcpHeaderWriter.DataOptionsLength(_tsOk, sackCount);
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        int maxPayload = _sndMss + (_tsOk ? 12 : 0) - optionsLength;
        if (length > maxPayload)
        {
            length = maxPayload;
            flags &= unchecked((byte)~(TcpFlags.Fin | TcpFlags.Psh));
        }
        PacketBuffer buffer;
        if (length > 0 && SeqNum.Ge(seq, _sndMax) && TryZeroCopy(seq, length, headerLength, out buffer))
        {
            // The pushed buffer itself goes out, headers in its headroom.
        }
        else if (!Layer.TryRentSegment(out buffer))
        {
            return -1;
        }
        else if (length > 0)
        {
            int copied = _sendQ!.CopyTo((long)(seq - _sendQStart), buffer.Append(length));
            if (copied != length)
                buffer.Truncate(buffer.Length - (length - copied));
            length = copied;
        }
        if (length > 0)
        {
            if (SeqNum.Lt(seq, _sndMax))
            {
                Retransmissions++;
                Layer.Statistics.Retransmissions++;
            }
            Layer.Statistics.DataSegmentsSent++;
            Layer.Statistics.BytesSent += length;
        }
        else if ((flags & TcpFlags.Fin) != 0 && SeqNum.Lt(seq, _sndMax))
        {
            Retransmissions++;
            Layer.Statistics.Retransmissions++;
        }
        var header = buffer.Prepend(headerLength);
        TcpHeaderWriter.WriteFixed(header, _local.Port, _remote.Port, seq, _rcvNxt, flags, WindowToAdvertise(), headerLength);
        TcpHeaderWriter.WriteDataOptions(header[TcpSegment.MinHeaderLength..], _tsOk, TsNow, _tsRecent, sacks[..sackCount]);
        AckSent();
        NoteSendResult(Layer.Transmit(_local.Address, _remote.Address, buffer));
        _ = now;
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
        var ip = Layer.Ip;
        if (_sendQ!.TryGetEntryAt((long)(seq - _sendQStart), length, out buffer)
            && buffer.Pool == ip.Pool
            && buffer.HeadroomLeft >= ip.HeaderRoom + headerLength
            && buffer.Pool.RefCount(buffer.Index) <= 2)
        {
            buffer.AddRef();
            Layer.Statistics.ZeroCopySegments++;
            return true;
        }
        buffer = default;
        return false;
    }

    /// <summary>Sends a pure ACK (also a window update, a duplicate ACK with SACK blocks, or a challenge ACK).</summary>
    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent)
        {
            _ackNow = false;
            return;
        }
        if (State == TcpState.SynReceived)
        {
            SendSyn(withAck: true);
            _ackNow = false;
            return;
        }
        SendSegment(_sndNxt, 0, TcpFlags.Ack, Layer.Now);
    }

    /// <summary>Any segment we send acknowledges RCV.NXT: pending and delayed ACKs are satisfied.</summary>
    private void AckSent()
    {
        _ackNow = false;
        _segmentsUnacked = 0;
        _delackDeadline = long.MaxValue;
        _lastAckSent = _rcvNxt;
    }

    /// <summary>Queues our FIN after the data (CLOSE or SHUTDOWN(WR), RFC 9293 §3.10.4).</summary>
    private void QueueFin()
    {
        if (_finQueued)
            return;
        switch (State)
        {
            case TcpState.SynSent:
                _finQueued = true; // sent once established
                return;
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                State = TcpState.LastAck;
                break;
            default:
                return;
        }
        _finQueued = true;
        Output();
    }

    private void OnFinAcked(long now)
    {
        switch (State)
        {
            case TcpState.FinWait1:
                State = TcpState.FinWait2;
                _lingerDeadline = long.MaxValue; // SO_LINGER is satisfied once our FIN is acknowledged
                if (_userClosed)
                    _closeDeadline = now + Layer.Config.FinWait2TimeoutMicroseconds;
                break;
            case TcpState.Closing:
                EnterTimeWait(now);
                break;
            case TcpState.LastAck:
                EnterClosed(0);
                break;
        }
    }
}
