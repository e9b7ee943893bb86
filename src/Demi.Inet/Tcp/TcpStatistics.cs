namespace Demi.Inet.Tcp;

/// <summary>Counters of one <see cref="TcpLayer"/> (read from the layer's thread, or approximately from others).</summary>
public sealed class TcpStatistics
{
    public long SegmentsReceived;
    public long SegmentsSent;
    public long DataSegmentsSent;
    /// <summary>Data segments sent straight from the pushed buffer (headers in its headroom, no payload copy).</summary>
    public long ZeroCopySegments;
    public long BytesSent;
    public long BytesReceived;
    /// <summary>Segments sent again (timeouts, fast retransmit, SACK recovery).</summary>
    public long Retransmissions;
    public long RetransmitTimeouts;
    public long FastRetransmits;
    public long MalformedDropped;
    public long ChecksumErrors;
    /// <summary>Segments for no connection and no listener (answered by RST).</summary>
    public long NoPortDropped;
    public long ResetsSent;
    public long ResetsReceived;
    public long ChallengeAcksSent;
    public long PawsDropped;
    public long OutOfWindowDropped;
    public long DuplicateSegments;
    public long OutOfOrderSegments;
    /// <summary>SYNs dropped because the listener's backlog was full.</summary>
    public long ListenOverflows;
    public long ActiveOpens;
    public long PassiveOpens;
    public long ConnectionsTimedOut;
    public long ZeroWindowProbes;
    public long KeepAliveProbes;
    /// <summary>Segments not sent because the pool had no free buffer (retried by the timer).</summary>
    public long NoBufferDrops;
}
