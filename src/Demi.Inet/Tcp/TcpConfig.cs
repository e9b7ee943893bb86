namespace Demi.Inet.Tcp;

/// <summary>Layer-wide TCP settings; times in microseconds. Sockets copy the per-socket defaults when created.</summary>
public sealed class TcpConfig
{
    /// <summary>Maximum segment lifetime; TIME_WAIT lasts 2·MSL (default 30 s, so 60 s like Linux).</summary>
    public long MslMicroseconds { get; set; } = 30_000_000;

    /// <summary>Initial retransmission timeout (RFC 6298: 1 s).</summary>
    public long InitialRtoMicroseconds { get; set; } = 1_000_000;

    /// <summary>Lower bound of the RTO (Linux uses 200 ms; RFC 6298 says 1 s).</summary>
    public long MinRtoMicroseconds { get; set; } = 200_000;

    /// <summary>Upper bound of the RTO after back-off (Linux: 120 s).</summary>
    public long MaxRtoMicroseconds { get; set; } = 120_000_000;

    /// <summary>Retransmissions of one segment before the connection fails with ETIMEDOUT (Linux tcp_retries2: 15).</summary>
    public int MaxRetransmissions { get; set; } = 15;

    /// <summary>SYN retransmissions before connect fails with ETIMEDOUT (Linux tcp_syn_retries: 6).</summary>
    public int SynRetries { get; set; } = 6;

    /// <summary>
    /// Unanswered zero-window probes (or retransmissions) before a connection the application has
    /// closed is given up (Linux tcp_orphan_retries, whose 0 means 8).
    /// </summary>
    public int OrphanRetries { get; set; } = 8;

    /// <summary>SYN-ACK retransmissions before a half-open connection is dropped (Linux: 5).</summary>
    public int SynAckRetries { get; set; } = 5;

    /// <summary>Whether ACKs may be delayed (RFC 9293 §3.8.6.3).</summary>
    public bool DelayedAck { get; set; } = true;

    /// <summary>Longest delay of an ACK (Linux: 40 ms minimum; RFC: below 500 ms).</summary>
    public long DelayedAckMicroseconds { get; set; } = 40_000;

    /// <summary>How long an orphaned connection may sit in FIN_WAIT_2 (Linux tcp_fin_timeout: 60 s).</summary>
    public long FinWait2TimeoutMicroseconds { get; set; } = 60_000_000;

    /// <summary>Default send buffer size in bytes.</summary>
    public int SendBufferSize { get; set; } = 256 * 1024;

    /// <summary>Default receive buffer size in bytes (the largest window advertised).</summary>
    public int ReceiveBufferSize { get; set; } = 256 * 1024;

    /// <summary>Largest listen backlog accepted (larger values are clamped).</summary>
    public int MaxBacklog { get; set; } = 4096;

    /// <summary>First port of the ephemeral range (IANA: 49152).</summary>
    public ushort EphemeralPortFirst { get; set; } = 49152;

    /// <summary>Last port of the ephemeral range.</summary>
    public ushort EphemeralPortLast { get; set; } = 65535;

    /// <summary>Challenge ACKs sent per second at most, across the layer (RFC 5961 §7; Linux: 1000).</summary>
    public int ChallengeAckLimit { get; set; } = 1000;

    /// <summary>Default idle time before keepalive probes (Linux: 2 h).</summary>
    public long KeepAliveIdleMicroseconds { get; set; } = 7_200_000_000;

    /// <summary>Default interval between keepalive probes (Linux: 75 s).</summary>
    public long KeepAliveIntervalMicroseconds { get; set; } = 75_000_000;

    /// <summary>Unanswered keepalive probes before ETIMEDOUT (Linux: 9).</summary>
    public int KeepAliveProbes { get; set; } = 9;

    /// <summary>Default congestion control of new sockets.</summary>
    public TcpCongestionAlgorithm CongestionControl { get; set; } = TcpCongestionAlgorithm.Cubic;

    /// <summary>Offer and use SACK (RFC 2018).</summary>
    public bool Sack { get; set; } = true;

    /// <summary>Offer and use timestamps (RFC 7323).</summary>
    public bool Timestamps { get; set; } = true;

    /// <summary>Offer and use window scaling (RFC 7323).</summary>
    public bool WindowScaling { get; set; } = true;

    /// <summary>
    /// When false (the default) a libOS push of a pool buffer is zero-copy: the send queue keeps a
    /// reference and retransmits from it until ACKed, so the application must not write into a
    /// pushed sga again (free it, allocate a new one). When true, pushes are copied into the send
    /// buffer like a kernel socket's, and the sga may be reused as soon as the push completes.
    /// </summary>
    public bool CopyOnPush { get; set; }

    /// <summary>Seed of the random source for ephemeral ports and timestamp offsets; null for a random seed.</summary>
    public int? RandomSeed { get; set; }
}
