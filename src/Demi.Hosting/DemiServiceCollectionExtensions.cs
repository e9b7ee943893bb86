using Demi.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Demi with a host: <c>services.AddDemi(configuration.GetSection("Demi"))</c>.</summary>
public static class DemiServiceCollectionExtensions
{
    /// <summary>
    /// Adds the libOS as a singleton started with the host and drained and disposed on stop, its
    /// options bound from <paramref name="section"/> (unknown keys and bad values fail start naming
    /// the key), logging and the "Demi" meter. <see cref="Demi.LibOS"/> and <see cref="DemiRuntime"/>
    /// resolve from the container.
    /// </summary>
    public static IServiceCollection AddDemi(this IServiceCollection services, IConfiguration section, Action<DemiOptions>? configure = null)
    {
        AddDemiServices(services, section, configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DemiHostedService>());
        return services;
    }

    /// <summary>Adds Demi configured in code (see the configuration overload).</summary>
    public static IServiceCollection AddDemi(this IServiceCollection services, Action<DemiOptions> configure)
    {
        AddDemiServices(services, configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DemiHostedService>());
        return services;
    }

    /// <summary>
    /// Adds Demi's services without tying its lifetime to the host's hosted services: for hosts with a
    /// lifecycle of their own (an Orleans silo's <c>UseDemi</c>), which then call
    /// <see cref="DemiRuntime.StartAsync"/> and <see cref="DemiRuntime.StopAsync"/>.
    /// </summary>
    public static IServiceCollection AddDemiServices(this IServiceCollection services, IConfiguration section, Action<DemiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        string path = section is IConfigurationSection s ? s.Path : DemiOptions.SectionName;
        var builder = services.AddOptions<DemiOptions>().Bind(section, binder => binder.ErrorOnUnknownConfiguration = true);
        if (configure is not null)
            builder.Configure(configure);
        return AddCore(services, path);
    }

    /// <summary>Adds Demi's services configured in code, without a hosted service (see the configuration overload).</summary>
    public static IServiceCollection AddDemiServices(this IServiceCollection services, Action<DemiOptions> configure)
    {
        services.AddOptions<DemiOptions>().Configure(configure);
        return AddCore(services, DemiOptions.SectionName);
    }

    /// <summary>
    /// Makes a backend available by <see cref="IDemiBackendProvider.Name"/>; the one registered last
    /// wins for a name. This is the seam for transports the hosting layer does not know (DPDK).
    /// </summary>
    public static IServiceCollection AddDemiBackend(this IServiceCollection services, IDemiBackendProvider provider)
    {
        services.AddSingleton(provider);
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services, string sectionPath)
    {
        services.AddOptions<DemiOptions>().ValidateOnStart();
        services.TryAddSingleton(new DemiSection(sectionPath));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DemiOptions>, DemiOptionsValidator>());
        // Built-in backends first, so that a provider added later for the same name replaces them.
        if (!services.Any(d => d.ServiceType == typeof(DemiRuntime)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IDemiBackendProvider, KernelBackendProvider>());
            services.Insert(1, ServiceDescriptor.Singleton<IDemiBackendProvider, XdpBackendProvider>());
            services.Insert(2, ServiceDescriptor.Singleton<IDemiBackendProvider, DpdkBackendProvider>());
        }
        services.AddMetrics();
        services.TryAddSingleton<DemiRuntime>();
        services.TryAddSingleton<DemiMetrics>();
        services.TryAddSingleton(sp => sp.GetRequiredService<DemiRuntime>().LibOS);
        return services;
    }
}
