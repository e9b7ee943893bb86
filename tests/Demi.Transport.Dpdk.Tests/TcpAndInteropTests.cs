using System.Security.Cryptography;
using Demi.Inet;
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
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, libOS.Listen(lqd, 8));
        var server = TcpPeers.EchoOneConnection(libOS, lqd, Timeout);
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(120), TcpPeers.KernelBulkEchoClient,
            veth.AddressA, "7000", Total.ToString(), "42", "30");
        var parts = TcpPeers.ParseClient(client);
        // The kernel client compares the SHA-256 of what it sent and what came back.
        Assert.Equal(parts[0], parts[1]);
        Assert.Equal(Total.ToString(), parts[2]);
        Assert.True(server.Wait(Timeout), "server did not see the end of stream");
        Assert.Equal(Total, server.Result);
        output.WriteLine($"kernel client -> demi-dpdk echo, 10 MB each way: {parts[3]} s; queue {backend.Queues[0].GetStatistics()}");
        Assert.Equal(0, libOS.Close(lqd));
    }

    [Fact]
    public void Demi_dpdk_client_moves_10MB_through_a_kernel_socat_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        // Blocks of PIPE_BUF: socat's PIPE echo can deadlock on bigger ones under bulk load both ways.
        var socat = veth.Start(VethSide.B, "socat", "-b", "4096", $"TCP4-LISTEN:7001,bind={veth.AddressB},reuseaddr", "PIPE");
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out _, tcp: true);
        int qd = TcpInterop.ConnectWithRetry(libOS, new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7001));
        var data = new byte[Total];
        new Random(1).NextBytes(data);
        var (hash, bytes, elapsed) = TcpPeers.BulkThroughEcho(libOS, qd, data, 1400, Timeout);
        Assert.Equal(Total, bytes);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal(0, libOS.Close(qd));
        // socat exits 0 only once both directions are closed cleanly (FIN, not RST).
        Assert.True(socat.WaitForExit(20_000), "socat did not exit after the close");
        Assert.True(socat.ExitCode == 0, $"socat exit {socat.ExitCode}: {socat.StandardError.ReadToEnd()}");
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
        Assert.Equal(0, xdpOS.Socket(out int uqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, xdpOS.Bind(uqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var udpEcho = DemiOverVeth.StartUdpEcho(xdpOS, uqd);
        Assert.Equal(0, dpdkOS.Socket(out int cqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, dpdkOS.Bind(cqd, new Ipv4Endpoint(Ipv4Address.Any, 0)));
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        for (int i = 0; i < 100; i++)
        {
            var sga = dpdkOS.SgaAlloc(32);
            sga.Span.Fill((byte)i);
            Assert.Equal(0, dpdkOS.Pop(out var popQt, cqd));
            Assert.Equal(0, dpdkOS.PushTo(out var pushQt, cqd, sga, echo));
            DpdkOverVeth.WaitOk(dpdkOS, pushQt);
            var reply = DpdkOverVeth.WaitOk(dpdkOS, popQt);
            Assert.True(reply.Sga.Span.SequenceEqual(sga.Span));
            dpdkOS.SgaFree(reply.Sga);
            dpdkOS.SgaFree(sga);
        }

        // TCP: DPDK listens and echoes, AF_XDP connects and moves 10 MB each way.
        Assert.Equal(0, dpdkOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, dpdkOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7002)));
        Assert.Equal(0, dpdkOS.Listen(lqd, 8));
        var server = TcpPeers.EchoOneConnection(dpdkOS, lqd, Timeout);
        int qd = TcpInterop.ConnectWithRetry(xdpOS, new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7002));
        var data = new byte[Total];
        new Random(2).NextBytes(data);
        var (hash, _, elapsed) = TcpPeers.BulkThroughEcho(xdpOS, qd, data, 1400, Timeout);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal(0, xdpOS.Close(qd));
        Assert.True(server.Wait(Timeout), "server did not see the end of stream");
        Assert.Equal(Total, server.Result);
        output.WriteLine($"demi-xdp client <-> demi-dpdk echo, 10 MB each way: {elapsed.TotalSeconds:F2} s");
        dpdkOS.Close(lqd);
        dpdkOS.Close(cqd);
        xdpOS.Close(uqd);
        Assert.True(udpEcho.Join(Timeout), "the UDP echo thread did not finish");
    }
}

/// <summary>Connect with retry (the peer may still be starting).</summary>
internal static class TcpInterop
{
    public static int ConnectWithRetry(LibOS libOS, Ipv4Endpoint remote)
    {
        for (int attempt = 0; ; attempt++)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
            Assert.Equal(0, libOS.Connect(out var qt, qd, remote));
            Assert.Equal(0, libOS.Wait(out var r, qt, DpdkOverVeth.Timeout));
            if (!r.Failed)
                return qd;
            libOS.Close(qd);
            if (r.Error != Errno.ECONNREFUSED || attempt >= 20)
                throw new Xunit.Sdk.XunitException($"connect to {remote}: {Errno.Name(r.Error)}");
            Thread.Sleep(200);
        }
    }
}
