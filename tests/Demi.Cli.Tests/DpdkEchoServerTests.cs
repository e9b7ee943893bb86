using System.Diagnostics;
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

        // Output is read asynchronously: a synchronous ReadLine on a server that never prints hangs the test.
        var banner = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var server = new Process { StartInfo = psi, EnableRaisingEvents = true };
        server.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            output.Enqueue(e.Data);
            if (e.Data.StartsWith("demi echo server", StringComparison.Ordinal))
                banner.TrySetResult(e.Data);
        };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        server.Exited += (_, _) => banner.TrySetException(new InvalidOperationException("the server exited"));
        Assert.True(server.Start());
        try
        {
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            var settled = await Task.WhenAny(banner.Task, Task.Delay(StartTimeout));
            Assert.True(settled == banner.Task, $"no banner within {StartTimeout}: {string.Join('\n', output)}");
            Assert.False(banner.Task.IsFaulted, $"the server exited ({(server.HasExited ? server.ExitCode : -1)}): {string.Join('\n', output)}");
            Assert.Contains("dpdk backend", await banner.Task);

            var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", Datagrams.ToString(), "2");
            Assert.Equal($"ok {Datagrams}", client.StandardOutput.Trim());
        }
        finally
        {
            if (!server.HasExited)
                server.Kill(entireProcessTree: true);
            Assert.True(server.WaitForExit(10_000), "the server survived a kill");
        }
    }
}
