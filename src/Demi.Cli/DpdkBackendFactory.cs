using Demi.Inet;
using Demi.Runtime;
using Demi.Transport.Dpdk;

namespace Demi.Cli;

/// <summary>
/// <c>--backend dpdk</c>: <see cref="DpdkBackend"/> with the user-space stack and TCP, on
/// <c>--vdev</c> (a DPDK virtual device, <c>net_af_packet0,iface=IF</c> here) attached in
/// <c>--netns</c>, or on the devices of <c>--eal "ARGS"</c> (the full EAL argument list; argv0 is added).
/// </summary>
internal static class DpdkBackendFactory
{
    public static INetworkBackend Create(string? vdev, string? eal, string? netns, Ipv4Address ip, int prefix, string? pcap, int shardCount, int? mainCore)
    {
        if (vdev is null && eal is null)
            throw new UsageException("--backend dpdk needs --vdev DEVARGS (e.g. net_af_packet0,iface=veth0) or --eal \"EAL ARGUMENTS\"");
        var stack = new InetStackOptions { LocalAddress = ip, PrefixLength = prefix, CapturePath = pcap };
        var options = new DpdkOptions
        {
            Vdev = vdev,
            NetworkNamespace = netns,
            EalArguments = eal is null ? null : ["demi", .. eal.Split(' ', StringSplitOptions.RemoveEmptyEntries)],
            MainCore = mainCore ?? 0,
        };
        DpdkBackend backend;
        try
        {
            backend = DpdkBackend.Create(options, _ => stack, shardCount);
        }
        catch (DpdkException e)
        {
            // Not a usage mistake, but the user needs the reason, not a stack trace.
            throw new UsageException($"--backend dpdk: {e.Message}");
        }
        backend.StreamTransport = new Demi.Inet.Tcp.TcpTransport(); // TCP on the user-space stack
        return backend;
    }
}
