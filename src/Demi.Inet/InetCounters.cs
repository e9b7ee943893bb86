namespace Demi.Inet;

/// <summary>
/// Counters of one stack. The shard thread is the only writer (plain increments, no atomics on the
/// hot path); readers on other threads may see slightly stale values. Also published through
/// <c>System.Diagnostics.Metrics</c> (meter "Demi.Inet").
/// </summary>
public sealed class InetCounters
{
    internal static readonly DropReason[] Reasons = Enum.GetValues<DropReason>();

    internal readonly long[] DropCounts = new long[Reasons.Length];
    internal long RxFramesCount;
    internal long TxFramesCount;
    internal long RxBytesCount;
    internal long TxBytesCount;
    internal long ArpRequestsSentCount;
    internal long ArpRepliesSentCount;
    internal long IcmpEchoRepliesSentCount;
    internal long IcmpErrorsSentCount;
    internal long IcmpErrorsReceivedCount;
    internal long UdpDatagramsReceivedCount;
    internal long UdpDatagramsSentCount;
    internal long IpPacketsDeliveredCount;
    internal long ArpResolutionsEvictedCount;

    /// <summary>Frames dropped for <paramref name="reason"/>.</summary>
    public long this[DropReason reason] => Volatile.Read(ref DropCounts[(int)reason]);

    /// <summary>All drops.</summary>
    public long TotalDrops
    {
        get
        {
            long total = 0;
            for (int i = 1; i < DropCounts.Length; i++)
                total += Volatile.Read(ref DropCounts[i]);
            return total;
        }
    }

    /// <summary>Frames received from the NIC.</summary>
    public long RxFrames => Volatile.Read(ref RxFramesCount);

    /// <summary>Frames handed to the NIC.</summary>
    public long TxFrames => Volatile.Read(ref TxFramesCount);

    /// <summary>Bytes of the frames received (Ethernet header included).</summary>
    public long RxBytes => Volatile.Read(ref RxBytesCount);

    /// <summary>Bytes of the frames handed to the NIC.</summary>
    public long TxBytes => Volatile.Read(ref TxBytesCount);

    /// <summary>ARP requests sent (first tries and retries).</summary>
    public long ArpRequestsSent => Volatile.Read(ref ArpRequestsSentCount);

    /// <summary>ARP replies sent.</summary>
    public long ArpRepliesSent => Volatile.Read(ref ArpRepliesSentCount);

    /// <summary>ICMP echo replies sent.</summary>
    public long IcmpEchoRepliesSent => Volatile.Read(ref IcmpEchoRepliesSentCount);

    /// <summary>ICMP errors sent (port unreachable).</summary>
    public long IcmpErrorsSent => Volatile.Read(ref IcmpErrorsSentCount);

    /// <summary>ICMP errors received and reported to a connected UDP socket.</summary>
    public long IcmpErrorsReceived => Volatile.Read(ref IcmpErrorsReceivedCount);

    /// <summary>UDP datagrams queued on a socket.</summary>
    public long UdpDatagramsReceived => Volatile.Read(ref UdpDatagramsReceivedCount);

    /// <summary>UDP datagrams sent or queued behind address resolution.</summary>
    public long UdpDatagramsSent => Volatile.Read(ref UdpDatagramsSentCount);

    /// <summary>IPv4 packets handed to a transport (ICMP, UDP, TCP).</summary>
    public long IpPacketsDelivered => Volatile.Read(ref IpPacketsDeliveredCount);

    /// <summary>Unanswered ARP resolutions given up early to make room for a new neighbour (their sends fail with EHOSTUNREACH).</summary>
    public long ArpResolutionsEvicted => Volatile.Read(ref ArpResolutionsEvictedCount);

    internal void Drop(DropReason reason) => DropCounts[(int)reason]++;

    /// <summary>A one-line summary of the non-zero drop counters (diagnostics).</summary>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append($"rx={RxFrames} tx={TxFrames}");
        for (int i = 1; i < DropCounts.Length; i++)
            if (DropCounts[i] != 0)
                sb.Append($" {Reasons[i]}={DropCounts[i]}");
        return sb.ToString();
    }
}
