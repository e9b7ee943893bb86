namespace Demi.Inet.Tcp;

/// <summary>TCP connection states (RFC 9293 §3.3.2).</summary>
public enum TcpState
{
    /// <summary>No connection (a fresh socket, or one whose connection ended).</summary>
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}
