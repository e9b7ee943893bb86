using Demi.Async;
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

        using var echo = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Any, 7000));
        using var cts = new CancellationTokenSource(TestHost.Timeout);
        var serving = Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                var (data, from) = await echo.ReceiveFromAsync(cts.Token);
                await echo.SendToAsync(data, from, cts.Token);
                echo.Free(data);
            }
        });
        var client = veth.RunPython(VethSide.B, TestHost.Timeout, EchoClient, veth.AddressA, "7000", "20");
        Assert.True(client.Succeeded, client.StandardError);
        Assert.Equal("ok 20", client.StandardOutput.Trim());
        await serving.WaitAsync(cts.Token);

        await host.StopAsync();
        Assert.True(host.Logged("BackendStopped"));
    }

    // Resends a datagram until its echo comes (ARP resolution may take the first one).
    private const string EchoClient = """
import socket, sys
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
ok = 0
for i in range(n):
    msg = b'dpdk-host-%05d' % i
    for attempt in range(5):
        s.sendto(msg, dst)
        try:
            d, a = s.recvfrom(65535)
            if d == msg:
                ok += 1
                break
        except socket.timeout:
            pass
print('ok', ok, flush=True)
""";
}
