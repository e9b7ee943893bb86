using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>The CLI on DPDK: <c>demi echo server --backend dpdk --vdev net_af_packet0,iface=IF --ip A</c>, a process of its own in the namespace, echoing a kernel client.</summary>
public sealed class CliTests
{
    [Fact]
    public void Demi_echo_server_on_the_dpdk_backend_echoes_a_kernel_client()
    {
        Privileges.RequireRoot();
        string baseDir = AppContext.BaseDirectory.TrimEnd('/');
        string demi = Path.Combine(baseDir, "..", "..", "Demi.Cli", Path.GetFileName(baseDir), "demi.dll");
        Assert.True(File.Exists(demi), $"CLI not built: {demi}");
        using var veth = VethNamespaces.Create();
        var server = veth.Start(VethSide.A, "dotnet", demi, "echo", "server", "--proto", "udp", "--bind", $"{veth.AddressA}:7",
            "--backend", "dpdk", "--vdev", $"net_af_packet0,iface={veth.InterfaceA}", "--ip", veth.AddressA, "--prefix", "24");
        // The banner says the server is up (the EAL's own lines come first).
        string? line;
        do
            line = server.StandardOutput.ReadLine();
        while (line is not null && !line.StartsWith("demi echo server", StringComparison.Ordinal));
        Assert.True(line is not null, "server exited: " + server.StandardError.ReadToEnd());
        Assert.Contains("dpdk backend", line);
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", "50", "2");
        Assert.Equal("ok 50", client.StandardOutput.Trim());
    }
}
