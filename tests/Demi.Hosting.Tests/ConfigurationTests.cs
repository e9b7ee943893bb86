using Demi.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Demi.Hosting.Tests;

/// <summary>Bad configuration fails the host's start with a message naming the key.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("ShardCount", "0", "Demi:ShardCount must be at least 1")]
    [InlineData("Backend", "catnip", "Demi:Backend 'catnip' is not an available backend")]
    [InlineData("Backend", "dpdk", "Demi:Dpdk:Vdev is required")]
    [InlineData("Backend", "xdp", "Demi:Xdp:Interface is required")]
    [InlineData("ShardIdle", "sleepy", "Demi:ShardIdle must be")]
    [InlineData("Cores", "0-9999", "Demi:Cores '0-9999'")]
    [InlineData("DropSummaryInterval", "00:00:00", "Demi:DropSummaryInterval must be positive")]
    public async Task InvalidValue_FailsStart_NamingTheKey(string key, string value, string expected)
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { [key] = value });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(expected, e.Message);
        Assert.False(host.Services.GetRequiredService<DemiRuntime>().IsRunning);
    }

    [Fact]
    public async Task BadXdpAddress_NamesTheNestedKey()
    {
        using var host = TestHost.Build(new Dictionary<string, string?>
        {
            ["Backend"] = "xdp", ["Xdp:Interface"] = "veth0", ["Xdp:Address"] = "10.0.0.300/24",
        });
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Demi:Xdp:Address '10.0.0.300/24'", e.Message);
    }

    [Fact]
    public async Task UnparsableValue_FailsStart_NamingTheKey()
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { ["MaxTokens"] = "lots" });
        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Demi:MaxTokens", e.Message);
    }

    [Fact]
    public async Task UnknownKey_FailsStart_NamingTheKey()
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { ["ShardCuont"] = "2" });
        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("ShardCuont", e.Message);
    }

    [Fact]
    public async Task ConfiguredInCode_AndABackendProvidedFromOutside()
    {
        // The seam another transport (DPDK) uses: a provider registered by name, chosen by configuration.
        var provider = new CountingProvider();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddDemi(o => { o.Backend = "counting"; o.ShardCount = 1; });
        builder.Services.AddDemiBackend(provider);
        using var host = builder.Build();
        await host.StartAsync();
        Assert.Equal(1, provider.Created);
        Assert.Same(provider, host.Services.GetRequiredService<DemiRuntime>().Provider);
        Assert.Equal("kernel", host.Services.GetRequiredService<LibOS>().Backend.Name); // it wraps kernel sockets
        await host.StopAsync();
    }

    private sealed class CountingProvider : IDemiBackendProvider
    {
        public int Created;

        public string Name => "counting";

        public IEnumerable<string> Validate(DemiOptions options, string sectionPath) => [];

        public INetworkBackend Create(DemiOptions options, int shardCount, IServiceProvider services)
        {
            Created++;
            return new Demi.Kernel.KernelBackend();
        }
    }
}
