using Demi.Hosting;
using Orleans.Runtime;

namespace Demi.Orleans;

/// <summary>Starts the silo's libOS at <see cref="ServiceLifecycleStage.RuntimeServices"/> and drains and disposes it when the silo stops.</summary>
internal sealed class DemiSiloLifecycle(DemiRuntime runtime, DemiMetrics metrics) : ILifecycleParticipant<ISiloLifecycle>
{
    public DemiMetrics Metrics { get; } = metrics; // the meter exists from the start

    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe(nameof(DemiSiloLifecycle), ServiceLifecycleStage.RuntimeServices, runtime.StartAsync, runtime.StopAsync);
}
