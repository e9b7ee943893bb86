using HdrHistogram;

namespace Demi.Cli.Echo;

/// <summary>RTTs in nanoseconds (HdrHistogram: recording allocates nothing).</summary>
internal sealed class LatencyRecorder
{
    private readonly LongHistogram _histogram = new(TimeSpan.FromSeconds(10).Ticks * 100, 3);

    public long Count => _histogram.TotalCount;

    public void Record(long nanoseconds) => _histogram.RecordValue(Math.Max(1, nanoseconds));

    public void Add(LatencyRecorder other) => _histogram.Add(other._histogram);

    public double PercentileMicros(double percentile) => _histogram.TotalCount == 0 ? 0 : _histogram.GetValueAtPercentile(percentile) / 1000.0;
}
