using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

// The receive side: in-order delivery and reassembly of out-of-order segments (zero-copy: the
// received buffers are queued with their headers stripped), the advertised window computed from
// real buffer space with receiver-side silly-window avoidance, SACK blocks, delayed ACKs, and FIN.
public sealed partial class TcpSocket
{
    private uint _rcvNxt;
    /// <summary>Right edge of the window we last advertised (RCV.NXT + RCV.WND then); never moved left.</summary>
    private uint _rcvAdvEdge;
    private uint _lastAckSent;
    private uint _tsRecent;
    private long _tsRecentAge;
    private bool _finReceived;
    private bool _hasOooFin;
    private uint _oooFinSeq;
    private uint _lastOooSeq;
    private bool _ackNow;
    private int _segmentsUnacked;

    /// <summary>Buffer space left for received data (in-order and out-of-order both count).</summary>
    private long ReceiveSpace => Math.Max(0, ReceiveBufferSize - _rcvQ!.Bytes - _ooo!.Bytes);

    /// <summary>The window used for acceptance tests: what we advertised, or more if space has opened since.</summary>
    private uint AcceptanceWindow()
    {
        long advertised = SeqNum.Gt(_rcvAdvEdge, _rcvNxt) ? _rcvAdvEdge - _rcvNxt : 0;
        long space = Math.Min(ReceiveSpace, 65535L << _rcvWscale);
        return (uint)Math.Max(advertised, space);
    }

    /// <summary>Computes the window field for an outgoing segment and records the advertised edge.</summary>
    private ushort WindowToAdvertise()
    {
        if (SeqNum.Lt(_rcvAdvEdge, _rcvNxt))
            _rcvAdvEdge = _rcvNxt;
        long space = Math.Min(ReceiveSpace, 65535L << _rcvWscale);
        uint edge = _rcvNxt + (uint)space;
        if (SeqNum.Lt(edge, _rcvAdvEdge))
        {
            edge = _rcvAdvEdge; // RFC 9293 §3.8.6.2.2: the window is not shrunk
        }
        else
        {
            // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): move the edge only by a useful amount.
            uint growth = edge - _rcvAdvEdge;
            if (growth < Math.Min(ReceiveBufferSize / 2, _sndMss > 0 ? _sndMss : 536))
                edge = _rcvAdvEdge;
        }
        uint window = edge - _rcvNxt;
        // Round up to the scale granularity so that scaling never shrinks the advertised edge.
        uint field = (uint)Math.Min((window + (1u << _rcvWscale) - 1) >> _rcvWscale, 65535);
        _rcvAdvEdge = _rcvNxt + (field << _rcvWscale);
        return (ushort)field;
    }

    /// <summary>Segment text and FIN processing (RFC 9293 §3.10.7.4, seventh and eighth steps); owns <paramref name="payload"/>.</summary>
    private void ReceiveText(uint seq, PacketBuffer payload, bool fin, long now)
    {
        // Trim what we already have.
        if (SeqNum.Lt(seq, _rcvNxt))
        {
            uint dup = _rcvNxt - seq;
            if (dup > payload.Length)
            {
                payload.Release();
                return; // only an old FIN: answered by the caller's ACK
            }
            payload.TrimFront((int)dup);
            seq = _rcvNxt;
            Layer.Statistics.DuplicateSegments++;
        }
        // Trim what lies beyond the window.
        uint window = AcceptanceWindow();
        uint rightEdge = _rcvNxt + window;
        if (SeqNum.Gt(seq + (uint)payload.Length, rightEdge))
        {
            payload.Truncate((int)(rightEdge - seq));
            fin = false;
        }
        int length = payload.Length;
        if (_userClosed && length > 0)
        {
            // Data for a socket the application closed: nobody will read it (Linux resets too).
            payload.Release();
            Abort(0);
            return;
        }
        if (seq == _rcvNxt)
        {
            if (length > 0)
            {
                _rcvNxt += (uint)length;
                Layer.Statistics.BytesReceived += length;
                if (_readShutdown)
                {
                    payload.Release();
                }
                else
                {
                    _rcvQ!.Enqueue(payload);
                    Layer.Raise(this, TcpEvents.Readable);
                }
            }
            else
            {
                payload.Release();
            }
            bool filled = DrainOutOfOrder();
            if (_hasOooFin && _oooFinSeq == _rcvNxt)
            {
                _hasOooFin = false;
                fin = true;
            }
            // RFC 5681 §4.2: ACK at once when filling a hole, else every second full segment.
            if (filled || _ooo!.Count > 0 || fin)
                _ackNow = true;
            else if (length > 0)
                NoteDataForAck(now);
        }
        else
        {
            Layer.Statistics.OutOfOrderSegments++;
            if (fin)
            {
                _hasOooFin = true;
                _oooFinSeq = seq + (uint)length;
                fin = false;
            }
            if (length > 0)
            {
                _lastOooSeq = seq;
                if (!_ooo!.Insert(seq, payload))
                    Layer.Statistics.DuplicateSegments++;
            }
            else
            {
                payload.Release();
            }
            _ackNow = true; // duplicate ACK (with SACK blocks) at once
        }
        if (fin)
            ReceiveFin(now);
    }

    private bool DrainOutOfOrder()
    {
        bool any = false;
        var ooo = _ooo!;
        while (ooo.Count > 0 && SeqNum.Le(ooo.FirstSeq, _rcvNxt))
        {
            any = true;
            var buffer = ooo.RemoveFirst(out uint seq);
            uint end = seq + (uint)buffer.Length;
            if (SeqNum.Le(end, _rcvNxt))
            {
                buffer.Release();
                continue;
            }
            buffer.TrimFront((int)(_rcvNxt - seq));
            _rcvNxt = end;
            Layer.Statistics.BytesReceived += buffer.Length;
            if (_readShutdown)
            {
                buffer.Release();
            }
            else
            {
                _rcvQ!.Enqueue(buffer);
                Layer.Raise(this, TcpEvents.Readable);
            }
        }
        return any;
    }

    private void NoteDataForAck(long now)
    {
        _segmentsUnacked++;
        if (!Layer.Config.DelayedAck || _segmentsUnacked >= 2)
        {
            _ackNow = true;
            return;
        }
        if (_delackDeadline == long.MaxValue)
            _delackDeadline = now + Layer.Config.DelayedAckMicroseconds;
    }

    private void ReceiveFin(long now)
    {
        _rcvNxt++;
        _finReceived = true;
        _ackNow = true;
        Layer.Raise(this, TcpEvents.Readable);
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                State = TcpState.Closing; // our FIN is not acknowledged yet
                break;
            case TcpState.FinWait2:
                EnterTimeWait(now);
                break;
        }
    }

    /// <summary>After the application read: send a window update when the window opened a lot (like Linux's tcp_cleanup_rbuf).</summary>
    private void OnDataRead()
    {
        if (!IsSynchronized || _finReceived)
            return;
        long advertised = SeqNum.Gt(_rcvAdvEdge, _rcvNxt) ? _rcvAdvEdge - _rcvNxt : 0;
        long space = Math.Min(ReceiveSpace, 65535L << _rcvWscale);
        if (advertised * 2 <= ReceiveBufferSize && space >= 2 * advertised && space - advertised >= _sndMss)
        {
            SendAck();
            Layer.Schedule(this);
        }
    }
}
