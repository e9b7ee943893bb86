namespace Demi.Inet.Tcp;

/// <summary>Congestion-control algorithm of a socket.</summary>
public enum TcpCongestionAlgorithm
{
    /// <summary>CUBIC (RFC 9438), the default.</summary>
    Cubic,
    /// <summary>NewReno (RFC 5681, RFC 6582).</summary>
    NewReno,
}
