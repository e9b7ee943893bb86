using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Hosting;

/// <summary>AF_XDP through libxdp with Demi's own stack (Demikernel's catpowder). Needs root.</summary>
public sealed class XdpBackendProvider : IDemiBackendProvider
{
    /// <summary>The backend's configuration name.</summary>
    public const string BackendName = "xdp";

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public IEnumerable<string> Validate(DemiOptions options, string sectionPath)
    {
        var xdp = options.Xdp;
        string key = $"{sectionPath}:{nameof(DemiOptions.Xdp)}";
        if (string.IsNullOrWhiteSpace(xdp.Interface))
            yield return $"{key}:{nameof(DemiXdpOptions.Interface)} is required for the xdp backend (the interface whose queues Demi takes over).";
        foreach (var error in StackAddress.Validate(key, BackendName, xdp.Address, xdp.Gateway))
            yield return error;
        if (xdp.Mode is not ("auto" or "native" or "generic"))
            yield return $"{key}:{nameof(DemiXdpOptions.Mode)} must be auto, native or generic (was '{xdp.Mode}').";
        if (xdp.FirstQueue < 0)
            yield return $"{key}:{nameof(DemiXdpOptions.FirstQueue)} must be 0 or more (was {xdp.FirstQueue}).";
    }

    /// <inheritdoc />
    public INetworkBackend Create(DemiOptions options, int shardCount, IServiceProvider services)
    {
        var xdp = options.Xdp;
        var stack = StackAddress.ToStackOptions(xdp.Address!, xdp.Gateway);
        var queue = new XdpQueueOptions
        {
            Interface = xdp.Interface!,
            QueueId = xdp.FirstQueue,
            NetworkNamespace = xdp.Namespace,
            Mode = xdp.Mode switch { "native" => XdpMode.Native, "generic" => XdpMode.Generic, _ => XdpMode.Auto },
        };
        var backend = XdpBackend.Create(queue, _ => stack, shardCount);
        if (xdp.Tcp)
            backend.StreamTransport = new TcpTransport();
        return backend;
    }

    /// <inheritdoc />
    public IEnumerable<KeyValuePair<string, long>> DriverErrors(INetworkBackend backend)
    {
        if (backend is not XdpBackend xdp)
            yield break;
        long rxInvalid = 0, txInvalid = 0, kernelRxDropped = 0, rxRingFull = 0, fillEmpty = 0;
        foreach (var queue in xdp.Queues)
        {
            var s = queue.GetStatistics();
            rxInvalid += s.RxDroppedInvalid + s.KernelRxInvalidDescs;
            txInvalid += s.TxDroppedInvalid + s.KernelTxInvalidDescs;
            kernelRxDropped += s.KernelRxDropped;
            rxRingFull += s.KernelRxRingFull;
            fillEmpty += s.KernelRxFillEmpty;
        }
        yield return new("xdp_rx_invalid", rxInvalid);
        yield return new("xdp_tx_invalid", txInvalid);
        yield return new("xdp_kernel_rx_dropped", kernelRxDropped);
        yield return new("xdp_rx_ring_full", rxRingFull);
        yield return new("xdp_fill_ring_empty", fillEmpty);
        if (xdp.Steering is { } steering)
            yield return new("steering_ring_full", steering.DroppedFrames);
    }

    /// <inheritdoc />
    public long SteeredFrames(INetworkBackend backend) => (backend as XdpBackend)?.Steering?.ForwardedFrames ?? 0;
}
