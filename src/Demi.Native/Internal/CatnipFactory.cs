using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Dpdk;

namespace Demi.Native.Internal;

/// <summary>
/// LIBOS=catnip: Demi's DPDK backend (<see cref="DpdkBackend"/>) with the user-space stack and TCP,
/// configured from Demikernel's keys: <c>dpdk.eal_init</c> (argv0 first, naming the device with
/// <c>--vdev</c>, e.g. <c>net_af_packet0,iface=veth0</c>) and <c>demikernel.local_ipv4_addr</c> are
/// required; <c>local_link_addr</c> and <c>inetstack_config</c> tune the stack as for catpowder. The
/// EAL starts inside the calling process's network namespace.
/// </summary>
internal static class CatnipFactory
{
    private const int ENODEV = 19, EPERM = 1, ENOMEM = 12, EALREADY = 114;

    public static int Create(DemiConfig? config, LibOSOptions options, out string? error)
    {
        error = null;
        if (config is null)
        {
            error = "LIBOS=catnip needs CONFIG_PATH (a YAML file with dpdk.eal_init and demikernel.local_ipv4_addr)";
            return Errno.EINVAL;
        }
        if (config.EalArguments.Count == 0)
        {
            error = "LIBOS=catnip: CONFIG_PATH has no dpdk.eal_init (a list, argv0 first: [demi, --no-huge, --no-shconf, -m, '256', --no-pci, --vdev=net_af_packet0,iface=IF])";
            return Errno.EINVAL;
        }
        if (config.LocalIpv4Address is not { } local)
        {
            error = "LIBOS=catnip: CONFIG_PATH has no demikernel.local_ipv4_addr";
            return Errno.EINVAL;
        }
        var stack = CatpowderFactory.StackOptions(config, local);
        int queues;
        try
        {
            queues = options.Cores is null ? Math.Max(1, options.ShardCount) : CpuSet.Parse(options.Cores).Length;
        }
        catch (ArgumentException e)
        {
            error = $"LIBOS=catnip: demi.cores: {e.Message}";
            return Errno.EINVAL;
        }
        try
        {
            var backend = DpdkBackend.Create(new DpdkOptions { EalArguments = config.EalArguments.ToArray(), Mtu = config.Mtu }, _ => stack, queues);
            backend.StreamTransport = new TcpTransport();
            options.Backend = backend;
            return 0;
        }
        catch (DpdkException e)
        {
            error = $"LIBOS=catnip: {e.Message}";
            return e.Errno switch
            {
                EPERM or ENODEV or ENOMEM or EALREADY => e.Errno,
                > 0 => e.Errno,
                _ => Errno.EIO,
            };
        }
        catch (ArgumentException e)
        {
            error = $"LIBOS=catnip: bad configuration: {e.Message}";
            return Errno.EINVAL;
        }
    }
}
