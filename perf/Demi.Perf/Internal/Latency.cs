using HdrHistogram;

namespace Demi.Perf.Internal;

/// <summary>RTT percentiles from a file of uint64 nanosecond samples written by a C load generator.</summary>
internal static class Latency
{
    public static (double P50, double P99, double P999, long Count) FromSamplesFile(string path)
    {
        // 1 ns .. 10 s at 3 significant digits: 0.1 % precision is finer than the machine's jitter.
        var h = new LongHistogram(10_000_000_000L, 3);
        var bytes = File.ReadAllBytes(path);
        var samples = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var s in samples)
            h.RecordValue((long)Math.Clamp(s, 1UL, 10_000_000_000UL));
        if (h.TotalCount == 0)
            return (double.NaN, double.NaN, double.NaN, 0);
        return (h.GetValueAtPercentile(50) / 1000.0, h.GetValueAtPercentile(99) / 1000.0, h.GetValueAtPercentile(99.9) / 1000.0, h.TotalCount);
    }
}
