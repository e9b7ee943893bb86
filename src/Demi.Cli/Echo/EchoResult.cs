using System.Globalization;

namespace Demi.Cli.Echo;

/// <summary>Figures of one echo run.</summary>
internal sealed record EchoResult(
    string Name,
    string Protocol,
    int MessageSize,
    int Concurrency,
    long Messages,
    double Seconds,
    double P50Micros,
    double P99Micros,
    double P999Micros,
    double AllocatedBytesPerMessage)
{
    public double MessagesPerSecond => Seconds > 0 ? Messages / Seconds : 0;

    public static string Header =>
        "| backend | proto | size | lanes | msgs/s | p50 µs | p99 µs | p99.9 µs | alloc B/msg |\n" +
        "|---|---|---:|---:|---:|---:|---:|---:|---:|";

    public string Row => string.Create(CultureInfo.InvariantCulture,
        $"| {Name} | {Protocol} | {MessageSize} | {Concurrency} | {MessagesPerSecond:N0} | {P50Micros:F1} | {P99Micros:F1} | {P999Micros:F1} | {AllocatedBytesPerMessage:F2} |");
}
