using System.Diagnostics;
using Demi.Tests.Shared;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Cli.Tests;

/// <summary>
/// The DPDK backend through the CLI, end to end: <c>demi echo server --backend dpdk --vdev net_af_packet0,iface=IF --ip A</c>
/// as a process of its own in namespace A, echoing a kernel UDP client in namespace B.
/// </summary>
public sealed class DpdkEchoServerTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private const int Datagrams = 50;

    [Fact]
    public async Task EchoServer_OnTheDpdkBackend_EchoesAKernelClient()
    {
        Privileges.RequireRoot();
        string demi = Path.Combine(AppContext.BaseDirectory, "demi.dll");
        Assert.True(File.Exists(demi), $"CLI not built next to the tests: {demi}");
        using var veth = VethNamespaces.Create();

        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "netns", "exec", veth.NamespaceA, "dotnet", demi, "echo", "server", "--proto", "udp", "--bind", $"{veth.AddressA}:7",
            "--backend", "dpdk", "--vdev", $"net_af_packet0,iface={veth.InterfaceA}", "--ip", veth.AddressA, "--prefix", "24",
        })
            psi.ArgumentList.Add(arg);

        var (server, banner) = await BannerProcess.StartAsync(psi, "demi echo server", StartTimeout);
        using (server)
        {
            Assert.Contains("dpdk backend", banner);

            var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", Datagrams.ToString(), "2");
            Assert.Equal($"ok {Datagrams}", client.StandardOutput.Trim());
        }
    }
}
