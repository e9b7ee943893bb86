namespace Demi.Inet;

/// <summary>Why the stack dropped a frame (or a datagram it could not send). Each has a counter.</summary>
public enum DropReason
{
    /// <summary>Not a drop.</summary>
    None = 0,
    /// <summary>Frame shorter than an Ethernet header.</summary>
    EthernetTruncated,
    /// <summary>Destination MAC is neither ours nor broadcast.</summary>
    EthernetNotForUs,
    /// <summary>EtherType other than IPv4 or ARP (IPv6, VLAN, ...).</summary>
    UnsupportedEtherType,
    /// <summary>ARP packet too short or with unsupported hardware/protocol types or lengths.</summary>
    ArpMalformed,
    /// <summary>ARP packet whose target is not our address (normal on a shared segment).</summary>
    ArpNotForUs,
    /// <summary>ARP operation other than request or reply.</summary>
    ArpUnsupportedOperation,
    /// <summary>Shorter than the IPv4 header it claims.</summary>
    Ipv4Truncated,
    /// <summary>Version field not 4.</summary>
    Ipv4BadVersion,
    /// <summary>IHL below 5 or beyond the packet.</summary>
    Ipv4BadHeaderLength,
    /// <summary>Total length smaller than the header or larger than the frame.</summary>
    Ipv4BadTotalLength,
    /// <summary>Header checksum mismatch.</summary>
    Ipv4BadChecksum,
    /// <summary>Options area malformed (an option length below 2 or running past the header).</summary>
    Ipv4BadOptions,
    /// <summary>TTL of zero.</summary>
    Ipv4TtlExpired,
    /// <summary>Destination neither our address nor broadcast.</summary>
    Ipv4NotForUs,
    /// <summary>A fragment (MF set or non-zero offset): reassembly is not supported.</summary>
    Ipv4Fragment,
    /// <summary>Source address is broadcast, multicast or zero (martian).</summary>
    Ipv4BadSource,
    /// <summary>
    /// Source address that cannot be a neighbour's (RFC 1812 §5.3.7, Linux's martian sources): loopback
    /// (127/8), this stack's own address, or the on-link subnet's network or broadcast address.
    /// </summary>
    Ipv4MartianSource,
    /// <summary>No transport registered for the IP protocol number.</summary>
    Ipv4NoProtocolHandler,
    /// <summary>ICMP message shorter than its header.</summary>
    IcmpTruncated,
    /// <summary>ICMP checksum mismatch.</summary>
    IcmpBadChecksum,
    /// <summary>ICMP type the stack does not answer (only echo requests are).</summary>
    IcmpUnsupported,
    /// <summary>UDP segment shorter than its header.</summary>
    UdpTruncated,
    /// <summary>UDP length field below 8 or beyond the IP payload.</summary>
    UdpBadLength,
    /// <summary>UDP checksum mismatch.</summary>
    UdpBadChecksum,
    /// <summary>No socket bound to the destination port (or the socket is connected to another peer).</summary>
    UdpNoSocket,
    /// <summary>The socket's receive queue was full.</summary>
    UdpReceiveQueueFull,
    /// <summary>
    /// The frame pool ran low and the socket already held datagrams: dropped so that unread queues
    /// cannot starve the NIC of receive buffers (ARP, ICMP and other sockets keep working).
    /// </summary>
    PoolLow,
    /// <summary>The NIC did not take a frame for transmission.</summary>
    TxQueueFull,
    /// <summary>A send could not wait for address resolution: the pending queue was full.</summary>
    ArpPendingQueueFull,
    /// <summary>A send queued behind address resolution failed because the peer never answered.</summary>
    ArpResolutionFailed,
    /// <summary>No buffer could be rented to build a frame (ARP request or reply).</summary>
    NoBuffer,
    /// <summary>An unexpected exception while processing a frame (a bug; the shard keeps going).</summary>
    InternalError,
}
