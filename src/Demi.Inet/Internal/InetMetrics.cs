using System.Diagnostics.Metrics;

namespace Demi.Inet.Internal;

/// <summary>
/// Publishes a stack's <see cref="InetCounters"/> as observable instruments on a meter named "Demi.Inet".
/// Observable instruments read the counters only when a listener collects, so the hot path pays nothing.
/// </summary>
internal sealed class InetMetrics : IDisposable
{
    public const string MeterName = "Demi.Inet";

    private readonly Meter _meter;

    public InetMetrics(InetCounters counters, string local, Demi.Buffers.BufferPool pool)
    {
        _meter = new Meter(MeterName);
        var stackTag = new KeyValuePair<string, object?>("demi.inet.local", local);
        StackTag = stackTag;
        _meter.CreateObservableCounter("demi.inet.drops", () => Drops(counters, stackTag), "{frame}", "Frames dropped, by reason");
        // The frame pool: exhaustion (a rent that found nothing) is what wedges a NIC that cannot receive.
        _meter.CreateObservableUpDownCounter("demi.inet.pool.available", () => new Measurement<long>(pool.Available, stackTag), "{frame}", "Free frames in the NIC queue's pool");
        _meter.CreateObservableUpDownCounter("demi.inet.pool.size", () => new Measurement<long>(pool.Count, stackTag), "{frame}", "Frames in the NIC queue's pool");
        _meter.CreateObservableCounter("demi.inet.pool.exhaustions", () => new Measurement<long>(pool.Exhaustions, stackTag), "{rent}", "Rents that found the pool empty");
        _meter.CreateObservableCounter("demi.inet.rx.frames", () => new Measurement<long>(counters.RxFrames, stackTag), "{frame}", "Frames received");
        _meter.CreateObservableCounter("demi.inet.tx.frames", () => new Measurement<long>(counters.TxFrames, stackTag), "{frame}", "Frames sent");
        _meter.CreateObservableCounter("demi.inet.arp.requests", () => new Measurement<long>(counters.ArpRequestsSent, stackTag), "{packet}", "ARP requests sent");
        _meter.CreateObservableCounter("demi.inet.arp.evictions", () => new Measurement<long>(counters.ArpResolutionsEvicted, stackTag), "{resolution}", "Unanswered ARP resolutions given up early for a new neighbour");
        _meter.CreateObservableCounter("demi.inet.arp.replies", () => new Measurement<long>(counters.ArpRepliesSent, stackTag), "{packet}", "ARP replies sent");
        _meter.CreateObservableCounter("demi.inet.icmp.echo_replies", () => new Measurement<long>(counters.IcmpEchoRepliesSent, stackTag), "{packet}", "ICMP echo replies sent");
        _meter.CreateObservableCounter("demi.inet.icmp.errors", () => new Measurement<long>(counters.IcmpErrorsSent, stackTag), "{packet}", "ICMP errors sent");
        _meter.CreateObservableCounter("demi.inet.udp.received", () => new Measurement<long>(counters.UdpDatagramsReceived, stackTag), "{datagram}", "UDP datagrams delivered to sockets");
        _meter.CreateObservableCounter("demi.inet.udp.sent", () => new Measurement<long>(counters.UdpDatagramsSent, stackTag), "{datagram}", "UDP datagrams sent");
    }

    /// <summary>The meter, for transports that publish their own instruments beside the stack's.</summary>
    public Meter Meter => _meter;

    /// <summary>The tag naming this stack (its address) on every measurement.</summary>
    public KeyValuePair<string, object?> StackTag { get; }

    private static IEnumerable<Measurement<long>> Drops(InetCounters counters, KeyValuePair<string, object?> stackTag)
    {
        var reasons = InetCounters.Reasons;
        var result = new List<Measurement<long>>(reasons.Length);
        for (int i = 1; i < reasons.Length; i++)
            result.Add(new Measurement<long>(counters[reasons[i]], stackTag, new KeyValuePair<string, object?>("reason", reasons[i].ToString())));
        return result;
    }

    public void Dispose() => _meter.Dispose();
}
