namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// A sender's congestion controller: owns cwnd and ssthresh (bytes) and reacts to ACKs, fast
/// retransmit, and retransmission timeouts. One per connection, created at connection setup.
/// </summary>
internal abstract class CongestionControl
{
    protected int Mss;

    /// <summary>Congestion window in bytes.</summary>
    public long Cwnd;

    /// <summary>Slow-start threshold in bytes.</summary>
    public long Ssthresh = long.MaxValue / 4;

    public void Init(int mss)
    {
        Mss = mss;
        // RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600)).
        Cwnd = Math.Min(10L * mss, Math.Max(2L * mss, 14600));
    }

    public void SetMss(int mss) => Mss = mss;

    /// <summary>New data was cumulatively acknowledged outside recovery.</summary>
    public abstract void OnAck(long ackedBytes, long flightBeforeAck, long nowMicroseconds, long srttMicroseconds);

    /// <summary>Loss detected by duplicate ACKs/SACK: sets ssthresh and cwnd for recovery.</summary>
    public abstract void OnCongestionEvent(long flightSize, long nowMicroseconds);

    /// <summary>Fast recovery ended (the recovery point was acknowledged).</summary>
    public virtual void OnRecoveryExit() => Cwnd = Math.Max(Ssthresh, 2L * Mss);

    /// <summary>A retransmission timeout: RFC 5681 §3.1 ssthresh = max(FlightSize/2, 2*SMSS), cwnd = 1 SMSS.</summary>
    public virtual void OnRetransmitTimeout(long flightSize, long nowMicroseconds)
    {
        OnCongestionEvent(flightSize, nowMicroseconds);
        Cwnd = Mss;
    }

    /// <summary>Slow start (RFC 5681 §3.1, with appropriate byte counting L = 2*SMSS); returns the bytes left over once cwnd reached ssthresh.</summary>
    protected long SlowStart(long ackedBytes)
    {
        long grow = Math.Min(ackedBytes, 2L * Mss);
        long room = Ssthresh - Cwnd;
        if (grow <= room)
        {
            Cwnd += grow;
            return ackedBytes - grow;
        }
        Cwnd = Ssthresh;
        return ackedBytes - room;
    }
}
