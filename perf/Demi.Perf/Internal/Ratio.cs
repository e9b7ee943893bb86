namespace Demi.Perf.Internal;

/// <summary>A Demi figure relative to the .NET kernel baseline and to the C reference (same scenario).</summary>
internal sealed record Ratio(string Scenario, string Backend, string Metric, double? VsKernel, double? VsCReference);
