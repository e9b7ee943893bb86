using System.Text;
using Demi.Inet;
using Demi.Tests.Shared;

namespace Demi.Transport.Xdp.Tests;

/// <summary>The libOS over AF_XDP on a veth, against the Linux kernel in the peer namespace (no static ARP entries).</summary>
public sealed class XdpBackendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static LibOS CreateLibOS(VethNamespaces veth, out XdpBackend backend)
    {
        backend = XdpBackend.Create(
            new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA },
            new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 });
        return new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1 });
    }

    [Fact]
    public void Kernel_ping_gets_replies_from_demi_after_arp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = CreateLibOS(veth, out _);
        KernelPeerScenarios.KernelPingsDemiAfterArp(veth);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the kernel's datagrams carry CHECKSUM_PARTIAL checksums, completed by the queue
    public void Kernel_udp_client_is_echoed_by_a_demi_server(bool peerTxChecksumOff)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { PeerTxChecksumOff = peerTxChecksumOff });
        using var libOS = CreateLibOS(veth, out var backend);
        // Echoed from the received frame itself: zero-copy both ways.
        var echo = KernelPeerScenarios.StartDemiUdpEcho(libOS);
        const int N = 200;
        KernelPeerScenarios.KernelUdpClientIsEchoed(veth, echo, N);
        if (!peerTxChecksumOff)
            Assert.True(backend.Queues[0].GetStatistics().RxPartialChecksumsCompleted >= N);
        echo.Stop(Timeout);
    }

    [Fact]
    public void Demi_udp_client_gets_replies_from_a_kernel_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        const int N = 200;
        var peer = KernelPeerScenarios.StartKernelUdpEchoServer(veth, N);
        using var libOS = CreateLibOS(veth, out var backend);
        int qd = KernelPeerScenarios.BindUdp(libOS, 0);
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        for (int i = 0; i < N; i++)
        {
            string text = $"demi-datagram-{i}";
            var sga = libOS.SgaAlloc(text.Length);
            Encoding.ASCII.GetBytes(text, sga.Span);
            Assert.Equal(0, libOS.Pop(out var popQt, qd));
            Assert.Equal(0, libOS.PushTo(out var pushQt, qd, sga, echo));
            DemiOverVeth.WaitOk(libOS, pushQt, Timeout);
            var reply = DemiOverVeth.WaitOk(libOS, popQt, Timeout);
            Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
            Assert.Equal(echo, reply.Sga.Address.Endpoint);
            Assert.Equal(0, libOS.SgaFree(reply.Sga));
            Assert.Equal(0, libOS.SgaFree(sga));
        }
        // Demi resolved the kernel's MAC by ARP; the kernel learned Demi's.
        KernelPeerScenarios.AssertKernelUdpEchoServerDone(veth, peer, N);
        Assert.Equal(0, libOS.Close(qd));
    }

    [Fact]
    public void Malformed_burst_from_the_peer_is_dropped_and_counted_while_echo_keeps_working()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = CreateLibOS(veth, out _);
        KernelPeerScenarios.MalformedBurstIsDroppedAndCountedWhileEchoKeepsWorking(veth, libOS, Timeout);
    }
}
