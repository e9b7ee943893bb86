using System.Globalization;
using System.Net;
using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Dpdk;

namespace Demi.Perf.Internal;

/// <summary>
/// Builds Demi's DPDK backend for the server process, which already runs inside namespace A
/// (nsenter): net_af_packet on the veth end named by DEMI_PERF_IFACE (the vdev testpmd uses too),
/// EAL main lcore on the server core, the generator's MAC pinned in the ARP table, TCP on.
/// </summary>
internal static class DpdkBackendFactory
{
    public static INetworkBackend Create(IPAddress ip)
    {
        string iface = Environment.GetEnvironmentVariable("DEMI_PERF_IFACE") ?? throw new PerfException("DEMI_PERF_IFACE is not set");
        int core = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_CORES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) ? c : 0;
        var stack = new InetStackOptions { LocalAddress = Ipv4Address.Parse(ip.ToString()), PrefixLength = 24 };
        var peerIp = Environment.GetEnvironmentVariable("DEMI_PERF_PEER_IP");
        var peerMac = Environment.GetEnvironmentVariable("DEMI_PERF_PEER_MAC");
        if (peerIp is not null && peerMac is not null)
            stack.ArpTable[Ipv4Address.Parse(peerIp)] = MacAddress.Parse(peerMac);
        // DEMI_PERF_DPDK_CACHE: the mempool cache size (DpdkOptions.MempoolCacheSize), to measure it against none.
        var cache = Environment.GetEnvironmentVariable("DEMI_PERF_DPDK_CACHE");
        var options = new DpdkOptions
        {
            Vdev = $"net_af_packet0,iface={iface}{Environment.GetEnvironmentVariable("DEMI_PERF_AF_PACKET_ARGS")}",
            MainCore = core,
            MempoolCacheSize = cache is null ? new DpdkOptions().MempoolCacheSize : int.Parse(cache, System.Globalization.CultureInfo.InvariantCulture),
        };
        var backend = DpdkBackend.Create(options, stack);
        backend.StreamTransport = new TcpTransport();
        return backend;
    }
}
