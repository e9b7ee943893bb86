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
    /// <summary>Segments dropped as malformed: the sum of the four reasons below.</summary>
    public long MalformedDropped;
    /// <summary>Segments shorter than the fixed header.</summary>
    public long TruncatedDropped;
    /// <summary>Segments whose data offset is below 5 or beyond the segment.</summary>
    public long BadDataOffsetDropped;
    /// <summary>Segments with a malformed option (runs past the header, length below 2, wrong length for its kind).</summary>
    public long BadOptionsDropped;
    /// <summary>Segments from or to a broadcast, multicast or zero address, or with port 0 (never answered).</summary>
    public long BadAddressDropped;
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
    /// <summary>Half-open connections dropped (oldest first) to admit a new SYN when the half-open slots were full.</summary>
    public long HalfOpenDropped;
    /// <summary>SYNs dropped because the listener's backlog was full.</summary>
    public long ListenOverflows;
    public long ActiveOpens;
    public long PassiveOpens;
    public long ConnectionsTimedOut;
    public long ZeroWindowProbes;
    /// <summary>Connections given up because the peer kept a zero window and answered no probe.</summary>
    public long PersistTimeouts;
    public long KeepAliveProbes;
    /// <summary>Pushes refused with ENOBUFS: the send buffer was full with pushes already waiting, or the pool ran low.</summary>
    public long PushesRefused;
    /// <summary>Segments not sent because the pool had no free buffer (retried by the timer).</summary>
    public long NoBufferDrops;
}
