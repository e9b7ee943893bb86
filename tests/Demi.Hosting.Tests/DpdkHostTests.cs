using Demi.Transport.Xdp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Demi.Hosting.Tests;

/// <summary>
/// The host on the DPDK backend (net_af_packet on a veth inside a namespace the test creates), chosen
/// by configuration alone: it starts, serves UDP to a kernel peer in the other namespace, and stops.
/// The EAL starts once per process, so this is the test project's only DPDK host.
/// </summary>
public sealed class DpdkHostTests
{
    [Fact]
    public async Task DpdkBackend_ChosenByConfiguration_ServesAKernelPeer_AndStops()
    {
        TestHost.RequireRoot();
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "libdemi_dpdk.so")),
            "libdemi_dpdk.so is missing next to the tests: DPDK is not installed (scripts/install-deps.sh installs dpdk and libdpdk-dev)");
        using var veth = VethNamespaces.Create();
        using var host = TestHost.Build(new Dictionary<string, string?>
        {
            ["Backend"] = "dpdk",
            ["Dpdk:Vdev"] = $"net_af_packet0,iface={veth.InterfaceA}",
            ["Dpdk:Namespace"] = veth.NamespaceA,
            ["Dpdk:Address"] = $"{veth.AddressA}/24",
        });
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        Assert.Equal("dpdk", libOS.Backend.Name);

        await TestHost.AssertKernelPeerGetsUdpEchoes(libOS, veth, 7000, 20);

        await host.StopAsync();
        Assert.True(host.Logged("BackendStopped"));
    }
}
