using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Native.Internal;

/// <summary>
/// LIBOS=catpowder: Demi's AF_XDP backend (<see cref="XdpBackend"/>) with the user-space stack and TCP,
/// configured from Demikernel's keys: <c>raw_socket.linux_interface_name</c> and
/// <c>demikernel.local_ipv4_addr</c> are required; <c>local_link_addr</c> and <c>inetstack_config</c>
/// tune the stack; <c>demi.xdp_queue</c>/<c>xdp_mode</c>/<c>prefix_length</c> are Demi's own.
/// One shard per NIC queue, starting at <c>xdp_queue</c>.
/// </summary>
internal static class CatpowderFactory
{
    public static int Create(DemiConfig? config, LibOSOptions options, out string? error)
    {
        error = null;
        if (config is null)
        {
            error = "LIBOS=catpowder needs CONFIG_PATH (a YAML file with raw_socket.linux_interface_name and demikernel.local_ipv4_addr)";
            return Errno.EINVAL;
        }
        if (string.IsNullOrEmpty(config.InterfaceName))
        {
            error = "LIBOS=catpowder: CONFIG_PATH has no raw_socket.linux_interface_name";
            return Errno.EINVAL;
        }
        if (config.LocalIpv4Address is not { } local)
        {
            error = "LIBOS=catpowder: CONFIG_PATH has no demikernel.local_ipv4_addr";
            return Errno.EINVAL;
        }
        var stack = StackOptions(config, local);

        int queues;
        try
        {
            queues = options.Cores is null ? Math.Max(1, options.ShardCount) : CpuSet.Parse(options.Cores).Length;
        }
        catch (ArgumentException e)
        {
            error = $"LIBOS=catpowder: demi.cores: {e.Message}";
            return Errno.EINVAL;
        }
        var queue = new XdpQueueOptions
        {
            Interface = config.InterfaceName,
            QueueId = config.XdpQueue ?? 0,
            Mode = config.XdpMode switch
            {
                "native" => XdpMode.Native,
                "generic" => XdpMode.Generic,
                _ => XdpMode.Auto,
            },
        };
        try
        {
            var backend = CreateWithRetry(queue, stack, queues);
            backend.StreamTransport = new TcpTransport();
            options.Backend = backend;
            return 0;
        }
        catch (XdpException e)
        {
            error = $"LIBOS=catpowder: cannot open AF_XDP on {config.InterfaceName} queue {queue.QueueId}: {e.Message}";
            return e.Errno > 0 ? e.Errno : Errno.EIO;
        }
        catch (DllNotFoundException e)
        {
            error = $"LIBOS=catpowder: libxdp/libbpf are not installed (apt-get install libxdp1 libbpf1): {e.Message}";
            return Errno.ENOTSUP;
        }
        catch (ArgumentException e)
        {
            error = $"LIBOS=catpowder: bad configuration: {e.Message}";
            return Errno.EINVAL;
        }
    }

    /// <summary>The user-space stack's options from Demikernel's keys (shared with catnip).</summary>
    internal static InetStackOptions StackOptions(DemiConfig config, Ipv4Address local)
    {
        var stack = new InetStackOptions { LocalAddress = local, PrefixLength = config.PrefixLength ?? 0, Mtu = config.Mtu };
        if (config.LocalLinkAddress is { } mac)
            stack.MacAddress = MacAddress.Parse(mac);
        foreach (var (entryMac, ip) in config.ArpTable)
            stack.ArpTable[ip] = MacAddress.Parse(entryMac);
        if (config.ArpRequestRetries is int retries)
            stack.ArpRequestRetries = retries;
        if (config.ArpRequestTimeoutSeconds is double timeout && timeout > 0)
            stack.ArpRequestTimeout = TimeSpan.FromSeconds(timeout);
        if (config.ArpCacheTtlSeconds is double ttl)
            stack.ArpCacheTtl = TimeSpan.FromSeconds(ttl);
        stack.TcpChecksumOffload = config.TcpChecksumOffload ?? false;
        stack.UdpChecksumOffload = config.UdpChecksumOffload ?? false;
        return stack;
    }

    // The kernel releases an exited process's AF_XDP socket a little after the process is gone: binding the
    // same queue right away is EBUSY for a moment. Retry briefly (bounded: about 2 s) before giving up.
    private static XdpBackend CreateWithRetry(XdpQueueOptions queue, InetStackOptions stack, int queues)
    {
        const int EBUSY = 16;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return XdpBackend.Create(queue, _ => stack, queues);
            }
            catch (XdpException e) when (e.Errno == EBUSY && attempt < 20)
            {
                Thread.Sleep(100);
            }
        }
    }
}
