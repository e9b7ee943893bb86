using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

// Segment arrival in the synchronized states (RFC 9293 §3.10.7.4) with the protections of
// RFC 7323 (PAWS) and RFC 5961 (RST and SYN answered by challenge ACKs unless exact, ACKs
// outside [SND.UNA − MAX.SND.WND, SND.NXT] dropped).
public sealed partial class TcpSocket
{
    /// <summary>PAWS: TS.Recent older than 24 days is no longer trusted (RFC 7323 §5.5).</summary>
    private const long PawsIdleMicroseconds = 24L * 24 * 3600 * 1_000_000;

    /// <summary>Handles one segment of this connection; takes over <paramref name="payload"/> (the data after the header).</summary>
    internal void OnSegment(ref TcpSegment seg, PacketBuffer payload)
    {
        long now = Layer.Now;
        switch (State)
        {
            case TcpState.SynSent:
                OnSynSentSegment(ref seg, payload);
                Output();
                return;
            case TcpState.Closed:
            case TcpState.Listen:
                payload.Release();
                return;
        }

        // A retransmitted SYN while we wait for the handshake's ACK: our SYN-ACK was lost.
        if (State == TcpState.SynReceived && seg.Syn && !seg.HasAck && seg.Seq == _irs)
        {
            payload.Release();
            SendSyn(withAck: true);
            return;
        }

        // Simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK crosses ours. Its SYN is the one
        // we already acknowledged; take the ACK part as the handshake's final ACK.
        if (State == TcpState.SynReceived && seg.Syn && seg.HasAck && seg.Seq == _irs && !seg.Rst
            && SeqNum.Gt(seg.Ack, _sndUna) && SeqNum.Le(seg.Ack, _sndMax))
        {
            seg.Flags &= unchecked((byte)~TcpFlags.Syn);
            seg.Seq++;
        }

        // PAWS (RFC 7323 §5.3): an old timestamp marks an old duplicate.
        if (_tsOk && seg.HasTimestamp && !seg.Rst && SeqNum.Lt(seg.TsVal, _tsRecent) && now - _tsRecentAge < PawsIdleMicroseconds)
        {
            Layer.Statistics.PawsDropped++;
            payload.Release();
            SendAck();
            return;
        }

        // Sequence acceptability (RFC 9293 §3.10.7.4 first step).
        uint segLength = seg.SegmentLength;
        uint window = AcceptanceWindow();
        bool acceptable = segLength == 0
            ? (window == 0 ? seg.Seq == _rcvNxt : SeqNum.InWindow(seg.Seq, _rcvNxt, window))
            : window != 0 && (SeqNum.InWindow(seg.Seq, _rcvNxt, window) || SeqNum.InWindow(seg.Seq + segLength - 1, _rcvNxt, window));
        if (!acceptable)
        {
            payload.Release();
            if (!seg.Rst)
            {
                if (SeqNum.Lt(seg.Seq, _rcvNxt))
                    Layer.Statistics.DuplicateSegments++;
                else
                    Layer.Statistics.OutOfWindowDropped++;
                _ackNow = true;
                if (State == TcpState.TimeWait)
                    SendAck();
                else
                    Output();
            }
            return;
        }
        OnPeerAlive(now);

        // RST (RFC 5961 §3.2): only an exact match resets; in-window ones get a challenge ACK.
        if (seg.Rst)
        {
            payload.Release();
            if (seg.Seq == _rcvNxt)
            {
                Layer.Statistics.ResetsReceived++;
                OnReset();
            }
            else if (Layer.AllowChallengeAck())
            {
                SendAck();
            }
            return;
        }

        // SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
        if (seg.Syn)
        {
            payload.Release();
            if (Layer.AllowChallengeAck())
                SendAck();
            return;
        }

        if (!seg.HasAck)
        {
            payload.Release();
            return;
        }

        if (State == TcpState.SynReceived)
        {
            if (SeqNum.Gt(seg.Ack, _sndUna) && SeqNum.Le(seg.Ack, _sndMax))
            {
                if (_rtxCount == 0)
                    _rtt.Sample(Math.Max(1, now - _rttStart));
                _rtxCount = 0;
                StopRetransmit();
                _sndUna = seg.Ack;
                _sndWnd = (uint)seg.Window << _sndWscale;
                _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
                _sndWl1 = seg.Seq;
                _sndWl2 = seg.Ack;
                EnterEstablished();
            }
            else
            {
                payload.Release();
                Layer.SendBare(_local.Address, _local.Port, _remote.Address, _remote.Port, seg.Ack, 0, TcpFlags.Rst);
                return;
            }
        }
        else
        {
            // RFC 5961 §5.2: an ACK for data never sent, or far below SND.UNA, is answered and dropped.
            if (SeqNum.Gt(seg.Ack, _sndMax) || SeqNum.Lt(seg.Ack, _sndUna - Math.Max(_maxSndWnd, 1)))
            {
                payload.Release();
                if (Layer.AllowChallengeAck())
                    SendAck();
                return;
            }
            if (State != TcpState.TimeWait)
                ProcessAck(ref seg, now);
            if (State == TcpState.Closed)
            {
                payload.Release();
                return;
            }
        }

        // RFC 7323 §4.3: remember the timestamp of the segment that is next in sequence.
        if (_tsOk && seg.HasTimestamp && SeqNum.Ge(seg.TsVal, _tsRecent) && SeqNum.Le(seg.Seq, _lastAckSent))
        {
            _tsRecent = seg.TsVal;
            _tsRecentAge = now;
        }

        if (State == TcpState.TimeWait)
        {
            // Only a retransmitted FIN can arrive: acknowledge it and restart the 2·MSL timer.
            payload.Release();
            if (seg.Fin)
            {
                SendAck();
                _closeDeadline = now + 2 * Layer.Config.MslMicroseconds;
            }
            return;
        }

        if ((payload.Length > 0 || seg.Fin) && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
            ReceiveText(seg.Seq, payload, seg.Fin, now);
        else
            payload.Release();

        if (State != TcpState.Closed)
            Output();
    }

    /// <summary>An acceptable RST (RFC 9293 §3.10.7.4 second step).</summary>
    private void OnReset()
    {
        switch (State)
        {
            case TcpState.SynReceived:
                // Passive open: back to LISTEN (the child just disappears); active: refused.
                EnterClosed(Listener is null ? Errno.ECONNREFUSED : 0);
                break;
            case TcpState.Established:
            case TcpState.FinWait1:
            case TcpState.FinWait2:
            case TcpState.CloseWait:
                EnterClosed(Errno.ECONNRESET);
                break;
            default:
                EnterClosed(0);
                break;
        }
    }

    /// <summary>Sends RST if synchronized, then closes with <paramref name="errno"/> (ECONNABORTED when 0 and the socket is still open).</summary>
    private void Abort(int errno)
    {
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2
            or TcpState.CloseWait or TcpState.Closing or TcpState.LastAck)
        {
            Layer.SendBare(_local.Address, _local.Port, _remote.Address, _remote.Port, _sndNxt, _rcvNxt, TcpFlags.Rst | TcpFlags.Ack);
        }
        EnterClosed(errno != 0 ? errno : (_userClosed ? 0 : Errno.ECONNABORTED));
    }

    /// <summary>The connection ends: drop its queues and timers, leave the connection table, report.</summary>
    private void EnterClosed(int errno)
    {
        var previous = State;
        State = TcpState.Closed;
        // A passive child that dies before it is accepted has no owner to release it.
        bool orphanChild = false;
        if (previous == TcpState.SynReceived && Listener is { } listener)
        {
            listener._halfOpen--;
            Listener = null;
            orphanChild = true;
        }
        RaiseError(errno);
        FreeTcb();
        Layer.Raise(this, TcpEvents.Closed | TcpEvents.Readable);
        if (_userClosed || orphanChild)
            Release();
    }

    /// <summary>Drops everything the TCB holds except received data the owner may still read.</summary>
    private void FreeTcb()
    {
        _sendQ?.Clear();
        _ooo?.Clear();
        _sb?.Clear();
        if (_userClosed)
            _rcvQ?.Clear();
        _rtxDeadline = long.MaxValue;
        _delackDeadline = long.MaxValue;
        _keepaliveDeadline = long.MaxValue;
        _closeDeadline = long.MaxValue;
        _lingerDeadline = long.MaxValue;
        _persist = false;
        _inRecovery = false;
        if (_registered)
        {
            Layer.Unregister(this, _key);
            _registered = false;
        }
    }

    /// <summary>Frees what remains once nobody can use the socket: received data and the port binding.</summary>
    private void Release()
    {
        _rcvQ?.Clear();
        if (_bound)
        {
            Layer.Unbind(this, _local.Port, IsReplica);
            _bound = false;
        }
    }
}
