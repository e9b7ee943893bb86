using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Dpdk;

namespace Demi.Hosting;

/// <summary>
/// DPDK with Demi's own stack (Demikernel's catnip): a virtual device such as net_af_packet on an
/// interface, one RX/TX queue pair per shard. Needs root and Debian's dpdk packages; the EAL starts
/// once per process, without hugepages by default.
/// </summary>
public sealed class DpdkBackendProvider : IDemiBackendProvider
{
    /// <summary>The backend's configuration name.</summary>
    public const string BackendName = "dpdk";

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public IEnumerable<string> Validate(DemiOptions options, string sectionPath)
    {
        var dpdk = options.Dpdk;
        string key = $"{sectionPath}:{nameof(DemiOptions.Dpdk)}";
        if (string.IsNullOrWhiteSpace(dpdk.Vdev) && string.IsNullOrWhiteSpace(dpdk.EalArguments))
            yield return $"{key}:{nameof(DemiDpdkOptions.Vdev)} is required for the dpdk backend (a virtual device, e.g. net_af_packet0,iface=veth0), unless {key}:{nameof(DemiDpdkOptions.EalArguments)} names one.";
        else if (dpdk.Vdev is { Length: > 0 } vdev && !vdev.StartsWith("net_", StringComparison.Ordinal))
            yield return $"{key}:{nameof(DemiDpdkOptions.Vdev)} '{vdev}' is not a DPDK virtual device (DRIVER[,KEY=VALUE]..., the driver starting with net_).";
        foreach (var error in StackAddress.Validate(key, BackendName, dpdk.Address, dpdk.Gateway))
            yield return error;
    }

    /// <inheritdoc />
    public INetworkBackend Create(DemiOptions options, int shardCount, IServiceProvider services)
    {
        var dpdk = options.Dpdk;
        var stack = StackAddress.ToStackOptions(dpdk.Address!, dpdk.Gateway);
        var eal = dpdk.EalArguments?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var backend = DpdkBackend.Create(new DpdkOptions
        {
            Vdev = string.IsNullOrWhiteSpace(dpdk.Vdev) ? null : dpdk.Vdev,
            NetworkNamespace = dpdk.Namespace,
            EalArguments = eal is { Length: > 0 } ? eal : null,
        }, _ => stack, shardCount);
        if (dpdk.Tcp)
            backend.StreamTransport = new TcpTransport();
        return backend;
    }

    /// <inheritdoc />
    public long SteeredFrames(INetworkBackend backend) => (backend as DpdkBackend)?.Steering?.ForwardedFrames ?? 0;
}
