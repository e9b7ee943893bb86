using Demi.Hosting;
using Demi.Orleans;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orleans.Hosting;

/// <summary><c>siloBuilder.UseDemi(...)</c>: one libOS per silo, started and stopped with the silo.</summary>
public static class DemiSiloBuilderExtensions
{
    /// <summary>Runs Demi in this silo, configured from <paramref name="section"/> (as <c>AddDemi</c>).</summary>
    public static ISiloBuilder UseDemi(this ISiloBuilder builder, IConfiguration section, Action<DemiOptions>? configure = null)
    {
        builder.Services.AddDemiServices(section, configure);
        return AddSiloParts(builder);
    }

    /// <summary>Runs Demi in this silo, configured in code.</summary>
    public static ISiloBuilder UseDemi(this ISiloBuilder builder, Action<DemiOptions> configure)
    {
        builder.Services.AddDemiServices(configure);
        return AddSiloParts(builder);
    }

    private static ISiloBuilder AddSiloParts(ISiloBuilder builder)
    {
        // The silo lifecycle, not a hosted service, owns the libOS: it starts before grains can
        // activate and stops after they have deactivated (closing their descriptors), then drains.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILifecycleParticipant<ISiloLifecycle>, DemiSiloLifecycle>());
        builder.Services.TryAddSingleton<DemiGrainSockets>();
        return builder;
    }
}
