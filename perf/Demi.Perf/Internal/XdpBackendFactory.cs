using System.Net;
using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Perf.Internal;

/// <summary>
/// Builds Demi's AF_XDP backend for the server process, which already runs inside namespace A
/// (nsenter): queue 0 of the veth end named by DEMI_PERF_IFACE, the user-space stack on the server
/// address, the generator's MAC pinned in the ARP table (the harness pins the kernel peers' too), TCP on.
/// The scaling benchmark asks for several queues and shards (DEMI_PERF_QUEUES, DEMI_PERF_SHARDS).
/// </summary>
internal static class XdpBackendFactory
{
    public static INetworkBackend Create(IPAddress ip)
    {
        string iface = Environment.GetEnvironmentVariable("DEMI_PERF_IFACE") ?? throw new PerfException("DEMI_PERF_IFACE is not set");
        var stack = new InetStackOptions { LocalAddress = Ipv4Address.Parse(ip.ToString()), PrefixLength = 24 };
        var peerIp = Environment.GetEnvironmentVariable("DEMI_PERF_PEER_IP");
        var peerMac = Environment.GetEnvironmentVariable("DEMI_PERF_PEER_MAC");
        if (peerIp is not null && peerMac is not null)
            stack.ArpTable[Ipv4Address.Parse(peerIp)] = MacAddress.Parse(peerMac);
        // DEMI_PERF_QUEUES NIC queues served by DEMI_PERF_SHARDS shards (the scaling benchmark); default one of each.
        int queues = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_QUEUES"), out int q) ? q : 1;
        int shards = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_SHARDS"), out int n) ? n : queues;
        // A veth MTU above 1500 (--mtu) needs frames bigger than the default 2 KiB UMEM chunk.
        int mtu = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_MTU"), out int m) ? m : 1500;
        int frameSize = mtu > 1500 ? 4096 : 2048;
        var options = new XdpQueueOptions { Interface = iface, FrameSize = frameSize };
        // DEMI_PERF_XDP_RING: RX and fill rings of that many entries per queue, and a UMEM that can fill
        // them all (default 2,048 and 4,096 frames): how many frames a queue holds while its shard is not
        // running, for a shard that shares its core with the load generator.
        if (int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_XDP_RING"), out int ring) && ring > 0)
            options = new XdpQueueOptions { Interface = iface, FrameSize = frameSize, RxSize = ring, FillSize = ring, FrameCount = 2 * ring * queues };
        // DEMI_PERF_XDP_FILL: frames kept on each queue's fill ring (XdpQueueOptions.FillTarget); DEMI_PERF_XDP_FRAMES:
        // the UMEM's frames; for A/B runs of either.
        int fill = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_XDP_FILL"), out int f) && f > 0 ? f : options.FillTarget;
        int frames = int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_XDP_FRAMES"), out int c) && c > 0 ? c : options.FrameCount;
        options = new XdpQueueOptions
        {
            Interface = iface, FrameSize = frameSize, RxSize = options.RxSize, FillSize = options.FillSize, FrameCount = frames, FillTarget = fill,
        };
        var backend = XdpBackend.Create(options, _ => stack, queues, steering: true, shards);
        backend.StreamTransport = new TcpTransport();
        return backend;
    }
}
