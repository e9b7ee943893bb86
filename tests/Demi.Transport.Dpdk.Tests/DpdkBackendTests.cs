using System.Text;
using Demi.Inet;
using Demi.Tests.Shared;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>The libOS over DPDK (net_af_packet on a veth) against the Linux kernel in the peer namespace, no static ARP entries.</summary>
[Collection(DpdkCollection.Name)]
public sealed class DpdkBackendTests
{
    private static readonly TimeSpan Timeout = DpdkOverVeth.Timeout;

    [Fact]
    public void Port_is_set_up_from_the_device_capabilities()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var backend = DpdkBackend.Create(DpdkOverVeth.Options(veth, VethSide.A), new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA) });
        var port = backend.Port;
        Assert.Equal("net_af_packet", port.Driver);
        // af_packet takes the interface's MAC and MTU.
        Assert.Equal(veth.MacA, port.MacAddress);
        Assert.Equal(1500, port.Mtu);
        // It offers no checksum offload: nothing requested survives the mask, and the stack computes checksums.
        Assert.False(port.TxChecksumOffload);
        Assert.Equal(0UL, port.TxOffloads & 0xe);
        Assert.Equal(Demi.Inet.Nic.NicOffloads.None, backend.Queues[0].Offloads);
        // SgaAlloc's pool is the mbufs' data rooms: half of it lent to the mempool for RX.
        Assert.Same(backend.Mbufs.Pool, backend.BufferPool);
        Assert.Equal(8192 / 2, backend.Mbufs.Lent);
        Assert.Equal(8192 / 2, backend.Mbufs.Pool.Available);
    }

    [Fact]
    public void Mtu_is_set_and_verified()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var options = DpdkOverVeth.Options(veth, VethSide.A);
        using var backend = DpdkBackend.Create(new DpdkOptions { Vdev = options.Vdev, NetworkNamespace = options.NetworkNamespace, Mtu = 1400 },
            new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA) });
        Assert.Equal(1400, backend.Port.Mtu);
        Assert.Equal(1400, backend.Queues[0].Mtu);
        // net_af_packet applies the MTU to the interface itself (in its namespace).
        Assert.Contains("mtu 1400", veth.Run(VethSide.A, "ip", "link", "show", veth.InterfaceA).StandardOutput);
    }

    [Fact]
    public void Kernel_ping_gets_replies_from_demi_after_arp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out _);
        var ping = KernelPeerScenarios.KernelPingsDemiAfterArp(veth);
        Assert.DoesNotContain("DUP", ping.StandardOutput);
    }

    [Fact]
    public void Kernel_udp_client_is_echoed_by_a_demi_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out var backend);
        var echo = KernelPeerScenarios.StartDemiUdpEcho(libOS);
        const int N = 200;
        KernelPeerScenarios.KernelUdpClientIsEchoed(veth, echo, N);
        // Echoed from the received mbuf itself: no frame was copied either way.
        var stats = backend.Queues[0].GetStatistics();
        Assert.Equal(0, stats.RxCopied);
        Assert.Equal(0, stats.TxCopied);
        Assert.True(stats.TxFrames >= N, $"tx {stats.TxFrames}");
        echo.Stop(Timeout);
    }

    [Fact]
    public void Demi_udp_client_gets_replies_from_a_kernel_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        const int N = 200;
        var peer = KernelPeerScenarios.StartKernelUdpEchoServer(veth, N);
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out var backend);
        int qd = KernelPeerScenarios.BindUdp(libOS, 0);
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        for (int i = 0; i < N; i++)
        {
            string text = $"demi-datagram-{i}";
            var sga = libOS.SgaAlloc(text.Length);
            // SgaAlloc's segment is an mbuf data room, after the headroom the push writes headers into.
            Assert.True(backend.BufferPool!.Contains(sga.Segment.Buffer));
            var pool = backend.BufferPool!;
            Assert.Equal(DpdkOptions.Headroom, sga.Segment.Buffer - pool.BaseAddress - pool.OffsetOf(pool.IndexOf(sga.Segment.Buffer)));
            Encoding.ASCII.GetBytes(text, sga.Span);
            Assert.Equal(0, libOS.Pop(out var popQt, qd));
            Assert.Equal(0, libOS.PushTo(out var pushQt, qd, sga, echo));
            // Freed while the push may still be in flight: the queue's reference keeps the mbuf alive.
            Assert.Equal(0, libOS.SgaFree(sga));
            DemiOverVeth.WaitOk(libOS, pushQt, Timeout);
            var reply = DemiOverVeth.WaitOk(libOS, popQt, Timeout);
            Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
            Assert.Equal(echo, reply.Sga.Address.Endpoint);
            // The popped sga is the received mbuf's buffer, in place.
            Assert.True(backend.BufferPool!.Contains(reply.Sga.Segment.Buffer));
            Assert.Equal(0, libOS.SgaFree(reply.Sga));
        }
        // ARP both ways: the kernel learned Demi's MAC; Demi resolved the kernel's.
        KernelPeerScenarios.AssertKernelUdpEchoServerDone(veth, peer, N);
        var stack = InetBackend.StackOf(libOS.Shards[0])!;
        Assert.True(stack.Counters.ArpRequestsSent >= 1, stack.Counters.ToString());
        Assert.Equal(0, backend.Queues[0].GetStatistics().TxCopied);
        Assert.Equal(0, libOS.Close(qd));
    }

    [Fact]
    public void Malformed_burst_from_the_peer_is_dropped_and_counted_while_echo_keeps_working()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out _);
        KernelPeerScenarios.MalformedBurstIsDroppedAndCountedWhileEchoKeepsWorking(veth, libOS, Timeout);
    }
}

/// <summary>The other kernel-attached PMD: net_af_xdp on the veth (its RX pool is its own; frames are copied into Demi's buffers).</summary>
[Collection(DpdkCollection.Name)]
public sealed class AfXdpPmdTests
{
    private static int s_device;

    [Fact]
    public void Kernel_peer_pings_and_is_echoed_over_net_af_xdp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var backend = DpdkBackend.Create(
            new DpdkOptions { Vdev = $"net_af_xdp{Interlocked.Increment(ref s_device)},iface={veth.InterfaceA}", NetworkNamespace = veth.NamespaceA },
            new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 });
        using var libOS = new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1 });
        Assert.Equal("net_af_xdp", backend.Port.Driver);
        var ping = veth.Run(VethSide.B, TimeSpan.FromSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "2", veth.AddressA);
        Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError + backend.Queues[0].GetStatistics()
            + InetBackend.StackOf(libOS.Shards[0])!.Counters);
        var echo = KernelPeerScenarios.StartDemiUdpEcho(libOS);
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", "50", "2");
        Assert.Equal("ok 50", client.StandardOutput.Trim());
        Assert.True(backend.Queues[0].GetStatistics().RxCopied >= 50);
        echo.Stop(DpdkOverVeth.Timeout);
    }
}
