using System.Security.Cryptography;
using Demi.Inet;
using Demi.Tests.Shared;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;
using Xunit.Abstractions;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// TCP over DPDK against the kernel's TCP (a python3 client, socat), and Demi-over-DPDK against
/// Demi-over-AF_XDP across one veth pair: 10 MB each way, SHA-256 equality, clean close.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class TcpAndInteropTests(ITestOutputHelper output)
{
    private const int Total = 10 * 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Kernel_client_moves_10MB_through_a_demi_dpdk_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out var backend, tcp: true);
        var (parts, lqd) = KernelPeerScenarios.KernelClientMovesThroughDemiEcho(veth, libOS, Total, Timeout);
        output.WriteLine($"kernel client -> demi-dpdk echo, 10 MB each way: {parts[3]} s; queue {backend.Queues[0].GetStatistics()}");
        Assert.Equal(0, libOS.Close(lqd));
    }

    [Fact]
    public void Demi_dpdk_client_moves_10MB_through_a_kernel_socat_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var socat = KernelPeerScenarios.StartSocatEcho(veth, 7001);
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out _, tcp: true);
        int qd = KernelPeerScenarios.ConnectWithRetry(libOS, new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7001), DpdkOverVeth.Timeout);
        var data = new byte[Total];
        new Random(1).NextBytes(data);
        var (hash, bytes, elapsed) = TcpPeers.BulkThroughEcho(libOS, qd, data, 1400, Timeout);
        Assert.Equal(Total, bytes);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal(0, libOS.Close(qd));
        KernelPeerScenarios.AssertSocatClosedCleanly(socat);
        output.WriteLine($"demi-dpdk client -> socat echo, 10 MB each way: {elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public void Demi_dpdk_and_demi_xdp_interoperate_over_udp_and_tcp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnB = false });
        using var xdpOS = DemiOverVeth.Create(veth, VethSide.B, out _, tcp: true);
        using var dpdkOS = DpdkOverVeth.Create(veth, VethSide.A, out var dpdk, tcp: true);

        // UDP: the AF_XDP side echoes, the DPDK side sends (ARP both ways between the two stacks).
        var udpEcho = KernelPeerScenarios.StartDemiUdpEcho(xdpOS);
        int cqd = KernelPeerScenarios.BindUdp(dpdkOS, 0);
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        for (int i = 0; i < 100; i++)
        {
            var sga = dpdkOS.SgaAlloc(32);
            sga.Span.Fill((byte)i);
            Assert.Equal(0, dpdkOS.Pop(out var popQt, cqd));
            Assert.Equal(0, dpdkOS.PushTo(out var pushQt, cqd, sga, echo));
            DemiOverVeth.WaitOk(dpdkOS, pushQt);
            var reply = DemiOverVeth.WaitOk(dpdkOS, popQt);
            Assert.True(reply.Sga.Span.SequenceEqual(sga.Span));
            dpdkOS.SgaFree(reply.Sga);
            dpdkOS.SgaFree(sga);
        }

        // TCP: DPDK listens and echoes, AF_XDP connects and moves 10 MB each way.
        var (elapsed, lqd) = KernelPeerScenarios.DemiClientMovesThroughDemiEcho(dpdkOS, xdpOS,
            new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7002), Total, seed: 2, Timeout);
        output.WriteLine($"demi-xdp client <-> demi-dpdk echo, 10 MB each way: {elapsed.TotalSeconds:F2} s");
        dpdkOS.Close(lqd);
        dpdkOS.Close(cqd);
        udpEcho.Stop(Timeout);
    }
}
