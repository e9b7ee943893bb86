using Microsoft.Extensions.Hosting;

namespace Demi.Hosting;

/// <summary>Starts the libOS with the host and drains and disposes it when the host stops.</summary>
/// <remarks>Takes <see cref="DemiMetrics"/> so that the meter exists from the start.</remarks>
internal sealed class DemiHostedService(DemiRuntime runtime, DemiMetrics metrics) : IHostedService
{
    public DemiMetrics Metrics { get; } = metrics;

    public Task StartAsync(CancellationToken cancellationToken) => runtime.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync(cancellationToken);
}
