using System.Diagnostics;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp.Tests;

public sealed class VethNamespacesTests
{
    [Fact]
    public void Creates_pair_reachable_only_between_namespaces_and_removes_it()
    {
        Privileges.RequireRoot();
        string nsA, nsB;
        using (var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnA = true, QueueCount = 2 }))
        {
            nsA = veth.NamespaceA;
            nsB = veth.NamespaceB;
            Assert.True(File.Exists("/run/netns/" + nsA));
            Assert.True(File.Exists("/run/netns/" + nsB));
            // The veth was created inside the namespaces: the root namespace never sees it.
            Assert.Equal(0u, LibC.if_nametoindex(veth.InterfaceA));
            Assert.NotEqual(veth.MacA, veth.MacB);
            // Kernel-to-kernel ping between the namespaces (both ends are inside namespaces).
            var ping = veth.Run(VethSide.B, TimeSpan.FromSeconds(10), "ping", "-c", "2", "-i", "0.2", "-W", "2", veth.AddressA);
            Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
            var q = veth.Run(VethSide.A, "ethtool", "-l", veth.InterfaceA);
            Assert.Contains("2", q.StandardOutput);
            var offload = veth.Run(VethSide.B, "ethtool", "-k", veth.InterfaceB);
            Assert.Contains("tx-checksumming: off", offload.StandardOutput);
        }
        Assert.False(File.Exists("/run/netns/" + nsA));
        Assert.False(File.Exists("/run/netns/" + nsB));
    }

    [Fact]
    public void Enter_moves_only_the_calling_thread_and_comes_back()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        string before = new FileInfo("/proc/thread-self/ns/net").LinkTarget!;
        // A thread started earlier; (threads started while inside inherit the namespace, as clone() does).
        string? other = null;
        using var go = new ManualResetEventSlim();
        var t = new Thread(() => { go.Wait(); other = new FileInfo("/proc/thread-self/ns/net").LinkTarget; });
        t.Start();
        using (veth.Enter(VethSide.A))
        {
            Assert.NotEqual(before, new FileInfo("/proc/thread-self/ns/net").LinkTarget);
            Assert.NotEqual(0u, LibC.if_nametoindex(veth.InterfaceA));
            Assert.Equal(0u, LibC.if_nametoindex(veth.InterfaceB));
            // Another thread stays in the original namespace.
            go.Set();
            t.Join();
            Assert.Equal(before, other);
        }
        Assert.Equal(before, new FileInfo("/proc/thread-self/ns/net").LinkTarget);
    }

    [Fact]
    public void Dispose_cleans_up_even_when_the_test_body_throws()
    {
        Privileges.RequireRoot();
        string? nsA = null;
        void Body()
        {
            using var veth = VethNamespaces.Create();
            nsA = veth.NamespaceA;
            throw new InvalidOperationException("test failure");
        }
        Assert.Throws<InvalidOperationException>(Body);
        Assert.NotNull(nsA);
        Assert.False(File.Exists("/run/netns/" + nsA));
    }

    [Fact]
    public void CleanStale_removes_namespaces_of_dead_processes_only()
    {
        Privileges.RequireRoot();
        // A pid that certainly belonged to a process that has exited.
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        int deadPid = dead.Id;
        Assert.False(Directory.Exists($"/proc/{deadPid}"));
        string stale = $"demi-{deadPid}-1-a";
        string mine = $"demi-{Environment.ProcessId}-999999-a";
        try
        {
            Command.Run("ip", ["netns", "add", stale], TimeSpan.FromSeconds(10)).EnsureSuccess("ip netns add");
            Command.Run("ip", ["netns", "add", mine], TimeSpan.FromSeconds(10)).EnsureSuccess("ip netns add");
            int removed = VethNamespaces.CleanStale();
            Assert.True(removed >= 1);
            Assert.False(File.Exists("/run/netns/" + stale));
            Assert.True(File.Exists("/run/netns/" + mine));
        }
        finally
        {
            Command.Run("ip", ["netns", "del", stale], TimeSpan.FromSeconds(10));
            Command.Run("ip", ["netns", "del", mine], TimeSpan.FromSeconds(10));
        }
    }
}
