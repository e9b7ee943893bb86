using System.Diagnostics.Metrics;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// Publishes a <see cref="TcpStatistics"/> on the stack's "Demi.Inet" meter: TCP-level drops by reason
/// (<c>demi.inet.tcp.drops</c>) and the traffic and event counters. Observable instruments read the
/// counters only when a listener collects, so the per-segment path pays nothing.
/// </summary>
internal static class TcpMetrics
{
    /// <summary>The drop reasons, as tag values of <c>demi.inet.tcp.drops</c>, and where each is counted.</summary>
    private static readonly (string Reason, Func<TcpStatistics, long> Read)[] Drops =
    [
        ("Truncated", s => s.TruncatedDropped),
        ("BadDataOffset", s => s.BadDataOffsetDropped),
        ("BadOptions", s => s.BadOptionsDropped),
        ("BadAddress", s => s.BadAddressDropped),
        ("BadChecksum", s => s.ChecksumErrors),
        ("NoPort", s => s.NoPortDropped),
        ("Paws", s => s.PawsDropped),
        ("OutOfWindow", s => s.OutOfWindowDropped),
        ("ListenOverflow", s => s.ListenOverflows),
        ("HalfOpenDropped", s => s.HalfOpenDropped),
        ("PersistTimeout", s => s.PersistTimeouts),
        ("NoBuffer", s => s.NoBufferDrops),
        ("PushRefused", s => s.PushesRefused),
    ];

    public static void Publish(TcpStatistics statistics, Meter meter, KeyValuePair<string, object?> stackTag)
    {
        meter.CreateObservableCounter("demi.inet.tcp.drops", () => ReadDrops(statistics, stackTag), "{segment}", "TCP segments dropped (or not sent, NoBuffer), by reason");
        Counter(meter, "demi.inet.tcp.segments.received", statistics, s => s.SegmentsReceived, stackTag, "{segment}", "TCP segments received");
        Counter(meter, "demi.inet.tcp.segments.sent", statistics, s => s.SegmentsSent, stackTag, "{segment}", "TCP segments sent");
        Counter(meter, "demi.inet.tcp.bytes.received", statistics, s => s.BytesReceived, stackTag, "By", "TCP payload bytes received in order");
        Counter(meter, "demi.inet.tcp.bytes.sent", statistics, s => s.BytesSent, stackTag, "By", "TCP payload bytes sent");
        Counter(meter, "demi.inet.tcp.retransmissions", statistics, s => s.Retransmissions, stackTag, "{segment}", "TCP segments sent again");
        Counter(meter, "demi.inet.tcp.resets.sent", statistics, s => s.ResetsSent, stackTag, "{segment}", "TCP resets sent");
        Counter(meter, "demi.inet.tcp.resets.received", statistics, s => s.ResetsReceived, stackTag, "{segment}", "TCP resets received");
        Counter(meter, "demi.inet.tcp.opens.active", statistics, s => s.ActiveOpens, stackTag, "{connection}", "TCP connections opened (connect)");
        Counter(meter, "demi.inet.tcp.opens.passive", statistics, s => s.PassiveOpens, stackTag, "{connection}", "TCP connections accepted");
        Counter(meter, "demi.inet.tcp.timeouts", statistics, s => s.ConnectionsTimedOut, stackTag, "{connection}", "TCP connections that timed out");
    }

    // Plain fields written by the shard thread: a collector may read a slightly stale value.
    private static void Counter(Meter meter, string name, TcpStatistics statistics, Func<TcpStatistics, long> read,
        KeyValuePair<string, object?> stackTag, string unit, string description)
        => meter.CreateObservableCounter(name, () => new Measurement<long>(read(statistics), stackTag), unit, description);

    private static IEnumerable<Measurement<long>> ReadDrops(TcpStatistics statistics, KeyValuePair<string, object?> stackTag)
    {
        var result = new List<Measurement<long>>(Drops.Length);
        foreach (var (reason, read) in Drops)
            result.Add(new Measurement<long>(read(statistics), stackTag, new KeyValuePair<string, object?>("reason", reason)));
        return result;
    }
}
