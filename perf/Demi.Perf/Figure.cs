namespace Demi.Perf;

/// <summary>One measured figure: a scenario on a backend.</summary>
public sealed record Figure
{
    /// <summary>Scenario id, e.g. <c>udp-64-tput</c>.</summary>
    public required string Scenario { get; init; }

    /// <summary>Backend id, e.g. <c>dotnet-kernel</c>.</summary>
    public required string Backend { get; init; }

    /// <summary>Main value (messages/s, transactions/s or Gbit/s).</summary>
    public double Value { get; init; }

    /// <summary>Unit of <see cref="Value"/>.</summary>
    public required string Unit { get; init; }

    /// <summary>Round-trip time percentiles in microseconds (latency and request/response scenarios).</summary>
    public double? P50Us { get; init; }

    /// <summary>99th percentile RTT, microseconds.</summary>
    public double? P99Us { get; init; }

    /// <summary>99.9th percentile RTT, microseconds.</summary>
    public double? P999Us { get; init; }

    /// <summary>Which side limited the figure: "server", "generator", "both", "closed loop", or why it is unknown.</summary>
    public string Limit { get; init; } = "";

    /// <summary>Busy fraction of the server core during the phase (0..1).</summary>
    public double ServerCpu { get; init; }

    /// <summary>Busy fraction of the load-generator core during the phase (0..1).</summary>
    public double LoadCpu { get; init; }

    /// <summary>Free-form detail: sent/received counts, losses, drops.</summary>
    public string Notes { get; set; } = "";

    /// <summary>Set when the phase failed; the other fields are then empty.</summary>
    public string? Error { get; init; }
}
