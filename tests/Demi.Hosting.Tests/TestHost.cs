using Demi.Transport.Xdp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Demi.Hosting.Tests;

internal static class TestHost
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>A real generic host with <c>AddDemi(configuration.GetSection("Demi"))</c> and a fake log collector.</summary>
    public static IHost Build(IDictionary<string, string?> demi, Action<IServiceCollection>? services = null, TimeSpan? shutdownTimeout = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(demi.Select(kv => new KeyValuePair<string, string?>("Demi:" + kv.Key, kv.Value)));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        builder.Services.AddDemi(builder.Configuration.GetSection("Demi"));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(10));
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    public static IReadOnlyList<FakeLogRecord> Logs(this IHost host) => host.Services.GetFakeLogCollector().GetSnapshot();

    public static bool Logged(this IHost host, string eventName) => host.Logs().Any(r => r.Id.Name == eventName);

    public static void RequireRoot()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces and AF_XDP: " + reason);
    }
}
