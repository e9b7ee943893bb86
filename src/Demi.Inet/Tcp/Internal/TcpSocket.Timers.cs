using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

// Timers of one connection: retransmission (RFC 6298 with back-off and a give-up limit),
// the persist timer (zero-window probes), delayed ACK, keepalive, TIME_WAIT (2·MSL), the
// FIN_WAIT_2 timeout of orphaned connections, and SO_LINGER. The layer keeps one heap entry per
// connection for the earliest of them (NextDeadline).
public sealed partial class TcpSocket
{
    private long _rtxDeadline = long.MaxValue;
    private int _rtxCount;
    private bool _persist;
    private long _delackDeadline = long.MaxValue;
    private long _keepaliveDeadline = long.MaxValue;
    private int _keepaliveSent;
    private long _closeDeadline = long.MaxValue;
    private long _lingerDeadline = long.MaxValue;
    private long _lastRecvTime;

    // The last error IPv4 reported for our segments (EHOSTUNREACH when ARP failed): reported instead
    // of ETIMEDOUT if the connection then times out, as Linux reports its soft errors.
    private int _softError;

    private void NoteSendResult(int errno)
    {
        if (errno != 0)
            _softError = errno;
    }

    private int TimeoutError => _softError is Errno.EHOSTUNREACH or Errno.ENETUNREACH ? _softError : Errno.ETIMEDOUT;

    internal long NextDeadline
        => Math.Min(Math.Min(_rtxDeadline, _delackDeadline), Math.Min(Math.Min(_keepaliveDeadline, _closeDeadline), _lingerDeadline));

    private void ArmRetransmit(long now) => _rtxDeadline = now + _rtt.Rto;

    private void RestartRetransmit(long now) => _rtxDeadline = now + _rtt.Rto;

    private void StopRetransmit()
    {
        _rtxDeadline = long.MaxValue;
        _persist = false;
    }

    private void ArmKeepAlive(long now)
    {
        _keepaliveDeadline = _keepAlive && IsSynchronized ? Math.Max(now, _lastRecvTime) + KeepAliveIdleMicroseconds : long.MaxValue;
        _keepaliveSent = 0;
    }

    /// <summary>
    /// Starts the persist timer when data waits and nothing is in flight to bring an ACK: a zero
    /// send window (probe it), or a window too small for sender SWS avoidance (the RFC 9293
    /// §3.8.6.2.1 override timeout sends what fits).
    /// </summary>
    private void MaybeStartPersist(long now)
    {
        if (_sndMax == _sndUna && _rtxDeadline == long.MaxValue
            && (DataEnd != _sndNxt || (_finQueued && !_finAcked && _sndWnd == 0)))
        {
            _persist = true;
            _rtxDeadline = now + _rtt.Rto;
        }
    }

    internal void OnTimer(long now)
    {
        if (now >= _lingerDeadline)
        {
            _lingerDeadline = long.MaxValue;
            if (State is not TcpState.TimeWait and not TcpState.Closed)
            {
                Abort(0); // SO_LINGER time ran out before the close finished
                return;
            }
        }
        if (now >= _closeDeadline)
        {
            _closeDeadline = long.MaxValue;
            if (State == TcpState.TimeWait)
            {
                EnterClosed(0);
                return;
            }
            if (State == TcpState.FinWait2)
            {
                Abort(0);
                return;
            }
        }
        if (now >= _rtxDeadline)
        {
            _rtxDeadline = long.MaxValue;
            OnRetransmitTimer(now);
            if (State == TcpState.Closed)
                return;
        }
        if (now >= _delackDeadline)
        {
            _delackDeadline = long.MaxValue;
            if (_segmentsUnacked > 0 || _ackNow)
                SendAck();
        }
        if (now >= _keepaliveDeadline)
            OnKeepAliveTimer(now);
    }

    private void OnRetransmitTimer(long now)
    {
        var config = Layer.Config;
        if (_persist)
        {
            if (_sndWnd > 0 && IsSynchronized)
            {
                // SWS override: send what the small window takes.
                _persist = false;
                ForceSendInWindow(now);
                return;
            }
            // Zero-window probe: a segment the peer must answer with its current window.
            Layer.Statistics.ZeroWindowProbes++;
            SendProbe();
            _rtt.Backoff();
            _rtxDeadline = now + _rtt.Rto;
            return;
        }
        switch (State)
        {
            case TcpState.SynSent:
                if (++_rtxCount > config.SynRetries)
                {
                    Layer.Statistics.ConnectionsTimedOut++;
                    EnterClosed(TimeoutError);
                    return;
                }
                _rtt.Backoff();
                Layer.Statistics.Retransmissions++;
                SendSyn(withAck: false);
                ArmRetransmit(now);
                return;
            case TcpState.SynReceived:
                if (++_rtxCount > config.SynAckRetries)
                {
                    Layer.Statistics.ConnectionsTimedOut++;
                    EnterClosed(Listener is null ? Errno.ETIMEDOUT : 0);
                    return;
                }
                _rtt.Backoff();
                Layer.Statistics.Retransmissions++;
                SendSyn(withAck: true);
                ArmRetransmit(now);
                return;
            case TcpState.Closed or TcpState.Listen or TcpState.TimeWait:
                return;
        }
        if (_sndMax == _sndUna)
            return;
        if (++_rtxCount > config.MaxRetransmissions)
        {
            Layer.Statistics.ConnectionsTimedOut++;
            Abort(TimeoutError);
            return;
        }
        Layer.Statistics.RetransmitTimeouts++;
        // RFC 6298 §5.4-5.6 and RFC 5681 §3.1: back off, collapse cwnd, go back to SND.UNA.
        _cc!.OnRetransmitTimeout(FlightSize, now);
        _inRecovery = false;
        _recover = _sndMax;
        _dupAcks = 0;
        _sb!.Clear(); // RFC 2018 §8: after a timeout the receiver may have reneged
        _sndNxt = _sndUna;
        _rttTiming = false;
        _rtt.Backoff();
        Output();
        ArmRetransmit(now);
    }

    /// <summary>A segment one below SND.UNA: the peer answers it with an ACK carrying its window (keepalive and zero-window probes).</summary>
    private void SendProbe()
    {
        if (!Layer.TryRentSegment(out var buffer))
            return;
        int optionsLength = TcpHeaderWriter.DataOptionsLength(_tsOk, 0);
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        var header = buffer.Prepend(headerLength);
        TcpHeaderWriter.WriteFixed(header, _local.Port, _remote.Port, _sndUna - 1, _rcvNxt, TcpFlags.Ack, WindowToAdvertise(), headerLength);
        TcpHeaderWriter.WriteDataOptions(header[TcpSegment.MinHeaderLength..], _tsOk, TsNow, _tsRecent, default);
        AckSent();
        NoteSendResult(Layer.Transmit(_local.Address, _remote.Address, buffer));
    }

    private void OnKeepAliveTimer(long now)
    {
        if (!_keepAlive || !IsSynchronized)
        {
            _keepaliveDeadline = long.MaxValue;
            return;
        }
        long idleEnd = _lastRecvTime + KeepAliveIdleMicroseconds;
        if (_keepaliveSent == 0 && now < idleEnd)
        {
            _keepaliveDeadline = idleEnd; // traffic arrived since the timer was set
            return;
        }
        if (_keepaliveSent >= KeepAliveProbes)
        {
            Layer.Statistics.ConnectionsTimedOut++;
            Abort(Errno.ETIMEDOUT);
            return;
        }
        _keepaliveSent++;
        Layer.Statistics.KeepAliveProbes++;
        SendProbe();
        _keepaliveDeadline = now + KeepAliveIntervalMicroseconds;
    }

    /// <summary>Any acceptable segment proves the peer alive.</summary>
    private void OnPeerAlive(long now)
    {
        _lastRecvTime = now;
        if (_keepaliveSent > 0 || (_keepAlive && _keepaliveDeadline == long.MaxValue))
            ArmKeepAlive(now);
    }

    private void EnterTimeWait(long now)
    {
        State = TcpState.TimeWait;
        _sendQ!.Clear();
        _ooo!.Clear();
        _sb!.Clear();
        _rtxDeadline = long.MaxValue;
        _delackDeadline = long.MaxValue;
        _keepaliveDeadline = long.MaxValue;
        _lingerDeadline = long.MaxValue;
        _persist = false;
        _closeDeadline = now + 2 * Layer.Config.MslMicroseconds;
        Layer.Raise(this, TcpEvents.Readable);
    }
}
