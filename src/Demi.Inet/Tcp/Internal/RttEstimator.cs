namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// The RFC 6298 retransmission-timeout estimator (SRTT, RTTVAR, RTO with exponential back-off),
/// in microseconds.
/// </summary>
internal struct RttEstimator
{
    private long _srtt;
    private long _rttvar;
    private bool _hasSample;

    public long Rto;
    public long MinRto;
    public long MaxRto;
    /// <summary>Smoothed RTT in microseconds (0 before the first sample).</summary>
    public readonly long Srtt => _srtt;

    public void Init(long initialRto, long minRto, long maxRto)
    {
        Rto = initialRto;
        MinRto = minRto;
        MaxRto = maxRto;
        _hasSample = false;
        _srtt = 0;
        _rttvar = 0;
    }

    /// <summary>Takes one RTT measurement (RFC 6298 §2.2/2.3) and recomputes the RTO (clearing any back-off).</summary>
    public void Sample(long rtt)
    {
        if (rtt < 1)
            rtt = 1;
        if (!_hasSample)
        {
            _srtt = rtt;
            _rttvar = rtt / 2;
            _hasSample = true;
        }
        else
        {
            long delta = Math.Abs(_srtt - rtt);
            _rttvar = (3 * _rttvar + delta) / 4;
            _srtt = (7 * _srtt + rtt) / 8;
        }
        // G (clock granularity) is 1 µs here; K = 4.
        Rto = Math.Clamp(_srtt + Math.Max(1, 4 * _rttvar), MinRto, MaxRto);
    }

    /// <summary>Doubles the RTO after a timeout (RFC 6298 §5.5), bounded by the maximum.</summary>
    public void Backoff() => Rto = Math.Min(Rto * 2, MaxRto);
}
