using Demi.Inet;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Cli;

/// <summary>Builds the network backend the command line asks for.</summary>
internal static class BackendFactory
{
    public const string Help = """
          backends: --backend kernel (default; Linux sockets, no privileges)
                    --backend xdp --iface IF --ip A.B.C.D [--prefix 24] [--queue 0] [--netns NAME]
                                  [--xdp-mode auto|native|generic] [--pcap FILE]   (root; see `demi doctor`)
                                  one NIC queue per core: --cores 0-1 serves queues Q and Q+1 (Q = --queue),
                                  frames steered between the shards by the stack
                    --backend dpdk --vdev net_af_packet0,iface=IF --ip A.B.C.D [--prefix 24] [--netns NAME]
                                   [--pcap FILE], or --eal="EAL ARGUMENTS" (with a --vdev) for full control;
                                   --cores 0-1 gives one queue pair per core (root; no hugepages needed)
        """;

    /// <summary>The backend, or null for the kernel default. With xdp, shard <c>i</c> (of <paramref name="shardCount"/>, one per core) serves NIC queue <c>--queue + i</c>.</summary>
    public static INetworkBackend? Create(Args args, int shardCount)
    {
        var backend = args.String("backend", "kernel");
        switch (backend)
        {
            case "kernel":
                return null;
            case "xdp":
                var iface = args.OptionalString("iface") ?? throw new UsageException("--backend xdp needs --iface");
                var ip = args.OptionalString("ip") ?? throw new UsageException("--backend xdp needs --ip (this stack's IPv4 address)");
                var stack = new InetStackOptions
                {
                    LocalAddress = Ipv4Address.Parse(ip),
                    PrefixLength = args.Int("prefix", 24, 0, 32),
                    CapturePath = args.OptionalString("pcap"),
                };
                var queue = new XdpQueueOptions
                {
                    Interface = iface,
                    QueueId = args.Int("queue", 0, 0),
                    NetworkNamespace = args.OptionalString("netns"),
                    Mode = args.String("xdp-mode", "auto") switch
                    {
                        "auto" => XdpMode.Auto,
                        "native" => XdpMode.Native,
                        "generic" => XdpMode.Generic,
                        var m => throw new UsageException($"--xdp-mode must be auto, native or generic, got '{m}'"),
                    },
                };
                var xdp = XdpBackend.Create(queue, _ => stack, shardCount);
                xdp.StreamTransport = new Demi.Inet.Tcp.TcpTransport(); // TCP on the user-space stack
                return xdp;
            case "dpdk":
                var dpdkIp = args.OptionalString("ip") ?? throw new UsageException("--backend dpdk needs --ip (this stack's IPv4 address)");
                return DpdkBackendFactory.Create(args.OptionalString("vdev"), args.OptionalString("eal"), args.OptionalString("netns"),
                    Ipv4Address.Parse(dpdkIp), args.Int("prefix", 24, 0, 32), args.OptionalString("pcap"), shardCount, mainCore: null);
            default:
                throw new UsageException($"--backend must be kernel, xdp or dpdk, got '{backend}'");
        }
    }
}
