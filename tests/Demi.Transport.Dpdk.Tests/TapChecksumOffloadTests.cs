using Demi.Inet;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// net_tap offers IPv4/UDP/TCP TX checksum offload (net_af_packet does not): the port enables it,
/// the stack leaves checksums to the device, and the kernel on the tap's other side (inside the
/// test's namespace) accepts the echoes: it drops datagrams whose checksums are wrong.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class TapChecksumOffloadTests
{
    private static int s_tap;

    [Fact]
    public void Tap_port_uses_tx_checksum_offload_and_the_kernel_accepts_the_echoes()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        int n = Interlocked.Increment(ref s_tap);
        string tap = $"dtap{Environment.ProcessId % 10000}x{n}";
        using var backend = DpdkBackend.Create(
            new DpdkOptions { Vdev = $"net_tap{n},iface={tap}", NetworkNamespace = veth.NamespaceA },
            new InetStackOptions { LocalAddress = Ipv4Address.Parse("10.98.0.1"), PrefixLength = 24 });
        Assert.Equal("net_tap", backend.Port.Driver);
        Assert.True(backend.Port.TxChecksumOffload, $"tx offloads 0x{backend.Port.TxOffloads:x}");
        Assert.Equal(Demi.Inet.Nic.NicOffloads.TxChecksum, backend.Queues[0].Offloads);
        // The tap's kernel side, in the test namespace, is the kernel peer.
        veth.Run(VethSide.A, "ip", "addr", "add", "10.98.0.2/24", "dev", tap).EnsureSuccess("ip addr add");
        veth.Run(VethSide.A, "ip", "link", "set", tap, "up").EnsureSuccess("ip link set up");
        using var libOS = new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1 });
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var server = DemiOverVeth.StartUdpEcho(libOS, qd);
        var client = veth.RunPython(VethSide.A, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, "10.98.0.1", "7", "50", "2");
        client.EnsureSuccess("python echo client");
        Assert.Equal("ok 50", client.StandardOutput.Trim());
        // The kernel counted no checksum errors: the device filled them in.
        var snmp = veth.Run(VethSide.A, "cat", "/proc/net/snmp").StandardOutput;
        var udp = snmp.Split('\n').Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToArray();
        var names = udp[0].Split(' ');
        var values = udp[1].Split(' ');
        Assert.Equal("0", values[Array.IndexOf(names, "InCsumErrors")]);
        libOS.Close(qd);
        Assert.True(server.Join(DpdkOverVeth.Timeout), "the server thread did not finish");
    }
}
