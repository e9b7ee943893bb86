using System.Diagnostics.Metrics;
using Demi.Inet.Tcp;

namespace Demi.Hosting;

/// <summary>
/// The "Demi" meter (<c>dotnet-counters monitor --counters Demi</c>, OpenTelemetry <c>AddMeter("Demi")</c>).
/// Every instrument is observable: its callback reads counters the libOS and the stack keep anyway, when
/// a listener collects, so nothing is added to the per-packet path. Before the host starts and after
/// it stops the instruments report nothing.
/// </summary>
public sealed class DemiMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Demi";

    private static readonly TcpState[] States = Enum.GetValues<TcpState>();
    private readonly DemiRuntime _runtime;
    private readonly Meter _meter;

    /// <summary>Creates the meter through the host's <see cref="IMeterFactory"/>.</summary>
    public DemiMetrics(IMeterFactory meterFactory, DemiRuntime runtime)
    {
        _runtime = runtime;
        _meter = meterFactory.Create(new MeterOptions(MeterName));
        _meter.CreateObservableCounter("demi.rx.frames", () => PerShard(static s => s.Counters.RxFrames), "{frame}", "Frames received from the NIC");
        _meter.CreateObservableCounter("demi.tx.frames", () => PerShard(static s => s.Counters.TxFrames), "{frame}", "Frames handed to the NIC");
        _meter.CreateObservableCounter("demi.rx.bytes", () => PerShard(static s => s.Counters.RxBytes), "By", "Bytes of the frames received");
        _meter.CreateObservableCounter("demi.tx.bytes", () => PerShard(static s => s.Counters.TxBytes), "By", "Bytes of the frames sent");
        _meter.CreateObservableCounter("demi.drops", Drops, "{frame}", "Frames dropped, by reason (stack and driver)");
        _meter.CreateObservableCounter("demi.steered.frames", Steered, "{frame}", "Frames received on one shard's queue and handed to the shard owning their flow");
        _meter.CreateObservableCounter("demi.tcp.retransmissions", Retransmissions, "{segment}", "TCP segments retransmitted");
        _meter.CreateObservableUpDownCounter("demi.tcp.connections", Connections, "{connection}", "TCP connections of the stack, by state");
        _meter.CreateObservableGauge("demi.buffers.free", () => Gauge(static l => l.Buffers.Pool.Available), "{buffer}", "Free buffers in the pool");
        _meter.CreateObservableGauge("demi.tokens.in_use", () => Gauge(static l => l.TokensInUse), "{token}", "Queue tokens in use (operations in flight or not yet redeemed)");
        _meter.CreateObservableGauge("demi.descriptors.open", () => Gauge(static l => l.OpenDescriptors), "{descriptor}", "Open queue descriptors");
        _meter.CreateObservableGauge("demi.mailbox.depth", MailboxDepth, "{message}", "Messages waiting in each shard's mailbox");
    }

    /// <summary>The meter (for tests and exporters).</summary>
    public Meter Meter => _meter;

    private Measurement<long>[] PerShard(Func<Demi.Inet.InetStack, long> read)
    {
        if (_runtime.LibOSIfRunning is not { } libOS)
            return [];
        return DemiStatistics.Stacks(libOS).Select(s => new Measurement<long>(read(s.Stack), Shard(s.Shard.Id))).ToArray();
    }

    private Measurement<long>[] Drops()
    {
        if (_runtime.LibOSIfRunning is not { } libOS || _runtime.Provider is not { } provider)
            return [];
        return DemiStatistics.Drops(libOS, provider).Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>("reason", d.Key))).ToArray();
    }

    private Measurement<long>[] Steered()
    {
        if (_runtime.LibOSIfRunning is not { } libOS || _runtime.Provider is not { } provider)
            return [];
        return [new Measurement<long>(provider.SteeredFrames(libOS.Backend))];
    }

    private Measurement<long>[] Retransmissions()
    {
        if (_runtime.LibOSIfRunning is not { } libOS)
            return [];
        return libOS.Shards.Select(s => (s, Tcp: DemiStatistics.TcpOf(s))).Where(t => t.Tcp is not null)
            .Select(t => new Measurement<long>(Volatile.Read(ref t.Tcp!.Statistics.Retransmissions), Shard(t.s.Id))).ToArray();
    }

    private Measurement<int>[] Connections()
    {
        if (_runtime.LibOSIfRunning is not { } libOS || !libOS.Shards.Any(s => DemiStatistics.TcpOf(s) is not null))
            return [];
        var counts = DemiStatistics.ConnectionsByState(libOS);
        return States.Where(s => s != TcpState.Closed)
            .Select(s => new Measurement<int>(counts[(int)s], new KeyValuePair<string, object?>("state", DemiStatistics.StateName(s)))).ToArray();
    }

    private Measurement<int>[] MailboxDepth()
    {
        if (_runtime.LibOSIfRunning is not { } libOS)
            return [];
        return libOS.Shards.Select(s => new Measurement<int>(s.MailboxDepth, Shard(s.Id))).ToArray();
    }

    private Measurement<int>[] Gauge(Func<LibOS, int> read)
        => _runtime.LibOSIfRunning is { } libOS ? [new Measurement<int>(read(libOS))] : [];

    private static KeyValuePair<string, object?> Shard(int id) => new("shard", id);

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
