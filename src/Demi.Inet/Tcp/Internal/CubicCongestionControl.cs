namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// CUBIC (RFC 9438): after a loss the window follows W(t) = C·(t−K)³ + W_max, with a Reno-friendly
/// estimate as a floor, multiplicative decrease β = 0.7 and fast convergence. Windows in segments
/// are kept as doubles; cwnd is exported in bytes.
/// </summary>
internal sealed class CubicCongestionControl : CongestionControl
{
    private const double C = 0.4;
    private const double Beta = 0.7;

    private double _wMax;
    private double _wLastMax;
    private double _k;
    private long _epochStart = -1;
    private double _wEst;
    private double _cwndSegments;

    public override void OnAck(long ackedBytes, long flightBeforeAck, long nowMicroseconds, long srttMicroseconds)
    {
        if (Cwnd < Ssthresh)
        {
            ackedBytes = SlowStart(ackedBytes);
            if (ackedBytes == 0)
                return;
        }
        double cwnd = (double)Cwnd / Mss;
        if (_epochStart < 0)
        {
            // First congestion-avoidance ACK of an epoch (RFC 9438 §4.2).
            _epochStart = nowMicroseconds;
            if (_wMax < cwnd)
            {
                _k = 0;
                _wMax = cwnd;
            }
            else
            {
                _k = Math.Cbrt((_wMax - cwnd) / C);
            }
            _wEst = cwnd;
            _cwndSegments = cwnd;
        }
        double t = (nowMicroseconds - _epochStart + srttMicroseconds) / 1_000_000.0;
        double target = C * Math.Pow(t - _k, 3) + _wMax;
        double acked = (double)ackedBytes / Mss;
        // Reno-friendly region (§4.3): W_est grows by α_cubic per cwnd of acked segments.
        double alpha = 3 * (1 - Beta) / (1 + Beta);
        _wEst += alpha * acked / Math.Max(cwnd, 1);
        if (_wEst > target)
            target = _wEst;
        else
            target = Math.Min(target, 1.5 * cwnd); // §4.4: growth per RTT bounded
        if (target > cwnd)
            _cwndSegments = cwnd + (target - cwnd) / cwnd * acked;
        else
            _cwndSegments = cwnd + acked / (100 * cwnd); // tiny growth in the plateau
        Cwnd = Math.Max((long)(_cwndSegments * Mss), Cwnd);
    }

    public override void OnCongestionEvent(long flightSize, long nowMicroseconds)
    {
        double cwnd = (double)Math.Max(Cwnd, flightSize) / Mss;
        _epochStart = -1;
        // Fast convergence (§4.7).
        _wMax = cwnd < _wLastMax ? cwnd * (1 + Beta) / 2 : cwnd;
        _wLastMax = cwnd;
        Ssthresh = Math.Max((long)(cwnd * Beta * Mss), 2L * Mss);
        Cwnd = Ssthresh;
    }
}
