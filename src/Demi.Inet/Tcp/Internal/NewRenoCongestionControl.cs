namespace Demi.Inet.Tcp.Internal;

/// <summary>NewReno (RFC 5681, RFC 6582): slow start, then one SMSS per RTT of additive increase, halving on loss.</summary>
internal sealed class NewRenoCongestionControl : CongestionControl
{
    private long _bytesAcked;

    public override void OnAck(long ackedBytes, long flightBeforeAck, long nowMicroseconds, long srttMicroseconds)
    {
        if (Cwnd < Ssthresh)
        {
            ackedBytes = SlowStart(ackedBytes);
            if (ackedBytes == 0)
                return;
        }
        // Congestion avoidance by byte counting: cwnd grows by SMSS once a cwnd's worth is acked.
        _bytesAcked += ackedBytes;
        if (_bytesAcked >= Cwnd)
        {
            _bytesAcked -= Cwnd;
            Cwnd += Mss;
        }
    }

    public override void OnCongestionEvent(long flightSize, long nowMicroseconds)
    {
        Ssthresh = Math.Max(flightSize / 2, 2L * Mss);
        Cwnd = Ssthresh;
        _bytesAcked = 0;
    }
}
